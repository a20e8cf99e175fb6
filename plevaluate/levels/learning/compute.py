"""Level 2, participants' learning: did participants gain the intended knowledge and skills?

Pre/post assessment scores (learning.csv) are matched per educator and assessment. Gains are
summarized with the paired t-test, d_z and g_av (Lakens 2013, see `plevaluate.effects`), mastery
(score >= the plan's ``mastery_share`` of ``max_score``) before and after with McNemar's exact test,
and every unmatched educator is counted. Where comparison-school educators took the same
assessment, the participant-minus-comparison difference in gains is a WWC difference-in-differences
effect size.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..._tidy import coverage_table
from ...effects import hedges_omega, paired_effects_from, smd_independent, wilson_interval
from ...errors import StatisticalWarning
from ...privacy import UNSUPPRESSED, format_n, suppress
from ...results import LevelResult, noting_warnings, target_status
from ...vocabulary import in_program
from .sums import (
    BREAKDOWNS,
    GAIN_COUNTS,
    LearningSums,
    arm_moments,
    gain_scores,
    moments,
    stayed_moments,
    summarize,
    with_mastery,
)

if TYPE_CHECKING:
    from ...contract import District

__all__ = [
    "EXPERIENCE_BANDS",
    "evaluate_learning",
    "experience_band",
    "learning_gains",
    "match_pairs",
    "missing_post_check",
    "pairs_in_parts",
    "program_effect",
]

#: Years of experience bands; new teachers (under 3 years) are a group districts differentiate PL for.
EXPERIENCE_BANDS = ((0, 3, "new (under 3 years)"), (3, 10, "3 to 9 years"), (10, np.inf, "10 years or more"))


def experience_band(years: pd.Series) -> pd.Series:
    """Label years of experience with `EXPERIENCE_BANDS` (missing stays missing)."""
    edges = [b[0] for b in EXPERIENCE_BANDS] + [np.inf]
    labels = [b[2] for b in EXPERIENCE_BANDS]
    return pd.cut(pd.to_numeric(years, errors="coerce"), edges, right=False, labels=labels).astype("string")


def match_pairs(learning: pd.DataFrame, educators: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per educator and assessment with the pre and post score side by side.

    Returns
    -------
    DataFrame
        educator_id, assessment_id, pre, post, max_score, status (``matched``, ``missing_post``,
        ``missing_pre``) and, when ``educators`` is given, school_id, role, participant and
        experience_band.
    """
    scores = learning.dropna(subset=["score"])
    wide = scores.pivot_table(
        index=["educator_id", "assessment_id"], columns="occasion", values="score", aggfunc="first", observed=True
    )
    wide = wide.reindex(columns=["pre", "post"])
    wide.columns.name = None
    if "max_score" in learning:
        wide["max_score"] = learning.groupby(["educator_id", "assessment_id"])["max_score"].max()
    else:
        wide["max_score"] = np.nan
    wide = wide.reset_index()
    wide["status"] = np.select(
        [wide["pre"].notna() & wide["post"].notna(), wide["pre"].notna()], ["matched", "missing_post"], "missing_pre"
    )
    if educators is not None:
        cols = [c for c in ("educator_id", "school_id", "role", "participant", "years_experience") if c in educators]
        wide = wide.merge(educators[cols].drop_duplicates("educator_id"), on="educator_id", how="left")
        # years_experience is optional in educators.csv: without it every band is unknown (one group of its own)
        years = wide.pop("years_experience") if "years_experience" in wide else pd.Series(np.nan, index=wide.index)
        wide["experience_band"] = experience_band(years)
    return wide


def _mcnemar_exact(table: list[list[int]]) -> float:
    """Exact McNemar p-value (McNemar 1947) of a 2 x 2 table of counts (before yes/no by after yes/no):
    statsmodels' ``mcnemar(exact=True)``, the binomial test of the discordant pairs."""
    from statsmodels.stats.contingency_tables import mcnemar

    return float(mcnemar(table, exact=True).pvalue)


