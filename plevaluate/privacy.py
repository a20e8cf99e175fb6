"""Small-cell suppression: no statistic about fewer than ``min_n`` people is shown.

Follows the common practice described in NCES SLDS Technical Brief 3 (2010), "Statistical Methods
for Protecting Personally Identifiable Information in Aggregate Reporting": a minimum cell size
(most often 10, set as ``min_n`` in plan.yml) below which a statistic is not reported.

Statistics are computed once, on the full data (the level runners never suppress); suppression
happens in one place, `publish_levels`, when results leave the machine (report tables, charts,
sentences, the results bundle). Its rules (`RULES`) declare, for every published table about people,
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

import numpy as np
import pandas as pd

from .results import HIDDEN_STATUSES, LevelResult, Note

__all__ = [
    "ESTIMATE_COLUMNS",
    "RULES",
    "UNSUPPRESSED",
    "Rule",
    "complementary_suppress",
    "format_n",
    "publish_levels",
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
    """

    table: str
    people: tuple[str, ...]
    keep: tuple[str, ...]
    within: tuple[str, ...] | None = None
    follow: tuple[str, tuple[str, ...]] | None = None
    counts: tuple[str, ...] = ()
    unit: str = "people"
    school_totals: bool = False


_SURVEY_KEYS = ("level", "breakdown", "school_id", "session_id", "format", "role", "construct", "measure",
                "threshold", "method", "target", "window")  # fmt: skip
_ITEM_KEYS = ("level", "breakdown", "school_id", "item_id", "construct", "text", "measure", "method")
_COVERAGE = Rule("coverage", ("n_people",), ("level", "breakdown", "school_id"), within=("breakdown",),
                 school_totals=True)  # fmt: skip


def _survey_rules(prefix: str, unit: str) -> tuple[Rule, ...]:
    constructs, items = ("constructs", "items") if prefix == "" else ("staff_survey", "staff_survey_items")
    return (
        Rule(
            constructs,
            ("n_people",),
            _SURVEY_KEYS,
            within=("breakdown", "construct", "measure"),
            unit=unit,
            school_totals=True,
        ),  # fmt: skip
        Rule(
            items, ("n_people",), _ITEM_KEYS, within=("breakdown", "item_id", "measure"), unit=unit, school_totals=True
        ),  # fmt: skip
    )


