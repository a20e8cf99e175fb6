"""Level 2 from parts of learning.csv (issue 34): each part of the pairs, split by educator, reduced to moments where it
is (`plevaluate.levels.learning.sums.summarize`: each group's count, mean and squared deviations of gains, pre and
post scores, and its mastery counts), the parts' moments added (`LearningSums.combine`, Chan et al.'s parallel
update) and the tables built from the moments alone (`learning_from`). `evaluate_learning` is the same computation
with one part, so any split by educator must give the one-process tables, notes and meta: every number to 1e-9,
every text the same.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

from plevaluate.levels.learning.compute import evaluate_learning, pairs_in_parts
from plevaluate.levels.learning.sums import LearningSums, add_moments, moments, summarize
from tests.conftest import SAMPLE
from tests.test_outcome_parts import _same_tables, _views
from tests.test_years import SAMPLE_YEARS


def _random_parts(pairs: pd.DataFrame, parts: int, seed: int) -> list[pd.DataFrame]:
    """``parts`` random parts, each educator's pairs in one, and an empty part."""
    ids = pairs["educator_id"].unique()
    where = dict(zip(ids, np.random.default_rng(seed).integers(0, parts, len(ids))))
    return [pairs[pairs["educator_id"].map(where) == k] for k in range(parts)] + [pairs.iloc[:0]]


def _learning(view, pieces=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if pieces is not None:
            view = replace(view, summaries={2: (None, LearningSums.combine(summarize(p) for p in pieces))})
        result = evaluate_learning(view)
    return result, [str(w.message) for w in caught]


def _same(one, other) -> None:
    (a, warned_a), (b, warned_b) = one, other
    _same_tables(dict(a.tables), dict(b.tables))
    assert [str(n) for n in a.notes] == [str(n) for n in b.notes]
    assert a.meta == b.meta and warned_a == warned_b


@pytest.mark.parametrize("data", ["sample", "sample-years"])
def test_level_2_from_parts_of_the_scores_equals_one_process(data):
    for view in _views(SAMPLE if data == "sample" else SAMPLE_YEARS):
        if view.learning is None:  # a year without assessments (the multi-year sample's last)
            continue
        whole = _learning(view)
        assert {"gains", "program_effect", "missing", "target"} <= set(whole[0].tables)
        pairs = pairs_in_parts(view.learning, view)
        for parts, seed in ((2, 1), (9, 2), (60, 3)):
            _same(_learning(view, _random_parts(pairs, parts, seed)), whole)


def _with_learning(view, learning: pd.DataFrame, **tables):
    return replace(view, tables=MappingProxyType({**view.tables, "learning": learning, **tables}))


@pytest.mark.parametrize(
    "case",
    ["every gain alike", "no max score", "who left scored lower", "no comparison educators", "no experience"],
)
def test_level_2_from_parts_equals_one_process_in_every_branch(case, sample_district):
    # each branch taken the same way from parts as in one process: gains all alike (no spread: parts' squared
    # deviations must add to exactly nothing), no mastery, the warning about who left, no program effect, groups
    # with no experience band (a missing key)
    view, learning = sample_district, sample_district.learning
    if case == "every gain alike":
        pre = learning["occasion"].eq("pre")
        post = learning.loc[~pre].merge(learning.loc[pre, ["educator_id", "assessment_id", "score"]],
                                        on=["educator_id", "assessment_id"], how="left", suffixes=("", "_pre"))  # fmt: skip
        scores = learning["score"].copy()
        scores.loc[~pre] = (post["score_pre"].fillna(post["score"] - 0.65) + 0.65).to_numpy()
        view = _with_learning(view, learning.assign(score=scores))
    elif case == "no max score":
        view = _with_learning(view, learning.drop(columns=["max_score"]))
    elif case == "who left scored lower":
        low = learning.groupby("educator_id")["score"].transform("min") < learning["score"].median()
        dropped = learning[~(low & learning["occasion"].eq("post"))]
        view = _with_learning(view, dropped)
    elif case == "no comparison educators":
        groups = view.schools.set_index("school_id")["group"]
        inside = view.educators.loc[view.educators["school_id"].map(groups).eq("participant"), "educator_id"]
        view = _with_learning(view, learning[learning["educator_id"].isin(inside)])
    else:
        view = replace(
            view,
            tables=MappingProxyType({**view.tables, "educators": view.educators.drop(columns=["years_experience"])}),
        )
    whole = _learning(view)
    reached = {
        "every gain alike": lambda r: r.tables["gains"].query("measure == 'd_z'")["estimate"].isna().all(),
        "no max score": lambda r: r.tables["gains"].query("measure == 'mastery_pre'")["estimate"].isna().all(),
        "who left scored lower": lambda r: r.tables["missing"]["differs"].any(),
        "no comparison educators": lambda r: r.tables["program_effect"].empty,
        # educators.csv without years_experience (optional; it loads): one band, unknown (level 2 raised KeyError)
        "no experience": lambda r: (
            r.tables["gains"].query("breakdown == 'experience_band'")["experience_band"].isna().all()
        ),
    }[case]
    assert reached(whole[0]), "the case does not reach its branch"
    _same(_learning(view, _random_parts(pairs_in_parts(view.learning, view), 5, 11)), whole)


def test_moments_added_across_parts_equal_the_whole_and_numpy():
    # Chan, Golub & LeVeque (1979): the parts' squared deviations plus each part's count times its mean's squared
    # distance from the whole's are the whole's; checked against numpy's var on the whole, with a missing key, empty
    # groups in a part and values far from zero (10,000 with a spread of 0.01: sums of squares would lose it)
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "g": rng.choice(["a", "b", None], 3000),
            "x": 1e4 + rng.normal(0, 1e-2, 3000),
            "y": np.where(rng.random(3000) < 0.2, np.nan, rng.normal(5, 2, 3000)),
        }
    )
    part = rng.integers(0, 7, len(frame))
    added = add_moments([moments(frame[part == k], ["g"], ("x", "y")) for k in range(7)], ["g"], ("x", "y"))
    whole = moments(frame, ["g"], ("x", "y"))
    for column in ("x", "y"):
        for key, rows in frame.groupby("g", dropna=False):
            values = rows[column].dropna().to_numpy()
            row = added[added["g"].isna()] if pd.isna(key) else added[added["g"] == key]
            assert int(row[f"{column}_n"].iloc[0]) == len(values)
            np.testing.assert_allclose(row[f"{column}_mean"].iloc[0], values.mean(), rtol=1e-12)
            np.testing.assert_allclose(row[f"{column}_m2"].iloc[0], values.var() * len(values), rtol=1e-9)
    pd.testing.assert_frame_equal(added[whole.columns], whole, rtol=1e-9)


