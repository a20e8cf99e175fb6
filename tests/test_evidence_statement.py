"""The ESSA evidence statement classifies constructed studies whose answers are known (issue #31).

Thresholds, as the statement cites them:
- Tiers: ESEA section 8101(21)(A) as amended by ESSA (2015): tier 1 an experimental study, tier 2 a
  quasi-experimental study, tier 3 a correlational study with statistical controls for selection bias, each with a
  statistically significant effect on improving outcomes; tier 4 a research-based rationale with ongoing
  examination of effects.
- U.S. Department of Education (2016), Non-Regulatory Guidance: Using Evidence to Strengthen Education
  Investments, Part II: tier 1 meets WWC standards without reservations, tier 2 with or without; a significant
  favourable effect not overridden by significant unfavourable evidence; tiers 1 and 2 with a large and a
  multi-site sample (34 CFR 77.1: 350 or more students, or 50 or more groups of 10 or more; more than one site, an
  LEA, locality or State).
- WWC Standards Handbook v4.1 (2020): a randomized study with low attrition (Table II.1, cautious boundary by
  default) can meet standards without reservations; with high attrition, or a quasi-experiment, it must show
  baseline equivalence on the analytic sample: |g| <= 0.05 satisfies, 0.05 < |g| <= 0.25 with statistical
  adjustment, > 0.25 does not; one unit alone in a condition is an n = 1 confound.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from plevaluate.contract import load
from plevaluate.levels.outcomes.evidence import evidence_statement, lowest_overall_boundary
from plevaluate.years import evaluate_for_reports

FAVOURABLE = {"estimate": 4.0, "ci_low": 1.5, "ci_high": 6.5, "p_value": 0.003, "hedges_g": 0.18,
              "se_type": "CR2 (Satterthwaite df)", "n_treatment": 900, "n_comparison": 900}  # fmt: skip


def _baseline(g):
    return pd.DataFrame({"covariate": ["prior_score"], "g": [g]})


def _attrition(overall, differential):
    return pd.DataFrame({"overall": [overall], "differential": [differential]})


def _study(**changes):
    study = dict(
        design="randomized",
        effect=FAVOURABLE,
        baseline=_baseline(0.03),
        attrition=_attrition(0.10, 0.02),
        schools_treatment=10,
        schools_comparison=10,
        groups_of_ten=20,
        covariates=["prior_score"],
        references=3,
        sites=2,
    )
    study.update(changes)
    return evidence_statement(**study)


def _tier(table):
    return table.set_index("criterion").loc["tier", "number"]


def _row(table, criterion):
    return table.set_index("criterion").loc[criterion]


def test_a_randomized_study_with_low_attrition_a_significant_effect_large_and_multi_site_is_tier_1():
    table = _study()
    assert _tier(table) == 1
    assert _row(table, "attrition")["satisfied"] == "yes"  # 10% overall, 2 points: low under the cautious boundary
    assert pd.isna(_row(table, "tier")["to_raise"])
    assert table["reference"].str.len().gt(0).all()  # every criterion cites its source


def test_high_attrition_with_baseline_equivalent_groups_is_tier_2():
    # 40% overall with 5 points differential is high attrition (cautious boundary at 40%: 2.6 points); the analytic
    # groups differ by 0.03 SD: baseline equivalence satisfied, so the study meets standards with reservations.
    table = _study(attrition=_attrition(0.40, 0.05))
    assert _row(table, "attrition")["satisfied"] == "no" and _tier(table) == 2
    # 5 points is low attrition up to 23% overall (5.1 points there, 4.9 at 24%)
    assert "keep overall attrition under 23%" in _row(table, "attrition")["to_raise"]
    # 8 points is above every cautious boundary (at most 6.3): only a narrower differential helps
    wide = _study(attrition=_attrition(0.40, 0.08))
    assert _row(wide, "attrition")["to_raise"].startswith("narrow the differential")


def test_a_quasi_experiment_adjusted_for_a_baseline_difference_of_010_is_tier_2_and_of_030_is_not():
    adjusted = _study(design="matched", baseline=_baseline(0.10), attrition=None)
    assert _tier(adjusted) == 2
    assert "which the model makes" in _row(adjusted, "baseline")["finding"]
    assert "randomise schools" in _row(adjusted, "tier")["to_raise"]
    # the same difference without the adjustment does not satisfy the requirement
    unadjusted = _study(design="matched", baseline=_baseline(0.10), attrition=None, covariates=[])
    assert _row(unadjusted, "baseline")["satisfied"] == "no" and _tier(unadjusted) != 2
    far = _study(design="matched", baseline=_baseline(0.30), attrition=None)
    assert _row(far, "baseline")["satisfied"] == "no" and _tier(far) == 3  # still a study with statistical controls
    assert "does not meet WWC standards" in _row(far, "tier")["finding"]


def test_one_school_per_condition_is_a_confound_and_supports_no_tier_from_the_study():
    table = _study(schools_treatment=1, schools_comparison=1, groups_of_ten=2)
    assert _row(table, "confound")["satisfied"] == "no" and "single-unit confound" in _row(table, "confound")["finding"]
    assert _tier(table) == 4  # only the rationale remains
    assert "add 1 or more" in _row(table, "confound")["to_raise"]


def test_too_few_students_or_one_site_is_not_tier_1_or_2():
    small = _study(effect={**FAVOURABLE, "n_treatment": 100, "n_comparison": 100}, groups_of_ten=4,
                   schools_treatment=2, schools_comparison=2)  # fmt: skip
    assert _row(small, "sample")["satisfied"] == "no" and _tier(small) == 3
    assert "test at least 150 more students" in _row(small, "tier")["to_raise"]
    one_site = _study(sites=1)
    assert _row(one_site, "sites")["satisfied"] == "no" and _tier(one_site) == 3
    assert "it covers one site" in _row(one_site, "tier")["finding"]


def test_a_significant_unfavourable_effect_is_said_plainly_and_supports_no_tier():
    harm = {**FAVOURABLE, "estimate": -4.0, "ci_low": -6.5, "ci_high": -1.5, "hedges_g": -0.18}
    table = _study(effect=harm)
    assert np.isnan(_tier(table))
    assert "UNFAVOURABLE" in _row(table, "effect")["finding"]
    assert "does not support the program at any tier" in _row(table, "tier")["finding"]
    # when the plan's target is negative (lower is better), the same interval is the favourable one
    assert _tier(_study(effect=harm, lower_is_better=True)) == 1


def test_correlational_controls_only_is_tier_3():
    dose = {"estimate": 1.2, "ci_low": 0.3, "ci_high": 2.1, "p_value": 0.01, "n": 1500, "se_type": "CR2"}
    table = _study(design="none", effect=None, correlational=dose, baseline=None, attrition=None)
    assert _row(table, "design")["number"] == 3 and _tier(table) == 3
    assert "correlational" in _row(table, "tier")["finding"]
    assert "add comparison schools" in _row(table, "tier")["to_raise"]


def test_a_plan_with_a_logic_model_and_no_outcome_data_yet_is_tier_4_and_without_research_none():
    table = _study(effect=None, baseline=None, attrition=None)
    assert _tier(table) == 4 and "no student outcomes yet" in _row(table, "effect")["finding"]
    bare = _study(effect=None, baseline=None, attrition=None, references=0)
    assert np.isnan(_tier(bare)) and "cite the research" in _row(bare, "tier")["to_raise"]


def test_an_effect_that_is_not_significant_is_not_tier_1_to_3():
    null = {**FAVOURABLE, "ci_low": -0.5, "ci_high": 8.0, "p_value": 0.09}
    assert _tier(_study(effect=null)) == 4


def test_lowest_overall_boundary_reads_the_table():
    # cautious boundary: 5.1 points at 23% overall, 4.9 at 24% (Table II.1 as transcribed)
    assert lowest_overall_boundary(0.05, "cautious") == pytest.approx(0.23)
    assert lowest_overall_boundary(0.12, "optimistic") is None


def _backed(table):
    """Every criterion's sentence carries the number its row holds."""
    for row in table.itertuples():
        if pd.isna(row.number) or row.criterion in ("design", "setting"):
            continue
        shown = {
            "attrition": f"{row.number:.1%}",
            "baseline": f"{abs(row.number):.2f} SD",
            "confound": f"{int(row.number)}",
            "effect": f"{row.number:+.1f} points",
            "sample": f"{row.number:,.0f} students",
            "sites": f"{int(row.number)} site",
            "rationale": f"cites {int(row.number)} research",
            "tier": f"Tier {int(row.number)}",
        }[row.criterion]
        assert shown in row.finding, (row.criterion, shown, row.finding)


