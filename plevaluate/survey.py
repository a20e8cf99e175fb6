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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ._tidy import coverage_counts, coverage_table, stack
from .effects import (
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


def _group_numbers(frame: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Each row's group of ``keys``, numbered in the order of `plevaluate._tidy.groups` (all 0 without keys)."""
    if not keys:
        return np.zeros(len(frame), np.int64)
    return frame.groupby(list(keys), observed=True, sort=True, dropna=False).ngroup().to_numpy()


#: The additive sums of a group of answers (`_moments`).
_MOMENTS = ("answers", "n", "sx", "sxx", "sf", "unknown", "people", "ss", "sn", "nn", "ff", "fn")


def _moments(frame: pd.DataFrame, keys: Sequence[str], values, flags, clusters, centre=0.0) -> pd.DataFrame:
    """Each group of ``keys`` (one row each, in `_group_numbers` order; one row without keys, even with no rows): the
    sums `_summary_rows` and `_rates_table` need, all of which add up over parts that keep each educator's rows
    together, so a district's parts can be summed where they are:

    answers (rows), n (rows with a value), sx and sxx (sums of value - centre and of its square), sf (favourable
    values), unknown (values with no educator), people (educators with a value), and over each educator's sums S
    (of value - centre), F (of favourable - 1/2) and count m of values: ss, sn, nn, ff, fn = sum of S^2, S m, m^2,
    F^2, F m. ``clusters``: each row's educator number (-1: none); ``centre``: each row's (`_centres`: a value its
    item's or construct's answers take, one per group, so that sums of squares keep their digits and answers all
    alike sum to exactly no spread)."""
    keys = list(keys)
    group = _group_numbers(frame, keys)
    n_groups = (int(group.max()) + 1 if len(group) else 0) if keys else 1
    firsts = np.unique(group, return_index=True)[1]
    out = frame[keys].iloc[firsts].reset_index(drop=True) if keys else pd.DataFrame(index=range(1))
    values = np.asarray(values, dtype=float)
    valid = ~np.isnan(values)
    g, x = group[valid], (values - centre)[valid]
    f, c = np.asarray(flags, dtype=float)[valid], np.asarray(clusters)[valid]
    known = c >= 0
    width = int(c.max()) + 1 if known.any() else 1
    cells, cell = np.unique(g[known].astype(np.int64) * width + c[known], return_inverse=True)
    owner = cells // width
    m = np.bincount(cell, minlength=len(cells)).astype(float)
    s = np.bincount(cell, weights=x[known], minlength=len(cells))
    fc = np.bincount(cell, weights=f[known] - 0.5, minlength=len(cells))

    def total(where, weights=None):
        return np.bincount(where, weights=weights, minlength=n_groups)

    columns = {
        "answers": total(group),
        "n": total(g),
        "sx": total(g, x),
        "sxx": total(g, x * x),
        "sf": total(g, f),
        "unknown": total(g[~known]),
        "people": total(owner),
        "ss": total(owner, s * s),
        "sn": total(owner, s * m),
        "nn": total(owner, m * m),
        "ff": total(owner, fc * fc),
        "fn": total(owner, fc * m),
    }
    return pd.concat([out, pd.DataFrame(columns)], axis=1)


def _added(frames: Sequence[pd.DataFrame], keys: Sequence[str]) -> pd.DataFrame:
    """Parts' grouped sums (`_moments`, counts) added group by group, in `_group_numbers` order."""
    keys = list(keys)
    table = pd.concat(list(frames), ignore_index=True)
    if not keys:
        return table.sum().to_frame().T
    sums = [c for c in table.columns if c not in keys]
    return table.groupby(keys, observed=True, sort=True, dropna=False)[sums].sum().reset_index()


def _above_rounding(spread: np.ndarray, size: np.ndarray) -> np.ndarray:
    """A sum of squared deviations found as a difference of sums (``spread``, of terms as large as ``size``): 0 where
    it is within the rounding of those sums (answers that are all alike, say every construct score 13/3, would
    otherwise show a spread of 1e-8 made of rounding)."""
    return np.where(spread > 1e-12 * np.abs(size), spread, 0.0)


def _share_and_deff(m: pd.DataFrame, clustered: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each group's share favourable, its n and design effect (`plevaluate.effects.grouped_share_and_deff`) from
    its sums (`_moments`): the CR1 variance of the share is sum_c (F_c - m_c p)^2 / n^2 * G / (G - 1), G educators."""
    n, people = m["n"].to_numpy(float), m["people"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = m["sf"].to_numpy(float) / n
        q = p - 0.5  # F_c - m_c p = (F_c - m_c / 2) - m_c q
        ff, fn, nn = (m[c].to_numpy(float) for c in ("ff", "fn", "nn"))
        spread = _above_rounding(ff - 2 * q * fn + q * q * nn, ff + q * q * nn)
        cr1 = np.where(people >= 2, spread / n**2 * people / (people - 1), np.nan)
        ok = clustered & (p > 0) & (p < 1) & np.isfinite(cr1)
        cr0 = cr1 * (people - 1) / people / (p * (1 - p) / n)  # CR1 back to CR0, over the binomial variance
    return p, n, np.where(ok, np.maximum(1.0, cr0), 1.0)


def _summary_rows(
    m: pd.DataFrame,
    keys: Sequence[str],
    share_name: str,
    extra: dict,
    ci: float,
    by_educator: bool,
    centres: Mapping[tuple, float],
) -> list[dict]:
    """The two summary rows of each group (`_moments`): the mean score and the share favourable, as
    `plevaluate.effects.grouped_mean_and_variance` and `grouped_share_and_deff` give them from the answers.

    Intervals are clustered by educator (CR1 on G - 1 df; the design effect of the share) when every answer of the
    group names one and ``by_educator`` (the answers have an educator_id column)."""
    if m.empty:
        return []
    n, people, unknown = (m[c].to_numpy(float) for c in ("n", "people", "unknown"))
    clustered = np.full(len(m), by_educator) & (unknown == 0)
    sx, sxx = m["sx"].to_numpy(float), m["sxx"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = sx / n  # the mean - the group's centre
        mean = _group_centres(m, centres) + d
        s2 = _above_rounding(sxx - sx * d, sxx) / (n - 1)  # sum of (value - mean)^2 over n - 1
        ss, sn, nn = (m[c].to_numpy(float) for c in ("ss", "sn", "nn"))
        spread = _above_rounding(ss - 2 * d * sn + d * d * nn, ss + d * d * nn)
        cr1 = np.where(people >= 2, spread / n**2 * people / (people - 1), np.nan)
        var = np.where(clustered & np.isfinite(cr1), np.maximum(cr1, s2 / n), s2 / n)
        df = np.where(clustered, np.maximum(people - 1, 1), n - 1)
        sd = np.where(n > 1, np.sqrt(s2), np.nan)
    few = n < 2
    var, df = np.where(few, np.nan, var), np.where(few, np.nan, df)
    p, _, deff = _share_and_deff(m, clustered)
    low, high = t_interval(mean, var, df, ci)
    s_low, s_high = wilson_interval(p * n / deff, n / deff, ci)
    key_values = [m[k].tolist() for k in keys]
    levels, answers = m["level"].to_numpy(), m["answers"].to_numpy()
    rows = []
    for i in range(len(m)):
        base = {k: column[i] for k, column in zip(keys, key_values)} | {"level": int(levels[i]), **extra}
        base |= {"n": int(n[i]), "n_people": int(people[i] + unknown[i]), "n_missing": int(answers[i] - n[i])}
        suffix = ", clustered by educator" if clustered[i] else ""
        rows += [
            {**base, "measure": "mean", "sd": sd[i], "method": "t interval" + suffix,
             "estimate": mean[i], "ci_low": low[i], "ci_high": high[i]},
            {**base, "measure": share_name, "sd": np.nan, "method": "Wilson interval" + suffix,
             "estimate": p[i], "ci_low": s_low[i], "ci_high": s_high[i]},
        ]  # fmt: skip
    return rows


def _summary_table(
    m: pd.DataFrame,
    by: Sequence[str],
    *,
    threshold: float | None = None,
    ci: float,
    by_educator: bool,
    centres: Mapping[tuple, float],
    min_n: int,
) -> pd.DataFrame:
    """`item_summary` (without ``threshold``: each item's mean and top-two share) or `construct_summary` (each
    construct's mean and share at least ``threshold``) of the groups' sums ``m`` (`_moments`)."""
    named = ["construct"] if threshold is not None else ["item_id", "construct"]
    share, extra = ("share_at_least", {"threshold": threshold}) if threshold is not None else ("top2_share", {})
    rows = _summary_rows(m, [*by, *named, "level"], share, extra, ci, by_educator, centres)
    columns = ["level", *by, *named, "measure", *extra, "estimate", "ci_low", "ci_high", "sd", "n", "n_people",
               "n_missing", "method"]  # fmt: skip
    return suppress(pd.DataFrame(rows, columns=columns), min_n, n="n_people")


def _educator_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Each row's educator, numbered (-1: none recorded, or no educator_id column)."""
    return pd.factorize(frame["educator_id"])[0] if "educator_id" in frame else np.full(len(frame), -1)


def _centres(scored: pd.DataFrame | None = None, scores: pd.DataFrame | None = None) -> dict[tuple, float]:
    """A value each item's answers take (``("item", item_id)``) and each construct's scores take (``("construct",
    construct, level)``), the first given: what their sums are taken about (`_moments`)."""
    out: dict[tuple, float] = {}
    if scored is not None:
        first = scored.dropna(subset=["score"]).groupby("item_id", sort=False)["score"].first()
        out |= {("item", item): float(value) for item, value in first.items()}
    if scores is not None:
        valid = scores.dropna(subset=["score", "construct", "level"])
        first = valid.groupby(["construct", "level"], sort=False)["score"].first()
        out |= {("construct", construct, int(level)): float(value) for (construct, level), value in first.items()}
    return out


def _group_centres(frame: pd.DataFrame, centres: Mapping[tuple, float]) -> np.ndarray:
    """Each row's centre (`_centres`): its item's, or without an item_id column its construct's (0 if none)."""
    if "item_id" in frame:
        keys = [("item", item) for item in frame["item_id"]]
    else:
        keys = [("construct", c, int(level)) for c, level in zip(frame["construct"], frame["level"])]
    return np.array([centres.get(key, 0.0) for key in keys], dtype=float)


def _item_moments(scored: pd.DataFrame, by: Sequence[str], centres: Mapping[tuple, float]) -> pd.DataFrame:
    frame = scored.dropna(subset=["item_id", "construct", "level"])
    favourable = (frame["score"] >= frame["scale_max"] - 1).to_numpy()
    keys = [*by, "item_id", "construct", "level"]
    centre = _group_centres(frame, centres)
    return _moments(frame, keys, frame["score"], favourable, _educator_numbers(frame), centre)


def _construct_moments(
    scores: pd.DataFrame, by: Sequence[str], favourable: pd.Series, centres: Mapping[tuple, float]
) -> pd.DataFrame:
    frame = scores.dropna(subset=["construct", "level"])
    flags = favourable.loc[frame.index].to_numpy()
    centre = _group_centres(frame, centres)
    return _moments(frame, [*by, "construct", "level"], frame["score"], flags, _educator_numbers(frame), centre)


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
    centres = _centres(scored)
    moments = _item_moments(scored, by, centres)
    return _summary_table(moments, by, ci=ci, by_educator="educator_id" in scored, centres=centres, min_n=min_n)


def item_distribution(scored: pd.DataFrame, *, by: Sequence[str] = (), min_n: int = 10) -> pd.DataFrame:
    """Counts and shares of each answer category per item (raw answers, as respondents gave them).

    Returns
    -------
    DataFrame
        <by>, item_id, construct, reverse_coded, category, count, share, n (answers), n_people
        (distinct educators), suppressed. Groups about fewer than ``min_n`` people have count and
        share blanked (many answers from a few people still identify them).
    """
    counts, people = _distribution_counts(scored, by)
    return _distribution_table(counts, people, by, min_n)


def _distribution_counts(scored: pd.DataFrame, by: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`item_distribution`'s counts, which add up over parts that keep each educator's answers together: answers
    per group and category (``count``), and people per group (``n_people``: distinct educators, plus answers that
    name none)."""
    valid = scored[scored["response"].notna()]
    keys = [*by, "item_id", "construct", "reverse_coded"]
    counts = valid.groupby([*keys, "response"], observed=True).size().rename("count").reset_index()
    if "educator_id" in valid:
        named = valid.groupby(keys, observed=True)["educator_id"]
        people = (named.nunique() + named.size() - named.count()).rename("n_people")
    else:
        people = valid.groupby(keys, observed=True).size().rename("n_people")
    return counts, people.reset_index()


def _distribution_table(counts: pd.DataFrame, people: pd.DataFrame, by: Sequence[str], min_n: int) -> pd.DataFrame:
    keys = [*by, "item_id", "construct", "reverse_coded"]
    counts = counts.rename(columns={"response": "category"})
    totals = counts.groupby(keys, observed=True)["count"].transform("sum")
    counts["share"] = counts["count"] / totals
    counts["n"] = totals
    counts = counts.merge(people, on=keys, how="left")
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
    _one_scale_each(_scales(scored))
    keys = [c for c in ("response_id", "session_id", "educator_id", "school_id") if c in scored]
    grouped = scored.groupby([*keys, "construct", "level"], dropna=False, observed=True)["score"]
    out = grouped.agg(score="mean", n_answered="count", n_items="size").reset_index()
    out["score"] = out["score"].where(out["n_answered"] >= min_answered * out["n_items"])
    return out


def _scales(scored: pd.DataFrame) -> set[tuple]:
    """The (construct, scale_min, scale_max) of the answers."""
    pairs = scored[["construct", "scale_min", "scale_max"]].dropna(subset=["construct"]).drop_duplicates()
    return set(pairs.itertuples(index=False, name=None))


def _one_scale_each(scales: set[tuple]) -> None:
    """A construct's items on one scale, or a ValueError naming those that mix scales."""
    seen: dict = {}
    for construct, low, high in scales:
        seen.setdefault(construct, set()).add((low, high))
    mixed = sorted((str(c) for c, pairs in seen.items() if len(pairs) > 1))
    if mixed:
        raise ValueError(
            f"construct(s) {', '.join(mixed)} mix items on different scales; a mean across them would "
            "not be interpretable. Give those items their own construct, or put them on one scale in survey_items.csv."
        )


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
    centres = _centres(scores=scores)
    moments = _construct_moments(scores, by, scores["score"] >= threshold, centres)
    by_educator = "educator_id" in scores
    return _summary_table(
        moments, by, threshold=threshold, ci=ci, by_educator=by_educator, centres=centres, min_n=min_n
    )


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


def _alpha_and_interval(cov: np.ndarray, n: int, ci: float) -> tuple[float, float, float]:
    """Cronbach's alpha of the item covariance matrix ``cov`` with its Feldt (1987) interval on ``n`` respondents;
    warns below 10."""
    k = cov.shape[0]
    alpha = _alpha_from_cov(cov)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.ppf(0.5 + ci / 2, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(0.5 - ci / 2, df1, df2)
    if n < 10:
        warnings.warn(
            "Cronbach's alpha from fewer than 10 complete responses is imprecise", StatisticalWarning, stacklevel=3
        )
    return alpha, float(low), float(high)


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
    alpha, low, high = _alpha_and_interval(cov, n, ci)
    rows = []
    for i, item in enumerate(data.columns):
        keep = [j for j in range(k) if j != i]
        # item-rest correlation from the same covariance matrix as alpha (psych's r.drop): cov(item, rest) over
        # sqrt(var(item) var(rest)), the rest being the sum of the other items; a missing answer is not a 0
        rest_var = cov[np.ix_(keep, keep)].sum()
        r = float(cov[i, keep].sum() / np.sqrt(cov[i, i] * rest_var)) if cov[i, i] > 0 and rest_var > 0 else np.nan
        deleted = _alpha_from_cov(cov[np.ix_(keep, keep)]) if k > 2 else np.nan
        rows.append({"item": item, "n": int(data[item].notna().sum()), "item_rest_r": r, "alpha_if_deleted": deleted})
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
    moments = _rate_moments(scored, _attended(attendance, educators), by)
    return _rates_table(moments, by, ci, min_n)


def _attended(attendance: pd.DataFrame, educators: pd.DataFrame) -> pd.DataFrame:
    """Who attended which session (each pair once), with the educator's school."""
    home = educators.drop_duplicates("educator_id").set_index("educator_id")["school_id"]
    attended = attendance[["educator_id", "session_id"]].drop_duplicates().copy()
    attended["school_id"] = attended["educator_id"].map(home)
    return attended


def _rate_moments(scored: pd.DataFrame, attended: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """`response_rates`' sums (`_moments` of each attendance's 1 responded / 0 not), which add up over parts that
    keep each educator's answers and attendance together."""
    named = scored if "educator_id" in scored else pd.DataFrame(columns=["educator_id", "session_id"])
    answered = named[["educator_id", "session_id"]].dropna().drop_duplicates()
    answered["responded"] = True
    merged = attended.merge(answered, on=["educator_id", "session_id"], how="left")
    flags = merged["responded"].astype("boolean").fillna(False).to_numpy(dtype=float)
    return _moments(merged, by, flags, flags, pd.factorize(merged["educator_id"])[0])


def _rates_table(m: pd.DataFrame, by: Sequence[str], ci: float, min_n: int) -> pd.DataFrame:
    share, n, deff = _share_and_deff(m, np.ones(len(m), bool))
    low, high = wilson_interval(share * n / deff, n / deff, ci)
    columns = {k: m[k].tolist() for k in by} | {
        "measure": ["response_rate"] * len(m),
        "estimate": share,
        "ci_low": low,
        "ci_high": high,
        "n": n.astype(int),
        "n_people": m["people"].to_numpy().astype(int),  # as nunique: no educator not counted
        "respondents": m["sf"].to_numpy().astype(int),
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
    return _with_context(district.reactions, district, level)


def _with_context(reactions: pd.DataFrame, district: District, level: int | None) -> pd.DataFrame:
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


def _reliability_sums(
    scored: pd.DataFrame, items: Mapping[tuple, tuple], centres: Mapping[tuple, float]
) -> dict[tuple, tuple]:
    """For each (construct, level) of the answers: its responses with an answer, and over them the three matrices
    of its ``items`` (answers less the item's centre, 0 where blank, as X; answered as M) M'M, X'M and X'X, which add up over parts that
    keep each response together and give the pairwise-complete item covariances (`_reliability_table`)."""
    out = {}
    for (construct, level), answers in scored.groupby(["construct", "level"], sort=True):
        wide = answers.pivot_table(index="response_id", columns="item_id", values="score", aggfunc="first")
        names = list(items[(construct, level)])
        x = wide.reindex(columns=names).to_numpy(dtype=float) - [centres.get(("item", i), 0.0) for i in names]
        seen = ~np.isnan(x)
        x, answered = np.where(seen, x, 0.0), seen.astype(float)
        out[(construct, int(level))] = (len(wide), answered.T @ answered, x.T @ answered, x.T @ x)
    return out


def _reliability_table(sums: Mapping[tuple, tuple], notes: list[str], ci: float) -> pd.DataFrame:
    """Cronbach's alpha per construct (`cronbach_alpha`, pairwise) from `_reliability_sums`: the covariance of
    items i and j over the responses answering both is (X'X_ij - X'M_ij X'M_ji / M'M_ij) / (M'M_ij - 1)."""
    rows = []
    for (construct, level), (n, both, x_m, x_x) in sorted(sums.items()):
        kept = np.diag(both) > 0  # an item nobody answered is no column
        both, x_m, x_x = (a[np.ix_(kept, kept)] for a in (both, x_m, x_x))
        row = {"level": int(level), "construct": construct, "k": int(kept.sum()), "n": int(n)}
        if row["k"] < 2:
            notes.append(
                f"{_words(construct)} is a single item: internal consistency (Cronbach's alpha) does not apply"
            )
            rows.append({**row, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan})
            continue
        if n < 2:
            notes.append(f"Cronbach's alpha not computed for {_words(construct)}: too few responses")
            rows.append({**row, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan})
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = (x_x - x_m * x_m.T / both) / (both - 1)
        with noting_warnings(notes):
            alpha, low, high = _alpha_and_interval(cov, int(n), ci)
        rows.append({**row, "estimate": alpha, "ci_low": low, "ci_high": high})
    table = pd.DataFrame(rows, columns=["level", "construct", "k", "n", "estimate", "ci_low", "ci_high"])
    table.insert(2, "measure", "cronbach_alpha")
    table["method"] = "Cronbach's alpha, pairwise-complete covariance; Feldt interval"
    return table


#: The column that keeps an educator's answers and attendance in one part: the educator, or for an answer that
#: names none its response (`prepare_survey`).
PART_KEY = "part"
_ITEM_BREAKDOWNS: tuple[tuple[str, ...], ...] = ((), ("school_id",))
_RATE_BREAKDOWNS: tuple[tuple[str, ...], ...] = ((), ("school_id",), ("session_id",))


def _part_keys(educators: pd.Series, responses: pd.Series | None = None) -> pd.Series:
    """Each row's `PART_KEY`: its educator, else ``r:`` and its response (one type, so that equal keys hash alike)."""
    keys = educators.astype(object).where(educators.notna(), None)
    if responses is not None:
        keys = keys.where(keys.notna(), "r:" + responses.astype(str))
    return keys.map(str).astype(object)


def prepare_survey(reactions: pd.DataFrame, district: District, *, level: int, threshold: float) -> tuple:
    """A level's survey answers ready to be summed in parts (`summarize_survey`): its scored answers in context
    (`answers_with_context`), each response's construct scores (`construct_scores`, with format, role and
    ``favourable``: at least ``threshold``) and who attended which session (with the educator's school), each with
    `PART_KEY`, so that an educator's answers and attendance stay in one part. Without attendance.csv (or without
    educators to match it to) the last has no column but the key: no response rate, where an attendance table of
    no rows (a school's view, `District.school`) gives one about nobody.

    Raises
    ------
    ValueError
        With no survey_items.csv, an answer off its item's scale or a construct mixing scales.
    """
    if district.survey_items is None:
        raise ValueError("no survey_items.csv: the answers cannot be scored")
    scored = _with_context(reactions, district, level)
    educator = scored["educator_id"] if "educator_id" in scored else pd.Series(pd.NA, index=scored.index)
    scored[PART_KEY] = _part_keys(educator, scored["response_id"])
    scores = construct_scores(scored)
    context = scored.drop_duplicates("response_id").set_index("response_id")
    for column in ("format", "role", PART_KEY):
        scores[column] = scores["response_id"].map(context[column])
    scores["favourable"] = scores["score"] >= threshold
    if district.attendance is not None and "educator_id" in scored:
        attended = _attended(district.attendance, district.educators)
        attended[PART_KEY] = _part_keys(attended["educator_id"])
    else:  # nobody's attendance is known: no column but the key (an attendance table of no rows is known: nobody)
        attended = pd.DataFrame({PART_KEY: pd.Series(dtype=object)})
    return scored, scores, attended


def survey_facts(ready: tuple) -> dict:
    """What a part of `prepare_survey`'s frames tells every part (`SurveyLayout.of`)."""
    scored, scores, attended = ready
    items = scored.dropna(subset=["construct"]).groupby(["construct", "level"], sort=True)["item_id"].unique()
    return {
        "educators": "educator_id" in scored,
        "attendance": "session_id" in attended,
        "sessions": set(scored["session_id"].dropna().unique()),
        "items": {(construct, int(level)): set(found) for (construct, level), found in items.items()},
        "centres": _centres(scored, scores),
    }


@dataclass(frozen=True)
class SurveyLayout:
    """What every part of a level's survey answers is summed against: whether answers name educators, the sessions
    anybody answered about (attending one is being asked), each construct's items, and the value each item's and
    construct's sums are taken about (`_centres`: one that some part's answers take). Plain containers: it travels
    by pickle to the processes that sum the parts."""

    educators: bool
    attendance: bool
    sessions: frozenset
    items: Mapping[tuple, tuple]
    centres: Mapping[tuple, float]

    @classmethod
    def of(cls, facts: list[dict]) -> SurveyLayout:
        items: dict[tuple, set] = {}
        centres: dict[tuple, float] = {}
        for fact in facts:
            for key, found in fact["items"].items():
                items.setdefault(key, set()).update(found)
            for key, value in fact["centres"].items():
                centres.setdefault(key, value)
        return cls(
            educators=any(f["educators"] for f in facts),
            attendance=any(f["attendance"] for f in facts),
            sessions=frozenset().union(*(f["sessions"] for f in facts)),
            items={key: tuple(sorted(found, key=str)) for key, found in items.items()},
            centres=centres,
        )


@dataclass(frozen=True)
class SurveySums:
    """A level's survey answers summed (`summarize_survey`): everything `survey_from` publishes, as sums that add up
    over parts keeping each educator's answers and attendance together (`combine`)."""

    constructs: tuple[pd.DataFrame, ...]  # `_moments` by construct, per BREAKDOWNS
    items: tuple[pd.DataFrame, ...]  # by item, per _ITEM_BREAKDOWNS
    distribution: tuple[tuple[pd.DataFrame, pd.DataFrame], ...]  # `_distribution_counts`, per _ITEM_BREAKDOWNS
    reliability: Mapping[tuple, tuple]  # `_reliability_sums`
    rates: tuple[pd.DataFrame, ...]  # `_rate_moments` per _RATE_BREAKDOWNS
    coverage: tuple[tuple[float, float], pd.DataFrame]  # `plevaluate._tidy.coverage_counts`
    answers: int
    respondents: int
    unsessioned: int  # answers tied to no session (a staff survey)

    @staticmethod
    def combine(parts: list[SurveySums]) -> SurveySums:
        reliability: dict[tuple, tuple] = {}
        for part in parts:
            for key, sums in part.reliability.items():
                reliability[key] = tuple(a + b for a, b in zip(reliability[key], sums)) if key in reliability else sums
        district = tuple(np.sum([p.coverage[0] for p in parts], axis=0).tolist())
        schools = pd.concat([p.coverage[1] for p in parts]).groupby(level=0, sort=True).sum()
        item_keys = ("item_id", "construct", "reverse_coded")
        return SurveySums(
            constructs=tuple(
                _added([p.constructs[i] for p in parts], [*by, "construct", "level"]) for i, by in enumerate(BREAKDOWNS)
            ),
            items=tuple(
                _added([p.items[i] for p in parts], [*by, "item_id", "construct", "level"])
                for i, by in enumerate(_ITEM_BREAKDOWNS)
            ),
            distribution=tuple(
                (
                    _added([p.distribution[i][0] for p in parts], [*by, *item_keys, "response"]),
                    _added([p.distribution[i][1] for p in parts], [*by, *item_keys]),
                )
                for i, by in enumerate(_ITEM_BREAKDOWNS)
            ),
            reliability=reliability,
            rates=tuple(_added([p.rates[i] for p in parts], by) for i, by in enumerate(_RATE_BREAKDOWNS)),
            coverage=(district, schools),
            answers=sum(p.answers for p in parts),
            respondents=sum(p.respondents for p in parts),
            unsessioned=sum(p.unsessioned for p in parts),
        )


def summarize_survey(ready: tuple, layout: SurveyLayout) -> SurveySums:
    """One part of `prepare_survey`'s frames summed (every part's sums `SurveySums.combine` into the district's)."""
    scored, scores, attended = ready
    constructs = [
        _construct_moments(_in_sessions(scores, by), by, scores["favourable"], layout.centres) for by in BREAKDOWNS
    ]
    if "session_id" not in attended:  # no attendance recorded (`prepare_survey`)
        attended = pd.DataFrame(columns=["educator_id", "session_id", "school_id"])
    surveyed = attended[attended["session_id"].isin(layout.sessions)]
    return SurveySums(
        constructs=tuple(constructs),
        items=tuple(_item_moments(scored, by, layout.centres) for by in _ITEM_BREAKDOWNS),
        distribution=tuple(_distribution_counts(scored, by) for by in _ITEM_BREAKDOWNS),
        reliability=_reliability_sums(scored, layout.items, layout.centres),
        rates=tuple(_rate_moments(scored, surveyed, by) for by in _RATE_BREAKDOWNS),
        coverage=coverage_counts(scored, records="response_id", people="educator_id" if layout.educators else None),
        answers=len(scored),
        respondents=int(scored["response_id"].nunique()),
        unsessioned=int(scored["session_id"].isna().sum()),
    )


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
        From `plevaluate.load`. Where ``district.summaries[level]`` holds the level's answers summed in parts
        (`plevaluate.years.evaluate_on_cluster`: `prepare_survey`, `summarize_survey`, `SurveySums.combine`), the
        tables are made from those sums, equal to those from the rows.
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
    name = "participants' reactions" if level == 1 else "organization support (staff survey)"
    if level in district.summaries:  # summed in parts where they are (a Dask cluster)
        layout, sums = district.summaries[level]
        if isinstance(sums, ValueError):  # a data problem found in a part: reported as one found here
            raise sums
    elif district.reactions is None or district.survey_items is None:
        return LevelResult(level, name, evidence=False, notes=("no survey answers were collected",))
    else:
        ready = prepare_survey(district.reactions, district, level=level, threshold=rating_at_least)
        layout = SurveyLayout.of([survey_facts(ready)])
        sums = summarize_survey(ready, layout)
    if not sums.answers:
        return LevelResult(level, name, evidence=False, notes=(f"no survey items are tagged level {level}",))
    tables, notes = survey_from(sums, layout, district, level=level, threshold=rating_at_least, ci=ci)
    if construct is not None and construct in set(sums.constructs[0]["construct"]):
        constructs = tables["constructs"]
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
        "answers": sums.answers,
        "respondents": sums.respondents,
    }
    return LevelResult(level, name, tables, tuple(notes), meta)


def survey_from(
    sums: SurveySums, layout: SurveyLayout, district: District, *, level: int, threshold: float, ci: float
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """`evaluate_survey`'s tables and notes from the level's sums (`SurveySums`)."""
    min_n = UNSUPPRESSED  # statistics on the full data; privacy.publish_levels suppresses what is published
    notes: list[str] = []
    summary = {"ci": ci, "by_educator": layout.educators, "centres": layout.centres, "min_n": min_n}
    constructs = _stack(
        [_summary_table(m, by, threshold=threshold, **summary) for m, by in zip(sums.constructs, BREAKDOWNS)],
        BREAKDOWNS,
    )
    items = _stack([_summary_table(m, by, **summary) for m, by in zip(sums.items, _ITEM_BREAKDOWNS)], _ITEM_BREAKDOWNS)
    distribution = _stack(
        [
            _distribution_table(counts, people, by, min_n).assign(level=level)
            for (counts, people), by in zip(sums.distribution, _ITEM_BREAKDOWNS)
        ],
        _ITEM_BREAKDOWNS,
    )
    wording = district.survey_items.drop_duplicates("item_id").set_index("item_id")["text"]
    items.insert(items.columns.get_loc("item_id") + 1, "text", items["item_id"].map(wording))
    distribution.insert(distribution.columns.get_loc("item_id") + 1, "text", distribution["item_id"].map(wording))
    tables = {
        "coverage": coverage_table(*sums.coverage, level=level),
        "constructs": constructs,
        "items": items,
        "distribution": distribution,
        "reliability": _reliability_table(sums.reliability, notes, ci),
    }
    if sums.unsessioned:
        notes.append(
            "answers to a staff survey tied to no session have no session breakdown and no response rate "
            "(who was asked is not recorded)"
        )
    if layout.attendance and layout.educators and layout.sessions:
        rates = _stack(
            [_rates_table(m, by, ci, min_n).assign(level=level) for m, by in zip(sums.rates, _RATE_BREAKDOWNS)],
            _RATE_BREAKDOWNS,
        )
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
    return tables, notes