#: Every published table about people, per level (0 is cost). Tables not listed are about schools,
#: sessions or models (ratings, structures, trends), or district totals far above any ``min_n``.
RULES: Mapping[int, tuple[Rule, ...]] = {
    0: (
        Rule(
            "schools",
            ("participants",),
            ("school_id", "cost", "students", "cost_per_student"),
            within=(),
            unit="participating educators",
            school_totals=True,
        ),  # fmt: skip
    ),
    1: (
        _COVERAGE,
        *_survey_rules("", "respondents"),
        Rule(
            "distribution",
            ("n_people",),
            (*_ITEM_KEYS, "reverse_coded", "category"),
            follow=("items", ("breakdown", "school_id", "item_id")),
        ),  # fmt: skip
        Rule(
            "response_rates",
            ("n_people",),
            ("level", "breakdown", "school_id", "session_id", "measure"),
            within=("breakdown",),
            counts=("respondents",),
            unit="attendees",
            school_totals=True,
        ),  # fmt: skip
        Rule("reliability", ("n",), ("level", "construct", "measure", "k", "method"), unit="complete responses"),
        Rule(
            "target",
            ("n_people",),
            _SURVEY_KEYS,
            follow=("constructs", ("breakdown", "school_id", "construct", "measure")),
        ),  # fmt: skip
    ),
    2: (
        _COVERAGE,
        Rule(
            "gains",
            ("n",),
            ("level", "breakdown", "school_id", "role", "experience_band", "assessment_id", "measure", "method"),
            within=("breakdown", "assessment_id", "measure"),
            counts=("n_missing",),
            unit="educators with both scores",
            school_totals=True,
        ),  # fmt: skip
        Rule(
            "target",
            ("n",),
            ("level", "breakdown", "school_id", "assessment_id", "measure", "method", "target"),
            follow=("gains", ("breakdown", "school_id", "assessment_id", "measure")),
        ),  # fmt: skip
        Rule(
            "program_effect",
            ("n_treatment", "n_comparison"),
            ("level", "assessment_id", "measure", "method"),
            unit="educators in each group",
        ),  # fmt: skip
        Rule(
            "missing",
            ("n_missing_post",),
            ("assessment_id", "n_matched"),
            counts=("n_matched",),
            unit="educators with no post score",
        ),  # fmt: skip
    ),
    3: (
        Rule(
            "staff_survey_coverage",
            ("n_people",),
            ("level", "breakdown", "school_id"),
            within=("breakdown",),
            unit="staff survey respondents",
            school_totals=True,
        ),  # fmt: skip
        *_survey_rules("staff", "staff survey respondents"),
        Rule("roles", ("n",), ("level", "participant", "role", "measure", "method"), unit="educators"),
    ),
    4: (
        _COVERAGE,
        Rule(
            "rates",
            ("n_people",),
            ("level", "breakdown", "group", "school_id", "month", "term", "measure", "method"),
            within=("breakdown", "month", "term"),
            unit="educators observed",
            school_totals=True,
        ),  # fmt: skip
        Rule(
            "target",
            ("n_people",),
            ("level", "breakdown", "school_id", "measure", "method", "window", "target"),
            within=("breakdown",),
            unit="educators observed",
            school_totals=True,
        ),  # fmt: skip
        Rule(
            "funnel",
            ("n_people",),
            ("school_id", "p0", "phi", "term"),
            within=(),
            unit="educators observed",
            school_totals=True,
        ),  # fmt: skip
        Rule("dose_bands", ("n_people",), ("level", "hours_band", "measure", "method"), within=()),
        Rule("trend", ("n_people",), ("level", "measure", "group", "method")),
        Rule("dose_model", ("n_people",), ("level", "measure", "method")),
        Rule(
            "level_of_use",
            ("n_people",),
            ("level", "level_of_use", "level_of_use_label", "measure", "method"),
            within=(),
        ),  # fmt: skip
    ),
    5: (
        _COVERAGE,
        Rule("schools", ("n",), ("level", "school_id", "measure", "method"), unit="students", school_totals=True),
        Rule(
            "effect",
            ("n_treatment", "n_comparison"),
            ("level", "term", "model", "se_type", "outcome"),
            unit="students in each group",
        ),  # fmt: skip
        Rule(
            "sensitivity",
            ("n_treatment", "n_comparison"),
            ("level", "term", "model", "se_type", "outcome", "specification"),
            unit="students in each group",
        ),  # fmt: skip
        Rule("target", ("n",), ("level", "term", "measure", "target"), follow=("effect", ("term",))),
        Rule(
            "subgroups",
            ("n_treatment", "n_comparison"),
            ("level", "subgroup", "value", "term", "model", "se_type", "outcome"),
            unit="students in each group",
        ),  # fmt: skip
        Rule("baseline", ("n_treatment", "n_comparison"), ("covariate",), unit="students in each group"),
        Rule(
            "attrition",
            ("analytic_treatment", "analytic_comparison"),
            (),
            counts=("baseline_treatment", "baseline_comparison", "new_students"),
            unit="students in each group",
        ),  # fmt: skip
    ),
}


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
    if rule.follow is not None and followed is not None:
        keys = [k for k in rule.follow[1] if k in out and k in followed]
        hidden = followed.loc[followed["suppressed"].astype(bool), keys].drop_duplicates().assign(_hide=True)
        marked = out[keys].merge(hidden, on=keys, how="left")["_hide"].fillna(False).to_numpy(dtype=bool)
        protect = followed.loc[followed["complementary"].astype(bool), keys].drop_duplicates().assign(_p=True)
        by_other = out[keys].merge(protect, on=keys, how="left")["_p"].fillna(False).to_numpy(dtype=bool)
        out["complementary"] = marked & by_other & ~own
        out["suppressed"] = own | marked
    if rule.within is not None and people:
        before = out["complementary"].to_numpy(dtype=bool)
        out = complementary_suppress(out.assign(_people=out[people].astype(float).min(axis=1)), min_n,
                                     within=list(rule.within), n="_people", columns=()).drop(columns="_people")  # fmt: skip
        out["complementary"] = out["complementary"].to_numpy(dtype=bool) | before
    return out


