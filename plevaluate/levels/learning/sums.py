"""Level 2 from sums that parts of learning.csv add up, each educator's scores in one part.

Every level-2 statistic is a function of a few moments of a group's scores: the gains' t-test and effect sizes of
each group's count, the mean and the sum of squared deviations of its gains, pre and post scores; mastery's
Wilson intervals and McNemar's test of four counts; the check of who left of the pre scores' moments of those who
stayed and those who left; the difference-in-differences g of each arm's means and post-score spread. A part gives
these per group (`summarize`), and parts' moments add up exactly (Chan, Golub & LeVeque 1979: the squared
deviations of the whole are the parts' own plus each part's count times its mean's squared distance from the
whole's), so one part (one process) and any split by educator give the same tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..._tidy import coverage_counts

__all__ = [
    "BREAKDOWNS",
    "GAIN_COUNTS",
    "LearningSums",
    "add_moments",
    "arm_moments",
    "gain_scores",
    "moments",
    "stayed_moments",
    "summarize",
    "with_mastery",
]

#: The breakdowns of level-2 gains (the district first); new teachers are one experience band.
BREAKDOWNS: tuple[tuple[str, ...], ...] = ((), ("school_id",), ("role",), ("experience_band",))

#: The counts of a group's pairs `gain_scores` gives: unmatched, with a max_score, mastered before, after, both.
GAIN_COUNTS = ("n_missing", "known", "before", "after", "both")


def with_mastery(pairs: pd.DataFrame, mastery_share: float) -> pd.DataFrame:
    """``pairs`` with ``mastered_pre`` and ``mastered_post``: a score of at least ``mastery_share`` of max_score
    (False where max_score is missing)."""
    cutoff = mastery_share * pairs["max_score"]
    return pairs.assign(
        mastered_pre=(pairs["pre"] >= cutoff).to_numpy(), mastered_post=(pairs["post"] >= cutoff).to_numpy()
    )


def gain_scores(pairs: pd.DataFrame) -> pd.DataFrame:
    """What each pair adds to its group's gains (`with_mastery`'s pairs): a matched pair's gain ``d``, ``pre``,
    ``post`` and larger absolute score ``size`` (missing when unmatched), and the counts of `GAIN_COUNTS`."""
    matched = pairs["status"].eq("matched").to_numpy()
    known = matched & pairs["max_score"].notna().to_numpy()
    before, after = known & pairs["mastered_pre"].to_numpy(bool), known & pairs["mastered_post"].to_numpy(bool)
    return pd.DataFrame(
        {
            "d": np.where(matched, pairs["post"] - pairs["pre"], np.nan),
            "pre": np.where(matched, pairs["pre"], np.nan),
            "post": np.where(matched, pairs["post"], np.nan),
            "size": np.where(matched, np.maximum(pairs["pre"].abs(), pairs["post"].abs()), np.nan),
            "n_missing": ~matched,
            "known": known,
            "before": before,
            "after": after,
            "both": before & after,
        },
        index=pairs.index,
    )


def moments(frame: pd.DataFrame, keys: Sequence[str], columns: Sequence[str], *, counts: Sequence[str] = (),
            largest: Sequence[str] = ()) -> pd.DataFrame:  # fmt: skip
    """Per group of ``keys`` (sorted; a missing value is a group): for each of ``columns`` its count of values
    (``<c>_n``), mean (``<c>_mean``) and sum of squared deviations from it (``<c>_m2``); the sum of each of
    ``counts`` and the largest of each of ``largest``."""
    grouped = frame.groupby(list(keys), sort=True, dropna=False, observed=True)
    out = grouped.agg(
        **{f"{c}_n": (c, "count") for c in columns},
        **{f"{c}_mean": (c, "mean") for c in columns},
        **{c: (c, "sum") for c in counts},
        **{c: (c, "max") for c in largest},
    )
    deviations = (frame[list(columns)] - grouped[list(columns)].transform("mean")) ** 2
    squares = deviations.groupby([frame[k] for k in keys], sort=True, dropna=False, observed=True).sum()
    for c in columns:
        out[f"{c}_m2"] = squares[c].to_numpy()
    return out.reset_index()


def add_moments(frames: list[pd.DataFrame], keys: Sequence[str], columns: Sequence[str], *,
                counts: Sequence[str] = (), largest: Sequence[str] = ()) -> pd.DataFrame:  # fmt: skip
    """Parts' `moments` of disjoint rows added: counts and sums added, the largest kept, each mean the parts'
    weighted by their counts, each sum of squared deviations the parts' plus each part's count times its mean's
    squared distance from the whole's."""
    every = pd.concat(frames, ignore_index=True)
    for c in columns:
        every[f"{c}_sum"] = every[f"{c}_mean"].fillna(0.0) * every[f"{c}_n"]
    grouped = every.groupby(list(keys), sort=True, dropna=False, observed=True)
    out = grouped[[f"{c}_{s}" for c in columns for s in ("n", "sum", "m2")] + list(counts)].sum()
    for c in largest:
        out[c] = grouped[c].max()
    for c in columns:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{c}_mean"] = out[f"{c}_sum"] / out[f"{c}_n"]
            whole = grouped[f"{c}_sum"].transform("sum") / grouped[f"{c}_n"].transform("sum")  # each row's group's
        spread = (every[f"{c}_n"] * (every[f"{c}_mean"] - whole) ** 2).fillna(0.0)
        by_group = spread.groupby([every[k] for k in keys], sort=True, dropna=False, observed=True).sum()
        out[f"{c}_m2"] += by_group.to_numpy()  # the same groups in the same order
    return out.drop(columns=[f"{c}_sum" for c in columns]).reset_index()