def learning_gains(
    pairs: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    mastery_share: float = 0.8,
    min_n: int = 10,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Pre-to-post gains per assessment (and group), with standardized effects and mastery.

    Source: paired effect sizes d_z and g_av after Lakens (2013) with noncentral-t intervals (Steiger & Fouladi
    1997); mastery shares with Wilson (1927) intervals; the mastery change tested by the exact McNemar (1947)
    test.

    Parameters
    ----------
    pairs : DataFrame
        From `match_pairs`.
    by : sequence of str
        Group columns such as ``("school_id",)``, ``("role",)`` or ``("experience_band",)``.
    mastery_share : float
        Mastery is a score of at least this share of ``max_score``.
    min_n : int
        Rows about fewer matched educators are suppressed.

    Returns
    -------
    DataFrame
        One row per group x assessment x measure, measures ``mean_gain`` (score points, paired t
        interval), ``d_z`` and ``g_av`` (noncentral-t intervals), ``mastery_pre`` and ``mastery_post``
        (Wilson intervals; ``p_value`` of the post row is McNemar's exact test). Columns: level, <by>,
        assessment_id, measure, estimate, ci_low, ci_high, p_value, n (matched educators),
        n_missing (educators with only a pre or only a post score), method, suppressed.

    Examples
    --------
    >>> pairs = pd.DataFrame({"educator_id": list("abcd"), "assessment_id": "A", "pre": [10, 12, 9, 14],
    ...                       "post": [13, 14, 12, 15], "max_score": 20, "status": "matched"})
    >>> gains = learning_gains(pairs, min_n=2)
    >>> float(gains.loc[gains["measure"] == "mean_gain", "estimate"].iloc[0])
    2.25
    """
    keys = [*by, "assessment_id"]
    scored = pd.concat([pairs[keys], gain_scores(with_mastery(pairs, mastery_share))], axis=1)
    sums = moments(scored, keys, ("d", "pre", "post"), counts=GAIN_COUNTS, largest=("size",))
    return suppress(gains_table(sums, by, mastery_share=mastery_share, ci=ci), min_n)


def gains_table(sums: pd.DataFrame, by: Sequence[str], *, mastery_share: float, ci: float) -> pd.DataFrame:
    """`learning_gains` (before suppression) from its moments (`plevaluate.levels.learning.sums.moments` of
    `gain_scores` by ``by`` and assessment)."""
    rows = []
    for group in sums.to_dict("records"):
        n = int(group["d_n"])
        base = {k: group[k] for k in by} | {"level": 2, "assessment_id": group["assessment_id"], "n": n}
        base["n_missing"] = int(group["n_missing"])
        sd = {c: np.sqrt(group[f"{c}_m2"] / (n - 1)) if n > 1 else np.nan for c in ("d", "pre", "post")}
        size = max(1.0, float(group["size"])) if n else 1.0
        effects = paired_effects_from(n, group["d_mean"], sd["d"], sd["pre"], sd["post"], size, ci)
        rows.append(
            {
                **base,
                "measure": "mean_gain",
                "estimate": effects["mean_gain"],
                "ci_low": effects["gain_ci_low"],
                "ci_high": effects["gain_ci_high"],
                "p_value": effects["p_value"],
                "method": "paired t-test",
            }
        )
        rows.append(
            {
                **base,
                "measure": "d_z",
                "estimate": effects["d_z"],
                "ci_low": effects["d_z_ci_low"],
                "ci_high": effects["d_z_ci_high"],
                "p_value": effects["p_value"],
                "method": "mean gain / SD of gains; noncentral t interval (Lakens 2013)",
            }
        )
        rows.append(
            {
                **base,
                "measure": "g_av",
                "estimate": effects["g_av"],
                "ci_low": effects["g_av_ci_low"],
                "ci_high": effects["g_av_ci_high"],
                "p_value": effects["p_value"],
                "method": "mean gain / mean of pre and post SD, Hedges-corrected (Lakens 2013)",
            }
        )
        known, before, after, both = (int(group[c]) for c in ("known", "before", "after", "both"))
        changed = (
            _mcnemar_exact([[both, before - both], [after - both, known - before - after + both]]) if known else np.nan
        )
        for measure, count in (("mastery_pre", before), ("mastery_post", after)):
            low, high = wilson_interval(count, known, ci)
            rows.append(
                {
                    **base,
                    "measure": measure,
                    "estimate": count / known if known else np.nan,
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "p_value": changed if measure == "mastery_post" else np.nan,
                    "method": f"share >= {mastery_share:.0%} of max_score; Wilson interval"
                    + ("; McNemar exact test" if measure == "mastery_post" else ""),
                }
            )
    columns = [
        "level",
        *by,
        "assessment_id",
        "measure",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "n",
        "n_missing",
        "method",
    ]
    return pd.DataFrame(rows, columns=columns)


def missing_post_check(pairs: pd.DataFrame, *, threshold: float = 0.25, min_n: int = 10) -> pd.DataFrame:
    """Did educators missing a post score differ at pre from those who completed both?

    Source: Hedges' g with the WWC small-sample correction (WWC Procedures Handbook v5.0) and Welch's (1947) t-test.

    Returns one row per assessment: n_matched, n_missing_post, pre_mean_matched, pre_mean_missing,
    difference in pre-score SD units (Hedges' g, matched minus missing), p_value (Welch t-test) and
    ``differs`` (|g| > ``threshold`` or p < 0.05). Warns (`StatisticalWarning`) when they differ:
    the gains then describe those who stayed, not everyone who started.
    """
    return missing_table(stayed_moments(pairs), threshold=threshold, min_n=min_n)


#: A spread at most this share of the scores' size is floating-point noise, no spread (as `paired_effects_from`):
#: scores all alike have squared deviations of exactly 0 in one part, about 1e-28 added from parts.
_NOISE = 1e-9


def missing_table(stayed: pd.DataFrame, *, threshold: float, min_n: int) -> pd.DataFrame:
    """`missing_post_check` from the pre scores' moments by assessment and status, with its warnings."""
    rows = []
    for assessment, part in stayed.groupby("assessment_id", sort=True):
        by_status = part.set_index("status")
        (n_done, mean_done, sd_done), (n_gone, mean_gone, sd_gone) = (
            _pre_scores(by_status, status) for status in ("matched", "missing_post")
        )
        row = {"assessment_id": assessment, "n_matched": n_done, "n_missing_post": n_gone}
        noise = _NOISE * max(1.0, float(part["size"].max()))
        if n_done > 1 and n_gone > 1 and max(sd_done, sd_gone) > noise:
            smd = smd_independent(mean_done, sd_done, n_done, mean_gone, sd_gone, n_gone)
            p = float(stats.ttest_ind_from_stats(mean_done, sd_done, n_done, mean_gone, sd_gone, n_gone,
                                                 equal_var=False).pvalue)  # fmt: skip
            row.update(pre_mean_matched=mean_done, pre_mean_missing=mean_gone, difference_g=smd["g"], p_value=p)
            row["differs"] = bool(abs(smd["g"]) > threshold or p < 0.05)
            if row["differs"]:
                # a difference about fewer than min_n people is itself a statistic about a small group
                by = (
                    f" {abs(smd['g']):.2f} SD {'lower' if smd['g'] > 0 else 'higher'}"
                    if n_gone >= min_n
                    else (" lower" if smd["g"] > 0 else " higher")
                )
                warnings.warn(
                    f"assessment {assessment}: the {format_n(n_gone, min_n)} educators with no post score scored"
                    f"{by} at pre than those who completed both; the gains describe completers only",
                    StatisticalWarning,
                    stacklevel=2,
                )
        else:
            row.update(pre_mean_matched=np.nan, pre_mean_missing=np.nan, difference_g=np.nan, p_value=np.nan)
            row["differs"] = False
        rows.append(row)
    return pd.DataFrame(rows)


def _pre_scores(by_status: pd.DataFrame, status: str) -> tuple[int, float, float]:
    """Count, mean and SD of the pre scores of one status (`missing_table`)."""
    if status not in by_status.index:
        return 0, np.nan, np.nan
    row = by_status.loc[status]
    n = int(row["pre_n"])
    return n, float(row["pre_mean"]), float(np.sqrt(row["pre_m2"] / (n - 1))) if n > 1 else np.nan


def program_effect(pairs: pd.DataFrame, *, group: str = "participant", ci: float = 0.95) -> pd.DataFrame:
    """Participant versus comparison educators who took the same assessment: a difference-in-differences g.

    ``g = omega * ((post_P - pre_P) - (post_C - pre_C)) / S_post`` with S_post the pooled SD of post
    scores and ``omega = 1 - 3/(4N - 9)`` (WWC Procedures Handbook v5.0, the difference-in-differences
    adjustment for pre-post designs). Its interval uses the WWC standard error of g. Rows are returned
    only for assessments taken by both groups.

    Returns
    -------
    DataFrame
        level, assessment_id, measure (``did_g``), estimate, ci_low, ci_high, se, n_treatment,
        n_comparison, method.
    """
    return effect_table(arm_moments(pairs, group), group=group, ci=ci)


def effect_table(arms: pd.DataFrame, *, group: str, ci: float) -> pd.DataFrame:
    """`program_effect` from each assessment's arms' pre- and post-score moments (``group`` True or False)."""
    rows = []
    for assessment, part in arms.groupby("assessment_id", sort=True):
        by_arm = part.set_index(group)
        if True not in by_arm.index or False not in by_arm.index:
            continue
        treated, control = by_arm.loc[True], by_arm.loc[False]
        n1, n2 = int(treated["post_n"]), int(control["post_n"])
        if n1 < 2 or n2 < 2:
            continue
        pooled = float(np.sqrt((treated["post_m2"] + control["post_m2"]) / (n1 + n2 - 2)))
        if pooled <= _NOISE * max(1.0, float(part["size"].max())):  # post scores all alike: no SD to scale by
            continue
        diff = (treated["post_mean"] - treated["pre_mean"]) - (control["post_mean"] - control["pre_mean"])
        g = hedges_omega(n1 + n2) * diff / pooled
        se = float(np.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2))))
        z = stats.norm.ppf(0.5 + ci / 2)
        rows.append(
            {
                "level": 2,
                "assessment_id": assessment,
                "measure": "did_g",
                "estimate": g,
                "ci_low": g - z * se,
                "ci_high": g + z * se,
                "se": se,
                "n_treatment": n1,
                "n_comparison": n2,
                "method": "WWC difference-in-differences g (post SD pooled)",
            }
        )
    columns = [
        "level",
        "assessment_id",
        "measure",
        "estimate",
        "ci_low",
        "ci_high",
        "se",
        "n_treatment",
        "n_comparison",
        "method",
    ]
    return pd.DataFrame(rows, columns=columns)


