"""The What Works Clearinghouse's rules that level 5 applies: the attrition boundaries and the baseline-equivalence
thresholds (`plevaluate.levels.outcomes.compute` uses them on the district's data, `.evidence` in the evidence
statement)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "ATTRITION_BOUNDARIES",
    "ATTRITION_SOURCE",
    "OTHER_OPTIMISTIC",
    "attrition_source",
    "attrition_verdict",
    "baseline_verdict",
    "other_transcription",
    "single_school_condition",
]

#: WWC attrition boundaries: What Works Clearinghouse Standards Handbook v4.1 (2020), Table II.1, "Highest
#: differential attrition rate for a sample to maintain low attrition, by overall attrition rate, under
#: 'optimistic' and 'cautious' assumptions". For each whole percent of overall attrition, 0 to 65, the highest
#: differential attrition (percentage points) still counted as low attrition; under the cautious assumption an
#: overall rate of 58% or more is high attrition at any differential (NaN). `ATTRITION_SOURCE` says, in the words
#: the technical appendix prints, which transcription this is and how the other public one differs; the
#: disagreement is also kept on record, cell by cell, in tests/test_outcomes.py. Searched for again in December
#: 2026: neither the handbook's own table (v4.0, v4.1 or v5.0) nor a statement that v5.0 keeps these values could
#: be reached from this project's machines, so nothing here is checked against the primary text. Weak evidence
#: favours this transcription: a third, partial one (three rows, from a summary of the v4.1 PDF) agrees at 0%,
#: 13% and 65%, and continuing the other's one-row shift cannot end at 0.3 at 65% (it would give 0.5).
ATTRITION_SOURCE = (
    "The WWC attrition boundaries are those of the What Works Clearinghouse Standards Handbook v4.1 (2020), Table "
    "II.1, as transcribed in the R package baselinr 0.6.0: the handbook's own table could not be consulted, so the "
    "transcription is unverified. The other public transcription (RWWC, citing the v4.0 handbook) has the same "
    "cautious boundary; its optimistic boundary is 0.1 to 0.3 points more lenient at 13% and from 15% to 57% overall "
    "attrition."
)
ATTRITION_BOUNDARIES = pd.DataFrame({
    "overall": np.arange(66),
    "cautious": [
        5.7, 5.8, 5.9, 5.9, 6.0, 6.1, 6.2, 6.3, 6.3, 6.3, 6.3, 6.2, 6.2, 6.1, 6.0, 5.9, 5.9, 5.8, 5.7, 5.5,
        5.4, 5.3, 5.2, 5.1, 4.9, 4.8, 4.7, 4.5, 4.4, 4.3, 4.1, 4.0, 3.8, 3.6, 3.5, 3.3, 3.2, 3.1, 2.9, 2.8,
        2.6, 2.5, 2.3, 2.1, 2.0, 1.8, 1.6, 1.5, 1.3, 1.2, 1.0, 0.9, 0.7, 0.6, 0.4, 0.3, 0.2, 0.0,
        *[np.nan] * 8,
    ],
    "optimistic": [
        10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.7, 10.8, 10.9, 10.9, 10.9, 10.9, 10.9, 10.8, 10.8, 10.7, 10.6,
        10.5, 10.3, 10.2, 10.0, 9.9, 9.7, 9.5, 9.4, 9.2, 9.0, 8.8, 8.6, 8.4, 8.2, 8.0, 7.8, 7.6, 7.4, 7.2,
        7.0, 6.7, 6.5, 6.3, 6.0, 5.8, 5.6, 5.3, 5.1, 4.9, 4.6, 4.4, 4.2, 3.9, 3.7, 3.5, 3.2, 3.0, 2.8, 2.6,
        2.3, 2.1, 1.9, 1.6, 1.4, 1.1, 0.9, 0.7, 0.5, 0.3,
    ],
})  # fmt: skip


#: The other public transcription's optimistic boundary: RWWC-v.4-Group-Designs (github.com/HaiwenChu, R package
#: "WWCr" 0.0.0.9006, file R/Group Designs at 75f19d5), citing Standards Handbook v4.0, Table II.1 (p. 12), overall
#: attrition 0 to 57% only. Its cautious boundary is `ATTRITION_BOUNDARIES`'; its optimistic one repeats 10.9 at 13%
#: and then runs one row later (tests/test_outcomes.py checks both claims cell by cell). Kept so that a report can say
#: whether its verdict depends on which transcription is right.
OTHER_OPTIMISTIC = pd.Series([
    10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.7, 10.8, 10.9, 10.9, 10.9, 10.9, 10.9, 10.9, 10.8, 10.8, 10.7, 10.6, 10.5,
    10.3, 10.2, 10.0, 9.9, 9.7, 9.5, 9.4, 9.2, 9.0, 8.8, 8.6, 8.4, 8.2, 8.0, 7.8, 7.6, 7.4, 7.2, 7.0, 6.7, 6.5, 6.3,
    6.0, 5.8, 5.6, 5.3, 5.1, 4.9, 4.6, 4.4, 4.2, 3.9, 3.7, 3.5, 3.2, 3.0, 2.8, 2.6, 2.3,
])  # fmt: skip


def other_transcription(overall: float, differential: float) -> str | None:
    """The optimistic verdict under the other public transcription (`OTHER_OPTIMISTIC`), when it differs from
    `attrition_verdict`'s; None when both say the same, or the other has no row for this overall attrition (58% or
    more).

    >>> other_transcription(0.20, 0.101), other_transcription(0.20, 0.09)
    ('low attrition', None)
    """
    row = int(round(round(overall * 100, 9)))  # as `attrition_verdict`
    if not 0 <= row < len(OTHER_OPTIMISTIC):
        return None
    other = "low attrition" if differential * 100 <= OTHER_OPTIMISTIC[row] + 1e-8 else "high attrition"
    return other if other != attrition_verdict(overall, differential)["optimistic"] else None


def attrition_source(overall: float, differential: float) -> str:
    """`ATTRITION_SOURCE`, and whether this attrition's verdict depends on which transcription is right."""
    if not (np.isfinite(overall) and np.isfinite(differential)):
        return ATTRITION_SOURCE
    if round(overall * 100, 9) >= len(OTHER_OPTIMISTIC) - 0.5:
        return ATTRITION_SOURCE + " The other lists no boundary at 58% overall attrition or more."
    other = other_transcription(overall, abs(differential))
    if other is None:
        return ATTRITION_SOURCE + " This evaluation's verdicts are the same under both."
    return (
        f"{ATTRITION_SOURCE} Under the other, this attrition would be {other} under the optimistic boundary, not "
        f"{attrition_verdict(overall, abs(differential))['optimistic']}: that verdict rests on which transcription "
        "matches the handbook."
    )


