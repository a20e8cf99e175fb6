"""Level 5's part of the design check (`plevaluate.design.check_design`): the effect on students, schools as the unit of assignment."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ...power import (
    DesignContext,
    mdes_blocked,
    mdes_cluster,
    not_checked,
    pct,
    power_blocked,
    power_cluster,
    schools_needed,
    variance_components,
)

if TYPE_CHECKING:
    from ...contract import District

__all__ = ["check"]


def check(ctx: DesignContext) -> dict:
    """Level 5's row of the design check: can the planned evidence detect the plan's target?"""
    out = ctx.plan.levels.outcomes
    j = len(ctx.program_schools)
    comparison = int((ctx.district.schools["group"] == "comparison").sum())
    total = j + comparison
    n_students, source = _students_per_school(ctx.district, ctx.opts)
    ctx.note("students per school (harmonic mean)", f"{n_students:.1f}" if n_students else "unknown", source)
    icc, r2_school, r2_student, sources = _variance_inputs(ctx.district, ctx.opts)
    ctx.note("intraclass correlation (school level)", round(icc, 3), sources["icc"])
    ctx.note("R² of school-level covariates", round(r2_school, 3), sources["r2_school"])
    ctx.note("R² of student-level covariates", round(r2_student, 3), sources["r2_student"])
    ctx.note("assignment", ctx.opts.assignment, ctx.opts.source("assignment"))
    ctx.note("power wanted; test level", f"{pct(ctx.goal)}; two-sided, alpha {ctx.alpha:.2f}", "plan: design.power, ci")
    if out.target == 0:
        return (not_checked(5, "student outcomes", out.target, 0, reason="a target of 0 SD is no effect to detect: set "
                          "levels.outcomes.target to the effect the program aims for"))  # fmt: skip
    elif out.target is not None and ctx.plan.comparison_design != "none" and comparison and n_students:
        # a two-sided test detects a fall as well as a rise: a target of -0.10 SD (lower is better) is 0.10 SD to detect
        size = abs(out.target)
        direction = " (a decrease)" if out.target < 0 else ""
        p = j / total
        kw = dict(icc=icc, p=p, r2_school=r2_school, r2_student=r2_student, covariates=ctx.opts.covariates)
        try:
            blocks = _blocks(ctx.district.schools) if ctx.opts.assignment == "blocked" else None
            if blocks:
                mdes = mdes_blocked(total, blocks, n_students, alpha=ctx.alpha, power=ctx.goal, **kw)
                power_at = power_blocked(size, total, blocks, n_students, alpha=ctx.alpha, **kw)
                need = schools_needed(
                    lambda s: mdes_blocked(s, blocks, n_students, alpha=ctx.alpha, power=ctx.goal, **kw), size
                )
            else:
                mdes = mdes_cluster(total, n_students, alpha=ctx.alpha, power=ctx.goal, **kw)
                power_at = power_cluster(size, total, n_students, alpha=ctx.alpha, **kw)
                need = schools_needed(
                    lambda s: mdes_cluster(s, n_students, alpha=ctx.alpha, power=ctx.goal, **kw), size
                )
        except ValueError as exc:
            return not_checked(5, "student outcomes", out.target, 0, reason=str(exc))
        else:
            design = f"{'blocked ' if blocks else ''}cluster-{'randomized' if ctx.plan.comparison_design == 'randomized' else 'matched'}"
            caveat = (
                "" if ctx.plan.comparison_design == "randomized" else " (a matched comparison: a best case; no lottery)"
            )
            change = ""
            if mdes > size:
                change = (
                    f"about {need} schools in all, {pct(p)} of them in the program"
                    if need
                    else "no number of schools is enough at this ICC: add a pretest or other covariates (R²)"
                )
                if r2_school == 0:
                    change += (
                        "; or a prior-year score as a covariate, which typically explains much of the variance at "
                        "both levels (Bloom, Richburg-Hayes & Black 2007): set design.r2_school and design.r2_student"
                    )
            return {
                "level": 5,
                "name": "student outcomes",
                "target": out.target,
                "target_text": f"an effect of {out.target:.2f} SD{direction}",
                "evidence": f"{j} program and {comparison} comparison schools, about {n_students:.0f} students "
                f"each, {design}{caveat}",
                "detectable": mdes,
                "power": power_at,
                "verdict": "can detect the target" if mdes <= size else "cannot reliably detect the target",
                "finding": f"minimum detectable effect {mdes:.2f} SD; power {pct(power_at)} to detect an effect "
                f"of {out.target:.2f} SD{direction}; to confirm the target is exceeded, the true effect must be about "
                f"{math.copysign(size + mdes, out.target):.2f} SD",
                "change": change,
            }
    else:
        reason = (
            "no comparison group (comparison_design: none, or no comparison schools): no effect can be estimated"
            if ctx.plan.comparison_design == "none" or not comparison
            else "students per school unknown: add students.csv (outcomes may be blank) or design.students_per_school"
            if not n_students
            else ""
        )
        return not_checked(5, "student outcomes", out.target, 0, reason=reason)


def _variance_inputs(district: District, opts) -> tuple[float, float, float, dict[str, str]]:
    """ICC and covariate R² for the level-5 check: the plan's values; else estimated from the latest spring of
    students.csv with outcomes (its ``pre`` rows when it has them: no program effect inflates the variance
    between schools; the ICC of the scores; the R² of a prior score, which the level-5 analysis adjusts
    for, from the variance components of the scores left after a pooled regression on it); else the defaults."""
    values = {"icc": opts.icc, "r2_school": opts.r2_school, "r2_student": opts.r2_student}
    sources = {name: opts.source(name) for name in values}
    students = district.students
    if students is None or "outcome" not in students.columns:
        return values["icc"], values["r2_school"], values["r2_student"], sources
    scores = students.assign(outcome=pd.to_numeric(students["outcome"], errors="coerce")).dropna(subset=["outcome"])
    if scores.empty:
        return values["icc"], values["r2_school"], values["r2_student"], sources
    if "period" in scores.columns and scores["period"].eq("pre").any():
        scores = scores[scores["period"] == "pre"]  # before the program: no program effect in the variance
    latest = pd.to_numeric(scores["year"], errors="coerce").max()
    spring = scores[pd.to_numeric(scores["year"], errors="coerce") == latest]
    try:
        tau, sigma = variance_components(spring["outcome"], spring["school_id"])
    except ValueError:
        return values["icc"], values["r2_school"], values["r2_student"], sources
    where = (
        f"estimated from students.csv, spring {int(latest)}, {spring['school_id'].nunique()} schools, by one-way "
        "ANOVA variance components (not REML)"
    )
    if "icc" not in opts.model_fields_set and tau + sigma > 0:
        values["icc"], sources["icc"] = tau / (tau + sigma), where
    if "prior_score" in spring.columns:
        both = spring.assign(prior=pd.to_numeric(spring["prior_score"], errors="coerce")).dropna(subset=["prior"])
        if len(both) > 10 and both["prior"].std() > 0:
            slope, intercept = np.polyfit(both["prior"], both["outcome"], 1)
            tau_r, sigma_r = variance_components(both["outcome"] - slope * both["prior"] - intercept, both["school_id"])
            tau_0, sigma_0 = variance_components(both["outcome"], both["school_id"])
            prior = where + ", adjusting for prior_score"
            if "r2_school" not in opts.model_fields_set and tau_0 > 0:
                values["r2_school"], sources["r2_school"] = min(max(1 - tau_r / tau_0, 0.0), 0.99), prior
            if "r2_student" not in opts.model_fields_set and sigma_0 > 0:
                values["r2_student"], sources["r2_student"] = min(max(1 - sigma_r / sigma_0, 0.0), 0.99), prior
    return values["icc"], values["r2_school"], values["r2_student"], sources


def _students_per_school(district: District, opts) -> tuple[float | None, str]:
    if opts.students_per_school:
        return float(opts.students_per_school), "plan: design.students_per_school"
    students = district.students
    if students is None or students.empty:
        return None, "no students.csv"
    counts = students.groupby("school_id", observed=True)["student_id"].nunique()
    counts = counts[counts > 0]
    if counts.empty:
        return None, "students.csv has no students"
    return float(stats.hmean(counts)), f"students.csv roster, {len(counts)} schools"


def _blocks(schools: pd.DataFrame) -> int | None:
    if "grade_band" not in schools.columns:
        raise ValueError("a blocked design needs schools.csv's grade_band (the blocks schools are matched within)")
    return int(schools["grade_band"].nunique())
