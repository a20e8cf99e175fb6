"""Survey machinery shared by level 1 (participants' reactions) and level 3 (the staff survey on support).

Survey answers (reactions.csv) are scored against their items (survey_items.csv): reverse-coded
items are flipped (``scale_min + scale_max - response``) so that a higher score is always the
favourable answer. Items group into constructs; Guskey's content / process / context grouping is
the item's ``construct``. The same machinery scores the level-3 staff-survey items.

Repeated answers by the same educator (one survey per session) are not independent: intervals for
means and shares use educator-clustered standard errors (see `plevaluate.effects`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ._tidy import coverage, stack
from .effects import (
    grouped_mean_and_variance,
    grouped_share_and_deff,
    t_interval,
    wilson_interval,
)
from .errors import StatisticalWarning
from .privacy import UNSUPPRESSED, format_n, suppress
from .results import LevelResult, noting_warnings, target_status

if TYPE_CHECKING:
    from .contract import District

__all__ = [
    "BREAKDOWNS",
    "Reliability",
    "answers_with_context",
    "construct_scores",
    "construct_summary",
    "cronbach_alpha",
    "evaluate_survey",
    "item_distribution",
    "item_summary",
    "response_rates",
    "score_reactions",
]


def score_reactions(reactions: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Join each answer to its item and score it in the favourable direction.

    Returns
    -------
    DataFrame
        ``reactions`` plus construct, level, scale_min, scale_max, reverse_coded and ``score``
        (NaN where the answer is blank).

    Raises
    ------
    ValueError
        When a response is not numeric or lies outside its item's scale (data that did not pass
        `plevaluate.load`).
    """
    meta = items.drop_duplicates("item_id").set_index("item_id")
    out = reactions.copy()
    response = pd.to_numeric(out["response"], errors="coerce").astype(float)
    if (response.isna() & out["response"].notna()).any():
        raise ValueError("reactions: 'response' must be numeric; load the data with plevaluate.load to see which rows")
    out["response"] = response
    out["construct"] = out["item_id"].map(meta["construct"])
    out["level"] = answer_levels(out, meta)
    low = out["item_id"].map(meta["scale_min"]) if "scale_min" in meta else pd.Series(np.nan, index=out.index)
    high = out["item_id"].map(meta["scale_max"]) if "scale_max" in meta else pd.Series(np.nan, index=out.index)
    out["scale_min"], out["scale_max"] = low.astype(float).fillna(1.0), high.astype(float).fillna(5.0)
    reverse = out["item_id"].map(meta["reverse_coded"]) if "reverse_coded" in meta else False
    out["reverse_coded"] = pd.Series(reverse, index=out.index).fillna(False).astype(bool)
    outside = response.notna() & ((response < out["scale_min"]) | (response > out["scale_max"]))
    if outside.any():
        first = outside.idxmax()
        raise ValueError(
            f"reactions: {int(outside.sum())} response(s) outside their item's scale, first for item "
            f"{out.loc[first, 'item_id']} ({response[first]:g} not in {out.loc[first, 'scale_min']:g}-"
            f"{out.loc[first, 'scale_max']:g})"
        )
    flipped = out["scale_min"] + out["scale_max"] - response
    out["score"] = response.where(~out["reverse_coded"], flipped)
    return out


def answer_levels(reactions: pd.DataFrame, meta: pd.DataFrame) -> pd.Series:
    """Each answer's Guskey level: its item's (``meta``: survey_items by item_id), 1 when blank or unknown."""
    return reactions["item_id"].map(meta["level"] if "level" in meta else pd.Series(dtype=float)).fillna(1).astype(int)


def _people(frame: pd.DataFrame) -> int:
    """Distinct educators behind the answers (answers themselves when educators are not recorded)."""
    if "educator_id" in frame and frame["educator_id"].notna().any():
        return int(frame["educator_id"].nunique()) + int(frame["educator_id"].isna().sum())
    return len(frame)