def baseline_verdict(g: float) -> str:
    """The WWC baseline-equivalence verdict for a standardized baseline difference ``g`` (Standards Handbook
    v4.1/v5.0): at most 0.05 SD satisfies equivalence; more than 0.05 and at most 0.25 requires statistical
    adjustment for the characteristic; more than 0.25 does not satisfy it. ``|g|`` is compared as reported,
    rounded to two decimals, so that 0.05 computed as 0.05000000000000001 is still 0.05.

    >>> baseline_verdict(0.05000000000000001), baseline_verdict(-0.25), baseline_verdict(0.26)
    ('satisfies baseline equivalence', 'requires statistical adjustment for this covariate', 'does not satisfy baseline equivalence')
    """
    size = round(abs(float(g)), 2)
    if size <= 0.05:
        return "satisfies baseline equivalence"
    if size <= 0.25:
        return "requires statistical adjustment for this covariate"
    return "does not satisfy baseline equivalence"


def attrition_verdict(overall: float, differential: float) -> dict[str, str]:
    """Low or high attrition under the WWC cautious and optimistic boundaries (`ATTRITION_BOUNDARIES`).

    ``overall`` and ``differential`` are proportions. The row is overall attrition rounded to the
    nearest whole percent (halves to even, as the transcription's R ``round``); differential attrition,
    in percentage points and unrounded, is low when at or below the row's boundary (a tolerance of
    1e-8 points keeps 0.014 * 100 = 1.4000000000000001 on the boundary). Beyond 65% overall, or
    where the cautious boundary has no low cell (58% and more), attrition is high.

    >>> attrition_verdict(0.20, 0.05)
    {'cautious': 'low attrition', 'optimistic': 'low attrition'}
    >>> attrition_verdict(0.30, 0.06)
    {'cautious': 'high attrition', 'optimistic': 'low attrition'}
    """
    row = int(round(round(overall * 100, 9)))  # 0.575 * 100 is 57.49999999999999 in floating point: 58, halves to even
    diff = differential * 100
    out = {}
    for boundary in ("cautious", "optimistic"):
        limit = ATTRITION_BOUNDARIES.loc[row, boundary] if 0 <= row < len(ATTRITION_BOUNDARIES) else np.nan
        out[boundary] = "low attrition" if pd.notna(limit) and diff <= limit + 1e-8 else "high attrition"
    return out


def single_school_condition(schools: float) -> bool:
    """Whether an effect estimated from ``schools`` schools in all, program and comparison schools both among them,
    rests on a single school in one condition: at most three schools in all. The What Works Clearinghouse calls that
    a single-unit (n-of-one) confound: the condition's effect cannot be told apart from that one school's (Standards
    Handbook v4.1, 2020, confounding factors; the evidence statement's confound check, `.evidence`). Four or more
    may still be split 3 and 1: this finds only the estimates certain to be confounded, from their count alone.

    >>> single_school_condition(3), single_school_condition(4), single_school_condition(float("nan"))
    (True, False, False)
    """
    return bool(pd.notna(schools) and schools <= 3)
