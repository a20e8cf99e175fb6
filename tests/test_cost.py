"""Cost: hand-checkable totals and ratios, the sample reconciled to the cent, discounting, edge cases."""

from __future__ import annotations

import dataclasses
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

import plevaluate
from plevaluate.levels.cost import allocate, cost_effectiveness, cost_lines, cost_ratios, cost_totals, evaluate_cost
from tests.conftest import SAMPLE


@pytest.fixture
def small():
    costs = pd.DataFrame(
        {
            "item": ["vendor", "coach A", "books"],
            "category": ["vendor_fees", "facilitators_coaches", "materials_licences"],
            "amount": [1000.0, 600.0, 300.0],
            "funding_source": ["Title II", "Title I", "General fund"],
            "school_id": [pd.NA, "A", pd.NA],
            "date": pd.to_datetime(["2025-09-01", "2025-10-01", "2026-01-10"]),
        }
    )
    educators = pd.DataFrame(
        {
            "educator_id": ["a1", "a2", "a3", "b1"],
            "school_id": ["A", "A", "A", "B"],
            "participant": [True, True, True, True],
        }
    )
    schools = pd.DataFrame({"school_id": ["A", "B", "C"], "group": ["participant", "participant", "comparison"]})
    sessions = pd.DataFrame(
        {"session_id": ["P1", "P2"], "hours": [2.0, 3.0], "date": pd.to_datetime(["2025-09-10", "2026-02-01"])}
    )
    attendance = pd.DataFrame(
        {
            "educator_id": ["a1", "a2", "b1", "b1"],
            "session_id": ["P1", "P1", "P1", "P2"],
            "minutes": [120.0, 60.0, np.nan, 180.0],
        }
    )
    return costs, educators, schools, sessions, attendance


def test_small_cost_table_by_hand(small):
    costs, educators, schools, sessions, attendance = small
    lines = cost_lines(costs, attendance, educators, sessions, hourly_rate=50.0, default_year="2025-26")
    # time: A 120 + 60 minutes = 3 h; B: P1 minutes missing -> the session's 2 h, plus 3 h = 5 h; at 50/h
    time = lines[lines["category"] == "participant_time"].set_index("school_id")
    assert time.loc["A", "hours"] == 3 and time.loc["B", "hours"] == 5
    assert time.loc["A", "charged"] == 150 and time.loc["B", "charged"] == 250
    assert lines["charged"].sum() == pytest.approx(1000 + 600 + 300 + 150 + 250)
    allocated = allocate(lines, educators, schools)
    assert allocated["charged"].sum() == pytest.approx(2300)
    per_school = allocated.groupby("school_id")["charged"].sum()
    # district lines (1,300) shared 3:1 by participating educators: A 975 + 600 + 150, B 325 + 250
    assert per_school["A"] == pytest.approx(1725) and per_school["B"] == pytest.approx(575)
    by_source = cost_totals(allocated, "funding_source").set_index("funding_source")
    assert by_source.loc["Title II", "cost"] == pytest.approx(1000)
    assert by_source.loc["Title II", "share"] == pytest.approx(1000 / 2300)
    ratios = cost_ratios(2300, {"per_participant": (4, "participants"), "per_user": (0, "users")}).set_index("measure")
    assert ratios.loc["per_participant", "estimate"] == 575
    assert (
        np.isnan(ratios.loc["per_user", "estimate"]) and ratios.loc["per_user", "status"] == "not estimable: no users"
    )


def test_discounting_and_amortization(small):
    costs, educators, schools, sessions, attendance = small
    costs = costs.assign(
        useful_life_years=[np.nan, np.nan, 5.0], date=pd.to_datetime(["2025-09-01", "2026-10-01", "2025-10-01"])
    )
    lines = cost_lines(costs, None, educators, None, hourly_rate=0.0, discount_rate=0.03, default_year="2025-26")
    lines = lines.set_index("item")
    # a one-time 300 used for 5 years at 3%: 300 * 0.03 / (1 - 1.03**-5) = 65.51 (annuity, Levin & McEwan ch. 5)
    assert lines.loc["books", "charged"] == pytest.approx(300 * 0.03 / (1 - 1.03**-5))
    assert lines.loc["books", "charged"] == pytest.approx(65.5064, abs=1e-4)
    # the coach line falls in 2026-27, one year after the first: discounted by 1.03
    assert lines.loc["coach A", "school_year"] == "2026-27"
    assert lines.loc["coach A", "charged"] == pytest.approx(600 / 1.03)
    assert lines.loc["vendor", "charged"] == 1000


