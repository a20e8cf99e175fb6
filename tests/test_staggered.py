"""Staggered adoption at level 5: Callaway & Sant'Anna group-time effects (csdid), checked against the published
example and by simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plevaluate.errors import StatisticalWarning
from plevaluate.staggered import school_panel, staggered_effects

MPDTA = Path(__file__).parent / "data" / "mpdta.csv"

# The R package did (Callaway & Sant'Anna), README.md at commit 71ba8a56 (github.com/bcallaway11/did), "Getting
# Started": att_gt(yname = "lemp", gname = "first.treat", idname = "countyreal", tname = "year", xformla = ~1,
# data = mpdta, est_method = "reg"), then aggte(out, type = "dynamic") and aggte(out, type = "group").
# mpdta (500 counties, 2003-2007) is the package's data set, copied as tests/data/mpdta.csv from csdid's
# csdid/data/mpdta.csv (commit ca91c1fe). Printed standard errors come from the multiplier bootstrap.
PRINTED_ATT_GT = [  # group, time, ATT(g,t), bootstrap SE
    (2004, 2004, -0.0105, 0.0246),
    (2004, 2005, -0.0704, 0.0332),
    (2004, 2006, -0.1373, 0.0397),
    (2004, 2007, -0.1008, 0.0357),
    (2006, 2004, 0.0065, 0.0229),
    (2006, 2005, -0.0028, 0.0197),
    (2006, 2006, -0.0046, 0.0179),
    (2006, 2007, -0.0412, 0.0192),
    (2007, 2004, 0.0305, 0.0154),
    (2007, 2005, -0.0027, 0.0164),
    (2007, 2006, -0.0311, 0.0184),
    (2007, 2007, -0.0261, 0.0170),
]
PRINTED_DYNAMIC = [(-3, 0.0305, 0.0154), (-2, -0.0006, 0.0132), (-1, -0.0245, 0.0153), (0, -0.0199, 0.0123),
                   (1, -0.0510, 0.0167), (2, -0.1373, 0.0413), (3, -0.1008, 0.0351)]  # fmt: skip
PRINTED_GROUP = [(2004, -0.0797, 0.0291), (2006, -0.0229, 0.0176), (2007, -0.0261, 0.0175)]


@pytest.fixture(scope="module")
def mpdta():
    data = pd.read_csv(MPDTA)
    return staggered_effects(data, outcome="lemp", unit="countyreal", time="year", group="first.treat")


def test_mpdta_group_time_effects_match_the_published_output(mpdta):
    table = mpdta.group_time.set_index(["cohort", "year"])
    for group, time, att, boot_se in PRINTED_ATT_GT:
        assert table.loc[(group, time), "estimate"] == pytest.approx(att, abs=5e-5)
        # analytic SEs against the printed bootstrap SEs (random draws): within 15%
        assert table.loc[(group, time), "se"] == pytest.approx(boot_se, rel=0.15)


def test_mpdta_event_study_and_cohort_aggregations_match_the_published_output(mpdta):
    event = mpdta.event_time.set_index("event_time")
    for e, att, boot_se in PRINTED_DYNAMIC:
        assert event.loc[e, "estimate"] == pytest.approx(att, abs=5e-5)
        assert event.loc[e, "se"] == pytest.approx(boot_se, rel=0.15)
    cohorts = mpdta.cohorts.set_index("cohort")
    for g, att, boot_se in PRINTED_GROUP:
        assert cohorts.loc[g, "estimate"] == pytest.approx(att, abs=5e-5)
        assert cohorts.loc[g, "se"] == pytest.approx(boot_se, rel=0.15)
    overall = mpdta.overall.set_index("aggregation")["estimate"]
    assert overall["cohort"] == pytest.approx(-0.031, abs=5e-4)  # printed "-0.031"
    assert overall["event time"] == pytest.approx(-0.0772, abs=5e-5)


def test_not_yet_treated_controls_are_counted_as_did_defines_them():
    """did's att_gt (Callaway & Sant'Anna's R package, man/att_gt.Rd): with control_group = "notyettreated" the
    comparison units of ATT(g, t) are the never treated and "the units that have not yet participated in the
    treatment in that time period", whatever g. mpdta: 309 never-treated counties, cohorts 2004 (20), 2006 (40)
    and 2007 (131). ATT(2007, 2004), a cell before the cohort joins, compares with 309 + 40 = 349 counties (2006
    has not joined in 2004); it was counted as 309 (only those joining after the cohort). (#31)"""
    data = pd.read_csv(MPDTA)
    effects = staggered_effects(
        data, outcome="lemp", unit="countyreal", time="year", group="first.treat", control="notyettreated"
    )
    controls = effects.group_time.set_index(["cohort", "year"])["control_schools"]
    assert controls[(2007, 2004)] == 349
    assert controls[(2007, 2005)] == 349  # 2006 still not in the program in 2005
    assert controls[(2004, 2005)] == 309 + 40 + 131  # after joining: everyone not yet in the program in 2005
    assert controls[(2004, 2006)] == 309 + 131
    assert controls[(2006, 2007)] == 309  # in 2007 every cohort has joined


def _simulated_district(rng, *, schools=36, years=(2023, 2024, 2025, 2026), students=30, effect=(0.10, 0.20, 0.25)):
    """Schools in three groups: joining in 2024-25 (first program spring 2025), in 2025-26 (2026), never.
    School and year effects, a school-specific trend-free level, and a true effect by years since joining."""
    ids = [f"S{i:02d}" for i in range(schools)]
    cohort = np.array([2024, 2025, 0] * (schools // 3))
    school_effect = rng.normal(0, 0.4, schools)
    rows = []
    for s, c, u in zip(ids, cohort, school_effect):
        for t in years:
            e = t - (c + 1) if c else -1
            tau = effect[min(e, len(effect) - 1)] if c and e >= 0 else 0.0
            scores = 500 + 40 * (u + 0.05 * (t - years[0]) + tau + rng.normal(0, 1, students))
            rows += [
                {"student_id": f"{s}-{t}-{k}", "school_id": s, "year": t, "outcome": y} for k, y in enumerate(scores)
            ]
    schools_table = pd.DataFrame(
        {"school_id": ids, "group": np.where(cohort > 0, "participant", "comparison"),
         "cohort": [str(c) if c else "" for c in cohort]}
    )  # fmt: skip
    return pd.DataFrame(rows), schools_table


def test_school_panel_standardizes_within_each_spring_and_dates_cohorts_by_first_program_spring(rng):
    students, schools = _simulated_district(rng, schools=6)
    panel = school_panel(students, schools)
    assert len(panel) == 6 * 4
    assert set(panel.loc[panel["school_id"] == "S00", "first_year"]) == {2025}  # cohort 2024 -> spring 2025
    assert set(panel.loc[panel["school_id"] == "S02", "first_year"]) == {0}  # comparison: never
    weighted = panel.groupby("year").apply(lambda g: np.average(g["outcome"], weights=g["students"]))
    assert np.allclose(weighted, 0, atol=1e-12)  # z-scores average 0 in each spring


@pytest.mark.slow
def test_staggered_effects_cover_the_truth_in_simulated_districts():
    """200 simulated districts of 36 schools: the event-time effects' 95% intervals cover the true effect (0.10,
    0.20 SD of the year's score spread, approximately) about 95% of the time, and pre-joining placebos cover 0."""
    rng = np.random.default_rng(17)
    hits = {0: 0, 1: 0, -1: 0}
    runs = 200
    for _ in range(runs):
        students, schools = _simulated_district(rng)
        result = staggered_effects(school_panel(students, schools))
        event = result.event_time.set_index("event_time")
        # the truth in z units: effect / the year's SD of scores (40 * sd of u + tau + noise)
        sd = students.groupby("year")["outcome"].std() / 40
        for e, tau in ((0, 0.10), (1, 0.20), (-1, 0.0)):
            truth = tau / sd.mean()
            hits[e] += event.loc[e, "ci_low"] <= truth <= event.loc[e, "ci_high"]
    coverage = {e: h / runs for e, h in hits.items()}
    for e, c in coverage.items():
        assert 0.90 <= c <= 0.99, (e, coverage)


def test_a_school_missing_a_spring_is_left_out_and_said_to_be(rng):
    students, schools = _simulated_district(rng, schools=36)
    panel = school_panel(students, schools)
    gap = panel[~((panel["school_id"] == "S00") & (panel["year"] == 2024))]
    with pytest.warns(StatisticalWarning, match=r"1 school lacks scores in some springs and is left out.*S00"):
        result = staggered_effects(gap)
    assert result.cohorts.set_index("cohort").loc[2025, "treated_schools"] == 11  # S00's cohort: 12 - 1
