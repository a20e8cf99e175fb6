"""The design check: before a program starts, can the planned evidence detect each level's target?

Read the plan and the rosters (schools, educators, students; no outcome needs to be collected yet) and say, for
each target, how precise the planned evidence will be, what true value the report could confirm, and what would
change that (more schools, more walkthroughs, a higher response rate).

Sources:

- Level 5, the minimum detectable effect size (MDES) and power of a two-level cluster-randomized design (schools
  assigned, students inside them) and of a blocked one (schools assigned within blocks, fixed block effects):
  Dong & Maynard (2013), "PowerUp!: a tool for calculating minimum detectable effect sizes and minimum required
  sample sizes", JREE 6(1), 24-67, models 3.1 and 4.1, as PowerUpR (Bulus, Dong, Kelcey & Spybrook) computes
  them: MDES = (t_{1-a/2, df} + t_{power, df}) * SE, power from the noncentral t with noncentrality ES / SE.
  A matched comparison group is no lottery: its MDES is the randomized design's, a best case.
- Default intraclass correlation 0.20: a typical school-level value for achievement in Hedges & Hedberg (2007),
  "Intraclass correlation values for planning group-randomized trials in education", EEPA 29(1), 60-87; the
  plan should give the district's own value (``design.icc``) and covariate R² when a pretest is used.
- Levels 1 and 4, a share confirmed "met" only when its interval lies above the target (the reporting rule): the
  true share the evaluation confirms with the planned power is target + (z_{1-a/2} + z_power) * SE, where SE is
  the share's standard error on the effective sample (n / design effect; Kish 1965: deff = 1 + (m - 1) * icc for
  m walkthroughs of each educator), with the finite-population correction for a survey of a known roster.
- Level 2, the standard error of a standardized mean change with pre-post correlation r:
  V = (1/n + d²/(2n)) * 2(1 - r) (Borenstein, Hedges, Higgins & Rothstein 2009, Introduction to Meta-Analysis,
  eq. 4.28).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .contract import District
from .plan import plan_years
from .years import year_view

__all__ = [
    "DesignCheck",
    "variance_components",
    "check_design",
    "detectable_share",
    "mdes_blocked",
    "mdes_cluster",
    "power_blocked",
    "power_cluster",
    "schools_needed",
]

#: the largest number of schools `schools_needed` looks at before it says no number of schools is enough
MAX_SCHOOLS = 10_000


def _multiplier(df: float, alpha: float, power: float, two_tailed: bool = True) -> float:
    """PowerUp!'s M: the critical t plus the t at the planned power (both with ``df`` degrees of freedom)."""
    t1 = stats.t.ppf(1 - alpha / 2 if two_tailed else 1 - alpha, df)
    t2 = stats.t.ppf(power, df)
    return float(t1 + t2 if power >= 0.5 else t1 - t2)


def _power(es: float, se: float, df: float, alpha: float, two_tailed: bool = True) -> float:
    """Power of a t test of ``es`` with standard error ``se``: the noncentral t (PowerUpR's ``.power.fun``)."""
    lam = es / se
    if not two_tailed:
        return float(stats.nct.sf(stats.t.isf(alpha, df), df, lam))
    crit = stats.t.isf(alpha / 2, df)
    return float(stats.nct.sf(crit, df, lam) + stats.nct.cdf(-crit, df, lam))


def _cluster_se(schools: float, n: float, icc: float, p: float, r2_school: float, r2_student: float) -> float:
    return math.sqrt(
        icc * (1 - r2_school) / (p * (1 - p) * schools) + (1 - icc) * (1 - r2_student) / (p * (1 - p) * schools * n)
    )


def _cluster_df(schools: float, covariates: int) -> float:
    df = schools - covariates - 2
    if df < 1:
        raise ValueError(f"{schools:g} schools and {covariates} school-level covariates leave no degrees of freedom")
    return df