def test_cost_effectiveness_carries_the_interval():
    row = cost_effectiveness(200.0, 0.25, 0.10, 0.40)
    assert row["estimate"] == pytest.approx(80.0)  # 200 / (0.25 / 0.1)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((50.0, 200.0))
    assert cost_effectiveness(200.0, -0.1, -0.3, 0.1)["status"] == "not estimable: the effect is zero or negative"
    crossing = cost_effectiveness(200.0, 0.1, -0.02, 0.22)
    assert np.isnan(crossing["estimate"]) and np.isnan(crossing["ci_high"])
    assert cost_effectiveness(200.0, np.nan, np.nan, np.nan)["status"] == "not estimable: no effect estimate"


@pytest.fixture(scope="module")
def sample_cost(sample_evaluation):
    return sample_evaluation.levels[0]


def test_sample_reconciles_to_the_cent(sample_cost):
    # Independently from the raw files: every costs.csv amount plus attended hours x the plan's 48.50.
    costs = pd.read_csv(SAMPLE / "costs.csv")
    attendance = pd.read_csv(SAMPLE / "attendance.csv")
    sessions = pd.read_csv(SAMPLE / "sessions.csv").set_index("session_id")
    minutes = attendance["minutes"].fillna(attendance["session_id"].map(sessions["hours"]) * 60)
    expected = costs["amount"].sum() + minutes.sum() / 60 * 48.50
    assert round(sample_cost.meta["total"], 2) == round(expected, 2)
    assert round(sample_cost.tables["lines"]["charged"].sum(), 2) == round(expected, 2)
    assert round(sample_cost.tables["schools"]["cost"].sum(), 2) == round(expected, 2)  # everything allocated
    by_source = sample_cost.tables["by_source"].set_index("funding_source")
    assert round(by_source.loc["Title I", "cost"], 2) == round(
        costs.loc[costs["funding_source"] == "Title I", "amount"].sum(), 2
    )
    assert {"Title I", "Title II", "Title IV", "General fund", "Curriculum adoption"} <= set(by_source.index)


def test_sample_effectiveness_is_not_estimable(sample_cost):
    # the sample's effect interval crosses zero (g 0.11, 95% CI -0.02 to 0.23): no ratio is printed as a number
    row = sample_cost.tables["effectiveness"].iloc[0]
    assert row["status"] == "not estimable: the effect's 95% interval includes zero" and np.isnan(row["estimate"])
    assert any("not estimable" in note for note in sample_cost.notes)


def test_no_costs_file(tiny):
    (tiny / "costs.csv").unlink()
    district = plevaluate.load(tiny)
    result = evaluate_cost(district)
    assert result.evidence and any("only participants' time" in n for n in result.notes)
    budget_only = dataclasses.replace(
        district,
        plan=district.plan.model_copy(
            update={"cost": district.plan.cost.model_copy(update={"include_participant_time": False})}
        ),
    )
    assert not evaluate_cost(budget_only).evidence


def test_school_with_no_participants_and_costs_in_a_year_without_sessions(tmp_path):
    folder = tmp_path / "d"
    shutil.copytree(SAMPLE, folder)
    educators = pd.read_csv(folder / "educators.csv", dtype=str)
    educators.loc[educators["school_id"] == "S02", "participant"] = "False"
    educators.to_csv(folder / "educators.csv", index=False)
    costs = pd.read_csv(folder / "costs.csv", dtype=str)
    costs.loc[0, "date"] = "2024-03-01"
    costs.to_csv(folder / "costs.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate_cost(plevaluate.load(folder))
    notes = " ".join(result.notes)
    assert "S02 has no participating educators" in notes
    assert "2023-24, a school year with no PL sessions" in notes
    s02 = result.tables["schools"].set_index("school_id").loc["S02"]
    assert np.isnan(s02["cost_per_participant"])
    assert result.tables["by_year"]["school_year"].tolist() == ["2025-26", "2023-24"]


def test_useful_life_is_validated(tiny):
    costs = pd.read_csv(tiny / "costs.csv", dtype=str)
    costs["useful_life_years"] = ""
    costs.loc[0, "useful_life_years"] = "five"
    costs.to_csv(tiny / "costs.csv", index=False)
    with pytest.raises(plevaluate.ContractError) as caught:
        plevaluate.load(tiny)
    message = str(caught.value)
    assert "costs.csv" in message and "useful_life_years" in message and "five" in message
