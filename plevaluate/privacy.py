"""Small-cell suppression: no statistic about fewer than ``min_n`` people is shown.

Follows the common practice described in NCES SLDS Technical Brief 3 (2010), "Statistical Methods
for Protecting Personally Identifiable Information in Aggregate Reporting": a minimum cell size
(most often 10, set as ``min_n`` in plan.yml) below which a statistic is not reported.

Statistics are computed once, on the full data (the level runners never suppress); suppression
happens in one place, `publish_levels`, when results leave the machine (report tables, charts,
sentences, the results bundle). Each level's rules (`Rule`, in its package's ``tables.py``: ``Level.privacy``)
declare, for every published table about people,
which column counts the people a row is about, which rows share a shown total, and which columns
say what the row is about (kept) - every other value of a hidden row is blanked, counts included.

Suppression is applied to each row on its own count (`suppress`). The district row is never
suppressed because of one small school (its own n is what counts). Because the district row is
shown, a single hidden school could be recovered by subtraction (district minus the other
schools), so `complementary_suppress` then hides the smallest other rows of the same breakdown until
at least two rows are hidden and together they cover at least ``min_n`` people (the brief's
"complementary suppression"). A school hidden in any of a level's school-total rows is hidden in
every school row of that level's tables (months, terms, the funnel, the target), so a chart never
draws what a table hides. Other counts of people below ``min_n`` are blanked; reports print them
as ``<10``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from ._tidy import terms
from .results import HIDDEN_STATUSES, Level, LevelResult, Note

__all__ = [
    "ESTIMATE_COLUMNS",
    "COVERAGE_RULE",
    "ITEM_KEYS",
    "SURVEY_KEYS",
    "survey_rules",
    "UNSUPPRESSED",
    "Rule",
    "complementary_suppress",
    "format_n",
    "SHARE_MEASURES",
    "code_shares",
    "coded_share",
    "publish_levels",
    "publish_meta",
    "suppress",
]

#: ``min_n`` for statistics on the full data: suppress nothing (the level runners use it; `publish_levels` suppresses).
UNSUPPRESSED = 0

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
    registered : sequence of Level
        The levels installed here (`plevaluate.registry.levels`), whose ``privacy`` rules are applied; handed
        in, so privacy never imports the registry back.

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
    group = (
        out.groupby(keys[0] if len(keys) == 1 else keys, dropna=False, sort=False).ngroup().to_numpy()
        if keys
        else np.zeros(len(out), dtype=np.int64)
    )
    hidden = out["suppressed"].astype(bool).to_numpy().copy()
    size = out[n].astype(float).to_numpy()
    count = np.bincount(group, weights=hidden, minlength=group.max() + 1).astype(int)
    rows = np.bincount(group, minlength=group.max() + 1)
    covered = np.bincount(group, weights=np.where(hidden, np.nan_to_num(size), 0.0), minlength=group.max() + 1)
    open_ = (count > 0) & (count < rows)
    # the shown rows of groups with a hidden row, smallest first (missing sizes last, ties in table order)
    shown = np.flatnonzero(~hidden & open_[group])
    order = shown[np.lexsort((shown, np.nan_to_num(size[shown], nan=np.inf), np.isnan(size[shown]), group[shown]))]
    added = np.zeros(len(out), dtype=bool)
    for row in order:
        g = group[row]
        if count[g] >= 2 and covered[g] >= min_n:
            continue
        added[row] = True
        covered[g] += size[row]  # a row of unknown size leaves the coverage unknown (NaN): keep hiding
        count[g] += 1
    out["suppressed"] = hidden | added
    out["complementary"] = added
    flag = out["complementary"].to_numpy(dtype=bool)
    for column in columns:
        if column in out:
            out[column] = out[column].astype(float).mask(flag)
    return out


def format_n(n: float, min_n: int) -> str:
    """A count for display: ``"<10"`` from 1 to ``min_n - 1``, else the number with thousands separators.

    >>> format_n(7, 10), format_n(1234, 10), format_n(0, 10)
    ('<10', '1,234', '0')
    """
    if n is None or (isinstance(n, float) and np.isnan(n)):
        return ""
    if n == 0:
        return "0"  # none at all is not a small group
    return f"<{min_n}" if n < min_n else f"{int(n):,}"


# ---- the one publishing pass ----


@dataclass(frozen=True)
class Rule:
    """How one published table about people is suppressed.

    Attributes
    ----------
    table : str
        The table's name in its level's `LevelResult`.
    people : tuple of str
        Columns counting the people a row is about; the row is hidden when the smallest is below ``min_n``.
    keep : tuple of str
        Columns that say what a row is about (kept in hidden rows); every other value of a hidden row is blanked.
    within : tuple of str, optional
        Rows sharing these columns add up to a shown total: complementary suppression within them
        (``()``: the whole table; None: no complementary suppression).
    follow : (table, keys), optional
        Also hide a row where the matching row (on ``keys``) of another table of the level is hidden.
    counts : tuple of str
        Other columns counting people: values from 1 to ``min_n - 1`` are blanked in shown rows.
    unit : str
        Who is counted, for notes ("respondents").
    school_totals : bool
        Its ``school_id`` rows (``breakdown == "school_id"`` where there is a breakdown) decide which
        schools the level hides everywhere.
    margins : tuple of tuples
        Further groupings whose rows add up to a shown total (a school's months add up to its term,
        its terms to its year). Complementary suppression runs over ``within`` and every margin,
        again and again, until every hidden row shares each of its totals with another hidden row.
    totals : str, optional
        The name of a function of `TOTALS` listing which rows are sums of which (across breakdowns);
        rows are then hidden until no hidden count can be solved for from those sums (`close_linear_leaks`).
    follow_rows_only : bool
        The followed table's hiding hides only the matching rows, once the level's hidden schools are
        decided and its linear leaks closed (a school's target month hidden in the rates), never the
        school across the level.
    """

    table: str
    people: tuple[str, ...]
    keep: tuple[str, ...]
    within: tuple[str, ...] | None = None
    follow: tuple[str, tuple[str, ...]] | None = None
    counts: tuple[str, ...] = ()
    unit: str = "people"
    school_totals: bool = False
    margins: tuple[tuple[str, ...], ...] = ()
    totals: str | None = None
    follow_rows_only: bool = False


SURVEY_KEYS = (
    "level",
    "breakdown",
    "school_id",
    "session_id",
    "format",
    "role",
    "construct",
    "measure",
    "threshold",
    "method",
    "target",
    "window",
)
ITEM_KEYS = ("level", "breakdown", "school_id", "item_id", "construct", "text", "measure", "method")
COVERAGE_RULE = Rule(
    "coverage", ("n_people",), ("level", "breakdown", "school_id"), within=("breakdown",), school_totals=True
)


def survey_rules(prefix: str, unit: str) -> tuple[Rule, ...]:
    constructs, items = ("constructs", "items") if prefix == "" else ("staff_survey", "staff_survey_items")
    return (
        Rule(
            constructs,
            ("n_people",),
            SURVEY_KEYS,
            within=("breakdown", "construct", "measure"),
            unit=unit,
            school_totals=True,
        ),
        Rule(
            items, ("n_people",), ITEM_KEYS, within=("breakdown", "item_id", "measure"), unit=unit, school_totals=True
        ),
    )


def _school_rows(table: pd.DataFrame) -> pd.Series:
    if "school_id" not in table:
        return pd.Series(False, index=table.index)
    rows = table["school_id"].notna()
    if "breakdown" in table:
        rows &= table["breakdown"] == "school_id"
    return rows


def _hide(table: pd.DataFrame, rows: pd.Series, keep: Sequence[str]) -> pd.DataFrame:
    """Blank every value of ``rows`` except the columns in ``keep`` and the flags."""
    out = table.copy()
    mask = rows.to_numpy(dtype=bool)
    if not mask.any():
        return out
    for column in out.columns:
        if column in keep or column in ("suppressed", "complementary", "status"):
            continue
        values = out[column]
        if pd.api.types.is_bool_dtype(values) or values.dtype == object:
            out[column] = values.astype(object).mask(mask)
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_extension_array_dtype(values):
            out[column] = values.astype(float).mask(mask)
        else:
            out[column] = values.mask(mask)
    return out


def _apply(table: pd.DataFrame, rule: Rule, min_n: int, followed: pd.DataFrame | None) -> pd.DataFrame:
    out = table.copy()
    people = [c for c in rule.people if c in out]
    own = out[people].astype(float).min(axis=1).fillna(0).to_numpy() < min_n if people else np.zeros(len(out), bool)
    out["suppressed"] = own
    out["complementary"] = False
    if rule.follow is not None and followed is not None and not rule.follow_rows_only:
        marked, by_other = _followed(out, rule, followed)
        out["complementary"] = marked & by_other & ~own
        out["suppressed"] = own | marked
    return _protect(out, rule, min_n)


def _whole_partitions(table: pd.DataFrame, full: pd.DataFrame, effect: pd.DataFrame) -> pd.DataFrame:
    """Level 5's subgroups: a flag whose rows do not add up to the effect's students (a value that could not be
    estimated has no row) is hidden whole, since the missing value's count is the effect's minus the rows'."""
    head = effect[(effect["model_term"] == "treatment") & (effect["measure"] == "points")]
    if head.empty or "subgroup" not in full:
        return table
    totals = head.iloc[0]
    rows = full[(full["model_term"] == "treatment") & (full["measure"] == "points")]
    short = [
        flag
        for flag, part in rows.groupby("subgroup", sort=False)
        if any(abs(part[c].astype(float).sum() - float(totals[c])) > 1e-9 for c in ("n_treatment", "n_comparison"))
    ]
    if not short:
        return table
    extra = table["subgroup"].isin(short).to_numpy() & ~table["suppressed"].to_numpy(dtype=bool)
    return table.assign(
        suppressed=table["suppressed"].to_numpy(dtype=bool) | extra,
        complementary=table["complementary"].to_numpy(dtype=bool) | extra,
    )


def _followed(table: pd.DataFrame, rule: Rule, followed: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of ``table`` match a hidden row of the table ``rule`` follows, and which of those match a row
    hidden to protect another. A key ``window=month`` matches this table's window with the other's month."""
    pairs = [tuple(k.split("=", 1)) if "=" in k else (k, k) for k in rule.follow[1]]
    pairs = [(mine, theirs) for mine, theirs in pairs if mine in table and theirs in followed]
    followed = followed.rename(columns={theirs: mine for mine, theirs in pairs})
    keys = [mine for mine, _ in pairs]
    hidden = followed.loc[followed["suppressed"].astype(bool), keys].drop_duplicates().assign(_hide=True)
    marked = table[keys].merge(hidden, on=keys, how="left")["_hide"].fillna(False).to_numpy(dtype=bool)
    protect = followed.loc[followed["complementary"].astype(bool), keys].drop_duplicates().assign(_p=True)
    by_other = table[keys].merge(protect, on=keys, how="left")["_p"].fillna(False).to_numpy(dtype=bool)
    return marked, by_other


def _protect(table: pd.DataFrame, rule: Rule, min_n: int) -> pd.DataFrame:
    """Complementary suppression over ``within`` and every margin of ``rule`` until nothing changes."""
    people = [c for c in rule.people if c in table]
    if rule.within is None or not people:
        return table
    out = table.assign(_people=table[people].astype(float).min(axis=1))
    groupings = [list(rule.within), *(list(m) for m in rule.margins)]
    while True:
        hidden = int(out["suppressed"].sum())
        for grouping in groupings:
            before = out["complementary"].to_numpy(dtype=bool)
            out = complementary_suppress(out, min_n, within=[c for c in grouping if c in out], n="_people", columns=())
            out["complementary"] = out["complementary"].to_numpy(dtype=bool) | before
        if int(out["suppressed"].sum()) == hidden:
            return out.drop(columns="_people")


def _finish(table: pd.DataFrame, rule: Rule, min_n: int) -> pd.DataFrame:
    """Blank hidden rows, set their status, band small counts of people in shown rows."""
    hidden = table["suppressed"].astype(bool)
    out = _hide(table, hidden, rule.keep)
    if "status" in out:
        out["status"] = np.where(
            out["complementary"].astype(bool),
            HIDDEN_STATUSES[1],
            np.where(hidden, HIDDEN_STATUSES[0], out["status"].astype(object)),
        )
    for column in rule.counts:  # shown rows' people columns are at least min_n already
        if column in out:
            values = out[column].astype(float)
            out[column] = values.mask((values > 0) & (values < min_n))
    if rule.people:
        out = code_shares(out, rule.people[0], min_n, within=rule.within)
    if rule.table == "baseline":
        out = _code_baseline(out, min_n)
    return out


#: Measures that are shares of the people a row counts (its ``n``): share x n is a count of people.
SHARE_MEASURES = frozenset({"share_at_least", "top2_share", "mastery_post", "mastery_pre", "response_rate"})


def _small(k: np.ndarray, n: np.ndarray, min_n: int) -> np.ndarray:
    """Whether a count ``k`` of ``n`` people, or its complement, is below ``min_n`` (none counts: a share of
    0% or 100% says something about every one of the ``n``)."""
    return (n > 0) & ((k < min_n) | (n - k < min_n))


def code_shares(table: pd.DataFrame, n: str, min_n: int, *, within: Sequence[str] | None = None) -> pd.DataFrame:
    """Top- and bottom-code a share whose numerator or complement is fewer than ``min_n`` people.

    A share of ``n`` people times ``n`` is a count of people: 5% "at mastery" of 20 teachers is one
    teacher. Where that count, or the count of everyone else, is below ``min_n`` (0 included: 0% or
    100% says something about every one of them), the share
    is not shown; the row says only on which side of a bound it lies (``coded``: ``below`` means fewer
    than ``min_n`` of the ``n``, so the share is under ``bound`` = min_n / n; ``above`` means all but
    fewer than ``min_n``, over ``bound`` = 1 - min_n / n), and its interval (from which the count
    could be worked back too) is blanked. This is the top and bottom coding of percentages in NCES
    SLDS Technical Brief 3 (2010), "Statistical Methods for Protecting Personally Identifiable
    Information in Aggregate Reporting", with the bounds set by ``min_n`` rather than a fixed 5%.
    Only shares whose count is whole (share x n within 1e-6 of a whole number) count people; a share
    of answers (people answering several sessions) is not a count of people, and is left as it is.

    Rows sharing ``within`` (a breakdown's rows, which add up to the district's count) never have a
    single coded row: its count would be the district's count minus the others'. The share of the
    smallest other row is then hidden too (``coded``: ``protecting``), as complementary suppression does.

    >>> t = pd.DataFrame({"measure": ["mastery_post"] * 3, "estimate": [0.05, 0.5, 0.95],
    ...                   "ci_low": [0.0, 0.3, 0.8], "ci_high": [0.2, 0.7, 1.0], "n": [20.0, 20.0, 20.0]})
    >>> code_shares(t, "n", 10)[["estimate", "coded", "bound"]].values.tolist()
    [[nan, 'below', 0.5], [0.5, <NA>, nan], [nan, 'above', 0.5]]
    """
    if "measure" not in table or "estimate" not in table or n not in table:
        return table
    share = table["measure"].isin(SHARE_MEASURES).to_numpy()
    if not share.any():
        return table
    estimate = table["estimate"].astype(float).to_numpy()
    size = table[n].astype(float).to_numpy()
    count = estimate * size
    whole = np.isfinite(count) & (np.abs(count - np.round(count)) < 1e-6 * np.maximum(size, 1))
    k = np.round(np.nan_to_num(count))
    small = share & whole & _small(k, size, min_n)
    if "suppressed" in table:
        small &= ~table["suppressed"].astype(bool).to_numpy()
    out = table.copy()
    below = k < min_n
    coded = np.where(small, np.where(below, "below", "above"), None).astype(object)
    if within is not None and small.any():
        shown = share & ~small & np.isfinite(estimate)
        if "suppressed" in table:
            shown &= ~table["suppressed"].astype(bool).to_numpy()
        keys = [c for c in (*within, "measure") if c in table]
        groups = table.groupby(keys, dropna=False, sort=False).ngroup().to_numpy() if keys else np.zeros(len(table))
        for g in np.unique(groups[small]):
            members = groups == g
            if int((small & members).sum()) == 1 and (shown & members).any():
                candidates = np.flatnonzero(shown & members)
                coded[candidates[np.argmin(size[candidates])]] = "protecting"
    hide = pd.notna(pd.Series(coded)).to_numpy()
    out["coded"] = pd.array(coded, dtype="string")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["bound"] = np.where(small, np.where(below, min_n / size, 1 - min_n / size), np.nan)
    for column in ("estimate", "ci_low", "ci_high", "se"):
        if column in out:
            out[column] = out[column].astype(float).mask(hide)
    return out


def coded_share(coded: str, bound: float) -> str:
    """A top- or bottom-coded share (`code_shares`) in words: ``under 50%``.

    >>> coded_share("below", 0.5), coded_share("above", 0.55), coded_share("protecting", float("nan"))
    ('under 50%', 'over 55%', 'not shown (protects a smaller group)')
    """
    if coded == "protecting":
        return "not shown (protects a smaller group)"
    return f"{'under' if coded == 'below' else 'over'} {bound:.0%}"


def _code_baseline(table: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Baseline equivalence of a yes/no covariate (no SD): the group's mean is a share of its students, so it
    is blanked (with the standardized difference, computed from it) where the count of students with, or
    without, the trait is fewer than ``min_n``; ``coded_treatment`` / ``coded_comparison`` say which side."""
    binary = table["sd_pooled"].isna().to_numpy() if "sd_pooled" in table else np.zeros(len(table), bool)
    out = table.copy()
    hidden_g = np.zeros(len(out), bool)
    for group in ("treatment", "comparison"):
        mean, size = out[f"mean_{group}"].astype(float).to_numpy(), out[f"n_{group}"].astype(float).to_numpy()
        k = np.round(np.nan_to_num(mean * size))
        small = binary & np.isfinite(mean) & _small(k, size, min_n)
        out[f"coded_{group}"] = pd.array(np.where(small, np.where(k < min_n, "below", "above"), None), dtype="string")
        out[f"mean_{group}"] = out[f"mean_{group}"].astype(float).mask(small)
        hidden_g |= small
    if "g" in out:
        out["g"] = out["g"].astype(float).mask(hidden_g)
    return out


def publish_levels(
    levels: Mapping[int, LevelResult], min_n: int, registered: Sequence[Level]
) -> tuple[dict[int, LevelResult], dict[int, dict[str, str]]]:
    """Apply small-cell and complementary suppression to every published table, once.

    Parameters
    ----------
    levels : mapping of int to LevelResult
        Results computed on the full data (`plevaluate.evaluate`).
    min_n : int
        The plan's minimum cell size.
    registered : sequence of Level
        The levels installed here (`plevaluate.registry.levels`), whose ``privacy`` rules are applied; handed
        in, so privacy never imports the registry back.

    Returns
    -------
    (levels, hidden)
        The levels with every table that has a rule (each level's ``privacy``, declared in its
        package) suppressed (flags ``suppressed`` and
        ``complementary``; hidden rows keep only the columns saying what they are about; counts of
        people from 1 to ``min_n - 1`` blanked) and notes saying what was hidden and why, scoped
        to the district and to each hidden school; and, per level, each hidden school_id ->
        ``"suppressed"`` (too few people) or ``"complementary"`` (hidden to protect a smaller group).
    """
    declared = {level.number: level.privacy for level in registered}
    published: dict[int, LevelResult] = {}
    hidden_schools: dict[int, dict[str, str]] = {}
    for number, result in levels.items():
        if number not in declared:  # saved by a level whose plugin is not installed here: its rules are unknown
            note = Note(f"level {number} is not installed here: its tables are not published", level=number)
            published[number] = LevelResult(
                result.level, result.name, {}, (*result.notes, note), result.meta, result.evidence
            )
            hidden_schools[number] = {}
            continue
        rules = [r for r in declared[number] if r.table in result.tables]
        tables = dict(result.tables)
        for rule in rules:
            followed = tables.get(rule.follow[0]) if rule.follow else None
            tables[rule.table] = _apply(tables[rule.table], rule, min_n, followed)
        # a school hidden in one school-total row is hidden in every school row of the level
        kinds: dict[str, str] = {}
        for rule in rules:
            if not rule.school_totals:
                continue
            table = tables[rule.table]
            rows = table[_school_rows(table) & table["suppressed"].astype(bool)]
            for school, protecting in zip(rows["school_id"], rows["complementary"].astype(bool)):
                if kinds.get(school) != "suppressed":
                    kinds[school] = "complementary" if protecting else "suppressed"
        for rule in rules:
            table = tables[rule.table]
            if "school_id" in table and kinds:
                extra = table["school_id"].isin(list(kinds)) & ~table["suppressed"].astype(bool)
                table = table.assign(
                    suppressed=table["suppressed"].astype(bool) | extra,
                    complementary=table["complementary"].astype(bool) | extra,
                )
                table = _protect(table, rule, min_n)  # the margins hold again after the schools were hidden
            if rule.totals:
                table = close_linear_leaks(table, TOTALS[rule.totals](table), people=rule.people[0])
            if rule.table == "roles" and "principals" in tables and "role" in table:
                # every principal's participation is published school by school (principals are the lever,
                # and a principal's attendance is a program fact, not a private one): their mean hides nothing
                principal = table["role"].eq("principal").fillna(False).to_numpy(dtype=bool)
                table = table.assign(suppressed=table["suppressed"].to_numpy(dtype=bool) & ~principal)
                # how many principals is the number of schools listing one: not printed below min_n all the same
                table["n"] = table["n"].astype(float).mask(principal & (table["n"].astype(float) < min_n))
            if rule.table == "subgroups" and "effect" in result.tables:
                table = _whole_partitions(table, result.tables["subgroups"], result.tables["effect"])
            if rule.follow is not None and rule.follow[0] in tables:
                # what the followed table hid in the end (schools hidden across the level, linear leaks closed)
                marked, _ = _followed(table, rule, tables[rule.follow[0]])
                extra = marked & ~table["suppressed"].to_numpy(dtype=bool)
                if extra.any():
                    table = table.assign(
                        suppressed=table["suppressed"].to_numpy(dtype=bool) | extra,
                        complementary=table["complementary"].to_numpy(dtype=bool) | extra,
                    )
            tables[rule.table] = _finish(table, rule, min_n)
        if "funnel" in tables and "suppressed" in tables["funnel"]:
            tables["funnel"] = _shown_dispersion(tables["funnel"])
        if number == 0 and "lines" in tables and kinds:
            tables["lines"] = _pool_lines(tables["lines"], set(kinds))
        notes = [n for n in result.notes]
        notes += _notes(number, rules, tables, kinds, min_n)
        hidden_schools[number] = kinds
        meta = publish_meta(result.meta, min_n)
        published[number] = LevelResult(result.level, result.name, tables, tuple(notes), meta, result.evidence)
    return published, hidden_schools


#: A level's ``meta`` entries that count people, and the entries from which such a count could be worked
#: back (60 answers to 10 items are 6 respondents): all are blanked when the count is below ``min_n``.
META_PEOPLE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "respondents": ("answers",),
        "participants": (),
        "educators": (),
        "students": (),
        "principals": (),
        "teachers": (),
    }
)