def evaluate_learning(district: District, *, ci: float | None = None) -> LevelResult:
    """Level 2 for the district and every school: gains of participating educators, and the program effect.

    Gains are those of the educators in the program (`plevaluate.contract.in_program`: the
    ``participant`` flag, or the school's group where the flag is blank or absent). Where comparison educators took the same assessment, ``program_effect``
    compares the two groups' gains.

    Returns
    -------
    LevelResult
        Tables:

        - ``gains``: `learning_gains` for the district and by school, role and experience band, with a
          ``breakdown`` column;
        - ``missing``: `missing_post_check` per assessment (participants);
        - ``program_effect``: `program_effect` (participant vs comparison educators);
        - ``target``: the ``g_av`` rows for the district and each school with
          `plevaluate.results.target_status` against the plan's level-2 target.
    """
    name = "participants' learning"
    if 2 in district.summaries:  # summed in parts where they are (a Dask cluster)
        _, sums = district.summaries[2]
        if isinstance(sums, ValueError):  # a data problem found in a part: reported as one found here
            raise sums
    elif district.learning is None:
        return LevelResult(2, name, evidence=False, notes=("no assessment scores were collected",))
    else:
        sums = summarize(pairs_in_parts(district.learning, district))
    return learning_from(sums, district, ci=district.plan.ci if ci is None else ci)