def test_the_sample_is_tier_4_and_every_sentence_is_backed_by_its_number(published):
    table = published.table(5, "evidence")
    _backed(table)
    assert _tier(table) == 4  # a quasi-experiment whose effect's interval includes zero; the plan cites research
    assert _row(table, "effect")["satisfied"] == "no"


def test_the_multi_year_sample_is_tier_3():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate_for_reports(load("data/sample-years"))
    table = ev.table(5, "evidence")
    _backed(table)
    # a significant favourable effect (0.02 to 0.16 SD) from a quasi-experiment in one LEA: not a multi-site sample
    assert _tier(table) == 3 and "it covers one site" in _row(table, "tier")["finding"]
    # a reader's review: in 2025-26 every program school joined in 2023 or 2024, so its students' prior scores (spring
    # 2025) came after the program began: no baseline before the program, and the statement says so
    baseline = _row(table, "baseline")
    assert (
        baseline["satisfied"] == "no"
        and "12 program schools joined the program before this school year" in (baseline["finding"])
    )
    assert "does not meet WWC standards" in _row(table, "tier")["finding"]
    findings = " ".join(ev.table(5, "findings")["finding"])
    assert "at the start" not in findings and "one more year's growth" in findings


def test_a_quasi_experiment_whose_program_schools_joined_before_this_year_has_no_baseline_before_the_program():
    """The same study, equivalent on prior scores, is Tier 2 when its program schools joined this year and not when
    they joined before it: their prior scores were taken after the program began (WWC: a baseline measure precedes
    the intervention). `joined_before` counts them from schools.csv's cohort."""
    from plevaluate.levels.outcomes.compute import joined_before

    fresh = _study(design="matched", attrition=None)
    assert _row(fresh, "baseline")["satisfied"] == "yes" and _tier(fresh) == 2
    later = _study(design="matched", attrition=None, joined_before=4)
    assert _row(later, "baseline")["satisfied"] == "no" and _tier(later) == 3
    assert "4 program schools joined the program before this school year" in _row(later, "baseline")["finding"]
    schools = pd.DataFrame(
        {"group": ["participant"] * 3 + ["comparison"], "cohort": ["2023", "2024-25", "", "2022"]}
    )  # a blank cohort (from the start) and a comparison school's cohort count for nothing
    assert [joined_before(schools, y) for y in ("2023-24", "2024-25", "2025-26", "2023-24 to 2025-26")] == [0, 1, 2, 0]