def mdes_cluster(
    schools: float,
    students: float,
    *,
    icc: float,
    p: float = 0.5,
    r2_school: float = 0.0,
    r2_student: float = 0.0,
    covariates: int = 0,
    alpha: float = 0.05,
    power: float = 0.80,
    two_tailed: bool = True,
) -> float:
    """The MDES of a two-level cluster-randomized design (Dong & Maynard 2013, model 3.1; PowerUpR ``mdes.cra2``).

    ``schools`` in all (J), ``students`` per school (n, a harmonic mean), ``p`` the share of schools treated,
    ``covariates`` school-level covariates (g2), R² the share of each level's variance they explain.

    PowerUpR's manual cross-checks ``mdes.cra2(rho2=.17, n=15, J=20)`` against an effect of .629:

    >>> round(mdes_cluster(20, 15, icc=0.17), 3)
    0.629
    """
    se = _cluster_se(schools, students, icc, p, r2_school, r2_student)
    return _multiplier(_cluster_df(schools, covariates), alpha, power, two_tailed) * se


def power_cluster(
    es: float,
    schools: float,
    students: float,
    *,
    icc: float,
    p: float = 0.5,
    r2_school: float = 0.0,
    r2_student: float = 0.0,
    covariates: int = 0,
    alpha: float = 0.05,
    two_tailed: bool = True,
) -> float:
    """Power to detect an effect ``es`` (SD units) in the design of `mdes_cluster` (PowerUpR ``power.cra2``)."""
    se = _cluster_se(schools, students, icc, p, r2_school, r2_student)
    return _power(es, se, _cluster_df(schools, covariates), alpha, two_tailed)


def _blocked_parts(
    schools: float,
    blocks: int,
    students: float,
    icc: float,
    p: float,
    r2_school: float,
    r2_student: float,
    covariates: int,
) -> tuple[float, float]:
    per_block = schools / blocks
    df = blocks * (per_block - 2) - covariates
    if df < 1:
        raise ValueError(
            f"{schools:g} schools in {blocks} blocks leave no degrees of freedom: a blocked design needs more than "
            "two schools in a block on average"
        )
    se = math.sqrt(
        icc * (1 - r2_school) / (p * (1 - p) * per_block * blocks)
        + (1 - icc) * (1 - r2_student) / (p * (1 - p) * per_block * blocks * students)
    )
    return se, df


def mdes_blocked(
    schools: float,
    blocks: int,
    students: float,
    *,
    icc: float,
    p: float = 0.5,
    r2_school: float = 0.0,
    r2_student: float = 0.0,
    covariates: int = 0,
    alpha: float = 0.05,
    power: float = 0.80,
    two_tailed: bool = True,
) -> float:
    """The MDES when schools are assigned within ``blocks`` with fixed block effects (Dong & Maynard 2013, model
    4.1; PowerUpR ``mdes.bcra3f2``). ``schools`` in all; J = schools / blocks.

    PowerUpR's manual cross-checks ``mdes.bcra3f2(rho2=.10, n=20, J=44, K=5)`` against an effect of .145:

    >>> round(mdes_blocked(220, 5, 20, icc=0.10), 3)
    0.145
    """
    se, df = _blocked_parts(schools, blocks, students, icc, p, r2_school, r2_student, covariates)
    return _multiplier(df, alpha, power, two_tailed) * se


def power_blocked(
    es: float,
    schools: float,
    blocks: int,
    students: float,
    *,
    icc: float,
    p: float = 0.5,
    r2_school: float = 0.0,
    r2_student: float = 0.0,
    covariates: int = 0,
    alpha: float = 0.05,
    two_tailed: bool = True,
) -> float:
    """Power to detect ``es`` in the blocked design of `mdes_blocked` (PowerUpR ``power.bcra3f2``)."""
    se, df = _blocked_parts(schools, blocks, students, icc, p, r2_school, r2_student, covariates)
    return _power(es, se, df, alpha, two_tailed)


def schools_needed(mdes: Callable[[int], float], target: float, *, least: int = 4) -> int | None:
    """The fewest schools (in all) whose MDES is at most ``target``; None when even `MAX_SCHOOLS` are not enough.

    ``mdes`` gives the MDES for a number of schools, everything else held (students per school, the share treated,
    ICC, R²). PowerUpR's ``mrss`` iterates a real-valued J and rounds it; this is the smallest whole number that
    reaches the target, so it can be one more.
    """

    def reaches(j: int) -> bool:
        try:
            return mdes(j) <= target
        except ValueError:  # too few schools for any degrees of freedom
            return False

    if target <= 0 or not reaches(MAX_SCHOOLS):
        return None
    low, high = least, MAX_SCHOOLS  # the MDES falls as schools are added: bisect for the first that reaches
    while low < high:
        mid = (low + high) // 2
        if reaches(mid):
            high = mid
        else:
            low = mid + 1
    return low