def pairs_in_parts(learning: pd.DataFrame, district: District) -> pd.DataFrame:
    """`match_pairs` of ``learning`` with each educator's membership of the program (``participant``:
    `plevaluate.vocabulary.in_program`) and mastery before and after (the plan's ``mastery_share``): what each
    part of level 2 is summed from (`plevaluate.results.Parts.prepare`)."""
    pairs = match_pairs(learning, district.educators)
    educators = district.educators.drop_duplicates("educator_id")
    member = pd.Series(in_program(educators, district.schools).to_numpy(), index=educators["educator_id"])
    pairs["participant"] = pairs["educator_id"].map(member).fillna(False).astype(bool)
    return with_mastery(pairs, district.plan.levels.learning.mastery_share)


def learning_from(sums: LearningSums, district: District, *, ci: float) -> LevelResult:
    """Level 2's tables, notes and meta from its moments (`plevaluate.levels.learning.sums`)."""
    name = "participants' learning"
    plan = district.plan
    goal = plan.levels.learning
    notes: list[str] = []
    frames = []
    with noting_warnings(notes):
        for by in BREAKDOWNS:
            # statistics on the full data: privacy.publish_levels suppresses what is published
            gains = suppress(gains_table(sums.gains[by], by, mastery_share=goal.mastery_share, ci=ci), UNSUPPRESSED)
            gains.insert(1, "breakdown", "+".join(by) if by else "district")
            frames.append(gains)
        missing = missing_table(sums.stayed, threshold=0.25, min_n=plan.min_n)
    table = pd.concat(frames, ignore_index=True)
    groups = [c for by in BREAKDOWNS for c in by]
    table = table[
        ["level", "breakdown", *groups, *[c for c in table.columns if c not in ("level", "breakdown", *groups)]]
    ]
    effect = effect_table(sums.arms, group="participant", ci=ci)
    target = table[table["breakdown"].isin(["district", "school_id"]) & (table["measure"] == "g_av")]
    target = target_status(target.drop(columns=["role", "experience_band"]), goal.target).reset_index(drop=True)
    counts = sums.statuses
    if counts.drop("matched", errors="ignore").sum():
        # one count of the incomplete: a small part shown as "<10" beside its total would be their difference
        incomplete = int(counts.drop("matched", errors="ignore").sum())
        notes.append(
            f"{format_n(incomplete, plan.min_n)} educator-assessment(s) are missing a pre or a post score; gains use "
            f"the {format_n(counts.get('matched', 0), plan.min_n)} with both"
        )
    meta = {
        "min_n": plan.min_n,
        "ci": ci,
        "mastery_share": goal.mastery_share,
        "target": goal.target,
        "participants": sums.participants,
    }
    tables = {
        "coverage": coverage_table(*sums.coverage, level=2),
        "gains": table,
        "missing": missing,
        "program_effect": effect,
        "target": target,
    }
    return LevelResult(2, name, tables, tuple(notes), meta)


def run(district: District, upstream: Mapping[int, LevelResult]) -> LevelResult:
    return evaluate_learning(district)
