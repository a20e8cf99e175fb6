"""plan.yml: read, defaults, and every problem reported with a fix."""

from __future__ import annotations

import pytest

from plevaluate import ContractError, ContractWarning, PlanError, load, read_plan
from tests.conftest import SAMPLE


def test_sample_plan():
    plan = read_plan(SAMPLE / "plan.yml")
    assert plan.min_n == 10
    assert plan.school_year == "2025-26"
    assert plan.levels.reactions.construct == "content"
    assert plan.levels.organization.indicator == "protected_time"
    assert plan.levels.practice.target == pytest.approx(0.60)
    assert plan.levels.outcomes.target == pytest.approx(0.10)


def test_every_plan_problem_is_listed(tmp_path):
    (tmp_path / "plan.yml").write_text(
        "program: X\nschool_year: 2025\nmin_n: zero\nlevels:\n  practice:\n    target: 1.5\n    tagret: 2\n"
    )
    with pytest.raises(PlanError) as caught:
        read_plan(tmp_path / "plan.yml")
    message = str(caught.value)
    assert "3 problems in 1 file" in message
    assert "entry 'min_n', value \"'zero'\": Input should be a valid integer" in message
    assert "entry 'levels.practice.target', value '1.5': Input should be less than or equal to 1" in message
    assert "entry 'levels.practice.tagret'" in message and "Did you mean 'target'?" in message


def test_missing_program(tmp_path):
    (tmp_path / "plan.yml").write_text("school_year: 2025-26\n")
    with pytest.raises(PlanError, match=r"entry 'program': Field required\. Fix: Add 'program' to plan.yml"):
        read_plan(tmp_path / "plan.yml")


def test_invalid_yaml(tmp_path):
    (tmp_path / "plan.yml").write_text("program: X\n  school_year: : 2025\n")
    with pytest.raises(PlanError, match="valid YAML"):
        read_plan(tmp_path / "plan.yml")


def test_missing_plan_warns_and_uses_defaults(tiny):
    (tiny / "plan.yml").unlink()
    with pytest.warns(ContractWarning, match="none was found, so defaults are used"):
        district = load(tiny)
    assert district.plan.min_n == 10


def test_plan_errors_are_reported_with_table_errors(tiny):
    (tiny / "plan.yml").write_text("program: X\nschool_year: 2025-26\nmin_n: -3\n")
    (tiny / "schools.csv").write_text("school_id,school_name\nS01,A\n")
    with pytest.raises(ContractError) as caught:
        load(tiny)
    files = {p.file for p in caught.value.problems}
    assert {"plan.yml", "schools.csv"} <= files


def test_an_old_plan_with_a_seed_still_reads_and_is_told_to_drop_it(tmp_path):
    # nothing in an evaluation is random, so plan.yml has no seed; a plan written before says so, once
    (tmp_path / "plan.yml").write_text("program: X\nschool_year: 2025-26\nseed: 2025\n")
    with pytest.warns(ContractWarning, match="'seed' is no longer used"):
        plan = read_plan(tmp_path / "plan.yml")
    assert plan.program == "X" and not hasattr(plan, "seed")


def test_targets_by_year_are_checked_like_the_target_and_against_the_plans_years(tmp_path):
    base = "program: X\nschool_year: 2023-24 to 2025-26\nlevels:\n  practice:\n    targets:\n"
    (tmp_path / "plan.yml").write_text(base + "      2023-24: 0.4\n      2025-26: 1.6\n")
    with pytest.raises(PlanError, match=r"entry 'levels.practice.targets'.*2025-26: 1.6, input should be less than"):
        read_plan(tmp_path / "plan.yml")
    (tmp_path / "plan.yml").write_text(base + "      2023-24: 0.4\n      2024-5: 0.5\n")
    with pytest.raises(PlanError, match=r"levels.practice.targets: 2024-5 is not a school year of the plan"):
        read_plan(tmp_path / "plan.yml")
    (tmp_path / "plan.yml").write_text(base + "      2023-24: 0.4\n      2024-25: 0.5\n")
    plan = read_plan(tmp_path / "plan.yml")
    assert plan.levels.practice.for_year("2024-25").target == pytest.approx(0.5)
    assert plan.levels.practice.for_year("2025-26").target is None  # no target that year, and none overall
    (tmp_path / "plan.yml").write_text(
        "program: X\nschool_year: 2025-26\nlevels:\n  learning:\n    targets:\n      2025-26: 1.5\n"
    )
    assert read_plan(tmp_path / "plan.yml").levels.learning.targets == {"2025-26": 1.5}  # SD units: no upper bound