def _share_se(p: float, n_eff: float, fpc: float = 1.0) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / n_eff * fpc)


def detectable_share(
    target: float,
    n: float,
    *,
    deff: float = 1.0,
    population: float | None = None,
    alpha: float = 0.05,
    power: float = 0.80,
) -> float:
    """The smallest true share the evaluation confirms above ``target`` with probability ``power``.

    A share is reported "met" only when its whole interval lies above the target, so it is confirmed when
    p_hat - z_{1-a/2} * SE > target: the true share must be at least target + (z_{1-a/2} + z_power) * SE, SE taken
    at that share on n / deff observations, with the finite-population correction (N - n) / (N - 1) when the n
    respondents come from a roster of ``population``. Returns a value above 1 when no share can be confirmed.

    >>> round(detectable_share(0.5, 100), 3)  # 0.5 + 2.80 * SE, the SE taken at the share it gives
    0.635
    """
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    fpc = (population - n) / (population - 1) if population and population > 1 else 1.0
    n_eff = n / deff
    share = target
    for _ in range(50):  # a fixed point: the SE depends on the share it is taken at
        nxt = target + z * _share_se(min(share, 1.0), n_eff, fpc)
        if abs(nxt - share) < 1e-10:
            break
        share = nxt
    return float(share)


def _power_share(true: float, target: float, n_eff: float, fpc: float, alpha: float) -> float:
    if true >= 1:
        true = 1 - 1e-9
    se = _share_se(true, n_eff, fpc)
    return float(stats.norm.cdf((true - target) / se - stats.norm.ppf(1 - alpha / 2)))


def _gain_se(d: float, n: float, r: float) -> float:
    return math.sqrt((1 / n + d**2 / (2 * n)) * 2 * (1 - r))


