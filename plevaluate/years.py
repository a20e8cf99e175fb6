"""A program followed over several school years: every level by year, the trend, and the staggered effect.

A data folder may hold several school years (the plan names them: ``school_year: 2023-24 to 2025-26``); a
row's school year comes from its date (August to July), a student's from ``year`` (the spring of the score). `year_view` is the district as it stood in one school year:
that year's rows, the schools in the program that year (``schools.cohort`` is the year a school's first program
school year starts; before it the school is a comparison school), the plan with that year's targets
(``targets:`` under a level) and each student's spring before the year as ``pre`` and the year's spring as
``post``. `evaluate_years` evaluates every year with the same five levels (`plevaluate.evaluate`), and adds:

- ``trend``: each level's district headline by year, with its interval, that year's target and status;
- ``sentences``: the change from the first to the latest year in words, called a rise or a fall only when the
  interval of the change excludes zero (the two years' intervals combined as independent normal estimates);
- ``practice_event_time``: level 4 by calendar months since a school joined (September of its first program
  year = 0), one line per cohort, so early and late cohorts are compared at the same point of their journey;
- ``staggered``: level 5 as group-time effects when schools joined in different years (`plevaluate.staggered`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats

from ._tidy import school_year
from .contract import District
from .errors import Problem, StatisticalWarning
from .evaluate import Evaluation, evaluate
from .figures import number
from .levels.practice import implementation_rates, prepare_observations
from .plan import for_year, plan_years
from .staggered import MIN_UNITS, school_panel, staggered_effects

__all__ = [
    "YearByYear",
    "evaluate_for_reports",
    "evaluate_years",
    "plan_years",
    "practice_event_time",
    "publishable",
    "school_years",
    "trend",
    "year_view",
]

_DATED = ("sessions", "conditions", "observations", "costs", "learning")


def _start(label: str) -> int:
    return int(label[:4])


def _cohort(schools: pd.DataFrame) -> pd.Series:
    """The year each participant school's first program year starts; NaN for comparison schools. A participant
    school with no cohort has been in the program from the start."""
    raw = schools["cohort"] if "cohort" in schools.columns else pd.Series(np.nan, index=schools.index)
    cohort = pd.to_numeric(raw.astype("string").str.extract(r"(\d{4})", expand=False), errors="coerce")
    return cohort.astype(float).where(schools["group"].eq("participant"))


def evaluated_years(district: District) -> list[str]:
    """The plan's school years up to the latest one with data: a plan that names years still to come
    (``2025-26 to 2027-28`` with this year's data) is evaluated for this year, not for an empty year
    (`plevaluate.contract.load` warns about the years left out)."""
    years = plan_years(district.plan.school_year)
    found = set(school_years(district))
    with_data = [y for y in years if y in found]
    return years[: years.index(with_data[-1]) + 1] if with_data else years


def school_years(district: District) -> list[str]:
    """The school years ('2024-25') the dated tables and the students' springs cover, in order."""
    found: set[str] = set()
    for name in (*_DATED, "reactions"):  # a staff survey tied to no session is dated itself
        frame = district.tables.get(name)
        if frame is not None and "date" in frame.columns:
            found |= {y for y in school_year(frame["date"]).dropna() if y}  # an undated row is in no year
    students = district.tables.get("students")
    if students is not None and "year" in students.columns:
        springs = pd.to_numeric(students["year"], errors="coerce").dropna().astype(int)
        # a spring belongs to the school year ending in it; the earliest spring is the baseline before the first
        found |= {f"{y - 1}-{y % 100:02d}" for y in springs if y - 1 >= min((_start(f) for f in found), default=0)}
    return sorted(y for y in found if y)


def year_view(district: District, year: str) -> District:
    """The district as it stood in school year ``year``: its rows, schools in the program then, its targets."""
    if not re.fullmatch(r"\d{4}-\d{2}", year):
        raise ValueError(f"a school year is written like 2024-25, not {year!r}")
    start = _start(year)
    tables: dict[str, pd.DataFrame] = {}
    notes = list(district.notes)
    schools = district.schools.copy()
    cohort = _cohort(schools)
    joined = schools["group"].eq("participant") & ~(cohort > start)
    schools["group"] = np.where(joined, "participant", "comparison")
    tables["schools"] = schools
    active = set(schools.loc[joined, "school_id"])
    educators = district.educators.copy()
    if "participant" in educators.columns:
        flag = educators["participant"].astype("boolean")
        educators["participant"] = flag & educators["school_id"].isin(active)
    tables["educators"] = educators
    for name, frame in district.tables.items():
        if name in ("schools", "educators"):
            continue
        if name in _DATED and "date" in frame.columns:
            years = school_year(frame["date"])
            undated = int(years.isna().sum())
            if undated:
                notes.append(
                    Problem(
                        f"{name}.csv",
                        f"a date on every row to place it in a school year; {undated} undated row(s) are left out "
                        "of the year-by-year view",
                        "add the date",
                        column="date",
                        severity="warning",
                    )
                )
            frame = frame[years.eq(year).fillna(False).astype(bool)]
            if frame.empty:
                continue  # nothing collected that year: the level says "no evidence collected", as for a missing table
        tables[name] = frame
    sessions = tables.get("sessions")
    for name in ("attendance", "reactions"):
        if name in tables:
            frame = tables[name]
            held = frame["session_id"].isin(sessions["session_id"]) if sessions is not None else False
            kept = frame[_staff_survey_in(frame, year) | held]
            if kept.empty:
                del tables[name]  # no sessions that year: nothing attended or answered that year
            else:
                tables[name] = kept
    students = tables.get("students")
    if students is not None:
        spring = pd.to_numeric(students["year"], errors="coerce")
        kept = students[spring.isin([start, start + 1])].copy()
        kept["period"] = np.where(pd.to_numeric(kept["year"], errors="coerce") == start, "pre", "post")
        tables["students"] = kept
    plan = for_year(district.plan, year)
    return District(district.path, plan, MappingProxyType(tables), tuple(notes), district.file_hashes)


def _staff_survey_in(frame: pd.DataFrame, year: str) -> pd.Series:
    """Rows tied to no session (staff-survey answers, Guskey level 3) whose own date falls in school year ``year``:
    other rows belong to the year of their session."""
    if "date" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return (frame["session_id"].isna() & school_year(frame["date"]).eq(year)).fillna(False).astype(bool)


_TREND = [
    "year",
    "scope",
    "level",
    "level_name",
    "measure",
    "unit",
    "estimate",
    "ci_low",
    "ci_high",
    "target",
    "status",
]


def trend(evaluations: dict[str, Evaluation], scope: str | None = "district") -> pd.DataFrame:
    """Each level's headline by year: year, scope, level, level_name, measure, unit, estimate, ci_low, ci_high,
    target, status, from each year's chain of evidence (so a value suppressed that year stays suppressed).
    ``scope``: ``"district"``, a school_id, or None for every school (not the district)."""
    frames = []
    for year, result in evaluations.items():
        chain = result.chain
        chain = chain[chain["scope"] != "district"] if scope is None else chain[chain["scope"] == scope]
        frames.append(chain.assign(year=year)[_TREND])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_TREND)