def test_scores_all_alike_have_no_spread_from_any_split():
    # found by a review: every post score 27.3 (a ceiling) has squared deviations of exactly 0 in one part and about
    # 1e-28 added from parts, which the split's cut made a g of -1.21 or +1.21; a spread within floating-point noise
    # of the scores' size is none, as the gains' own (`paired_effects_from`): no program effect, no difference
    from plevaluate.levels.learning.compute import effect_table, missing_table
    from plevaluate.levels.learning.sums import arm_moments, stayed_moments

    pairs = pd.DataFrame(
        {
            "educator_id": range(24),
            "assessment_id": "A",
            "participant": [True] * 12 + [False] * 12,
            "pre": 20.1,
            "post": [27.3] * 20 + [np.nan] * 4,
            "status": ["matched"] * 20 + ["missing_post"] * 4,
        }
    )
    keys = ("assessment_id", "participant")
    for cuts in ([], [5, 17], [7, 19], [3, 9, 15, 21]):
        parts = [pairs.iloc[a:b] for a, b in zip([0, *cuts], [*cuts, 24])]
        arms = add_moments(
            [arm_moments(part, "participant") for part in parts], keys, ("pre", "post"), largest=("size",)
        )
        assert effect_table(arms, group="participant", ci=0.95).empty
        stayed = add_moments([stayed_moments(part) for part in parts], ("assessment_id", "status"), ("pre",),
                             largest=("size",))  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning that those who left scored differently
            row = missing_table(stayed, threshold=0.25, min_n=10).iloc[0]
        assert np.isnan(row["difference_g"]) and not row["differs"]