def _finish(table: pd.DataFrame, rule: Rule, min_n: int) -> pd.DataFrame:
    """Blank hidden rows, set their status, band small counts of people in shown rows."""
    hidden = table["suppressed"].astype(bool)
    out = _hide(table, hidden, rule.keep)
    if "status" in out:
        out["status"] = np.where(out["complementary"].astype(bool), HIDDEN_STATUSES[1],
                                 np.where(hidden, HIDDEN_STATUSES[0], out["status"].astype(object)))  # fmt: skip
    for column in rule.counts:  # shown rows' people columns are at least min_n already
        if column in out:
            values = out[column].astype(float)
            out[column] = values.mask((values > 0) & (values < min_n))
    return out


def publish_levels(
    levels: Mapping[int, LevelResult], min_n: int
) -> tuple[dict[int, LevelResult], dict[int, dict[str, str]]]:
    """Apply small-cell and complementary suppression to every published table, once.

    Parameters
    ----------
    levels : mapping of int to LevelResult
        Results computed on the full data (`plevaluate.evaluate`).
    min_n : int
        The plan's minimum cell size.

    Returns
    -------
    (levels, hidden)
        The levels with every table of `RULES` suppressed (flags ``suppressed`` and
        ``complementary``; hidden rows keep only the columns saying what they are about; counts of
        people from 1 to ``min_n - 1`` blanked) and notes saying what was hidden and why, scoped
        to the district and to each hidden school; and, per level, each hidden school_id ->
        ``"suppressed"`` (too few people) or ``"complementary"`` (hidden to protect a smaller group).
    """
    published: dict[int, LevelResult] = {}
    hidden_schools: dict[int, dict[str, str]] = {}
    for number, result in levels.items():
        rules = [r for r in RULES.get(number, ()) if r.table in result.tables]
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
                table = table.assign(suppressed=table["suppressed"].astype(bool) | extra,
                                     complementary=table["complementary"].astype(bool) | extra)  # fmt: skip
            tables[rule.table] = _finish(table, rule, min_n)
        notes = [n for n in result.notes]
        notes += _notes(number, rules, tables, kinds, min_n)
        hidden_schools[number] = kinds
        published[number] = LevelResult(result.level, result.name, tables, tuple(notes), result.meta, result.evidence)
    return published, hidden_schools


#: What a hidden school loses at each level, in words for its notes.
_HIDDEN_WHAT = {
    0: "this school's number of participating educators and cost per participant",
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
        notes.append(Note(f"{what} are not shown: fewer than {min_n} {unit}", level=level, scope=school,
                          kind="suppressed"))  # fmt: skip
    for school in protecting:
        notes.append(Note(f"{what} are not shown although the school has at least {min_n} {unit}: showing them "
                          "would let a smaller school's figures be worked out from the district total", level=level,
                          scope=school, kind="protecting"))  # fmt: skip
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
                text = (f"{rule.table.replace('_', ' ')} by {breakdown.replace('_', ' ')}: {', '.join(values)} not "
                        f"shown (fewer than {min_n} {rule.unit}, or protecting such a group)")  # fmt: skip
            notes.append(Note(text, level=level, kind="suppressed"))
    return notes
