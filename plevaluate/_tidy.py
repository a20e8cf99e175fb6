"""Helpers shared by the level modules for building tidy result tables."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd


def groups(frame: pd.DataFrame, by: Sequence[str]) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """Yield (key tuple, rows) per group of ``by``; one group, key ``()``, when ``by`` is empty."""
    if not by:
        yield (), frame
        return
    for key, part in frame.groupby(list(by), observed=True, sort=True, dropna=False):
        yield (key if isinstance(key, tuple) else (key,)), part


#: School-year terms by calendar month: fall August-November, winter December-February, spring March-July.
_TERM_OF_MONTH = {8: 1, 9: 1, 10: 1, 11: 1, 12: 2, 1: 2, 2: 2, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3}
_TERM_NAMES = {1: "fall", 2: "winter", 3: "spring"}


def _start_year(dates: pd.Series) -> pd.Series:
    """The calendar year a date's school year starts in (school years run August to July)."""
    return (dates.dt.year - (dates.dt.month < 8)).astype("Int64")  # integers, missing where the date is


def by_date(dates: pd.Series, function: Callable[[pd.Series], pd.Series | pd.DataFrame]) -> pd.Series | pd.DataFrame:
    """``function`` of each distinct date, spread to the rows (same result as on every row): a district's rows
    share a few hundred dates, and text made row by row took seconds at a million observations.

    >>> by_date(pd.Series(pd.to_datetime(["2025-10-01", None, "2025-10-01"])), lambda d: d.dt.month).tolist()
    [10.0, nan, 10.0]
    """
    dates = pd.to_datetime(dates)
    codes, distinct = pd.factorize(dates)
    distinct = pd.DatetimeIndex(distinct)
    if (codes < 0).any():  # a missing date: the last position, so that code -1 reads it
        distinct = distinct.append(pd.DatetimeIndex([pd.NaT]))
    values = function(pd.Series(distinct))
    return values.iloc[codes].set_axis(dates.index)


def school_year(dates: pd.Series, default: str = "") -> pd.Series:
    """'2025-26' for dates from August 2025 to July 2026; ``default`` where the date is missing.

    >>> school_year(pd.Series(pd.to_datetime(["2025-08-01", "2026-07-31", None])), "2025-26").tolist()
    ['2025-26', '2025-26', '2025-26']
    """
    return by_date(dates, lambda distinct: _school_year(distinct, default))


def _school_year(dates: pd.Series, default: str) -> pd.Series:
    start = _start_year(dates)
    label = start.astype("string") + "-" + ((start + 1) % 100).astype("string").str.zfill(2)
    return label.fillna(default).astype("string")


def terms(dates: pd.Series) -> pd.DataFrame:
    """The school-year term of each date: ``term`` ("2025-26 fall") and a sortable ``term_order``.

    A school year starts in August; fall is August-November, winter December-February, spring March-July.

    >>> terms(pd.Series(pd.to_datetime(["2025-10-01", "2026-01-15", "2026-04-15"])))["term"].tolist()
    ['2025-26 fall', '2025-26 winter', '2025-26 spring']
    """
    return by_date(dates, _terms)


def _terms(dates: pd.Series) -> pd.DataFrame:
    start = _start_year(dates).astype(int)
    index = dates.dt.month.map(_TERM_OF_MONTH)
    label = start.astype(str) + "-" + ((start + 1) % 100).astype(str).str.zfill(2) + " " + index.map(_TERM_NAMES)
    return pd.DataFrame({"term": label.astype("string"), "term_order": start * 3 + index - 1}, index=dates.index)


def window_words(label: str) -> str:
    """A target window (the ``window`` of level 4's ``target``, the ``term`` of its ``funnel``) in words: ``2026-05``
    is "May 2026", a term ``2025-26 spring`` is "the 2025-26 spring term".

    >>> window_words("2026-05"), window_words("2025-26 spring")
    ('May 2026', 'the 2025-26 spring term')
    """
    text = str(label)
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
        return pd.Timestamp(f"{text}-01").strftime("%B %Y")
    return f"the {text} term"


