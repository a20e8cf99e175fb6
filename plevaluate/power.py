"""The statistics of the design check (`plevaluate.design`): how precise planned evidence will be.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from .contract import District
    from .plan import Plan

__all__ = [
    "DesignContext",
    "MAX_SCHOOLS",
    "cluster_df",
    "cluster_se",
    "detectable_share",
    "gain_se",
    "jackknife",
    "mdes_blocked",
    "mdes_cluster",
    "multiplier",
    "not_checked",
    "pct",
    "power_blocked",
    "power_cluster",
    "power_share",
    "power_t",
    "schools_needed",
    "share_row",
    "variance_components",
]

#: the largest number of schools `schools_needed` looks at before it says no number of schools is enough
MAX_SCHOOLS = 10_000


def multiplier(df: float, alpha: float, power: float, two_tailed: bool = True) -> float:
    """PowerUp!'s M: the critical t plus the t at the planned power (both with ``df`` degrees of freedom)."""
    t1 = stats.t.ppf(1 - alpha / 2 if two_tailed else 1 - alpha, df)
    t2 = stats.t.ppf(power, df)
    return float(t1 + t2 if power >= 0.5 else t1 - t2)


def power_t(es: float, se: float, df: float, alpha: float, two_tailed: bool = True) -> float:
    """Power of a t test of ``es`` with standard error ``se``: the noncentral t (PowerUpR's ``.power.fun``)."""
    lam = es / se
    if not two_tailed:
        return float(stats.nct.sf(stats.t.isf(alpha, df), df, lam))
    crit = stats.t.isf(alpha / 2, df)
    return float(stats.nct.sf(crit, df, lam) + stats.nct.cdf(-crit, df, lam))


def cluster_se(schools: float, n: float, icc: float, p: float, r2_school: float, r2_student: float) -> float:
    return math.sqrt(
        icc * (1 - r2_school) / (p * (1 - p) * schools) + (1 - icc) * (1 - r2_student) / (p * (1 - p) * schools * n)
    )


def cluster_df(schools: float, covariates: int) -> float:
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
    se = cluster_se(schools, students, icc, p, r2_school, r2_student)
    return multiplier(cluster_df(schools, covariates), alpha, power, two_tailed) * se


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
    se = cluster_se(schools, students, icc, p, r2_school, r2_student)
    return power_t(es, se, cluster_df(schools, covariates), alpha, two_tailed)


def blocked_parts(
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
    se, df = blocked_parts(schools, blocks, students, icc, p, r2_school, r2_student, covariates)
    return multiplier(df, alpha, power, two_tailed) * se


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
    se, df = blocked_parts(schools, blocks, students, icc, p, r2_school, r2_student, covariates)
    return power_t(es, se, df, alpha, two_tailed)


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


def share_se(p: float, n_eff: float, fpc: float = 1.0) -> float:
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
        nxt = target + z * share_se(min(share, 1.0), n_eff, fpc)
        if abs(nxt - share) < 1e-10:
            break
        share = nxt
    return float(share)


def power_share(true: float, target: float, n_eff: float, fpc: float, alpha: float) -> float:
    if true >= 1:
        true = 1 - 1e-9
    se = share_se(true, n_eff, fpc)
    return float(stats.norm.cdf((true - target) / se - stats.norm.ppf(1 - alpha / 2)))


def gain_se(d: float, n: float, r: float) -> float:
    return math.sqrt((1 / n + d**2 / (2 * n)) * 2 * (1 - r))


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def share_row(level, name, target, target_text, evidence, detect, power_at, goal, margin, change, *, share) -> dict:
    reach = "no share" if detect > 1 else f"a true share of {pct(detect)} or more"
    return {
        "level": level,
        "name": name,
        "target": target,
        "target_text": target_text,
        "evidence": evidence,
        "detectable": detect,
        "power": power_at,
        "verdict": "can confirm the target" if power_at >= goal else "cannot reliably confirm the target",
        "finding": f"{reach} would be confirmed above the target with {pct(goal)} probability; if the true share "
        f"is {100 * margin:.0f} percentage points above the target, the chance of confirming it is {pct(power_at)}",
        "change": change,
    }


def not_checked(level: int, name: str, target, n, *, reason: str = "") -> dict:
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

    This is the method-of-moments estimator, not REML: on High School and Beyond's mathematics scores it gives
    sigma² 39.14 (as Raudenbush & Bryk's REML fit, 2002, Table 4.2: 39.15) but tau² 8.22 against REML's 8.61, so an
    ICC of 0.174 against REML's 0.180 (tests/test_design.py).
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


def jackknife(
    statistic: Callable[[pd.DataFrame], Mapping[str, float]],
    frame: pd.DataFrame,
    cluster: str,
    *,
    level: float = 0.95,
) -> dict[str, tuple[float, float, float]]:
    """Each of ``statistic``'s values with a leave-one-cluster-out jackknife interval: ``{name: (estimate, low,
    high)}``.

    The delete-a-group jackknife (Efron & Tibshirani 1993, An Introduction to the Bootstrap, ch. 11, eq. 11.5):
    ``se = sqrt((g - 1) / g * sum((theta_(i) - theta_(.))²))`` over the g estimates that each leave out one
    cluster, and the interval ``theta ± t_{g-1} * se``. Deterministic: the same data give the same interval.
    For the mean of one value per cluster it is the textbook standard error s / sqrt(g) exactly (eq. 11.6).

    >>> data = pd.DataFrame({"y": [1.0, 2.0, 4.0, 7.0], "g": list("abcd")})
    >>> est, low, high = jackknife(lambda f: {"mean": f["y"].mean()}, data, "g")["mean"]
    >>> round(est, 2), bool(round(high - est, 3) == round(stats.t.ppf(0.975, 3) * data["y"].std() / 2, 3))
    (3.5, True)
    """
    whole = statistic(frame)
    groups = pd.unique(frame[cluster])
    g = len(groups)
    if g < 3:
        raise ValueError("a jackknife interval needs at least 3 clusters")
    leave_out = [statistic(frame[frame[cluster] != group]) for group in groups]
    crit = float(stats.t.ppf(0.5 + level / 2, g - 1))
    out = {}
    for name, estimate in whole.items():
        values = np.array([part[name] for part in leave_out], dtype=float)
        se = float(np.sqrt((g - 1) / g * np.sum((values - values.mean()) ** 2)))
        out[name] = (float(estimate), float(estimate) - crit * se, float(estimate) + crit * se)
    return out


@dataclass
class DesignContext:
    """What every level's part of the design check (``Level.design``) reads: the district as it will stand when
    the program starts (a multi-year plan's first year), the plan, the test's level and power, the program's
    schools and people; ``note`` records an input the check used, with its source (printed under the check)."""

    district: District
    plan: Plan
    alpha: float
    goal: float
    participants: int
    teachers: int
    program_schools: frozenset[str]
    inputs: list[dict] = field(default_factory=list)

    @property
    def opts(self):
        """The plan's ``design:`` options (`plevaluate.plan.DesignOptions`)."""
        return self.plan.design

    def note(self, name: str, value, source: str) -> None:
        self.inputs.append({"input": name, "value": value, "source": source})