# ---- the hostile review's cases (each failed before its fix) ----


def test_significance_is_the_test_at_05_whatever_interval_the_plan_prints():
    # p = .09: an 80% interval would exclude zero, but the effect is not significant at .05 (WWC, two-tailed)
    eighty = {**FAVOURABLE, "ci_low": 0.3, "ci_high": 7.7, "p_value": 0.09}
    table = _study(effect=eighty, ci=0.80)
    assert _row(table, "effect")["satisfied"] == "no" and _tier(table) == 4
    assert "p = 0.090" in _row(table, "effect")["finding"]


def test_missing_numbers_never_pass_a_criterion():
    assert _tier(_study(effect={**FAVOURABLE, "ci_high": np.nan})) == 4  # an interval without an end is no test
    assert _tier(_study(effect={**FAVOURABLE, "p_value": np.nan})) == 4
    unknown = _study(effect={**FAVOURABLE, "n_treatment": np.nan}, groups_of_ten=10)
    assert _row(unknown, "sample")["satisfied"] == "no"  # not "0 students ... a large sample"
    # a negative differential is the same gap the other way round
    assert _row(_study(attrition=_attrition(0.30, -0.20)), "attrition")["satisfied"] == "no"


def test_baseline_equivalence_is_judged_on_every_measure_and_needs_the_pretest():
    two = pd.DataFrame({"covariate": ["prior_score", "english_learner"], "g": [0.24, 0.20]})
    unadjusted = _study(design="matched", attrition=None, baseline=two, covariates=["prior_score"])
    assert _row(unadjusted, "baseline")["satisfied"] == "no" and _tier(unadjusted) == 3
    assert "english_learner" in _row(unadjusted, "baseline")["finding"]
    no_pretest = pd.DataFrame({"covariate": ["prior_score", "english_learner"], "g": [np.nan, 0.01]})
    assert _row(_study(design="matched", attrition=None, baseline=no_pretest), "baseline")["satisfied"] == "no"