def _format(value: float, unit: str) -> str:

    return f"{number(value, unit)} score points" if unit == "points" else number(value, unit)


def _change(value: float, unit: str) -> str:
    """A change in the unit's words: a share's change in percentage points, others signed in their unit."""

    if unit == "share":
        return f"{100 * value:+.0f} percentage points"
    if unit == "points":
        return f"{value:+.1f} score points"
    if unit == "dollars":
        return ("+" if value >= 0 else "-") + number(abs(value), unit)
    text = number(value, unit)
    return text if text.startswith(("+", "-")) else f"+{text}"


def trend_sentences(table: pd.DataFrame, ci: float = 0.95) -> pd.DataFrame:
    """level, sentence: the change from each level's first to its latest estimable year, in words.

    "rose"/"fell" only when the interval of the change excludes zero; each year's standard error is read off
    its interval as (high - low) / (2 z), and the two years are treated as independent (different sessions,
    walkthroughs and students each year; for the same teachers this is conservative).
    """
    z = stats.norm.ppf(0.5 + ci / 2)
    if "scope" in table.columns and table["scope"].nunique() > 1:
        parts = [trend_sentences(part, ci).assign(scope=scope) for scope, part in table.groupby("scope", sort=False)]
        return pd.concat(parts, ignore_index=True)[["scope", "level", "sentence"]]
    rows = []
    for level, part in table.groupby("level", sort=True):
        shown = part.dropna(subset=["estimate", "ci_low", "ci_high"])
        if len(shown) < 2:
            continue
        a, b = shown.iloc[0], shown.iloc[-1]
        se = np.hypot((a.ci_high - a.ci_low) / (2 * z), (b.ci_high - b.ci_low) / (2 * z))
        diff = b.estimate - a.estimate
        low, high = diff - z * se, diff + z * se
        name = str(a.level_name).lower()
        span = f"from {_format(a.estimate, a.unit)} in {a.year} to {_format(b.estimate, b.unit)} in {b.year}"
        interval = f"change {_change(diff, a.unit)}, {ci:.0%} CI {_change(low, a.unit)} to {_change(high, a.unit)}"
        if low > 0:
            sentence = f"{name.capitalize()} rose {span} ({interval})."
        elif high < 0:
            sentence = f"{name.capitalize()} fell {span} ({interval})."
        else:
            sentence = (
                f"{name.capitalize()} went {span}; the change is within the uncertainty ({interval}): not conclusive."
            )
        rows.append({"level": int(level), "sentence": sentence})
    return pd.DataFrame(rows, columns=["level", "sentence"])