@dataclass(frozen=True)
class DesignCheck:
    """What `check_design` found: one row per level in ``levels``, the inputs it used in ``inputs``."""

    levels: pd.DataFrame
    inputs: pd.DataFrame
    program: str

    def to_text(self) -> str:
        """The check as the command prints it."""
        lines = [f"Design check for {self.program}", ""]
        for row in self.levels.itertuples():
            lines.append(f"Level {row.level} ({row.name}): {row.verdict}")
            lines.append(f"  target: {row.target_text}")
            lines.append(f"  planned evidence: {row.evidence}")
            lines.append(f"  {row.finding}")
            if row.change:
                lines.append(f"  what would change it: {row.change}")
            lines.append("")
        lines.append("Inputs (source):")
        for row in self.inputs.itertuples():
            lines.append(f"  {row.input}: {row.value} ({row.source})")
        return "\n".join(lines)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def check_design(district: District) -> DesignCheck:
    """For each level's target in the plan, whether the planned evidence can detect it.

    Uses the plan's ``design:`` options (`plevaluate.plan.DesignOptions`) and counts from the rosters: participant
    and comparison schools, participating educators and teachers, students per school (students.csv, outcome may
    be blank; or ``design.students_per_school``).
    """
    plan = district.plan
    opts = plan.design
    alpha, goal = 1 - plan.ci, opts.power

    years = plan_years(plan.school_year)
    if len(years) > 1:  # a multi-year plan: its first year, as the district will stand when the program starts
        district = year_view(district, years[0])
        plan = district.plan
    levels = plan.levels
    schools = district.schools
    educators = district.educators
    program_schools = set(schools.loc[schools["group"] == "participant", "school_id"])
    inputs: list[dict] = []

    def note(name: str, value, source: str) -> None:
        inputs.append({"input": name, "value": value, "source": source})

    if len(years) > 1:
        note("school year checked", f"{years[0]}, the plan's first (schools in the program then)", "plan.yml")
    staff = educators[educators["school_id"].isin(program_schools)]
    if "participant" in staff.columns:
        staff = staff[staff["participant"].fillna(False).astype(bool)]
    participants = len(staff)
    teachers = int(staff["role"].astype(str).str.lower().eq("teacher").sum())
    note("participating educators", participants, "educators.csv in participant schools")
    note("participating teachers (classrooms walked through)", teachers, "educators.csv, role teacher")
    rows: list[dict] = []

    # level 1: a share of respondents
    react = levels.reactions
    respondents = opts.response_rate * participants
    note("survey response rate", _pct(opts.response_rate), opts.source("response_rate"))
    if react.target is not None and respondents >= 2:
        detect = detectable_share(react.target, respondents, population=participants, alpha=alpha, power=goal)
        fpc = (participants - respondents) / (participants - 1) if participants > 1 else 1.0
        power_at = _power_share(min(react.target + opts.margin, 1.0), react.target, respondents, fpc, alpha)
        change = ""
        if power_at < goal:
            rate = next(
                (
                    r / 100
                    for r in range(int(opts.response_rate * 100) + 1, 101)
                    if _power_share(
                        min(react.target + opts.margin, 1.0),
                        react.target,
                        r / 100 * participants,
                        (participants - r / 100 * participants) / max(participants - 1, 1),
                        alpha,
                    )
                    >= goal
                ),
                None,
            )
            change = (
                f"a response rate of {_pct(rate)}"
                if rate is not None
                else "no response rate is enough with this many participants; widen the target's margin or survey more sessions"
            )
        rows.append(
            _row(
                1,
                "reactions",
                react.target,
                f"{_pct(react.target)} of respondents favourable",
                f"about {respondents:.0f} of {participants} participants respond ({_pct(opts.response_rate)})",
                detect,
                power_at,
                goal,
                opts.margin,
                change,
                share=True,
            )
        )
    else:
        rows.append(_none(1, "reactions", react.target, respondents))

    # level 2: a pre-post gain in SD units
    learn = levels.learning
    pairs = opts.response_rate * participants
    if learn.target is not None and pairs >= 3:
        se = _gain_se(learn.target, pairs, opts.pre_post_correlation)
        mdes = _multiplier(pairs - 1, alpha, goal) * _gain_se(learn.target, pairs, opts.pre_post_correlation)
        power_at = _power(learn.target, se, pairs - 1, alpha)
        change = ""
        if power_at < goal:
            need = next(
                (
                    n
                    for n in range(int(pairs) + 1, 100_000)
                    if _power(learn.target, _gain_se(learn.target, n, opts.pre_post_correlation), n - 1, alpha) >= goal
                ),
                None,
            )
            change = f"{need} educators with both a pre and a post score" if need else ""
        note(
            "pre-post correlation of the learning assessment",
            opts.pre_post_correlation,
            opts.source("pre_post_correlation"),
        )
        rows.append(
            {
                "level": 2,
                "name": "learning",
                "target": learn.target,
                "target_text": f"a mean gain of {learn.target:.2f} SD",
                "evidence": f"about {pairs:.0f} educators with a pre and a post score",
                "detectable": mdes,
                "power": power_at,
                "verdict": "can detect the target" if power_at >= goal else "cannot reliably detect the target",
                "finding": f"smallest detectable gain {mdes:.2f} SD; power {_pct(power_at)} to detect a gain of {learn.target:.2f} SD",
                "change": change,
            }
        )
    else:
        rows.append(_none(2, "learning", learn.target, pairs))

    # level 3: a census of participant schools
    org = levels.organization
    j = len(program_schools)
    if org.target is not None and j:
        need = math.ceil(org.target * j - 1e-9)
        rows.append(
            {
                "level": 3,
                "name": "organization support",
                "target": org.target,
                "target_text": f"{_pct(org.target)} of participant schools rated {org.rating_at_least:g} or better",
                "evidence": f"a rubric rating of each of the {j} participant schools",
                "detectable": np.nan,
                "power": np.nan,
                "verdict": "a census: no sampling error",
                "finding": f"every school is rated, so the share is exact; the target needs {need} of {j} schools, "
                f"each school moves the share by {_pct(1 / j)}",
                "change": "",
            }
        )
    else:
        rows.append(_none(3, "organization support", org.target, j))

    # level 4: the share of walkthroughs showing the practice, visits clustered by teacher
    prac = levels.practice
    m = opts.visits_per_teacher
    visits = teachers * m
    note("walkthroughs per teacher", m, opts.source("visits_per_teacher"))
    note("correlation of one teacher's walkthroughs", opts.visit_icc, opts.source("visit_icc"))
    if prac.target is not None and visits >= 2:
        deff = 1 + (m - 1) * opts.visit_icc
        detect = detectable_share(prac.target, visits, deff=deff, alpha=alpha, power=goal)
        power_at = _power_share(min(prac.target + opts.margin, 1.0), prac.target, visits / deff, 1.0, alpha)
        change = ""
        if power_at < goal:
            need = next(
                (
                    k
                    for k in range(m + 1, 41)
                    if _power_share(
                        min(prac.target + opts.margin, 1.0),
                        prac.target,
                        teachers * k / (1 + (k - 1) * opts.visit_icc),
                        1.0,
                        alpha,
                    )
                    >= goal
                ),
                None,
            )
            change = (
                f"{need} walkthroughs of each teacher"
                if need
                else "more walkthroughs of the same teachers cannot do it (their visits are correlated); "
                "the target's margin is too narrow for this many classrooms"
            )
        rows.append(
            _row(
                4,
                "classroom practice",
                prac.target,
                f"the practice seen in {_pct(prac.target)} of walkthroughs",
                f"{m} walkthroughs of each of {teachers} teachers ({visits} in all, design effect {deff:.2f})",
                detect,
                power_at,
                goal,
                opts.margin,
                change,
                share=True,
            )
        )
    else:
        rows.append(_none(4, "classroom practice", prac.target, visits))

    # level 5: the effect on students, schools as the unit of assignment
    out = levels.outcomes
    comparison = int((schools["group"] == "comparison").sum())
    total = j + comparison
    n_students, source = _students_per_school(district, opts)
    note("students per school (harmonic mean)", f"{n_students:.1f}" if n_students else "unknown", source)
    icc, r2_school, r2_student, sources = _variance_inputs(district, opts)
    note("intraclass correlation (school level)", round(icc, 3), sources["icc"])
    note("R² of school-level covariates", round(r2_school, 3), sources["r2_school"])
    note("R² of student-level covariates", round(r2_student, 3), sources["r2_student"])
    note("assignment", opts.assignment, opts.source("assignment"))
    note("power wanted; test level", f"{_pct(goal)}; two-sided, alpha {alpha:.2f}", "plan: design.power, ci")
    if out.target == 0:
        rows.append(_none(5, "student outcomes", out.target, 0, reason="a target of 0 SD is no effect to detect: set "
                          "levels.outcomes.target to the effect the program aims for"))  # fmt: skip
    elif out.target is not None and plan.comparison_design != "none" and comparison and n_students:
        # a two-sided test detects a fall as well as a rise: a target of -0.10 SD (lower is better) is 0.10 SD to detect
        size = abs(out.target)
        direction = " (a decrease)" if out.target < 0 else ""
        p = j / total
        kw = dict(icc=icc, p=p, r2_school=r2_school, r2_student=r2_student, covariates=opts.covariates)
        try:
            blocks = _blocks(schools) if opts.assignment == "blocked" else None
            if blocks:
                mdes = mdes_blocked(total, blocks, n_students, alpha=alpha, power=goal, **kw)
                power_at = power_blocked(size, total, blocks, n_students, alpha=alpha, **kw)
                need = schools_needed(
                    lambda s: mdes_blocked(s, blocks, n_students, alpha=alpha, power=goal, **kw), size
                )
            else:
                mdes = mdes_cluster(total, n_students, alpha=alpha, power=goal, **kw)
                power_at = power_cluster(size, total, n_students, alpha=alpha, **kw)
                need = schools_needed(lambda s: mdes_cluster(s, n_students, alpha=alpha, power=goal, **kw), size)
        except ValueError as exc:
            rows.append(_none(5, "student outcomes", out.target, 0, reason=str(exc)))
        else:
            design = f"{'blocked ' if blocks else ''}cluster-{'randomized' if plan.comparison_design == 'randomized' else 'matched'}"
            caveat = (
                "" if plan.comparison_design == "randomized" else " (a matched comparison: a best case; no lottery)"
            )
            change = ""
            if mdes > size:
                change = (
                    f"about {need} schools in all, {_pct(p)} of them in the program"
                    if need
                    else "no number of schools is enough at this ICC: add a pretest or other covariates (R²)"
                )
                if r2_school == 0:
                    change += (
                        "; or a prior-year score as a covariate, which typically explains much of the variance at "
                        "both levels (Bloom, Richburg-Hayes & Black 2007): set design.r2_school and design.r2_student"
                    )
            rows.append(
                {
                    "level": 5,
                    "name": "student outcomes",
                    "target": out.target,
                    "target_text": f"an effect of {out.target:.2f} SD{direction}",
                    "evidence": f"{j} program and {comparison} comparison schools, about {n_students:.0f} students "
                    f"each, {design}{caveat}",
                    "detectable": mdes,
                    "power": power_at,
                    "verdict": "can detect the target" if mdes <= size else "cannot reliably detect the target",
                    "finding": f"minimum detectable effect {mdes:.2f} SD; power {_pct(power_at)} to detect an effect "
                    f"of {out.target:.2f} SD{direction}; to confirm the target is exceeded, the true effect must be about "
                    f"{math.copysign(size + mdes, out.target):.2f} SD",
                    "change": change,
                }
            )
    else:
        reason = (
            "no comparison group (comparison_design: none, or no comparison schools): no effect can be estimated"
            if plan.comparison_design == "none" or not comparison
            else "students per school unknown: add students.csv (outcomes may be blank) or design.students_per_school"
            if not n_students
            else ""
        )
        rows.append(_none(5, "student outcomes", out.target, 0, reason=reason))
    return DesignCheck(pd.DataFrame(rows), pd.DataFrame(inputs), plan.program)


