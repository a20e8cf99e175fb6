"""Small-cell suppression: no statistic about fewer than ``min_n`` people is shown.

Follows the common practice described in NCES SLDS Technical Brief 3 (2010), "Statistical Methods
for Protecting Personally Identifiable Information in Aggregate Reporting": a minimum cell size
(most often 10, set as ``min_n`` in plan.yml) below which a statistic is not reported.

Suppression is applied to each row on its own count (`suppress`). The district row is never
suppressed because of one small school (its own n is what counts). Because the district row is
shown, a single hidden school could be recovered by subtraction (district minus the other
schools), so `complementary_suppress` then hides the smallest other rows of the same breakdown until
at least two rows are hidden and together they cover at least ``min_n`` people (the brief's
"complementary suppression").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["ESTIMATE_COLUMNS", "complementary_suppress", "format_n", "suppress"]

#: The columns of a tidy result that carry an estimate and are blanked when a row is suppressed.
ESTIMATE_COLUMNS = ("estimate", "ci_low", "ci_high", "se", "p_value", "p_adjusted", "sd")


def suppress(
    table: pd.DataFrame, min_n: int, *, n: str = "n", columns: Sequence[str] = ESTIMATE_COLUMNS
) -> pd.DataFrame:
    """Blank the estimates of every row whose ``n`` is below ``min_n`` and flag it.

    Parameters
    ----------
    table : DataFrame
        A tidy result with an ``n`` column (people the estimate is about).
    min_n : int
        The plan's minimum cell size.

    Returns
    -------
    DataFrame
        A copy with a boolean ``suppressed`` column; in suppressed rows every estimate column
        present (estimate, ci_low, ci_high, se, p_value, p_adjusted, sd) is NaN. ``n`` is kept so
        totals still add up; presentation shows it with `format_n`.

    Examples
    --------
    >>> t = pd.DataFrame({"school_id": ["A", "B"], "estimate": [0.5, 0.9], "n": [40, 6]})
    >>> suppress(t, 10)[["school_id", "estimate", "suppressed"]]
      school_id  estimate  suppressed
    0         A       0.5       False
    1         B       NaN        True
    """
    out = table.copy()
    small = out[n].fillna(0).to_numpy() < min_n
    previously = out["suppressed"].to_numpy(dtype=bool) if "suppressed" in out else np.zeros(len(out), bool)
    flag = small | previously
    for column in columns:
        if column in out:
            out[column] = out[column].astype(float).mask(flag)
    out["suppressed"] = flag
    return out


def complementary_suppress(
    table: pd.DataFrame,
    min_n: int,
    *,
    within: Sequence[str],
    n: str = "n",
    columns: Sequence[str] = ESTIMATE_COLUMNS,
) -> pd.DataFrame:
    """Hide more rows where one hidden row could be recovered by subtraction from a shown total.

    Within each set of rows sharing ``within`` (say, the school rows of one construct and measure),
    if any row is suppressed, the smallest shown rows are suppressed too until at least two rows are
    hidden and the hidden rows together cover at least ``min_n`` people (or every row is hidden).

    Returns
    -------
    DataFrame
        A copy with ``suppressed`` updated and ``complementary`` (bool) marking the rows hidden here.

    Examples
    --------
    >>> t = pd.DataFrame({"school_id": list("ABC"), "estimate": [0.5, 0.6, 0.7], "n": [40, 12, 6]})
    >>> out = complementary_suppress(suppress(t, 10), 10, within=[])
    >>> out[["school_id", "suppressed", "complementary"]].values.tolist()
    [['A', False, False], ['B', True, True], ['C', True, False]]
    """
    out = table.copy()
    out["complementary"] = False
    if "suppressed" not in out or not out["suppressed"].any():
        return out
    keys = list(within)
    grouper = keys[0] if len(keys) == 1 else keys
    parts = out.groupby(grouper, dropna=False, sort=False).groups.values() if keys else [out.index]
    for index in parts:
        part = out.loc[index]
        hidden = part["suppressed"].astype(bool)
        if not hidden.any() or hidden.all():
            continue
        covered = float(part.loc[hidden, n].fillna(0).sum())
        count = int(hidden.sum())
        for row in part.loc[~hidden].sort_values(n, kind="stable").index:
            if count >= 2 and covered >= min_n:
                break
            out.loc[row, "suppressed"] = True
            out.loc[row, "complementary"] = True
            covered += float(out.loc[row, n] or 0)
            count += 1
    flag = out["complementary"].to_numpy(dtype=bool)
    for column in columns:
        if column in out:
            out[column] = out[column].astype(float).mask(flag)
    return out


def format_n(n: float, min_n: int) -> str:
    """A count for display: ``"<10"`` below ``min_n``, else the number with thousands separators.

    >>> format_n(7, 10), format_n(1234, 10)
    ('<10', '1,234')
    """
    if n is None or (isinstance(n, float) and np.isnan(n)):
        return ""
    return f"<{min_n}" if n < min_n else f"{int(n):,}"