@dataclass(frozen=True)
class LearningSums:
    """Level 2's moments of some educators' scores (`summarize`), added across parts (`combine`).

    ``gains``: by each of `BREAKDOWNS` and assessment, over participants, the matched pairs' moments of gain
    (``d``), ``pre`` and ``post``, the largest absolute score (``size``), the unmatched (``n_missing``) and the
    mastery counts (``known``: a max_score; ``before``, ``after``, ``both``); ``stayed``: by assessment and status,
    the participants' pre-score moments; ``arms``: by assessment and participant, every matched pair's pre- and
    post-score moments; ``coverage``: `plevaluate._tidy.coverage_counts` of the participants' matched pairs;
    ``statuses``: the participants' pairs by status; ``participants``: educators in the program."""

    gains: dict[tuple[str, ...], pd.DataFrame]
    stayed: pd.DataFrame
    arms: pd.DataFrame
    coverage: tuple[tuple[float, float], pd.DataFrame]
    statuses: pd.Series
    participants: int

    @classmethod
    def combine(cls, parts: Iterable[LearningSums]) -> LearningSums:
        parts = list(parts)
        gains = {
            by: add_moments(
                [p.gains[by] for p in parts],
                [*by, "assessment_id"],
                ("d", "pre", "post"),
                counts=GAIN_COUNTS,
                largest=("size",),
            )  # fmt: skip
            for by in BREAKDOWNS
        }
        district = tuple(np.sum([p.coverage[0] for p in parts], axis=0).tolist())
        schools = pd.concat([p.coverage[1] for p in parts]).groupby(level=0, sort=True).sum()
        return cls(
            gains,
            add_moments([p.stayed for p in parts], ("assessment_id", "status"), ("pre",), largest=("size",)),
            add_moments([p.arms for p in parts], ("assessment_id", "participant"), ("pre", "post"), largest=("size",)),
            (district, schools),
            pd.concat([p.statuses for p in parts]).groupby(level=0, sort=True).sum(),
            sum(p.participants for p in parts),
        )


def stayed_moments(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pre scores' `moments` by assessment and status, and their largest absolute value (``size``)."""
    return moments(pairs.assign(size=pairs["pre"].abs()), ("assessment_id", "status"), ("pre",), largest=("size",))


def arm_moments(pairs: pd.DataFrame, group: str) -> pd.DataFrame:
    """The matched pairs' pre- and post-score `moments` by assessment and ``group`` (True or False; a missing value
    in neither arm), and their largest absolute score (``size``)."""
    matched = pairs[pairs["status"].eq("matched")]
    arms = matched.assign(**{group: matched[group].astype("boolean")}).dropna(subset=[group])
    arms = arms.assign(size=np.maximum(arms["pre"].abs(), arms["post"].abs()))
    return moments(arms, ("assessment_id", group), ("pre", "post"), largest=("size",))


def summarize(pairs: pd.DataFrame, layout=None) -> LearningSums:
    """One part's moments (`plevaluate.levels.learning.compute.pairs_in_parts`: the pairs of some educators, with
    their mastery before and after)."""
    participants = pairs[pairs["participant"].to_numpy()]
    matched = participants["status"].eq("matched").to_numpy()
    scores = gain_scores(participants)
    gains = {}
    for by in BREAKDOWNS:
        frame = pd.concat([participants[[*by, "assessment_id"]], scores], axis=1)
        gains[by] = moments(frame, [*by, "assessment_id"], ("d", "pre", "post"), counts=GAIN_COUNTS, largest=("size",))
    return LearningSums(
        gains,
        stayed_moments(participants),
        arm_moments(pairs, "participant"),
        coverage_counts(participants[matched], records=None, people="educator_id"),
        participants["status"].value_counts().sort_index(),
        int(participants["educator_id"].nunique()),
    )