def _group_numbers(frame: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Each row's group of ``keys``, numbered in the order of `plevaluate._tidy.groups` (all 0 without keys)."""
    if not keys:
        return np.zeros(len(frame), np.int64)
    return frame.groupby(list(keys), observed=True, sort=True, dropna=False).ngroup().to_numpy()


def _distinct(group: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """How many distinct ``codes`` (from `pandas.factorize`; -1, unknown, is not counted) each group holds."""
    known = codes >= 0
    width = int(codes.max()) + 1 if known.any() else 1
    pairs = np.unique(group[known].astype(np.int64) * width + codes[known])
    return np.bincount(pairs // width, minlength=n_groups)


def _summaries(
    frame: pd.DataFrame, keys: Sequence[str], favourable: np.ndarray, share_name: str, extra: dict, ci: float
) -> list[dict]:
    """The two summary rows of each group of scored answers: the mean score, and the share ``favourable``.

    Intervals are clustered by educator when every answer of the group names one (one educator answers
    once per session). Works on numpy positions after one sort instead of a DataFrame per group.
    """
    score = frame["score"].to_numpy(dtype=float)
    if not len(frame):
        return []
    group = _group_numbers(frame, keys)
    n_groups = int(group.max()) + 1
    firsts = np.unique(group, return_index=True)[1]
    valid = ~np.isnan(score)
    g, values, flags = group[valid], score[valid], favourable[valid].astype(float)
    educators = pd.factorize(frame["educator_id"])[0][valid] if "educator_id" in frame else None  # -1: unknown
    if educators is not None:
        unknown = np.bincount(g, weights=educators < 0, minlength=n_groups).astype(int)
        people = _distinct(g, educators, n_groups) + unknown
        clustered = unknown == 0  # intervals clustered by educator when every answer of the group names one
    else:
        people, clustered = np.bincount(g, minlength=n_groups), None
    mean, var, df = grouped_mean_and_variance(values, g, n_groups, educators, clustered)
    p, n, deff = grouped_share_and_deff(flags, g, n_groups, educators, clustered)
    low, high = t_interval(mean, var, df, ci)
    s_low, s_high = wilson_interval(p * n / deff, n / deff, ci)
    answers = np.bincount(group, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.bincount(g, weights=(values - mean[g]) ** 2, minlength=n_groups) / (n - 1))
    sd = np.where(n > 1, sd, np.nan)
    key_values = [frame[k].iloc[firsts].tolist() for k in keys]
    levels = frame["level"].to_numpy()[firsts]
    rows = []
    for i in range(n_groups):
        base = {k: column[i] for k, column in zip(keys, key_values)} | {"level": int(levels[i]), **extra}
        base |= {"n": int(n[i]), "n_people": int(people[i]), "n_missing": int(answers[i] - n[i])}
        suffix = ", clustered by educator" if educators is not None and clustered[i] else ""
        rows += [
            {**base, "measure": "mean", "sd": sd[i], "method": "t interval" + suffix,
             "estimate": mean[i], "ci_low": low[i], "ci_high": high[i]},
            {**base, "measure": share_name, "sd": np.nan, "method": "Wilson interval" + suffix,
             "estimate": p[i], "ci_low": s_low[i], "ci_high": s_high[i]},
        ]  # fmt: skip
    return rows


def item_summary(scored: pd.DataFrame, *, by: Sequence[str] = (), min_n: int = 10, ci: float = 0.95) -> pd.DataFrame:
    """Per item (and group): the mean score and the share answering in the top two categories.

    Source: means with `plevaluate.effects.cluster_mean_ci` (CR1 by educator); top-two shares with
    `plevaluate.effects.clustered_wilson` (Wilson 1927 on the Kish effective sample size).

    Parameters
    ----------
    scored : DataFrame
        From `score_reactions`.
    by : sequence of str
        Group columns (e.g. ``("school_id",)``); empty for the whole district.
    min_n : int
        Rows about fewer respondents are suppressed.

    Returns
    -------
    DataFrame
        One row per group x item x measure: level, <by>, item_id, construct, measure (``mean`` or
        ``top2_share``), estimate, ci_low, ci_high, sd, n (answers), n_people (distinct educators,
        which suppression counts), n_missing (blank answers), method, suppressed. Scores are in the favourable direction, so for a reverse-coded item
        ``top2_share`` is the share who disagreed with its negative wording.
    """
    frame = scored.dropna(subset=["item_id", "construct", "level"]).reset_index(drop=True)
    favourable = (frame["score"] >= frame["scale_max"] - 1).to_numpy()
    rows = _summaries(frame, [*by, "item_id", "construct", "level"], favourable, "top2_share", {}, ci)
    columns = [
        "level",
        *by,
        "item_id",
        "construct",
        "measure",
        "estimate",
        "ci_low",
        "ci_high",
        "sd",
        "n",
        "n_people",
        "n_missing",
        "method",
    ]
    return suppress(pd.DataFrame(rows, columns=columns), min_n, n="n_people")


def item_distribution(scored: pd.DataFrame, *, by: Sequence[str] = (), min_n: int = 10) -> pd.DataFrame:
    """Counts and shares of each answer category per item (raw answers, as respondents gave them).

    Returns
    -------
    DataFrame
        <by>, item_id, construct, reverse_coded, category, count, share, n (answers), n_people
        (distinct educators), suppressed. Groups about fewer than ``min_n`` people have count and
        share blanked (many answers from a few people still identify them).
    """
    valid = scored[scored["response"].notna()]
    keys = [*by, "item_id", "construct", "reverse_coded"]
    counts = valid.groupby([*keys, "response"], observed=True).size().rename("count").reset_index()
    counts = counts.rename(columns={"response": "category"})
    totals = counts.groupby(keys, observed=True)["count"].transform("sum")
    counts["share"] = counts["count"] / totals
    counts["n"] = totals
    if "educator_id" in valid:  # `_people` per group: distinct educators, plus answers that name none
        named = valid.groupby(keys, observed=True)["educator_id"]
        people = (named.nunique() + named.size() - named.count()).rename("n_people")
    else:
        people = valid.groupby(keys, observed=True).size().rename("n_people")
    counts = counts.merge(people.reset_index(), on=keys, how="left")
    return suppress(counts, min_n, n="n_people", columns=("count", "share"))


def construct_scores(scored: pd.DataFrame, *, min_answered: float = 0.5) -> pd.DataFrame:
    """Each respondent's mean score on each construct (reverse-coded items already flipped).

    A construct score needs at least ``min_answered`` of its items answered; otherwise it is NaN
    (counted as missing in `construct_summary`).

    Returns
    -------
    DataFrame
        response_id, session_id, educator_id, school_id (where present), construct, level, score,
        n_items, n_answered.

    Raises
    ------
    ValueError
        When a construct mixes items on different scales (say 1-5 and 1-7).
    """
    scales = scored.groupby("construct")[["scale_min", "scale_max"]].nunique()
    mixed = scales[(scales > 1).any(axis=1)].index.tolist()
    if mixed:
        raise ValueError(
            f"construct(s) {', '.join(map(str, mixed))} mix items on different scales; a mean across them would "
            "not be interpretable. Give those items their own construct, or put them on one scale in survey_items.csv."
        )
    keys = [c for c in ("response_id", "session_id", "educator_id", "school_id") if c in scored]
    grouped = scored.groupby([*keys, "construct", "level"], dropna=False, observed=True)["score"]
    out = grouped.agg(score="mean", n_answered="count", n_items="size").reset_index()
    out["score"] = out["score"].where(out["n_answered"] >= min_answered * out["n_items"])
    return out


def construct_summary(
    scores: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    threshold: float = 4.0,
    min_n: int = 10,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Per construct (and group): mean construct score and the share of respondents at or above ``threshold``.

    Source: means with `plevaluate.effects.cluster_mean_ci` (CR1 by educator); shares with
    `plevaluate.effects.clustered_wilson` (Wilson 1927 on the Kish effective sample size).

    Returns
    -------
    DataFrame
        level, <by>, construct, measure (``mean`` or ``share_at_least``), threshold, estimate,
        ci_low, ci_high, sd, n (answers), n_people (distinct educators, which suppression counts),
        n_missing, method, suppressed.
    """
    frame = scores.dropna(subset=["construct", "level"]).reset_index(drop=True)
    favourable = (frame["score"] >= threshold).to_numpy()
    rows = _summaries(frame, [*by, "construct", "level"], favourable, "share_at_least", {"threshold": threshold}, ci)
    columns = [
        "level",
        *by,
        "construct",
        "measure",
        "threshold",
        "estimate",
        "ci_low",
        "ci_high",
        "sd",
        "n",
        "n_people",
        "n_missing",
        "method",
    ]
    return suppress(pd.DataFrame(rows, columns=columns), min_n, n="n_people")


@dataclass(frozen=True)
class Reliability:
    """Cronbach's alpha with its Feldt interval, and item diagnostics (item-rest r, alpha if deleted)."""

    alpha: float
    ci_low: float
    ci_high: float
    n: int
    k: int
    nan_policy: str
    items: pd.DataFrame
    standardized: float = float("nan")

    def _repr_html_(self) -> str:
        head = (
            f"<p>Cronbach's alpha = {self.alpha:.3f} (95% CI {self.ci_low:.3f} to {self.ci_high:.3f}), "
            f"{self.k} items, n = {self.n} ({self.nan_policy})</p>"
        )
        return head + self.items.to_html(index=False, float_format="{:.3f}".format)


def _alpha_from_cov(cov: np.ndarray) -> float:
    k = cov.shape[0]
    total = cov.sum()
    return float(k / (k - 1) * (1 - np.trace(cov) / total)) if total > 0 else float("nan")


def cronbach_alpha(
    items: pd.DataFrame,
    *,
    nan_policy: str = "pairwise",
    ci: float = 0.95,
    reverse: Sequence[str] = (),
    scale: tuple[float, float] | None = None,
) -> Reliability:
    """Cronbach's alpha of a wide respondent x item frame, with the Feldt (1987) interval.

    ``alpha = k/(k-1) * (1 - trace(C) / sum(C))`` with C the item covariance matrix, computed from
    pairwise-complete observations (``nan_policy="pairwise"``, as R psych ``alpha(use="pairwise")``)
    or after dropping incomplete rows (``"listwise"``). The Feldt interval is
    ``1 - (1 - alpha) F_{1-a/2}(n-1, (n-1)(k-1))`` to ``1 - (1 - alpha) F_{a/2}(...)`` with n the number of
    respondents used (with pairwise data, every respondent who answered at least one item: the interval is
    then approximate). Each item's item-rest correlation comes from the same covariance matrix (R psych's
    ``r.drop``), so a missing answer never counts as 0.

    Checked against pingouin's documented example (dataset ``cronbach_wide_missing``, R psych):
    pairwise alpha 0.732661, 95% CI [0.435, 0.909]; listwise alpha 0.801695. For the listwise CI
    pingouin reports [0.581, 0.933], which uses the 12 rows *before* deletion; we use the 9 complete
    rows, giving [0.533, 0.947].

    ``reverse`` names items keyed the other way (flipped as ``min + max - answer``; ``scale`` gives the
    scale's (min, max), else the answers' own range). ``standardized`` is the standardized alpha
    ``k rbar / (1 + (k - 1) rbar)`` from the mean inter-item correlation rbar (R psych's ``std.alpha``).

    Returns
    -------
    Reliability
        alpha, ci_low, ci_high, n, k, standardized and ``items``: item, n, item_rest_r, alpha_if_deleted.

    Raises
    ------
    ValueError
        With fewer than 2 items or 2 respondents, or non-numeric answers.
    """
    if nan_policy not in ("pairwise", "listwise"):
        raise ValueError("nan_policy must be 'pairwise' or 'listwise'")
    data = items.apply(pd.to_numeric, errors="coerce")
    if (data.isna() & items.notna()).any().any():
        raise ValueError("cronbach_alpha: every answer must be numeric")
    unknown = [c for c in reverse if c not in data]
    if unknown:
        raise ValueError(f"cronbach_alpha: reverse names no item: {', '.join(map(str, unknown))}")
    for column in reverse:
        bottom, top = scale if scale is not None else (data[column].min(), data[column].max())
        data[column] = bottom + top - data[column]
    data = data.dropna(how="all")
    if nan_policy == "listwise":
        data = data.dropna()
    n, k = data.shape
    if k < 2 or n < 2:
        raise ValueError(f"cronbach_alpha needs at least 2 items and 2 respondents (got {k} items, {n} respondents)")
    cov = data.cov().to_numpy()
    alpha = _alpha_from_cov(cov)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.ppf(0.5 + ci / 2, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(0.5 - ci / 2, df1, df2)
    rows = []
    for i, item in enumerate(data.columns):
        keep = [j for j in range(k) if j != i]
        # item-rest correlation from the same covariance matrix as alpha (psych's r.drop): cov(item, rest) over
        # sqrt(var(item) var(rest)), the rest being the sum of the other items; a missing answer is not a 0
        rest_var = cov[np.ix_(keep, keep)].sum()
        r = float(cov[i, keep].sum() / np.sqrt(cov[i, i] * rest_var)) if cov[i, i] > 0 and rest_var > 0 else np.nan
        deleted = _alpha_from_cov(cov[np.ix_(keep, keep)]) if k > 2 else np.nan
        rows.append({"item": item, "n": int(data[item].notna().sum()), "item_rest_r": r, "alpha_if_deleted": deleted})
    if n < 10:
        warnings.warn(
            "Cronbach's alpha from fewer than 10 complete responses is imprecise", StatisticalWarning, stacklevel=2
        )
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    rbar = corr[~np.eye(k, dtype=bool)].mean()
    standardized = float(k * rbar / (1 + (k - 1) * rbar))
    return Reliability(alpha, float(low), float(high), n, k, nan_policy, pd.DataFrame(rows), standardized)


def response_rates(
    scored: pd.DataFrame,
    attendance: pd.DataFrame,
    educators: pd.DataFrame,
    *,
    by: Sequence[str] = ("session_id",),
    min_n: int = 10,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Survey response rate: educators who answered a session's survey / educators who attended it.

    Source: `plevaluate.effects.clustered_wilson` (Wilson 1927 on the effective sample size, clustered by educator).

    Low and non-random response is the known weakness of reaction surveys, so every level-1 summary
    should be read beside this rate.

    Returns
    -------
    DataFrame
        <by>, measure (``response_rate``), estimate, ci_low, ci_high (Wilson, clustered by educator), n
        (attendances), n_people (distinct attendees), respondents, method, suppressed (fewer than
        ``min_n`` distinct attendees).
    """
    home = educators.drop_duplicates("educator_id").set_index("educator_id")["school_id"]
    attended = attendance[["educator_id", "session_id"]].drop_duplicates().copy()
    attended["school_id"] = attended["educator_id"].map(home)
    answered = scored[["educator_id", "session_id"]].dropna().drop_duplicates()
    answered["responded"] = True
    merged = attended.merge(answered, on=["educator_id", "session_id"], how="left")
    merged["responded"] = merged["responded"].astype("boolean").fillna(False).astype(bool)
    # every group at once (`plevaluate.effects.clustered_wilson` of each, vectorized): a pandas group per school
    # took seconds at 2,000 schools
    keys = list(by)
    group = _group_numbers(merged, keys)
    # the district is one row, even with nobody
    n_groups = (int(group.max()) + 1 if len(group) else 0) if keys else 1
    flags = merged["responded"].to_numpy(dtype=float)
    educators = merged["educator_id"].to_numpy()
    share, n, deff = grouped_share_and_deff(flags, group, n_groups, educators)
    low, high = wilson_interval(share * n / deff, n / deff, ci)
    people = _distinct(group, pd.factorize(merged["educator_id"])[0], n_groups)  # as nunique: no educator not counted
    firsts = np.unique(group, return_index=True)[1]
    columns = {k: merged[k].iloc[firsts].tolist() for k in keys} | {
        "measure": ["response_rate"] * n_groups,
        "estimate": share,
        "ci_low": low,
        "ci_high": high,
        "n": n.astype(int),
        "n_people": people.astype(int),
        "respondents": np.bincount(group, weights=flags, minlength=n_groups).astype(int),
    }
    table = pd.DataFrame(columns)
    table["method"] = "respondents / attendances; Wilson interval on the educator-clustered effective sample size"
    return suppress(table, min_n, n="n_people", columns=("estimate", "ci_low", "ci_high", "respondents"))


#: The breakdowns every survey summary is computed for (the district first).
BREAKDOWNS: tuple[tuple[str, ...], ...] = ((), ("school_id",), ("session_id",), ("format",), ("role",))
_GROUP_COLUMNS = ("school_id", "session_id", "format", "role")


def answers_with_context(district: District, level: int | None = None) -> pd.DataFrame:
    """Scored answers joined to the session's format and the respondent's role and school; with ``level``, the
    answers to that level's items only (chosen before anything is copied: a staff survey's answers are a few percent
    of reactions.csv, which level 3 copied whole).

    Answers with no educator keep their own ``school_id`` (if recorded) and have no role.
    """
    reactions = district.reactions
    if level is not None:
        meta = district.survey_items.drop_duplicates("item_id").set_index("item_id")
        reactions = reactions[(answer_levels(reactions, meta) == level).to_numpy()]
    scored = score_reactions(reactions, district.survey_items)
    if district.sessions is not None:
        scored["format"] = scored["session_id"].map(district.sessions.set_index("session_id")["format"])
    else:
        scored["format"] = pd.Series(pd.NA, index=scored.index, dtype="string")
    people = district.educators.drop_duplicates("educator_id").set_index("educator_id")
    educator = scored["educator_id"] if "educator_id" in scored else pd.Series(pd.NA, index=scored.index)
    scored["role"] = educator.map(people["role"])
    home = educator.map(people["school_id"])
    scored["school_id"] = scored["school_id"].fillna(home) if "school_id" in scored else home
    return scored


def _in_sessions(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The rows a breakdown by session (or its format) describes: answers tied to no session (a staff survey,
    Guskey level 3) have no session to be grouped under; every other breakdown keeps them."""
    columns = [c for c in ("session_id", "format") if c in by]
    return frame.dropna(subset=columns) if columns else frame


def _stack(frames: list[pd.DataFrame], breakdowns: Sequence[Sequence[str]]) -> pd.DataFrame:
    """One table from per-breakdown tables: a ``breakdown`` column and every group column present.

    A breakdown with no rows (by session, when every answer is a staff survey's tied to no session) adds no
    rows, and its group column stays, empty: an empty part would otherwise turn every column to text."""
    parts = [("+".join(by) if by else "district", frame) for frame, by in zip(frames, breakdowns)]
    table = stack([part for part in parts if not part[1].empty] or parts)
    for column in (c for by in breakdowns for c in by if c not in table):
        table[column] = pd.Series(pd.NA, index=table.index, dtype="string")
    groups = [c for c in _GROUP_COLUMNS if c in table]
    rest = [c for c in table.columns if c not in ("breakdown", "level", *groups)]
    return table[["level", "breakdown", *groups, *rest]]


def _words(construct: object) -> str:
    """A construct key as a reader reads it: organizational_support -> organizational support."""
    return str(construct).replace("_", " ")


def _reliability(scored: pd.DataFrame, notes: list[str], ci: float) -> pd.DataFrame:
    rows = []
    for (construct, level), answers in scored.groupby(["construct", "level"], sort=True):
        wide = answers.pivot_table(index="response_id", columns="item_id", values="score", aggfunc="first")
        row = {"level": int(level), "construct": construct, "k": wide.shape[1], "n": len(wide)}
        if wide.shape[1] < 2:
            notes.append(
                f"{_words(construct)} is a single item: internal consistency (Cronbach's alpha) does not apply"
            )
            rows.append({**row, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan})
            continue
        if len(wide) < 2:
            notes.append(f"Cronbach's alpha not computed for {_words(construct)}: too few responses")
            rows.append({**row, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan})
            continue
        with noting_warnings(notes):
            alpha = cronbach_alpha(wide, ci=ci)
        rows.append({**row, "estimate": alpha.alpha, "ci_low": alpha.ci_low, "ci_high": alpha.ci_high})
    table = pd.DataFrame(rows, columns=["level", "construct", "k", "n", "estimate", "ci_low", "ci_high"])
    table.insert(2, "measure", "cronbach_alpha")
    table["method"] = "Cronbach's alpha, pairwise-complete covariance; Feldt interval"
    return table


def evaluate_survey(
    district: District,
    *,
    level: int,
    construct: str | None = None,
    rating_at_least: float = 4.0,
    target: float | None = None,
    ci: float | None = None,
) -> LevelResult:
    """Summarize the survey items of one level (1: session reactions, 3: staff survey on support).

    Parameters
    ----------
    district : District
        From `plevaluate.load`.
    level : int
        Which items of survey_items.csv to use (their ``level`` column; items without one are level 1).
    construct, rating_at_least, target : optional
        The plan's target: the share of respondents whose mean on ``construct`` is at least
        ``rating_at_least`` should reach ``target``.

    Returns
    -------
    LevelResult
        Tables (each row with a ``breakdown`` naming its group columns; ``district`` rows have none):

        - ``constructs``: `construct_summary` for the district and by school, session, format and role;
        - ``items``: `item_summary` for the district and by school;
        - ``distribution``: `item_distribution` for the district and by school (for Likert charts);
        - ``reliability``: Cronbach's alpha per construct (district);
        - ``response_rates``: respondents / attendees, district, by school and by session;
        - ``target``: the target construct's ``share_at_least`` rows for the district and each school
          with `plevaluate.results.target_status` (empty without a target construct).
    """
    ci = district.plan.ci if ci is None else ci
    min_n = UNSUPPRESSED  # statistics on the full data; privacy.publish_levels suppresses what is published
    name = "participants' reactions" if level == 1 else "organization support (staff survey)"
    if district.reactions is None or district.survey_items is None:
        return LevelResult(level, name, evidence=False, notes=("no survey answers were collected",))
    scored = answers_with_context(district, level)
    if scored.empty:
        return LevelResult(level, name, evidence=False, notes=(f"no survey items are tagged level {level}",))
    notes: list[str] = []
    scores = construct_scores(scored)
    context = scored.drop_duplicates("response_id").set_index("response_id")
    for column in ("format", "role"):
        scores[column] = scores["response_id"].map(context[column])
    threshold = rating_at_least
    constructs = _stack(
        [
            construct_summary(_in_sessions(scores, by), by=by, threshold=threshold, min_n=min_n, ci=ci)
            for by in BREAKDOWNS
        ],
        BREAKDOWNS,
    )
    item_breakdowns = ((), ("school_id",))
    items = _stack([item_summary(scored, by=by, min_n=min_n, ci=ci) for by in item_breakdowns], item_breakdowns)
    distribution = _stack(
        [item_distribution(scored, by=by, min_n=min_n).assign(level=level) for by in item_breakdowns],
        item_breakdowns,
    )
    wording = district.survey_items.drop_duplicates("item_id").set_index("item_id")["text"]
    items.insert(items.columns.get_loc("item_id") + 1, "text", items["item_id"].map(wording))
    distribution.insert(distribution.columns.get_loc("item_id") + 1, "text", distribution["item_id"].map(wording))
    people = "educator_id" if "educator_id" in scored else None
    tables = {
        "coverage": coverage(scored, level=level, records="response_id", people=people),
        "constructs": constructs,
        "items": items,
        "distribution": distribution,
    }
    tables["reliability"] = _reliability(scored, notes, ci)
    sessions = scored["session_id"].dropna().unique()
    if scored["session_id"].isna().any():
        notes.append(
            "answers to a staff survey tied to no session have no session breakdown and no response rate "
            "(who was asked is not recorded)"
        )
    if district.attendance is not None and "educator_id" in scored and len(sessions):
        rate_breakdowns = ((), ("school_id",), ("session_id",))
        surveyed = district.attendance[district.attendance["session_id"].isin(sessions)]
        rates = [
            response_rates(scored, surveyed, district.educators, by=by, min_n=min_n, ci=ci) for by in rate_breakdowns
        ]
        rates = _stack([r.assign(level=level) for r in rates], rate_breakdowns)
        tables["response_rates"] = rates
        overall = rates.iloc[0]
        if overall["n_people"] < district.plan.min_n:
            notes.append(
                f"the response rate is not shown: fewer than {district.plan.min_n} educators attended the "
                "surveyed sessions"
            )
        else:
            notes.append(
                f"{overall['estimate']:.0%} of attendees answered the survey "
                f"({format_n(overall['respondents'], district.plan.min_n)} of "
                f"{format_n(overall['n'], district.plan.min_n)}); the summaries describe those who answered"
            )
    if construct is not None and construct in set(scores["construct"]):
        rows = constructs[
            constructs["breakdown"].isin(["district", "school_id"])
            & (constructs["construct"] == construct)
            & (constructs["measure"] == "share_at_least")
        ]
        rows = rows.drop(columns=["session_id", "format", "role"], errors="ignore")
        tables["target"] = target_status(rows, target).reset_index(drop=True)
    elif construct is not None:
        notes.append(f"the plan's target construct '{construct}' has no level-{level} items")
    meta = {
        "min_n": district.plan.min_n,
        "ci": ci,
        "construct": construct,
        "rating_at_least": rating_at_least,
        "target": target,
        "answers": len(scored),
        "respondents": int(scored["response_id"].nunique()),
    }
    return LevelResult(level, name, tables, tuple(notes), meta)