def _row(level, name, target, target_text, evidence, detect, power_at, goal, margin, change, *, share) -> dict:
    reach = "no share" if detect > 1 else f"a true share of {_pct(detect)} or more"
    return {
        "level": level,
        "name": name,
        "target": target,
        "target_text": target_text,
        "evidence": evidence,
        "detectable": detect,
        "power": power_at,
        "verdict": "can confirm the target" if power_at >= goal else "cannot reliably confirm the target",
        "finding": f"{reach} would be confirmed above the target with {_pct(goal)} probability; if the true share "
        f"is {100 * margin:.0f} percentage points above the target, the chance of confirming it is {_pct(power_at)}",
        "change": change,
    }


def _none(level: int, name: str, target, n, *, reason: str = "") -> dict:
    why = reason or ("no target in plan.yml" if target is None else "too few people in the rosters for this evidence")
    return {
        "level": level,
        "name": name,
        "target": target if target is not None else np.nan,
        "target_text": "none",
        "evidence": "",
        "detectable": np.nan,
        "power": np.nan,
        "verdict": "not checked",
        "finding": why,
        "change": "",
    }


def variance_components(scores: pd.Series, schools: pd.Series) -> tuple[float, float]:
    """Between-school and within-school variance of ``scores`` (the one-way ANOVA estimator for unequal group
    sizes: tau² = (MSB - MSW) / n0, n0 = (N - sum n_i² / N) / (k - 1), floored at 0; sigma² = MSW).

    On High School and Beyond's mathematics scores it gives an ICC of 0.18, as the REML fit in Raudenbush &
    Bryk (2002, Table 4.2: tau00 8.61, sigma² 39.15) does (tests/test_design.py).
    """
    frame = pd.DataFrame({"y": pd.to_numeric(scores, errors="coerce"), "g": schools}).dropna()
    groups = frame.groupby("g")["y"]
    n, means = groups.size(), groups.mean()
    total, k = len(frame), len(n)
    if k < 2 or total <= k:
        raise ValueError("too few schools or students to estimate variance components")
    msb = float((n * (means - frame["y"].mean()) ** 2).sum() / (k - 1))
    msw = float(((frame["y"] - frame["g"].map(means)) ** 2).sum() / (total - k))
    n0 = (total - float((n**2).sum()) / total) / (k - 1)
    return max((msb - msw) / n0, 0.0), msw


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
    where = f"estimated from students.csv, spring {int(latest)} ({spring['school_id'].nunique()} schools)"
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