def publish_meta(meta: Mapping, min_n: int) -> dict:
    """A level's ``meta`` as published: a count of people below ``min_n`` (and what reveals it) is None.

    >>> publish_meta({"answers": 60, "respondents": 6, "ci": 0.95}, 10)
    {'answers': None, 'respondents': None, 'ci': 0.95}
    """
    out = dict(meta)
    for key, derived in META_PEOPLE.items():
        value = out.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < min_n:
            out[key] = None
            for other in derived:
                if other in out:
                    out[other] = None
    return out


def rate_totals(rates: pd.DataFrame) -> list[tuple[int, list[int]]]:
    """Which rows of level 4's ``rates`` are sums of which (counts of observations and of practice seen):
    a group's schools add up to the group (by month, term and year), a school's months to its term,
    its terms to its year. Returns (total row, part rows) by index."""

    frame = rates.copy()
    months = frame["month"].dropna().unique()
    term_of = dict(zip(months, terms(pd.Series(pd.to_datetime([f"{m}-01" for m in months])))["term"]))
    frame["cell_term"] = frame["term"].where(frame["term"].notna(), frame["month"].map(term_of))
    parts: dict[tuple, list[int]] = {}  # (whose, which parts, key) -> the part rows, in table order
    order = {"group+month": 0, "group+term": 1, "group": 2, "school_id+term": 3, "school_id": 4}
    totals = []  # (kind's order, total row, the key of its parts)
    for i, row in zip(frame.index, frame.itertuples(index=False)):
        b = row.breakdown
        if b == "school_id+month":
            parts.setdefault(("group", "month", row.group, row.month), []).append(i)
            parts.setdefault(("school", "month", row.school_id, row.cell_term), []).append(i)
        elif b == "school_id+term":
            parts.setdefault(("group", "term", row.group, row.term), []).append(i)
            parts.setdefault(("school", "term", row.school_id), []).append(i)
            totals.append((order[b], i, ("school", "month", row.school_id, row.term)))
        elif b == "school_id":
            parts.setdefault(("group", "school", row.group), []).append(i)
            totals.append((order[b], i, ("school", "term", row.school_id)))
        elif b == "group+month":
            totals.append((order[b], i, ("group", "month", row.group, row.month)))
        elif b == "group+term":
            totals.append((order[b], i, ("group", "term", row.group, row.term)))
        elif b == "group":
            totals.append((order[b], i, ("group", "school", row.group)))
    totals.sort(key=lambda t: t[0])  # stable: table order within a kind
    return [(total, parts[key]) for _, total, key in totals if parts.get(key)]


