"""Level 5's words say what the statistics support (issue #31's wording defects), each checked on the sample.

- A covariate-adjusted difference between groups is not "students' gains".
- p < .05 makes a difference "unlikely to be chance alone", not "larger than chance alone would produce".
- An effect interval that includes the target but excludes zero says both: a modest difference unlikely to be chance alone, and that
  whether it reaches the target is unclear (the multi-year sample's 0.09 SD, 0.02 to 0.16, against 0.10).
- A school whose own interval lies wholly below zero says so in its lead and its next steps (the sample's
  Washington Elementary: 3.9 points below the program's students with the same prior scores, -5.7 to -2.1).
- A level measured last year and not this year is "not measured in 2025-26", not "no evidence yet".
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from plevaluate import registry
from plevaluate.chain import against_zero, chain_sentence
from plevaluate.contract import load
from plevaluate.levels.cost.sections import district as cost_district
from plevaluate.levels.outcomes import findings
from plevaluate.report import school_next_steps
from plevaluate.years import evaluate_for_reports

SAMPLE_YEARS = "data/sample-years"


@pytest.fixture(scope="module")
def years_published():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate_for_reports(load(SAMPLE_YEARS))


def _level5(low, high, status, estimate=0.09, target=0.10):
    return pd.DataFrame(
        {
            "level": [5],
            "level_name": ["Student outcomes"],
            "status": [status],
            "status_detail": [status],
            "unit": ["sd"],
            "estimate": [estimate],
            "ci_low": [low],
            "ci_high": [high],
            "target": [target],
        }
    )


def test_an_interval_with_the_target_but_not_zero_says_a_real_modest_benefit():
    text = chain_sentence(_level5(0.02, 0.16, "not conclusive"), registry.levels())
    assert (
        "excludes zero: a modest difference, unlikely to be chance alone, though whether it reaches the target is unclear"
        in text
    )
    assert "students' gains" not in text and "the adjusted difference in students' scores 0.09 SD" in text
    # an interval with zero in it still says it cannot tell a benefit from no difference
    assert "which also includes zero" in chain_sentence(_level5(-0.02, 0.23, "not conclusive"), registry.levels())


def test_an_effect_wholly_below_zero_is_said_plainly():
    text = chain_sentence(_level5(-0.30, -0.05, "not met", estimate=-0.17), registry.levels())
    assert "did not reach the target (-0.17 SD against 0.10 SD)" in text
    assert "the whole interval is below zero: the program group scored lower than the comparison group" in text
    assert against_zero("met", 0.12, 0.30) == ""  # a met target is a benefit already: nothing to add


def test_the_board_lead_of_the_multi_year_sample_says_both_benefit_and_unclear_target(years_published):
    chain = years_published.chain
    district = chain[(chain["scope"] == "district") & (chain["level"] == 5)].iloc[0]
    assert district["ci_low"] > 0 and district["ci_low"] <= district["target"] <= district["ci_high"]
    assert (
        "a modest difference, unlikely to be chance alone, though whether it reaches the target is unclear"
        in district["status_detail"]
    )


def test_significant_but_not_randomized_is_unlikely_to_be_chance_not_larger_than_chance():
    effect = pd.Series({"hedges_g": 0.09, "g_ci_low": 0.02, "g_ci_high": 0.16})
    text = " ".join(findings(effect, design="matched"))
    assert "unlikely to be chance alone" in text and "larger than chance" not in text
    assert "association with the program, not proof" in text


def test_cost_effectiveness_speaks_of_a_difference_in_scores_not_a_gain(published):
    text = cost_district(published).as_text()
    assert "student gain" not in text and "difference in students' scores" in text


def test_a_school_below_prediction_says_so_in_its_lead_and_next_steps(published):
    schools = published.table(5, "schools").set_index("school_id")
    washington = published.schools.set_index("school_name").loc["Washington Elementary", "school_id"]
    row = schools.loc[washington]
    assert row["ci_high"] < 0  # -3.9 points, -5.7 to -2.1: the whole interval below zero
    lead = published.sentences.set_index("scope").loc[washington, "sentence"]
    assert f"its students scored {-row['estimate']:.1f} points below the program's students with the same prior" in lead
    steps = school_next_steps(published, washington).as_text()
    assert f"Students scored {-row['estimate']:.1f} points below the program's students with the same prior" in steps
    # a school at or above prediction gets no such step
    above = schools.index[schools["ci_low"] > 0][0]
    assert "below the program's students with the same prior" not in school_next_steps(published, above).as_text()


def test_a_level_measured_last_year_is_not_measured_this_year_not_no_evidence(years_published):
    district = years_published.sentences.set_index("scope").loc["district", "sentence"]
    assert "no evidence yet (learning not measured)" not in district
    assert "Learning was not measured in 2025-26; it was last measured in 2024-25" in district
    # the chain goes on past it: the first level that fell short this year is where it breaks
    assert "breaks at level 3" in district


def test_one_level_met_is_not_every_level():
    """A reader's review: a school with one level judged (the others hidden below min_n) opened "Every level with a
    result met its target", which read as a clean bill of health."""
    rows = [
        {"level": 3, "status": "met", "level_name": "Organization support", "status_detail": "met"},
        {"level": 1, "status": "too few people to report", "level_name": "Reactions", "status_detail": ""},
    ]
    text = chain_sentence(rows, registry.levels())
    assert text.startswith("The one level judged against a target met it: ") and "Every level" not in text


def test_groups_resting_on_three_schools_are_named_not_drawn(published):
    """A reader's review: the sample's grades 6 to 10 rest on three schools each (one condition on a single school),
    and their intervals (grade 6: -1.5 to +1.7 SD) were drawn beside the others as if they said something. The chart
    names them and leaves them out (the WWC's single-unit confound); the table keeps their numbers, marked."""
    from plevaluate.levels.outcomes import sections

    subgroups = published.table(5, "subgroups")
    few = subgroups.loc[subgroups["n_clusters"] <= 3, "value"].astype(str).unique().tolist()
    assert few == ["6", "7", "8", "9", "10"]
    chart = next(f for f in sections.district(published).figures if "Effects for groups of students" in f.alt)
    technical = sections.technical(published)
    drawn = [str(label) for label in chart.numbers.iloc[:, 0]]
    assert "grade 5" in drawn and not any(f"grade {g}" in drawn for g in few)
    assert "Not shown: grade 6, grade 7, grade 8, grade 9 and grade 10, each resting on three schools" in chart.alt
    assert "grade 6 (3 schools: one condition on a single school)" in technical.as_text()
    assert "grade 5 (" not in technical.as_text()
