"""Level 5 from parts of the students (issue 34): each part summarized where it is (`summarize`: each school's sums of
every model, arm moments, counts), the parts' sums added (`StudentSums.combine`) and the tables built from the sums
alone (`outcomes_from`). `evaluate_outcomes` is the same computation with one part, so the check is that any split of
the students by student gives the one-process tables: every number to 1e-9, every text and note the same.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from plevaluate import evaluate, load, registry
from plevaluate.levels.outcomes import evaluate_outcomes
from plevaluate.levels.outcomes.compute import Layout, StudentSums, add_treatment, facts, outcomes_from, summarize
from plevaluate.years import evaluated_years, year_view
from tests.conftest import SAMPLE
from tests.test_years import SAMPLE_YEARS


def _views(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        district = load(path)
    years = evaluated_years(district)
    return [year_view(district, year) for year in years] if len(years) > 1 else [district]


def _rates(view):
    """Level 4's implementation rates (its handoff to level 5's dose-response), as `plevaluate.evaluate` passes them."""
    done = {}
    for level in registry.run_order():
        done[level.number] = level.run(view, {n: done[n] for n in level.needs if n in done})
        if level.number == 4:
            return done[4].handoff.get("latest_rates")
    return None


def _split(students: pd.DataFrame, parts: int, seed: int) -> list[pd.DataFrame]:
    """``parts`` random parts, each student's rows in one, and an empty part."""
    ids = students["student_id"].unique()
    where = dict(zip(ids, np.random.default_rng(seed).integers(0, parts, len(ids))))
    part = students["student_id"].map(where)
    return [students[part == k] for k in range(parts)] + [students.iloc[:0]]


def _from_parts(parts, view, rates=None):
    """Level 5 as a cluster computes it: the layout from every part, each part summed, the sums added, the tables."""
    layout = Layout.of([facts(part) for part in parts])
    sums = StudentSums.combine([summarize(part, layout) for part in parts])
    tables, notes, _ = outcomes_from(sums, layout, view.plan, view.schools, ci=view.plan.ci, implementation=rates)
    return layout, tables, notes


def _same_tables(one: dict, other: dict) -> None:
    assert sorted(one) == sorted(other)
    for name, table in one.items():
        theirs = other[name]
        assert list(table.columns) == list(theirs.columns) and len(table) == len(theirs), name
        for column in table.columns:
            a, b = table[column], theirs[column]
            if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
                np.testing.assert_allclose(
                    a.to_numpy(float), b.to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=f"{name}.{column}"
                )
            else:
                assert a.astype(str).tolist() == b.astype(str).tolist(), f"{name}.{column}"


@pytest.mark.parametrize("data", ["sample", "sample-years"])
def test_level_5_from_parts_of_the_students_equals_one_process(data):
    # 200 schools go through the same parts on a Dask cluster in tests/test_evaluate_cluster.py (every table, 1e-9)
    path = SAMPLE if data == "sample" else SAMPLE_YEARS
    for view in _views(path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rates = _rates(view)
            one = evaluate_outcomes(view, implementation=rates)
            students = add_treatment(view.students, view.schools)
            parts = _split(students, 4, seed=len(students))
            layout, tables, notes = _from_parts(parts, view, rates)
        assert layout == Layout.of([facts(students)])
        assert {"effect", "sensitivity", "baseline", "attrition", "icc", "subgroups", "schools", "dose"} <= set(tables)
        _same_tables(one.tables, tables)
        assert tuple(dict.fromkeys(notes)) == one.notes


def test_a_part_without_a_flag_or_a_group_still_adds_up(tmp_path):
    # Hostile splits: one part holds one participant school's students only, none with an english_learner value (so
    # none in the main model), another only comparison students. The layout is decided over every part, so each part's models have the same terms.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (view,) = _views(SAMPLE)
        students = add_treatment(view.students, view.schools)
        comparison = students[students["treatment"] == 0]
        participants = students[students["treatment"] == 1]
        first = participants["school_id"] == participants["school_id"].iloc[0]
        parts = [participants[first].assign(english_learner=pd.NA), comparison, participants[~first]]
        one = evaluate_outcomes(
            replace(view, tables={**view.tables, "students": pd.concat(parts).drop(columns="treatment")})
        )
        layout, tables, notes = _from_parts(parts, view)
        assert "english_learner" in layout.flags and layout.arms == {0, 1}
    _same_tables(one.tables, tables)
    assert tuple(dict.fromkeys(notes)) == one.notes


def test_blank_grades_and_flags_are_their_own_subgroup_in_parts_and_in_one_process():
    # A district export with some students' grade and English-learner flag blank in both groups: level 5 once failed
    # on them (TypeError sorting the values; found by a hostile review). They form a "not recorded" group, listed last,
    # and the parts give the same tables.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (view,) = _views(SAMPLE)
        students = view.students.copy()
        rng = np.random.default_rng(5)
        ids = students["student_id"].unique()
        students.loc[students["student_id"].isin(rng.choice(ids, 40, replace=False)), "grade"] = pd.NA
        students.loc[students["student_id"].isin(rng.choice(ids, 40, replace=False)), "english_learner"] = pd.NA
        view = replace(view, tables={**view.tables, "students": students})
        one = evaluate_outcomes(view)
        treated = add_treatment(students, view.schools)
        parts = _split(treated, 3, seed=2)
        _, tables, notes = _from_parts(parts, view)
    subgroups = one.tables["subgroups"]
    blank = subgroups[subgroups["value"] == "not recorded"]
    assert set(blank["subgroup"]) == {"grade", "english_learner"}
    for column in ("grade", "english_learner"):
        assert subgroups.loc[subgroups["subgroup"] == column, "value"].iloc[-1] == "not recorded"
    assert (blank["n"] > 0).all() and blank["estimate"].notna().all()
    _same_tables(one.tables, tables)
    assert tuple(dict.fromkeys(notes)) == one.notes


def test_a_student_with_two_post_rows_is_named_not_a_traceback():
    # students.csv's key is (student_id, year), so a student can have post rows in two years; the difference-in-
    # differences link then failed with an IndexError (found by a hostile review). Now a ValueError naming the students,
    # which the evaluation reports as level 5's reason (`plevaluate.evaluate`).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (view,) = _views(SAMPLE)
        students = view.students
        again = students[students["period"] == "post"].head(3).assign(year=lambda f: f["year"] + 1)
        view = replace(view, tables={**view.tables, "students": pd.concat([students, again])})
        with pytest.raises(ValueError, match=r"3 student\(s\) have several 'post' rows .*keep one row per student"):
            evaluate_outcomes(view)
        assert "several 'post' rows" in evaluate(view).levels[5].meta["error"]