#: Functions listing which rows of a table are sums of which (`Rule.totals`).
TOTALS = {"rates": rate_totals}


def close_linear_leaks(table: pd.DataFrame, equations: list[tuple[int, list[int]]], *, people: str) -> pd.DataFrame:
    """Hide more rows until no hidden row's counts can be solved for from the shown rows and the sums.

    Each equation says ``total = sum(parts)``. With the shown rows known, a hidden row is determined
    exactly when its unit vector lies in the row space of the system over the hidden rows, that is,
    when every vector of the system's null space is zero there. The system splits into independent
    blocks (hidden rows linked by the sums they share), each solved on its own. While a hidden row is
    determined, one more shown row of the sums that determine it is hidden (complementary): the one
    that opens fewest new leaks (sums in which it would be the only hidden row), then the smallest
    (fewest ``people``). Choosing so closes a cycle of hidden cells (two months of two schools, say)
    instead of starting a new leak elsewhere, which at hundreds of schools cascaded through the
    whole table.
    """
    out = table.copy()
    position = {label: p for p, label in enumerate(out.index)}
    members = [
        (np.array([position[t], *(position[i] for i in rows)]), np.array([-1.0, *([1.0] * len(rows))]))
        for t, rows in equations
    ]
    flat = np.concatenate([rows for rows, _ in members]) if members else np.array([], dtype=int)
    starts = np.cumsum([0] + [len(rows) for rows, _ in members])[:-1]
    owner = np.repeat(np.arange(len(members)), [len(rows) for rows, _ in members])
    hidden = out["suppressed"].astype(bool).to_numpy().copy()
    size = pd.to_numeric(out[people], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    column = np.full(len(hidden), -1)
    while True:
        # each shown row's cost if hidden, the same all round (hidden changes only between rounds): how many sums
        # it would be the only hidden row of, then its size, then its place; as a rank, the least first (a row's
        # cost was asked again for every hidden row whose sums it is in: 181 s of 190 at 20,000 schools)
        any_hidden = np.logical_or.reduceat(hidden[flat], starts) if members else np.array([], dtype=bool)
        opened = np.bincount(flat[~any_hidden[owner]], minlength=len(hidden))
        rank = np.empty(len(hidden), dtype=int)
        rank[np.lexsort((np.arange(len(hidden)), size, opened))] = np.arange(len(hidden))
        picked = np.zeros(len(hidden), dtype=bool)
        for block_sums, block_rows in _blocks(members, hidden):
            column[block_rows] = np.arange(len(block_rows))
            matrix = np.zeros((len(block_sums), len(block_rows)))
            for r, k in enumerate(block_sums):
                rows, coefs = members[k]
                mine = hidden[rows]
                np.add.at(matrix[r], column[rows[mine]], coefs[mine])
            u, singular, vt = np.linalg.svd(matrix)
            rank_of = int((singular > 1e-9).sum())
            null = vt[rank_of:]
            for j in range(len(block_rows)):
                if null.shape[0] and np.abs(null[:, j]).max() >= 1e-9:
                    continue  # not determined
                # the sums that determine it: the least-norm weights w of matrix.T w = unit(j), from the same SVD,
                # cut at 1e-9 as the null space is (lstsq's own cut differed only on blocks conditioned near 1e9,
                # which rate tables do not reach: at most 44 at 150 schools)
                weights = u[:, :rank_of] @ (vt[:rank_of, j] / singular[:rank_of])
                used = [block_sums[r] for r in np.flatnonzero(np.abs(weights) > 1e-9)]
                rows = np.concatenate([members[k][0] for k in used])
                free = rows[~hidden[rows] & ~picked[rows]]
                if len(free):  # else every row of those sums is hidden already
                    picked[free[np.argmin(rank[free])]] = True
            column[block_rows] = -1
        if not picked.any():
            break
        hidden |= picked
    added = hidden & ~out["suppressed"].astype(bool).to_numpy()
    out["suppressed"] = hidden
    out["complementary"] = out["complementary"].astype(bool).to_numpy() | added
    return out


def _blocks(members: list[tuple[np.ndarray, np.ndarray]], hidden: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """The sums with a hidden row, grouped into blocks that share no hidden row: (sums, hidden rows) per block."""
    parent: dict[int, int] = {}

    def root(p: int) -> int:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    active = []
    for k, (rows, _) in enumerate(members):
        mine = [int(p) for p in rows[hidden[rows]]]
        if not mine:
            continue
        active.append((k, mine[0]))
        for p in mine:
            parent.setdefault(p, p)
        for p in mine[1:]:
            parent[root(p)] = root(mine[0])
    blocks: dict[int, tuple[list[int], list[int]]] = {}
    for k, first in active:
        blocks.setdefault(root(first), ([], []))[0].append(k)
    for p in parent:
        blocks[root(p)][1].append(p)
    return [(sums, sorted(rows)) for sums, rows in blocks.values()]


def _shown_dispersion(funnel: pd.DataFrame) -> pd.DataFrame:
    """The funnel's overdispersion over the schools shown only: computed over every school, the mean of z^2
    with the shown z values would give the hidden schools' z^2 (and with the district rate, their counts)."""
    shown = funnel.loc[~funnel["suppressed"].astype(bool), "z"].astype(float)
    return funnel.assign(phi=float((shown**2).mean()) if len(shown) else np.nan)


def _pool_lines(lines: pd.DataFrame, hidden: set[str]) -> pd.DataFrame:
    """Cost lines of hidden schools pooled into one 'schools not shown' line per item: a school's share of a
    district line is proportional to its participating educators, so its own lines would reveal their number."""
    mine = lines["school_id"].isin(hidden)
    if not mine.any():
        return lines
    keys = [c for c in ("item", "category", "funding_source", "school_year", "source") if c in lines]
    pooled = lines[mine].groupby(keys, dropna=False, sort=False)[["amount", "hours", "charged"]].sum(min_count=1)
    pooled = pooled.reset_index().assign(
        school_id=pd.NA, allocated=True, rule=f"{len(hidden)} schools not shown, pooled to protect small groups"
    )
    return pd.concat([lines[~mine], pooled[lines.columns]], ignore_index=True)


#: What a hidden school loses at each level, in words for its notes.
_HIDDEN_WHAT = {
    0: "this school's cost, number of participating educators and cost per participant",
    3: "this school's staff survey results",
}


def _notes(level: int, rules, tables, kinds: dict[str, str], min_n: int) -> list[Note]:
    """What publishing hid, in words: a note in each hidden school's report (and, named, in the district
    report), and district notes for hidden groups of other breakdowns (roles, formats, months)."""
    unit = next((r.unit for r in rules if r.school_totals and r.table != "coverage"), "people")
    notes = []
    small = sorted(s for s, k in kinds.items() if k == "suppressed")
    protecting = sorted(s for s, k in kinds.items() if k == "complementary")
    what = _HIDDEN_WHAT.get(level, "this school's results at this level")
    for school in small:
        notes.append(
            Note(f"{what} are not shown: fewer than {min_n} {unit}", level=level, scope=school, kind="suppressed")
        )
    for school in protecting:
        notes.append(
            Note(
                f"{what} are not shown although the school has at least {min_n} {unit}: showing them "
                "would let a smaller school's figures be worked out from the district total",
                level=level,
                scope=school,
                kind="protecting",
            )
        )
    for rule in rules:
        table = tables[rule.table]
        if "breakdown" not in table:
            continue
        other = table[~table["breakdown"].isin(["district", "school_id"]) & table["suppressed"].astype(bool)]
        if rule.table in ("target", "coverage", "distribution") or other.empty:
            continue
        for breakdown, part in other.groupby("breakdown", sort=False):
            if "school_id" in breakdown:
                text = (
                    f"{rule.table.replace('_', ' ')}: {len(part)} {breakdown.replace('school_id+', 'school-')} "
                    f"value(s) not shown (fewer than {min_n} {rule.unit}, or protecting such a value)"
                )
            else:
                columns = [c for c in breakdown.split("+") if c in part]
                values = sorted({" ".join(str(v) for v in row) for row in part[columns].itertuples(index=False)})
                text = (
                    f"{rule.table.replace('_', ' ')} by {breakdown.replace('_', ' ')}: {', '.join(values)} not "
                    f"shown (fewer than {min_n} {rule.unit}, or protecting such a group)"
                )
            notes.append(Note(text, level=level, kind="suppressed"))
    return notes
