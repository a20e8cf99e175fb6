"""Level 4 from parts of observations.csv (issue 34): each part of the observations, split by educator, summed where it
is (`plevaluate.levels.practice.sums.summarize`: each breakdown's counts and its educators' sums), the parts' sums
added (`ObservationSums.combine`), the GEE models fitted from every part's sums at each step (`fit_models`, one round
a step) and the tables built from the sums alone (`practice_from`). `evaluate_practice` is the same computation with
one part, so the check is that any split by educator gives the one-process tables, notes and handoff: every number
to 1e-9, every text the same.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

from plevaluate.levels.organization.compute import evaluate_organization
from plevaluate.levels.practice.compute import evaluate_practice, prepare_observations
from plevaluate.levels.practice.sums import ModelData, ObservationSums, refine, summarize
from tests.conftest import SAMPLE
from tests.test_outcome_parts import _same_tables, _views
from tests.test_years import SAMPLE_YEARS


def _random_parts(obs: pd.DataFrame, parts: int, seed: int) -> list[pd.DataFrame]:
    """``parts`` random parts, each educator's observations in one, and an empty part."""
    ids = obs["educator_id"].unique()
    where = dict(zip(ids, np.random.default_rng(seed).integers(0, parts, len(ids))))
    return [obs[obs["educator_id"].map(where) == k] for k in range(parts)] + [obs.iloc[:0]]


def _from_parts(view, pieces: list[pd.DataFrame]):
    sums = ObservationSums.combine(summarize(piece) for piece in pieces)
    held = [ModelData(piece) for piece in pieces]  # each part's, as its worker holds it
    sums = refine(sums, lambda function, *args: [function(h, *args) for h in held])
    return _practice(replace(view, summaries={4: (None, sums)}))


def _practice(view):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate_practice(view, organization=evaluate_organization(view))


def _same(one, other) -> None:
    _same_tables(dict(one.tables), dict(other.tables))
    assert [str(n) for n in one.notes] == [str(n) for n in other.notes]
    assert one.meta == other.meta
    _same_tables({"latest_rates": one.handoff["latest_rates"]}, {"latest_rates": other.handoff["latest_rates"]})
    pd.testing.assert_series_equal(one.handoff["users"], other.handoff["users"])


@pytest.mark.parametrize("data", ["sample", "sample-years"])
def test_level_4_from_parts_of_the_observations_equals_one_process(data):
    for view in _views(SAMPLE if data == "sample" else SAMPLE_YEARS):
        whole = _practice(view)
        assert {"trend", "funnel", "dose_model", "target"} <= set(whole.tables)
        obs = prepare_observations(view)
        for parts, seed in ((2, 1), (9, 2), (40, 3)):  # 40: a few educators a part
            _same(_from_parts(view, _random_parts(obs, parts, seed)), whole)


def _with_observations(view, obs: pd.DataFrame, **tables):
    return replace(view, tables=MappingProxyType({**view.tables, "observations": obs, **tables}))


@pytest.mark.parametrize(
    "case",
    [
        "participants only",
        "a quarter not recorded",
        "no level of use",
        "no attendance",
        "same hours",
        "every participant observation shows it",
        "one educator observed often",
        "no observation in the target month",
    ],
)
def test_level_4_from_parts_equals_one_process_in_every_branch(case, sample_district):
    # each branch of the level (a note instead of a table, a model not fitted, the window when the target month has
    # no observation) taken the same way from parts as in one process
    view, obs = sample_district, sample_district.observations
    groups = view.schools.set_index("school_id")["group"]
    rng = np.random.default_rng(7)
    if case == "participants only":
        view = _with_observations(view, obs[obs["school_id"].map(groups).eq("participant")])
    elif case == "a quarter not recorded":
        blank = obs["practice_observed"].mask(rng.random(len(obs)) < 0.25)
        view = _with_observations(view, obs.assign(practice_observed=blank))
    elif case == "no level of use":
        view = _with_observations(view, obs.drop(columns=["level_of_use"]))
    elif case == "no attendance":
        view = replace(view, tables=MappingProxyType({k: v for k, v in view.tables.items() if k != "attendance"}))
    elif case == "same hours":
        view = _with_observations(view, obs, attendance=view.attendance.assign(minutes=0.0))
    elif case == "every participant observation shows it":
        shown = obs["practice_observed"].mask(obs["school_id"].map(groups).eq("participant"), True)
        view = _with_observations(view, obs.assign(practice_observed=shown))
    elif case == "one educator observed often":
        one = obs[obs["educator_id"] == obs["educator_id"].iloc[0]]
        extra = pd.concat([one] * 12, ignore_index=True)
        extra["observation_id"] = [f"extra-{i}" for i in range(len(extra))]
        view = _with_observations(view, pd.concat([obs, extra], ignore_index=True))
    else:  # the sample has no observations in July: the participants' latest term is the window
        practice = view.plan.levels.practice.model_copy(update={"by_month": 7})
        levels = view.plan.levels.model_copy(update={"practice": practice})
        view = replace(view, plan=view.plan.model_copy(update={"levels": levels}))
    whole = _practice(view)
    reached = {
        "participants only": lambda r: set(r.tables["trend"]["group"]) == {"participant"},
        "a quarter not recorded": lambda r: any("no practice recorded" in str(n) for n in r.notes),
        "no level of use": lambda r: "level_of_use" not in r.tables,
        "no attendance": lambda r: any("no attendance records" in str(n) for n in r.notes),
        "same hours": lambda r: any("same PL hours" in str(n) for n in r.notes),
        "every participant observation shows it": lambda r: any("observed = 1" in str(n) for n in r.notes),
        "one educator observed often": lambda r: any("one educator was observed" in str(n) for n in r.notes),
        "no observation in the target month": lambda r: " " in r.tables["target"]["window"].iloc[0],
    }[case]
    assert reached(whole), "the case does not reach its branch"
    _same(_from_parts(view, _random_parts(prepare_observations(view), 4, 11)), whole)


def test_each_rate_from_sums_equals_clustered_wilson_of_its_observations(sample_district):
    # the sums' design effect (sum s^2, sum s m, sum m^2 over each group's educators) against the effects module's
    # own computation from the residuals (`clustered_wilson`), school by school and month by month, a quarter of the
    # observations not recorded
    from plevaluate.effects import clustered_wilson
    from plevaluate.levels.practice import implementation_rates

    obs = prepare_observations(sample_district)
    obs = obs.assign(observed=obs["observed"].mask(np.random.default_rng(3).random(len(obs)) < 0.25))
    table = implementation_rates(obs, by=("school_id", "month"), min_n=1)
    checked = 0
    for row in table.itertuples():
        part = obs[(obs["school_id"] == row.school_id) & (obs["month"] == row.month)].dropna(subset=["observed"])
        if part.empty:
            continue
        share, low, high, deff = clustered_wilson(part["observed"].to_numpy(), part["educator_id"].to_numpy())
        np.testing.assert_allclose(
            [row.estimate, row.ci_low, row.ci_high, row.deff], [share, low, high, deff], rtol=1e-9
        )
        checked += deff > 1
    assert checked > 10  # repeat observations of one educator widen many intervals
