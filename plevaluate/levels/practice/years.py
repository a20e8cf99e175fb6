"""Level 4 over several school years (``Level.years``, `plevaluate.years.evaluate_years`): classroom use by
calendar months since a school joined (September of its first program year is month 0), one line per cohort, so
early and late cohorts are compared at the same point of their journey."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from ..._tidy import cohort_start
from .compute import implementation_rates, prepare_observations

if TYPE_CHECKING:
    from ...contract import District
    from ...evaluate import Evaluation

__all__ = ["event_time", "years"]


def event_time(
    district: District,
    *,
    min_n: int | None = None,
    ci: float | None = None,
    shown: set[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Level 4 by calendar months since a school joined (September of its first program year is month 0),
    for each cohort: cohort, months_since_joining, month, estimate, ci_low, ci_high, n, n_people, schools, ...

    Rates per cohort and month use `plevaluate.levels.practice.implementation_rates` (Wilson intervals clustered by
    educator); cells with fewer than ``min_n`` educators are suppressed. Observations before a school joined
    have negative months (its baseline); comparison schools are left out. With ``shown`` (the (school_id,
    month) rows a published year shows), a cohort's line counts only those schools' months, so it can be worked
    out from what is shown already and reveals nothing a year's report hides.
    """
    plan = district.plan
    min_n = plan.min_n if min_n is None else min_n
    ci = plan.ci if ci is None else ci
    if district.observations is None or district.observations.empty:
        return pd.DataFrame()
    obs = prepare_observations(district)
    cohort = cohort_start(district.schools).set_axis(district.schools["school_id"])
    obs["cohort"] = obs["school_id"].map(cohort)
    obs = obs[obs["cohort"].notna()].copy()
    if shown is not None:
        pairs = pd.MultiIndex.from_arrays([obs["school_id"].astype(object), obs["month"].astype(object)])
        obs = obs[pairs.isin(list(shown))]
    if obs.empty:
        return pd.DataFrame()
    dates = pd.to_datetime(obs["date"])
    obs["months_since_joining"] = (dates.dt.year * 12 + dates.dt.month - (obs["cohort"] * 12 + 9)).astype(int)
    obs["cohort"] = obs["cohort"].astype(int).map(lambda c: f"{c}-{(c + 1) % 100:02d}")
    table = implementation_rates(obs, by=("cohort", "months_since_joining", "month"), min_n=min_n, ci=ci)
    schools = obs.groupby(["cohort", "months_since_joining"])["school_id"].nunique().rename("schools")
    table = table.join(schools, on=["cohort", "months_since_joining"])
    return table.sort_values(["cohort", "months_since_joining"], kind="stable").reset_index(drop=True)


def years(district: District, evaluations: Mapping[str, Evaluation]) -> dict[str, pd.DataFrame]:
    """``years_practice``: `event_time` counting only the school-months each year's report shows (so a line
    reveals no hidden school), its suppressed cells without an estimate."""
    shown: set[tuple[str, str]] = set()
    for result in evaluations.values():
        rates = result.table(4, "rates")
        if rates is not None:
            rows = rates[(rates["breakdown"] == "school_id+month") & ~rates["suppressed"].astype(bool)]
            shown |= set(zip(rows["school_id"], rows["month"]))
    event = event_time(district, shown=shown)
    if not len(event):
        return {}
    table = event[["cohort", "months_since_joining", "month", "estimate", "ci_low", "ci_high", "schools", "suppressed"]]
    hidden = table["suppressed"].astype(bool)
    return {
        "years_practice": table.assign(
            estimate=table["estimate"].where(~hidden),
            ci_low=table["ci_low"].where(~hidden),
            ci_high=table["ci_high"].where(~hidden),
        )
    }
