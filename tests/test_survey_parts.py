"""Levels 1 and 3's surveys from parts of reactions.csv (issue 34): each part of the answers, split by educator with
the educator's attendance, summed where it is (`summarize_survey`: each group's sums, category counts, the matrices
of Cronbach's alpha), the parts' sums added (`SurveySums.combine`) and the tables built from the sums alone
(`survey_from`). `evaluate_survey` is the same computation with one part, so the check is that any split by educator
gives the one-process tables: every number to 1e-9, every text and note the same.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

from plevaluate import load, registry
from plevaluate.errors import ContractError
from plevaluate.survey import PART_KEY, SurveySums
from plevaluate.years import _split
from tests.conftest import SAMPLE
from tests.test_outcome_parts import _same_tables, _views
from tests.test_years import SAMPLE_YEARS

SURVEYED = (1, 3)  # the levels that sum reactions.csv in parts


def _level(number: int):
    return next(level for level in registry.levels() if level.number == number)


def _random_parts(ready: tuple, parts: int, seed: int) -> list[tuple]:
    """``parts`` random parts of `prepare_survey`'s frames, each key's rows (an educator's answers and attendance) in
    one, and an empty part."""
    keys = pd.concat([frame[PART_KEY] for frame in ready]).unique()
    where = dict(zip(keys, np.random.default_rng(seed).integers(0, parts, len(keys))))
    split = [tuple(frame[frame[PART_KEY].map(where) == k] for frame in ready) for k in range(parts)]
    return split + [tuple(frame.iloc[:0] for frame in ready)]


def _summed(view, number: int, pieces: list[tuple]):
    parts = _level(number).parts
    layout = parts.layout([parts.facts(piece) for piece in pieces])
    return layout, parts.combine([parts.summarize(piece, layout) for piece in pieces])


def _run(view, number: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _level(number).run(view, {})


def _same(one, other) -> None:
    _same_tables(dict(one.tables), dict(other.tables))
    assert [str(n) for n in one.notes] == [str(n) for n in other.notes]
    assert one.meta == other.meta


@pytest.mark.parametrize("data", ["sample", "sample-years"])
def test_levels_1_and_3_from_parts_of_the_answers_equal_one_process(data):
    # 200 schools go through the same parts on a Dask cluster in tests/test_evaluate_cluster.py (every table, 1e-9)
    for view in _views(SAMPLE if data == "sample" else SAMPLE_YEARS):
        for number in SURVEYED:
            ready = _level(number).parts.prepare(view.reactions, view)
            summed = replace(view, summaries={number: _summed(view, number, _random_parts(ready, 4, seed=number))})
            _same(_run(view, number), _run(summed, number))


def test_each_levels_layout_and_sums_travel_by_plain_pickle():
    # Dask pickles with cloudpickle, a process pool with pickle: neither may meet a mappingproxy or a lambda
    import pickle

    view = _views(SAMPLE)[0]
    for level in registry.levels():
        parts = level.parts
        if parts is None:
            continue
        pieces = _split(parts.prepare(view.tables[parts.table], view), parts.key, 2)
        layout = parts.layout([parts.facts(piece) for piece in pieces])
        sums = parts.combine([parts.summarize(piece, layout) for piece in pieces])
        pickle.loads(pickle.dumps((layout, sums, parts)))


@pytest.mark.parametrize("count", [1, 3, 7])
def test_a_split_gives_each_part_the_rows_whose_key_hashes_to_it_in_their_order(count):
    # `_split` sorts the rows by part once (a mask for each part took a pass over every row for each); each part must
    # still be the rows of every frame whose key's hash falls in it, in their order, with their index
    rng = np.random.default_rng(count)
    keys = pd.array([f"E{k:03d}" if k % 11 else None for k in rng.integers(0, 60, 500)], dtype="string")
    first = pd.DataFrame({"educator_id": keys, "x": rng.normal(size=500)}, index=rng.permutation(500) * 2)
    second = first.iloc[::3].assign(y=1)
    pieces = _split((first, second), "educator_id", count)
    assert len(pieces) == count
    for frame, side in ((first, 0), (second, 1)):
        bucket = pd.util.hash_pandas_object(frame["educator_id"], index=False).to_numpy() % count
        for k in range(count):
            pd.testing.assert_frame_equal(pieces[k][side], frame[bucket == k])


def test_answers_naming_no_educator_and_a_hash_split_add_up():
    # answers of unnamed respondents are keyed by their response, so their rows land in many parts; their counts
    # (n_people counts each such answer) and the unclustered intervals they make must still add up. The split here
    # is the cluster's own (`plevaluate.years._split`, a hash of the key), in 3 parts.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        district = load(SAMPLE)
    answers = district.reactions.copy()
    responses = answers["response_id"].drop_duplicates()
    unnamed = answers["response_id"].isin(responses.sample(frac=0.3, random_state=1))
    answers["educator_id"] = answers["educator_id"].where(~unnamed)
    view = replace(district, tables=MappingProxyType({**district.tables, "reactions": answers}))
    for number in SURVEYED:
        ready = _level(number).parts.prepare(answers, view)
        assert ready[0][PART_KEY].str.startswith("r:").any()
        summed = replace(view, summaries={number: _summed(view, number, _split(ready, PART_KEY, 3))})
        one = _run(view, number)
        _same(one, _run(summed, number))
    constructs = one["staff_survey"] if number == 3 else one["constructs"]
    assert not constructs["method"].str.contains("clustered").all()  # some groups hold unnamed answers


def test_a_combine_that_loses_a_part_is_caught():
    # the equality above is a real check: sums that keep only the first part's alpha matrices and coverage differ
    district = _views(SAMPLE)[0]
    ready = _level(1).parts.prepare(district.reactions, district)
    layout, whole = _summed(district, 1, _random_parts(ready, 3, seed=7))
    parts = _level(1).parts
    one = parts.summarize(_random_parts(ready, 3, seed=7)[0], layout)
    broken = replace(whole, reliability=one.reliability, coverage=one.coverage)
    with pytest.raises(AssertionError):
        _same(
            _run(replace(district, summaries={1: (layout, whole)}), 1),
            _run(replace(district, summaries={1: (layout, broken)}), 1),
        )
    assert isinstance(whole, SurveySums)


def test_one_response_naming_two_educators_is_refused_with_its_row(tmp_path):
    # a response is one person's survey; two people under one response_id would be one respondent everywhere
    import shutil

    shutil.copytree(SAMPLE, tmp_path / "d")
    path = tmp_path / "d" / "reactions.csv"
    answers = pd.read_csv(path, dtype=str, keep_default_na=False)
    first = answers["response_id"].iloc[0]
    rows = answers.index[answers["response_id"] == first]
    other = next(e for e in answers["educator_id"] if e != answers.loc[rows[0], "educator_id"])
    answers.loc[rows[-1], "educator_id"] = other
    answers.to_csv(path, index=False)
    with pytest.raises(ContractError) as caught:
        load(tmp_path / "d")
    problems = [p for p in caught.value.problems if "one person per response" in p.expected]
    assert len(problems) == 1
    assert problems[0].row == rows[-1] + 2 and problems[0].column == "educator_id" and problems[0].value == other
    assert "on 1 row" in problems[0].expected and "--undo" in problems[0].fix
    # the odd one out first: still one problem, at that row, not one at every other (correct) row
    answers.loc[rows[-1], "educator_id"] = answers.loc[rows[0], "educator_id"]
    answers.loc[rows[0], "educator_id"] = ""
    answers.to_csv(path, index=False)
    with pytest.raises(ContractError) as caught:
        load(tmp_path / "d")
    problems = [p for p in caught.value.problems if "one person per response" in p.expected]
    assert [(p.row, p.value) for p in problems] == [(rows[0] + 2, None)]


def test_each_groups_summary_from_sums_is_the_clustered_mean_and_share_of_its_answers():
    """Every (school, item) row of `item_summary` (one pass over the sums) equals the definitions applied to that
    group's answers alone: `cluster_mean_ci` (CR1 by educator, G - 1 df, at least the unclustered variance) and
    `clustered_wilson`; a group holding an answer that names no educator is not clustered. The clustered mean is
    statsmodels' OLS on a constant with ``cov_type="cluster"`` (its small-sample factor G/(G-1)(N-1)/(N-K) is
    G/(G-1) with K = 1), where clustering widens the interval."""
    import statsmodels.api as sm

    from plevaluate.effects import cluster_mean_ci, clustered_wilson
    from plevaluate.survey import item_summary

    rng = np.random.default_rng(11)
    rows = []
    for e in range(60):
        lean = rng.normal(0, 1.2)  # each educator answers alike: strongly clustered
        for session in range(rng.integers(1, 6)):
            for item in ("q1", "q2"):
                score = float(np.clip(np.round(3.2 + lean + rng.normal(0, 0.5)), 1, 5))
                rows.append({"educator_id": f"E{e:02d}", "school_id": f"S{e % 3}", "item_id": item, "score": score,
                             "response_id": f"R{e}-{session}"})  # fmt: skip
    scored = pd.DataFrame(rows).assign(construct="content", level=1, scale_max=5.0)
    scored.loc[scored.index[:3], "educator_id"] = None  # school S0's first answers name nobody
    table = item_summary(scored, by=("school_id",), min_n=1)
    checked = 0
    for (school, item), answers in scored.groupby(["school_id", "item_id"]):
        named = answers["educator_id"].notna().all()
        clusters = answers["educator_id"].to_numpy() if named else None
        rows = table[(table["school_id"] == school) & (table["item_id"] == item)].set_index("measure")
        mean, low, high = cluster_mean_ci(answers["score"], clusters)
        assert tuple(rows.loc["mean", ["estimate", "ci_low", "ci_high"]]) == pytest.approx((mean, low, high), rel=1e-12)
        flags = (answers["score"] >= 4).to_numpy()
        share, s_low, s_high, _ = clustered_wilson(flags, clusters)
        assert tuple(rows.loc["top2_share", ["estimate", "ci_low", "ci_high"]]) == pytest.approx(
            (share, s_low, s_high), rel=1e-12
        )
        assert rows.loc["mean", "method"].endswith("clustered by educator") == named
        if named:
            fit = sm.OLS(answers["score"].to_numpy(), np.ones(len(answers))).fit(
                cov_type="cluster", cov_kwds={"groups": pd.factorize(answers["educator_id"])[0]}, use_t=True
            )
            ols_low, ols_high = fit.conf_int(0.05)[0]
            if ols_high - ols_low > high - low - 1e-12:  # clustering widened it: the interval is statsmodels'
                assert (low, high) == pytest.approx((ols_low, ols_high), rel=1e-10)
                checked += 1
    assert checked >= 3


def test_answers_all_alike_have_no_spread_in_one_process_or_in_parts():
    # a hostile review: every response answering the content items 5, 4, 4 gives construct scores all 13/3; a spread
    # found as a difference of sums was 1e-8 of rounding (the row-wise code's 4e-14). It is 0, and the interval a point
    view = _views(SAMPLE)[0]
    answers = view.reactions.copy()
    alike = {"C1": 5.0, "C2": 4.0, "C3": 4.0}
    chosen = answers["item_id"].isin(list(alike))
    answers.loc[chosen, "response"] = answers.loc[chosen, "item_id"].map(alike)
    view = replace(view, tables=MappingProxyType({**view.tables, "reactions": answers}))
    ready = _level(1).parts.prepare(answers, view)
    for result in (_run(view, 1), _run(replace(view, summaries={1: _summed(view, 1, _split(ready, PART_KEY, 3))}), 1)):
        content = result["constructs"]
        content = content[(content["construct"] == "content") & (content["measure"] == "mean")]
        assert len(content) > 5 and (content["sd"].fillna(0) == 0).all()
        np.testing.assert_allclose(content["estimate"], 13 / 3, rtol=1e-12)
        assert (content["ci_low"] == content["estimate"]).all() and (content["ci_high"] == content["estimate"]).all()


def test_a_school_whose_staff_attended_nothing_has_a_response_rate_about_nobody_also_in_parts():
    # a hostile review: `District.school` of a school whose staff have no attendance rows keeps an attendance table of
    # no rows (attendance known: nobody), which must give the response-rate note as before, not "not recorded"
    district = _views(SAMPLE)[0]
    staff = district.educators.loc[district.educators["school_id"] == "S01", "educator_id"]
    attendance = district.attendance[~district.attendance["educator_id"].isin(staff)]
    school = replace(district, tables=MappingProxyType({**district.tables, "attendance": attendance})).school("S01")
    assert school.attendance is not None and school.attendance.empty
    one = _run(school, 1)
    assert "response_rates" in one.tables and one["response_rates"]["n"].iloc[0] == 0
    assert any("fewer than" in str(note) and "attended" in str(note) for note in one.notes)
    ready = _level(1).parts.prepare(school.reactions, school)
    _same(one, _run(replace(school, summaries={1: _summed(school, 1, _random_parts(ready, 3, seed=2))}), 1))
    no_attendance = replace(
        school, tables=MappingProxyType({k: v for k, v in school.tables.items() if k != "attendance"})
    )
    assert "response_rates" not in _run(no_attendance, 1).tables  # not recorded: no rate at all


def test_parts_are_two_per_worker_or_more_when_a_frame_is_long():
    """`part_count`: at least the least count (two a worker); more when the longest frame of what a level prepares
    has more than `PART_ROWS` rows for each part, so a part's task needs the same memory at any district size."""
    from plevaluate.held import PART_ROWS, part_count

    def rows(n: int) -> pd.DataFrame:
        return pd.DataFrame({"part": np.arange(n)})

    assert part_count(rows(0), 4) == 4
    assert part_count(rows(PART_ROWS * 4), 4) == 4
    assert part_count(rows(PART_ROWS * 4 + 1), 4) == 5
    assert part_count((rows(10), rows(PART_ROWS * 9 + 1)), 2) == 10  # the longest frame of a tuple counts
    pieces = _split(rows(PART_ROWS * 9 + 1), "part", part_count(rows(PART_ROWS * 9 + 1), 2))
    assert sum(map(len, pieces)) == PART_ROWS * 9 + 1 and max(map(len, pieces)) < PART_ROWS * 1.01
