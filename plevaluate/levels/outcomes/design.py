"""Level 5's part of the design check (`plevaluate.design.check_design`): the effect on students, schools as the unit of assignment."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ...power import (
    DesignContext,
    jackknife,
    mdes_blocked,
    mdes_cluster,
    not_checked,
    pct,
    power_blocked,
    power_cluster,
    schools_needed,
    variance_components,
)
from .evidence import LARGE_GROUPS, LARGE_STUDENTS

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
    values, sources, intervals = _variance_inputs(ctx.district, ctx.opts)
    icc, r2_school, r2_student = values["icc"], values["r2_school"], values["r2_student"]
    for name, label in INPUTS.items():
        source = sources[name]
        if name in intervals:
            low, high = intervals[name]
            source += f"; 95% jackknife interval over schools {low:.3f} to {high:.3f}"
        ctx.note(label, round(values[name], 3), source)
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
        # the cautious end of each estimated input's interval: a higher ICC, lower R²s
        cautious = {
            **kw,
            "icc": intervals.get("icc", (icc, icc))[1],
            "r2_school": intervals.get("r2_school", (r2_school,))[0],
            "r2_student": intervals.get("r2_student", (r2_student,))[0],
        }
        try:
            blocks = _blocks(ctx.district.schools) if ctx.opts.assignment == "blocked" else None
            if blocks:
                mdes = mdes_blocked(total, blocks, n_students, alpha=ctx.alpha, power=ctx.goal, **kw)
                mdes_cautious = mdes_blocked(total, blocks, n_students, alpha=ctx.alpha, power=ctx.goal, **cautious)
                power_at = power_blocked(size, total, blocks, n_students, alpha=ctx.alpha, **kw)
                need = schools_needed(
                    lambda s: mdes_blocked(s, blocks, n_students, alpha=ctx.alpha, power=ctx.goal, **kw), size
                )
            else:
                mdes = mdes_cluster(total, n_students, alpha=ctx.alpha, power=ctx.goal, **kw)
                mdes_cautious = mdes_cluster(total, n_students, alpha=ctx.alpha, power=ctx.goal, **cautious)
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
            uncertain = ""
            verdict = "can detect the target" if mdes <= size else "cannot reliably detect the target"
            if intervals and mdes_cautious > mdes + 0.005:
                uncertain = (
                    f"; at the cautious end of the estimated inputs' intervals ({_cautious_words(intervals)}) the minimum "
                    f"detectable effect is {_sd(mdes_cautious, size)} SD"
                )
                if mdes <= size < mdes_cautious:
                    verdict = (
                        f"may not detect the target (it depends on inputs estimated from {comparison + j} schools)"
                    )
            return {
                "level": 5,
                "name": "student outcomes",
                "tier": _tier_reach(ctx, n_students, total, j, comparison),
                "target": out.target,
                "target_text": f"an effect of {out.target:.2f} SD{direction}",
                "evidence": f"{j} program and {comparison} comparison schools, about {n_students:.0f} students "
                f"each, {design}{caveat}",
                "detectable": mdes,
                "power": power_at,
                "verdict": verdict,
                "finding": f"minimum detectable effect {_sd(mdes, size)} SD{uncertain}; power {pct(power_at)} to "
                f"detect an effect of {out.target:.2f} SD{direction}; to confirm the target is exceeded, the true effect "
                f"must be about {math.copysign(size + mdes, out.target):.2f} SD",
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


def _components(spring: pd.DataFrame) -> dict[str, float]:
    """ICC and the prior score's R² at both levels, from one spring's scores (one-way ANOVA variance components)."""
    tau, sigma = variance_components(spring["outcome"], spring["school_id"])
    out = {"icc": tau / (tau + sigma) if tau + sigma > 0 else np.nan, "r2_school": np.nan, "r2_student": np.nan}
    if "prior_score" in spring.columns:
        both = spring.assign(prior=pd.to_numeric(spring["prior_score"], errors="coerce")).dropna(subset=["prior"])
        if len(both) > 10 and both["prior"].std() > 0:
            slope, intercept = np.polyfit(both["prior"], both["outcome"], 1)
            tau_r, sigma_r = variance_components(both["outcome"] - slope * both["prior"] - intercept, both["school_id"])
            tau_0, sigma_0 = variance_components(both["outcome"], both["school_id"])
            if tau_0 > 0:
                out["r2_school"] = min(max(1 - tau_r / tau_0, 0.0), 0.99)
            if sigma_0 > 0:
                out["r2_student"] = min(max(1 - sigma_r / sigma_0, 0.0), 0.99)
    return out


def _variance_inputs(district: District, opts) -> tuple[dict[str, float], dict[str, str], dict[str, tuple]]:
    """ICC and covariate R² for the level-5 check: the plan's values; else estimated from the latest spring of
    students.csv with outcomes (its ``pre`` rows when it has them: no program effect inflates the variance
    between schools; the ICC of the scores; the R² of a prior score, which the level-5 analysis adjusts
    for, from the variance components of the scores left after a pooled regression on it); else the defaults.

    Returns the values, their sources and, for each value estimated from the data, its leave-one-school-out
    jackknife interval (`plevaluate.power.jackknife`): estimated from a dozen schools, an R² of .98 may be .90,
    and the check says what the minimum detectable effect would then be."""
    values = {"icc": opts.icc, "r2_school": opts.r2_school, "r2_student": opts.r2_student}
    sources = {name: opts.source(name) for name in values}
    intervals: dict[str, tuple] = {}
    students = district.students
    if students is None or "outcome" not in students.columns:
        return values, sources, intervals
    scores = students.assign(outcome=pd.to_numeric(students["outcome"], errors="coerce")).dropna(subset=["outcome"])
    if scores.empty:
        return values, sources, intervals
    if "period" in scores.columns and scores["period"].eq("pre").any():
        scores = scores[scores["period"] == "pre"]  # before the program: no program effect in the variance
    latest = pd.to_numeric(scores["year"], errors="coerce").max()
    spring = scores[pd.to_numeric(scores["year"], errors="coerce") == latest]
    try:
        estimated = _components(spring)
    except ValueError:
        return values, sources, intervals
    try:
        spread = jackknife(_components, spring, "school_id")
    except ValueError:  # fewer than 3 schools
        spread = {}
    where = (
        f"estimated from students.csv, spring {int(latest)}, {spring['school_id'].nunique()} schools, by one-way "
        "ANOVA variance components (not REML)"
    )
    for name, value in estimated.items():
        if name in opts.model_fields_set or pd.isna(value):
            continue
        values[name] = value
        sources[name] = where + ("" if name == "icc" else ", adjusting for prior_score")
        if name in spread and np.isfinite(spread[name][1:]).all():
            _, low, high = spread[name]
            intervals[name] = (min(max(low, 0.0), 0.99), min(max(high, 0.0), 0.99))
    return values, sources, intervals


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


#: The estimated inputs of the level-5 check, as its notes name them.
INPUTS = {
    "icc": "intraclass correlation (school level)",
    "r2_school": "R² of school-level covariates",
    "r2_student": "R² of student-level covariates",
}


def _sd(value: float, target: float) -> str:
    """An effect size in SD: two decimals, or three where two would print it equal to the target it differs from
    (a minimum detectable effect of 0.1004 against a target of 0.10 reads 0.100, not 0.10).

    >>> _sd(0.1004, 0.10), _sd(0.213, 0.10)
    ('0.100', '0.21')
    """
    return f"{value:.3f}" if f"{value:.2f}" == f"{target:.2f}" and value != target else f"{value:.2f}"


def _cautious_words(intervals: dict[str, tuple]) -> str:
    words = {"icc": "ICC up to {high:.2f}", "r2_school": "school R² down to {low:.2f}", "r2_student": "student R² "
             "down to {low:.2f}"}  # fmt: skip
    return ", ".join(words[name].format(low=low, high=high) for name, (low, high) in intervals.items())


def _tier_reach(ctx: DesignContext, n_students: float, total: int, j: int, comparison: int) -> str:
    """Which ESSA tier the planned design can reach at best, and the size and site conditions it needs
    (`plevaluate.levels.outcomes.evidence`: its thresholds and their sources)."""
    design = ctx.plan.comparison_design
    best = 1 if design == "randomized" else 2
    planned = n_students * total
    conditions = []
    if min(j, comparison) <= 1:
        conditions.append("at least 2 schools in each condition (one school alone is a single-unit confound)")
    if planned < LARGE_STUDENTS and not (total >= LARGE_GROUPS[0] and n_students >= LARGE_GROUPS[1]):
        conditions.append(f"{LARGE_STUDENTS} or more tested students (planned: about {planned:,.0f})")
    if ctx.plan.evidence.sites <= 1:
        conditions.append("more than one site (an LEA, locality or State; plan: evidence.sites is 1)")
    how = (
        "random assignment with low attrition" if best == 1 else "a matched comparison with baseline-equivalent groups"
    )
    text = f"Tier {best} at best ({how}), if the effect is significant and favourable"
    if best == 2:
        text += "; Tier 1 needs random assignment"
    if conditions:
        text += f"; tiers 1 and 2 also need {' and '.join(conditions)}, or the study reaches Tier 3 at best"
    return text