def test_the_requirement_column_holds_no_data():
    table = _study(attrition=_attrition(0.40, 0.05))
    assert "40%" not in _row(table, "attrition")["requirement"]  # it is kept when suppression hides the row
    assert "40.0% overall" in _row(table, "attrition")["finding"]


def test_a_plan_without_a_comparison_design_but_comparison_data_is_reviewed_as_a_quasi_experiment(tmp_path):
    import shutil

    from plevaluate import evaluate
    from tests.conftest import SAMPLE

    data = tmp_path / "d"
    shutil.copytree(SAMPLE, data)
    plan = (data / "plan.yml").read_text().replace("comparison_design: matched", "comparison_design: none")
    (data / "plan.yml").write_text(plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = evaluate(load(data)).publish().table(5, "evidence")
    design = _row(table, "design")
    assert design["number"] == 2 and "plan.yml says comparison_design: none" in design["finding"]
    assert "no student outcomes yet" not in _row(table, "effect")["finding"]


def test_attrition_counts_students_the_model_drops_for_a_missing_covariate(sample_district):
    from plevaluate.levels.outcomes import add_treatment, attrition

    students = add_treatment(sample_district.students, sample_district.schools)
    post = students["period"] == "post"
    program = students["treatment"] == 1
    lost = students.index[post & program][::2]  # half the program students' post prior scores missing
    thinned = students.copy()
    thinned.loc[lost, "prior_score"] = np.nan
    before = attrition(thinned).iloc[0]
    after = attrition(thinned, covariates=["prior_score"]).iloc[0]
    assert after["analytic_treatment"] < before["analytic_treatment"] - len(lost) * 0.8
    assert after["differential"] > 0.3 and after["cautious"] == "high attrition"


def _copy(tmp_path):
    import shutil

    from tests.conftest import SAMPLE

    data = tmp_path / "d"
    shutil.copytree(SAMPLE, data)
    return data


def _published(data):
    from plevaluate import evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate(load(data)).publish()


def test_with_too_few_comparison_students_the_statement_and_the_findings_are_hidden(tmp_path):
    data = _copy(tmp_path)
    schools = pd.read_csv(data / "schools.csv", dtype=str)
    comparison = set(schools.loc[schools["group"] == "comparison", "school_id"])
    students = pd.read_csv(data / "students.csv", dtype=str)
    keep = students.loc[students["school_id"].isin(comparison), "student_id"].drop_duplicates().head(8)
    students = students[~students["school_id"].isin(comparison) | students["student_id"].isin(keep)]
    students.to_csv(data / "students.csv", index=False)
    ev = _published(data)
    evidence, found = ev.table(5, "evidence"), ev.table(5, "findings")
    assert evidence["suppressed"].all() and evidence["finding"].isna().all()
    assert found["suppressed"].all() and found["finding"].isna().all()  # "0.11 SD higher (95% CI ...)" no more
    from plevaluate.levels.outcomes.sections import findings

    assert findings(ev) == []  # the board's "What we found" says nothing about the hidden effect


def test_with_no_student_data_yet_the_plans_rationale_gives_tier_4_and_is_published(tmp_path):
    data = _copy(tmp_path)
    (data / "students.csv").unlink()
    table = _published(data).table(5, "evidence")
    assert not table["suppressed"].any()
    assert _tier(table) == 4 and "no student outcomes yet" in _row(table, "effect")["finding"]