def practice_event_time(
    district: District,
    *,
    min_n: int | None = None,
    ci: float | None = None,
    shown: set[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Level 4 by calendar months since a school joined (September of its first program year is month 0),
    for each cohort: cohort, months_since_joining, month, estimate, ci_low, ci_high, n, n_people, schools, ...

    Rates per cohort and month use `plevaluate.levels.practice.implementation_rates` (Wilson intervals clustered by
    educator); cells with fewer than ``min_n`` educators are suppressed. Observations before a school joined
    have negative months (its baseline); comparison schools are left out. With ``shown`` (the (school_id,
    month) rows a published year shows), a cohort's line counts only those schools' months, so it can be worked
    out from what is shown already and reveals nothing a year's report hides.
    """
    plan = district.plan
    min_n = plan.min_n if min_n is None else min_n
    ci = plan.ci if ci is None else ci
    if district.observations is None or district.observations.empty:
        return pd.DataFrame()
    obs = prepare_observations(district)
    cohort = _cohort(district.schools).set_axis(district.schools["school_id"])
    obs["cohort"] = obs["school_id"].map(cohort)
    obs = obs[obs["cohort"].notna()].copy()
    if shown is not None:
        keep = [(s, m) in shown for s, m in zip(obs["school_id"], obs["month"])]
        obs = obs[np.asarray(keep, dtype=bool)]
    if obs.empty:
        return pd.DataFrame()
    dates = pd.to_datetime(obs["date"])
    obs["months_since_joining"] = (dates.dt.year * 12 + dates.dt.month - (obs["cohort"] * 12 + 9)).astype(int)
    obs["cohort"] = obs["cohort"].astype(int).map(lambda c: f"{c}-{(c + 1) % 100:02d}")
    table = implementation_rates(obs, by=("cohort", "months_since_joining", "month"), min_n=min_n, ci=ci)
    schools = obs.groupby(["cohort", "months_since_joining"])["school_id"].nunique().rename("schools")
    table = table.join(schools, on=["cohort", "months_since_joining"])
    return table.sort_values(["cohort", "months_since_joining"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class YearByYear:
    """Every year's evaluation (published: suppression applied) and what spans the years."""

    years: tuple[str, ...]
    evaluations: dict[str, Evaluation]
    trend: pd.DataFrame
    sentences: pd.DataFrame
    practice_event_time: pd.DataFrame
    staggered: object | None
    staggered_note: str


def evaluate_years(
    district: District, years: list[str] | None = None, *, known: dict[str, Evaluation] | None = None
) -> YearByYear:
    """Evaluate each school year of a multi-year data folder (published), and what spans the years.

    ``known``: years already evaluated and published (`evaluate_for_reports` passes the latest)."""

    years = plan_years(district.plan.school_year) if years is None else years
    known = known or {}
    evaluations = {year: known.get(year) or evaluate(year_view(district, year)).publish() for year in years}
    table = trend(evaluations)
    sentences = trend_sentences(table, district.plan.ci)
    shown: set[tuple[str, str]] = set()
    for result in evaluations.values():
        rates = result.table(4, "rates")
        if rates is not None:
            rows = rates[(rates["breakdown"] == "school_id+month") & ~rates["suppressed"].astype(bool)]
            shown |= set(zip(rows["school_id"], rows["month"]))
    event = practice_event_time(district, shown=shown)
    staggered, note = None, ""
    cohorts = _cohort(district.schools).dropna()
    students = district.students
    if students is None or students.empty:
        note = "no students.csv: no effect on students can be estimated"
    elif cohorts.nunique() < 2:
        note = "every program school joined in the same year: the single-year level-5 analysis applies"
    else:
        panel = school_panel(students, district.schools)
        never = int((panel.groupby("school_id")["first_year"].first() == 0).sum())
        control = "nevertreated" if never >= MIN_UNITS else "notyettreated"
        if control == "notyettreated":
            note = (
                f"{never} comparison school(s), fewer than the {MIN_UNITS} the estimator needs: schools that join "
                "later are the controls until they join"
            )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", StatisticalWarning)
                staggered = staggered_effects(panel, control=control, ci=district.plan.ci)
        except ValueError as exc:
            note = f"the staggered estimate could not be computed: {exc}"
        else:  # what the estimator left out or doubts is said in the report, never dropped silently
            said = [str(w.message) for w in caught if issubclass(w.category, StatisticalWarning)]
            note = "; ".join(filter(None, [note, *said]))
    return YearByYear(tuple(years), evaluations, table, sentences, event, staggered, note)


def publishable(result: YearByYear) -> dict[str, pd.DataFrame]:
    """The tables a report shows about the years, as `plevaluate.evaluate.Evaluation.extras`: ``years_trend``,
    ``years_sentences``, ``years_practice`` (level 4 in event time: suppressed cells have no estimate), and
    when estimable ``years_effects_event``, ``years_effects_cohort``, ``years_effects_cell`` (group-time),
    ``years_effects_overall``; ``years_about`` holds the years, the staggered method and its note."""
    schools = trend(result.evaluations, scope=None)
    out = {
        "years_trend": result.trend,
        "years_sentences": result.sentences,
        "years_trend_schools": schools,
        "years_sentences_schools": trend_sentences(schools, next(iter(result.evaluations.values())).plan["ci"])
        if len(schools)
        else pd.DataFrame(columns=["scope", "level", "sentence"]),
    }
    event = result.practice_event_time
    if len(event):
        shown = event[
            ["cohort", "months_since_joining", "month", "estimate", "ci_low", "ci_high", "schools", "suppressed"]
        ]
        hidden = shown["suppressed"].astype(bool)
        out["years_practice"] = shown.assign(
            estimate=shown["estimate"].where(~hidden), ci_low=shown["ci_low"].where(~hidden),
            ci_high=shown["ci_high"].where(~hidden),
        )  # fmt: skip
    effects = result.staggered
    if effects is not None:
        out["years_effects_event"] = effects.event_time
        out["years_effects_cohort"] = effects.cohorts.assign(
            cohort=[f"{g - 1}-{g % 100:02d}" for g in effects.cohorts["cohort"]]
        )
        out["years_effects_cell"] = effects.group_time.assign(
            cohort=[f"{g - 1}-{g % 100:02d}" for g in effects.group_time["cohort"]]
        )
        out["years_effects_overall"] = effects.overall
    funding = [
        result.levels[0].tables["by_source"][["funding_source", "cost"]].assign(year=year)
        for year, result in result.evaluations.items()
        if 0 in result.levels and result.levels[0].tables.get("by_source") is not None
    ]
    if funding:  # every year's cost by funding source (the portfolio adds them up)
        out["years_funding"] = pd.concat(funding, ignore_index=True)[["year", "funding_source", "cost"]]
    out["years_about"] = pd.DataFrame(
        {
            "years": [", ".join(result.years)],
            "method": [effects.method if effects is not None else ""],
            "control": [effects.control if effects is not None else ""],
            "note": [result.staggered_note],
        }
    )
    return out


def evaluate_for_reports(district: District) -> Evaluation:
    """The published evaluation the reports show. One school year: `evaluate`. Several (the plan's
    ``school_year`` names them, `plan_years`; a stray date never switches a one-year plan to several): the
    latest year's view, with the year-by-year tables in ``extras`` (`publishable`)."""
    years = evaluated_years(district)
    if len(years) < 2:
        return evaluate(district).publish()
    latest = evaluate(year_view(district, years[-1])).publish()
    result = evaluate_years(district, years, known={years[-1]: latest})
    sentences = latest.sentences.copy()
    every = pd.concat([result.trend, trend(result.evaluations, scope=None)], ignore_index=True)
    for scope, part in every.groupby("scope", sort=False):
        earlier = _last_measured(part, years[-1])
        if earlier:
            row = sentences["scope"] == scope
            sentences.loc[row, "sentence"] = sentences.loc[row, "sentence"] + " " + earlier
    return replace(latest, sentences=sentences, extras=publishable(result))


def _last_measured(table: pd.DataFrame, year: str) -> str:
    """For each level not measured in ``year`` but measured before: when it last was, and its result."""
    words = []
    for _, part in table[table["level"] > 0].groupby("level", sort=True):
        now = part[part["year"] == year]
        if now.empty or now["status"].iloc[0] != "not yet measured":
            continue
        before = part[(part["year"] < year) & part["estimate"].notna()]
        if before.empty:
            continue
        last = before.iloc[-1]
        value = _format(last.estimate, last.unit)
        words.append(
            f"{str(last.level_name).capitalize()} was not measured in {year}; it was last measured in {last.year} "
            f"({value}, {last.status})."
        )
    return " ".join(words)