def coverage(frame: pd.DataFrame, *, level: int, records: str | None, people: str | None) -> pd.DataFrame:
    """What a level's evidence rests on, for the district and each school: distinct ``records``
    (responses, observations) and distinct ``people`` (educators, students) in ``frame``.

    Returns
    -------
    DataFrame
        level, breakdown (``district`` / ``school_id``), school_id, records, n_people.

    >>> f = pd.DataFrame({"school_id": ["A", "A", "B"], "obs": [1, 2, 3], "who": ["x", "x", "y"]})
    >>> coverage(f, level=4, records="obs", people="who")[["school_id", "records", "n_people"]].values.tolist()
    [[nan, 3, 2], ['A', 2, 1], ['B', 1, 1]]
    """
    return coverage_table(*coverage_counts(frame, records=records, people=people), level=level)


def coverage_counts(
    frame: pd.DataFrame, *, records: str | None, people: str | None
) -> tuple[tuple[float, float], pd.DataFrame]:
    """`coverage`'s counts: the district's (records, people), and each school's (records and n_people, indexed by
    school_id, sorted); ``None`` counts rows."""

    def count(column: str | None) -> float:
        return float(frame[column].dropna().nunique()) if column else float(len(frame))

    grouped = frame.dropna(subset=["school_id"]).groupby("school_id", sort=True)

    def counts(column: str | None) -> pd.Series:  # one grouped count: a loop over schools took seconds at scale
        return grouped[column].nunique() if column else grouped.size()

    return (count(records), count(people)), pd.DataFrame({"records": counts(records), "n_people": counts(people)})


def coverage_table(district: tuple[float, float], by_school: pd.DataFrame, *, level: int) -> pd.DataFrame:
    """`coverage` from its counts: the district's (records, people) and each school's (``by_school``: indexed by
    school_id, sorted, with columns records and n_people). Counts of disjoint sets of people add up, so parts of a
    level's data, each person's rows in one part, can be counted where they are."""
    rows = [{"breakdown": "district", "school_id": None, "records": district[0], "n_people": district[1]}]
    rows += [
        {"breakdown": "school_id", "school_id": school, "records": float(r), "n_people": float(p)}
        for school, r, p in zip(by_school.index, by_school["records"], by_school["n_people"])
    ]
    out = pd.DataFrame(rows, columns=["breakdown", "school_id", "records", "n_people"])
    out[["records", "n_people"]] = out[["records", "n_people"]].astype(int)
    out.insert(0, "level", level)
    return out


def latest_term(frame: pd.DataFrame, by: str = "school_id") -> pd.DataFrame:
    """The rows of each ``by`` group's latest term (its largest ``term_order``)."""
    return frame[frame["term_order"] == frame.groupby(by)["term_order"].transform("max")]


def stack(parts: Iterable[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """One table from per-breakdown tables: each row gets a ``breakdown`` column naming its part
    (placed after ``level``), and each part keeps its own group columns (empty in the other parts)."""
    out = []
    for name, frame in parts:
        frame = frame.copy()
        frame.insert(1 if len(frame.columns) and frame.columns[0] == "level" else 0, "breakdown", name)
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def attended_hours(attendance: pd.DataFrame, sessions: pd.DataFrame | None) -> pd.Series:
    """PL hours of each attendance row: its minutes / 60, or its session's hours where minutes are
    missing, 0 where neither is known."""
    minutes = (
        attendance["minutes"].astype(float) if "minutes" in attendance else pd.Series(np.nan, index=attendance.index)
    )
    if sessions is not None:
        hours = sessions.drop_duplicates("session_id").set_index("session_id")["hours"]
        minutes = minutes.fillna(attendance["session_id"].map(hours).astype(float) * 60)
    return minutes.fillna(0) / 60


def cohort_start(schools: pd.DataFrame) -> pd.Series:
    """The year each participant school's first program year starts; NaN for comparison schools. A participant
    school with no cohort has been in the program from the start."""
    raw = schools["cohort"] if "cohort" in schools.columns else pd.Series(np.nan, index=schools.index)
    cohort = pd.to_numeric(raw.astype("string").str.extract(r"(\d{4})", expand=False), errors="coerce")
    return cohort.astype(float).where(schools["group"].eq("participant"))
