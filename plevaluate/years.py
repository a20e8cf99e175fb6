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
- each level's own multi-year tables (``Level.years``, in its package): level 4 by calendar months since a school
  joined, one line per cohort (`plevaluate.levels.practice.years`); level 5 as group-time effects when schools
  joined in different years (`plevaluate.levels.outcomes.years`); the cost of each year by funding source
  (`plevaluate.levels.cost.years`).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from . import registry
from ._outputs import die_with_parent, hand_back_memory, kill_pool
from ._tidy import cohort_start, school_year
from .chain import chain_sentence, records_by_scope
from .cluster import Unanswered, check_workers, connect, deserted, embedded, fetched, workers_of
from .contract import District
from .errors import LostProcessWarning, Problem
from .evaluate import Evaluation, evaluate
from .figures import number
from .held import HeldTable, LostPart, cut_by, part_count
from .plan import for_year, plan_years
from .results import Level, keep_nothing, no_facts

__all__ = [
    "YearByYear",
    "evaluate_each_year",
    "evaluate_for_reports",
    "evaluate_on_cluster",
    "evaluate_years",
    "plan_years",
    "publishable",
    "school_years",
    "trend",
    "year_view",
]

_DATED = ("sessions", "conditions", "observations", "costs", "learning")


def _start(label: str) -> int:
    return int(label[:4])


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
        distinct = students.unique("year") if isinstance(students, HeldTable) else students["year"].unique()
        springs = pd.to_numeric(pd.Series(distinct), errors="coerce").dropna().astype(int)
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
    cohort = cohort_start(schools)
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
    if isinstance(students, HeldTable):  # each part's rows of the year, kept where the part is
        tables["students"] = students.derived(_year_rows, start)
    elif students is not None:
        tables["students"] = _year_rows(students, start)
    plan = for_year(district.plan, year)
    return District(
        district.path, plan, MappingProxyType(tables), tuple(notes), district.file_hashes, district.codebook
    )


def _year_rows(students: pd.DataFrame, start: int) -> pd.DataFrame:
    """The students' rows of the school year starting in ``start``: the spring before (``pre``) and its own spring
    (``post``)."""
    spring = pd.to_numeric(students["year"], errors="coerce")
    kept = students[spring.isin([start, start + 1])].copy()
    kept["period"] = np.where(pd.to_numeric(kept["year"], errors="coerce") == start, "pre", "post")
    return kept


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


#: Decimals each unit is written with (`plevaluate.figures.number`; a share as a whole percent), two for the others.
_DECIMALS = {"share": 2, "sd": 2, "rating": 1, "points": 1, "dollars": 0}


def _as_said(value: float, unit: str) -> float:
    """``value`` as a report writes it (a share to a whole percent, an SD to two decimals ...), as a number.

    >>> _as_said(0.5462, "share"), _as_said(0.6549, "sd"), _as_said(12.345, "points")
    (0.55, 0.65, 12.3)
    """
    return float(f"{value:.{_DECIMALS.get(unit, 2)}f}")


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


def trend_sentences(
    table: pd.DataFrame, ci: float = 0.95, program_schools: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """level, sentence: the change from each level's first to its latest estimable year, in words.

    "rose"/"fell" only when the interval of the change excludes zero; each year's standard error is read off
    its interval as (high - low) / (2 z), and the two years are treated as independent (different sessions,
    walkthroughs and students each year; for the same teachers this is conservative).

    ``program_schools``: how many schools were in the program each year (the district's sentences): when the two
    years compared differ, the sentence says so (a rise from 3 schools' 39% to 8 schools' 63% read as one set of
    schools improving: a reader's review).
    """
    z = stats.norm.ppf(0.5 + ci / 2)
    if "scope" in table.columns and table["scope"].nunique() > 1:
        parts = records_by_scope(table)
        rows = [{"scope": scope, **row} for scope, part in parts.items() for row in _level_sentences(part, z, ci)]
        return pd.DataFrame(rows, columns=["scope", "level", "sentence"])
    rows = _level_sentences(table.to_dict("records"), z, ci, program_schools)
    return pd.DataFrame(rows, columns=["level", "sentence"])


def _level_sentences(
    records: list[dict], z: float, ci: float, program_schools: Mapping[str, int] | None = None
) -> list[dict]:
    """`trend_sentences` for one scope's rows (records in year order): level, sentence."""
    program_schools = program_schools or {}
    by_level = _by_level(r for r in records if not any(pd.isna(r[key]) for key in ("estimate", "ci_low", "ci_high")))
    out = []
    for level in sorted(by_level):
        shown = by_level[level]
        if len(shown) < 2:
            continue
        a, b = shown[0], shown[-1]
        se = np.hypot((a["ci_high"] - a["ci_low"]) / (2 * z), (b["ci_high"] - b["ci_low"]) / (2 * z))
        diff = b["estimate"] - a["estimate"]
        low, high = diff - z * se, diff + z * se
        name = str(a["level_name"]).lower()
        unit = a["unit"]
        # the change said is the difference of the values said, so that the sentence adds up ("from 55% to 70% (change
        # +16 percentage points)": a reader's review); its interval is the change's own
        said = _as_said(b["estimate"], unit) - _as_said(a["estimate"], unit)
        span = f"from {_format(a['estimate'], unit)} in {a['year']} to {_format(b['estimate'], unit)} in {b['year']}"
        interval = f"change {_change(said, unit)}, {ci:.0%} CI {_change(low, unit)} to {_change(high, unit)}"
        if low > 0:
            sentence = f"{name.capitalize()} rose {span} ({interval})."
        elif high < 0:
            sentence = f"{name.capitalize()} fell {span} ({interval})."
        else:
            sentence = (
                f"{name.capitalize()} went {span}; the change is within the uncertainty ({interval}): not conclusive."
            )
        before, after = program_schools.get(a["year"]), program_schools.get(b["year"])
        if before is not None and after is not None and before != after:
            sentence = (
                f"{sentence[:-1]} ({before} program school{'s' if before != 1 else ''} in {a['year']}, {after} in "
                f"{b['year']}: different sets of schools)."
            )
        out.append({"level": level, "sentence": sentence})
    return out


@dataclass(frozen=True)
class YearByYear:
    """Every year's evaluation (published: suppression applied) and what spans the years: the trend, its
    sentences, and each level's own multi-year tables (``Level.years``: level 4 in months since joining, level 5's
    staggered effect, level 0's cost by year), by table name, as published."""

    years: tuple[str, ...]
    evaluations: dict[str, Evaluation]
    trend: pd.DataFrame
    sentences: pd.DataFrame
    tables: Mapping[str, pd.DataFrame]
    schools: pd.DataFrame  # each school's trend (`trend` with scope None), built once


def evaluate_years(
    district: District,
    levels: Iterable[Level],
    years: list[str] | None = None,
    *,
    known: dict[str, Evaluation] | None = None,
) -> YearByYear:
    """Evaluate each school year of a multi-year data folder (published), and what spans the years: the trend of
    every level's headline and, from each of ``levels`` (`plevaluate.registry.levels`, handed in) with a
    multi-year part (``Level.years``), its own tables.

    ``known``: years already evaluated and published (`evaluate_for_reports` passes the latest)."""

    years = plan_years(district.plan.school_year) if years is None else years
    known = known or {}
    evaluations = {year: known.get(year) or _published(district, year) for year in years}
    table = trend(evaluations)
    program = {year: int(ev.schools["group"].eq("participant").sum()) for year, ev in evaluations.items()}
    sentences = trend_sentences(table, district.plan.ci, program)
    tables: dict[str, pd.DataFrame] = {}
    for level in sorted(levels, key=lambda level: level.number):
        if level.years is not None:
            tables.update(level.years(district, evaluations))
    schools = trend(evaluations, scope=None)
    return YearByYear(tuple(years), evaluations, table, sentences, MappingProxyType(tables), schools)


def publishable(result: YearByYear) -> dict[str, pd.DataFrame]:
    """The tables a report shows about the years, as `plevaluate.evaluate.Evaluation.extras`: ``years_trend``,
    ``years_sentences`` (and each school's, ``years_trend_schools``, ``years_sentences_schools``), ``years_about``
    (the years), and every level's own multi-year tables (`YearByYear.tables`)."""
    schools = result.schools
    return {
        "years_trend": result.trend,
        "years_sentences": result.sentences,
        "years_trend_schools": schools,
        "years_sentences_schools": trend_sentences(schools, next(iter(result.evaluations.values())).plan["ci"])
        if len(schools)
        else pd.DataFrame(columns=["scope", "level", "sentence"]),
        **result.tables,
        "years_about": pd.DataFrame({"years": [", ".join(result.years)]}),
    }


def evaluate_for_reports(district: District, *, workers: int = 1, scheduler=None) -> Evaluation:
    """The published evaluation the reports show. One school year: `evaluate`. Several (the plan's
    ``school_year`` names them, `plan_years`; a stray date never switches a one-year plan to several): the
    latest year's view, with the year-by-year tables in ``extras`` (`publishable`).

    ``workers`` above 1: the years are evaluated side by side (`evaluate_each_year`); the results are the same.
    ``scheduler``: each year is evaluated as a task on a Dask cluster (`evaluate_on_cluster`): a scheduler's
    address, ``"local"`` for a `LocalCluster` of ``workers`` processes, or a `distributed.Client` already
    connected; the results are the same."""
    if scheduler is None:  # students held on a cluster (`load(..., client=)`) are brought here to be evaluated here
        district = district.here()
    try:
        years = evaluated_years(district)
    except LostPart:  # held on a cluster and a part lost: read again here, and sent to the cluster from here
        district = district.here()
        years = evaluated_years(district)
    if scheduler is not None:
        with _connected(scheduler, workers) as client:
            if len(years) < 2:
                return next(iter(evaluate_on_cluster(client, district).values()))
            evaluations = evaluate_on_cluster(client, district, years)
        return _while_held(district, _with_years, years, evaluations)
    if len(years) < 2:
        return evaluate(district, publish=True)
    return _with_years(district, years, evaluate_each_year(district, years, workers=workers))


def _held_on(client, district: District) -> District:
    """``district``, with any table it holds on another cluster than ``client``'s (loaded with another client) brought
    here first: that cluster's parts cannot be read by this one's tasks (each year was lost there, then done here)."""
    address = getattr(getattr(client, "scheduler", None), "address", None)
    elsewhere = [
        table
        for table in district.tables.values()
        if isinstance(table, HeldTable)
        and getattr(getattr(table.client, "scheduler", None), "address", None) != address
    ]
    return district.here() if elsewhere else district


def _while_held(district: District, function, *args):
    """``function(district, *args)``; if a part of a table the district holds on a cluster (`plevaluate.held`) was
    lost with its worker, again with the district brought here (`District.here`: its students read again), with a
    `LostProcessWarning`."""
    try:
        return function(district, *args)
    except LostPart:
        return function(district.here(), *args)


def _with_years(district: District, years: list[str], evaluations: dict[str, Evaluation]) -> Evaluation:
    """The latest year's evaluation with what spans the years (``extras``) and its chain's sentences naming when a
    level not measured this year last was."""
    latest = evaluations[years[-1]]
    result = evaluate_years(district, registry.levels(), years, known=evaluations)
    sentences = latest.sentences.copy()
    every = pd.concat([result.trend, result.schools], ignore_index=True)
    chains = records_by_scope(latest.chain)
    updated = {}
    for scope, part in records_by_scope(every).items():
        earlier = _last_measured(part, years[-1])
        if earlier:  # not measured this year is not "no evidence": the sentence says when it last was
            updated[scope] = chain_sentence(chains.get(scope, []), registry.levels(), earlier)
    if updated:
        sentences["sentence"] = pd.array(
            [updated.get(scope, text) for scope, text in zip(sentences["scope"], sentences["sentence"])],
            dtype=sentences["sentence"].dtype,
        )
    return replace(latest, sentences=sentences, extras=publishable(result))


def evaluate_each_year(district: District, years: list[str], *, workers: int = 1) -> dict[str, Evaluation]:
    """Each year's published evaluation (`year_view`, `evaluate`, publish), by year.

    With ``workers`` above 1 the earlier years go to ``workers - 1`` fresh processes while this one evaluates the
    latest (the largest: every cohort has joined), each year's view pickled to its process and only its published
    evaluation sent back. Same code, same results (tests/test_years.py compares them); on two cores three years
    of 2,000 schools take about the time of the two earlier years instead of all three. Levels registered in this
    process only (`plevaluate.registry.register`, a notebook's) do not exist in another process: the years are
    then evaluated here, one after another.
    """
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers is a whole number of processes, not {workers!r}")
    if workers <= 1 or len(years) < 2 or registry.process_local():
        return {year: _published(district, year) for year in years}
    # the platform's default way of starting processes, as the render's own workers (`plevaluate.render`)
    pool = ProcessPoolExecutor(max_workers=min(workers - 1, len(years) - 1), initializer=_one_thread_each)
    try:
        futures = {year: pool.submit(_published_year, year_view(district, year)) for year in years[:-1]}
        # one BLAS thread a process while the processes share the cores (on 2 cores: 86 s -> 78 s at 2,000 schools)
        with threadpool_limits(limits=1):
            latest = _published(district, years[-1])
        evaluations = {year: _result(future, district, year) for year, future in futures.items()}
    except BaseException:  # stopped or failed: the other years' processes end now, not after their year
        kill_pool(pool)
        raise
    pool.shutdown(wait=True)
    return {**evaluations, years[-1]: latest}


def _result(future, district: District, year: str) -> Evaluation:
    """A year's evaluation from its process, its warnings raised here as if it had been evaluated here; if that
    process died (the system ended it for memory, say), the year is evaluated here instead, with a warning: a lost
    process never loses a year."""
    try:
        evaluation, caught = future.result()
    except BrokenProcessPool:
        warnings.warn(
            f"the process evaluating {year} ended abruptly (out of memory?); {year} was evaluated in this process "
            "instead, with the same results",
            LostProcessWarning,
            stacklevel=4,  # the caller of evaluate_for_reports
        )
        return _published(district, year)
    for message, category, filename, lineno in caught:
        warnings.warn_explicit(message, category, filename, lineno)
    return evaluation


@dataclass
class _Run:
    """One evaluation on a cluster (`evaluate_on_cluster`): its client; every future of the run still wanted, by key
    (cancelled if the run fails or is stopped); the years' tasks still running, and the outcomes of those done
    (`_take_done`); and the event `plevaluate.cluster.deserted` sets once the run's tasks were given up."""

    client: object
    held: dict = field(default_factory=dict)
    tasks: dict = field(default_factory=dict)
    outcomes: dict = field(default_factory=dict)
    given_up: threading.Event = field(default_factory=threading.Event)

    def fetched(self, future):
        """``future``'s result (`plevaluate.cluster.fetched`): lost once the run's tasks were given up or its client
        closed (a frozen scheduler would keep a done task's result for ever)."""
        return fetched(future, self.client, self.given_up)

    def lost(self) -> bool:
        """Whether the run's tasks were given up (no workers) or its client closed: nothing more is sent."""
        return self.given_up.is_set() or self.client.status != "running"

    def lost_year(self, year: str, *, sent: bool = True) -> _GivenUp:
        """Why ``year`` is evaluated here when the run lost its cluster (not "ended abruptly (out of memory?)")."""
        if self.client.status != "running":
            return _GivenUp(f"{year} was lost: the Dask client closed (was its scheduler stopped?)")
        if not sent:
            return _GivenUp(f"{year} was not sent: the Dask cluster had no workers, or its scheduler did not answer")
        return _GivenUp(
            f"{year}'s tasks were given up: the Dask cluster had no workers, or its scheduler did not answer"
        )


def evaluate_on_cluster(client, district: District, years: list[str] | None = None) -> dict[str, Evaluation]:
    """Each year's published evaluation, computed as a task on a Dask cluster, by year: the view of each of
    ``years`` (`year_view`), or, without ``years``, the district itself as one year (a one-year program).

    Each view is made and sent one at a time, inside its task (the scheduler keeps it, so a task whose worker dies is
    run again on another worker: data scattered to one worker would die with it), and is evaluated there by the
    same code as here (`_published_year`: `evaluate`, then publish); only its published evaluation comes back, with
    the year's warnings, raised here. The tables levels sum in parts go first, in parts (`_in_parts`); a year's task
    is sent once its parts are summed and their sums added here (`_added`), and runs while the next year is
    prepared here and its parts summed on the other workers.
    A year that keeps losing its workers (`distributed.KilledWorker`, after Dask's retries) or whose task is lost
    with its data is evaluated here with a `LostProcessWarning`. A `ContractError` raised there arrives as itself.
    A worker evaluates one year at a time, whatever its threads (`_published_year`). Workers need plevaluate
    installed (`plevaluate.cluster.check_workers`). A level registered in this process only
    (`plevaluate.registry.register`) does not exist on the workers: the years are then evaluated here.

    Memory on the workers: a task's arguments stay with it on its worker for as long as anything that depends on it
    is kept, so nothing is kept longer than needed: a part's sums come back here as soon as they are computed (the
    part and its rows are then forgotten there), and a year's evaluation as soon as it is done (`_outcomes`)."""

    here: list[District] = []  # the district with its held tables brought here, once, if a year is done here

    def view(year: str, *, on_this_machine: bool = False) -> District:
        source = district
        if on_this_machine:  # a held table's parts may be lost with the year: gathered, or read again
            if not here:
                here.append(district.here())
            source = here[0]
        return source if years is None else year_view(source, year)

    district = _held_on(client, district)
    labels = [district.plan.school_year] if years is None else list(years)
    if registry.process_local():
        return {year: evaluate(view(year), publish=True) for year in labels}
    check_workers(client)  # refused, naming its workers, if unfit (an asynchronous client would wait for ever)
    label = uuid.uuid4().hex[:12]
    run = _Run(client)
    held, tasks, outcomes = run.held, run.tasks, run.outcomes
    try:
        with deserted(client, lambda: list(held.values())) as run.given_up:  # left without workers: years done here
            for year in labels:  # a year's parts are summed, then its task runs while the next year is prepared here
                if run.lost():  # not sent: evaluated here, as a year lost there
                    tasks[year] = run.lost_year(year, sent=False)
                    continue
                if year != labels[0]:
                    # the last year's view and parts are gone but their memory is kept by the allocator: handed back,
                    # the next year's preparation starts from the district (2,000 schools: 1.20 -> 0.86 GB before
                    # year 2)
                    hand_back_memory()
                try:
                    lean, summing = _in_parts(run, view(year), f"{year}-{label}")
                    tasks[year] = _year_task(run, year, lean, summing, f"{year}-{label}")
                except _GivenUp:  # given up while its parts were sent: the rest are not sent
                    tasks[year] = run.lost_year(year)
                except LostPart:  # a worker holding part of the students died: the year is evaluated here
                    tasks[year] = _GivenUp(f"part of {year}'s students was lost with the worker that held it")
                except Exception:
                    if client.status == "running":
                        raise
                    # the client closed under the run (its scheduler gone): Dask cancelled the run's futures
                    tasks[year] = run.lost_year(year)
                lean = summing = None  # sent: not kept here while the next year is prepared
            _outcomes(run)
        if run.lost():  # the years given up or lost say why (not "ended abruptly (out of memory?)")
            for year, outcome in outcomes.items():
                if isinstance(outcome, CancelledError) and not isinstance(outcome, _GivenUp):
                    outcomes[year] = run.lost_year(year)
        return {year: _from_cluster(outcomes[year], view, year) for year in labels}
    finally:  # a failed or stopped run leaves no year, and no part of one, on the workers
        if held and client.status == "running":  # a closed client's cluster has forgotten them (and would raise)
            client.cancel(list(held.values()), force=True)


def _in_parts(run: _Run, view: District, label: str) -> tuple[District, dict]:
    """The year's view without the rows of each table levels sum in parts (`plevaluate.results.Parts`), and, by
    level, its layout, its way of adding sums and the Dask futures of its parts' sums: what the level prepares from the
    table is split by its key into parts (`part_count`: two a worker, or more of at most `PART_ROWS` rows), each part
    summed on a worker (the part travels inside its task, so a lost worker's part is summed again elsewhere), each
    cut and sent as room is made (`_wait_for_room`: the scheduler holds a part's rows until it is summed). The
    view keeps only the rows and columns the rest of the evaluation reads (`Parts.keep`); a table one of its levels
    cannot prepare travels whole.

    While the year is prepared and sent here, the sums of parts already done are taken (`_take_sums`), and the run's
    earlier years done meanwhile (`_take_done`): at 20,000 schools the preparing takes minutes, and the
    workers held every part's sums until it ended (36 on one worker, paused at 80% of its 2 GB before the first year
    was sent)."""
    client, held = run.client, run.held
    tables, summing = dict(view.tables), {}
    try:  # a frozen scheduler never answers `scheduler_info` (no time limit): the year is then evaluated here
        least = max(2, 2 * workers_of(client))
    except Unanswered:
        raise _GivenUp("its scheduler did not answer") from None
    kept: dict[str, list] = {}
    whole: set[str] = set()
    light = _light(view)  # what a held table's parts are prepared and kept with
    for level in registry.levels():
        parts = level.parts
        frame = tables.get(parts.table) if parts is not None else None
        if frame is None or frame.empty:
            continue
        try:
            if isinstance(frame, HeldTable):  # already in parts on the workers: each prepared where it is
                ready = frame.derived(_prepared, parts.prepare, light)
                count, cut = len(ready.parts), ready.piece  # each part made on its worker as it is summed
                # a round of tasks only for facts there are (cost's parts agree on nothing beforehand)
                layout = parts.layout([{}] * count if parts.facts is no_facts else ready.map(parts.facts))
            else:
                ready = parts.prepare(frame, view)
                count = part_count(ready, least)
                cut = cut_by(ready, parts.key, count)
                layout = parts.layout([parts.facts(cut(k)) for k in range(count)])
        except ValueError:  # the level cannot read this table (say, a school not in schools.csv): the table travels
            whole.add(parts.table)  # whole, and the level says why on the worker, as it does in one process
            continue
        sums, holding = [], []  # the futures of its parts' sums, each replaced by its sums once taken
        summing[level.number] = (layout, parts.combine, sums, parts.refine, holding)
        with embedded():
            for k in range(count):  # each held as soon as sent: a stopped run cancels every one
                _wait_for_room(run, summing, least)
                if run.lost():  # the rest of the year's parts are not sent: the year is evaluated here
                    raise _GivenUp("given up while its parts were sent")
                piece = cut(k)  # cut when sent: not every part's rows held here at once
                key = f"plevaluate-part-{label}-{level.number}-{k}"
                if parts.refine is None:
                    future = client.submit(_summed, parts.summarize, piece, layout, key=key, pure=False)
                else:  # the part stays on its worker for the level's rounds (`Parts.refine`); its sums come here
                    part = client.submit(
                        _summed_and_held, parts.summarize, parts.hold, piece, layout, key=f"{key}-held", pure=False
                    )
                    held[part.key] = part
                    holding.append(part)
                    future = client.submit(_sums_of, part, key=key, pure=False)
                held[future.key] = future
                sums.append(future)
                del piece, future
                _take_sums(run, summing, finished=True)
                _take_done(run)
        del ready, cut
        if isinstance(frame, HeldTable) and parts.keep is keep_nothing:  # nothing to ask the parts for
            kept.setdefault(parts.table, []).append(pd.DataFrame(index=pd.Index([], dtype="int64")))
        elif isinstance(frame, HeldTable):
            kept.setdefault(parts.table, []).append(pd.concat(frame.map(parts.keep, light)))
        else:
            kept.setdefault(parts.table, []).append(parts.keep(frame, view))
    for table, frames in kept.items():
        if table not in whole:  # the rows any level keeps, with the columns any keeps
            frame = tables[table]
            rows = pd.Index([]).append([f.index for f in frames])
            columns = [c for c in frame.columns if c in {c for f in frames for c in f.columns}]
            if isinstance(frame, HeldTable):  # those rows' cells, from the parts that hold them
                tables[table] = pd.concat(frame.map(_cells, rows, columns)).sort_index(kind="stable")
            else:
                tables[table] = frame.loc[frame.index.isin(rows), columns]
    for table, frame in tables.items():  # a held table no level summed in parts travels whole
        if isinstance(frame, HeldTable):
            tables[table] = frame.gathered()
    return replace(view, tables=MappingProxyType(tables)), summing


def _light(view: District) -> District:
    """What a level's `Parts.prepare` and `Parts.keep` read of a year's view besides the held table itself, sent
    with each of its parts' tasks (`plevaluate.held.HeldTable`): the plan and the schools, comments and quotes
    (level 5's treatment and the IDs an approved quote could name), not the large tables."""
    tables = {name: view.tables[name] for name in ("schools", "comments", "quotes") if name in view.tables}
    return replace(view, tables=MappingProxyType(tables), summaries={})


def _prepared(part: pd.DataFrame, prepare, light: District):
    return prepare(part, light)


def _cells(part: pd.DataFrame, rows: pd.Index, columns: list[str]) -> pd.DataFrame:
    return part.loc[part.index.isin(rows), columns]


def _added(run: _Run, summing: dict) -> dict:
    """Each level's ``(layout, sums)`` (`plevaluate.contract.District.summaries`): its parts' sums, each taken here as
    soon as it is done, whatever its level (a done part's sums waiting on a worker for the slowest part: 22 parts'
    sums held a worker at 1.5 GB at 10,000 schools), and added in the parts' order (the same sums from any run); or
    the first data problem a part met (a `ValueError`, which the level reports as in one process). Each part is
    forgotten on the cluster once here; on any other error the parts stay held, and the run's end cancels them.

    The run's earlier years still running: one done meanwhile is taken (`_take_done`): a worker holding a done year's
    result and paused for memory would otherwise wait for this year's parts, which wait for it. Done is asked of each future here (it knows its own state), not awaited with
    `distributed.as_completed`, which follows the default client's loop, not necessarily this run's client's, and
    keeps what it has seen until every future it was given is done."""
    while _waiting(summing):
        years = _take_done(run)
        if not _take_sums(run, summing) and not years:
            time.sleep(_POLL)
    summed = {}
    for level, (layout, combine, sums, refine, holding) in summing.items():
        problems = [s for s in sums if isinstance(s, ValueError)]
        added = problems[0] if problems else combine(sums)
        if refine is not None and not problems:
            added = refine(added, _asking(run, holding))
        for part in holding:  # its rounds are over: forgotten on its worker
            run.held.pop(part.key, None)
        holding.clear()
        summed[level] = (layout, added)
    return summed


def _take_sums(run: _Run, summing: dict, *, finished: bool = False) -> int:
    """Replaces, in each level's list of ``summing``, the future of each part whose sums are done by those sums, and
    forgets the part on the cluster (its worker lets it go); without waiting; how many were. ``finished``: only those
    computed without error, and a part lost while its sums are fetched (its worker died, and its recomputation as
    often as Dask allows) is left as it is: while the year is still being sent, a lost part is for `_added` to meet,
    where the year's loss is handled (the year evaluated here). Else an error is raised here with the part still
    pending and held."""
    from distributed import Future, KilledWorker

    taken = 0
    for _, _, sums, _, _ in summing.values():
        for k, future in enumerate(sums):
            if isinstance(future, Future) and future.done() and (future.status == "finished" or not finished):
                try:
                    sums[k] = run.fetched(future)
                except (KilledWorker, CancelledError):
                    if not finished:
                        raise
                    continue
                run.held.pop(future.key, None)
                taken += 1
    return taken


def _waiting(summing: dict) -> bool:
    from distributed import Future

    return any(isinstance(future, Future) for _, _, sums, _, _ in summing.values() for future in sums)


def _asking(run: _Run, holding: list):
    """`Parts.refine`'s ``ask``: ``function(kept, *args)`` for what each part of ``holding`` keeps on its worker
    (`Parts.hold`), run there, the results here in the parts' order; earlier years done meanwhile are taken
    (`_take_done`)."""

    asked = itertools.count()

    def ask(function, *args) -> list:
        step = next(asked)  # keys named after their parts: a stopped run cancels them with the rest
        futures = [
            part.client.submit(_asked, function, part, *args, key=f"{part.key}-ask-{step}", pure=False)
            for part in holding
        ]
        run.held.update((future.key, future) for future in futures)
        while not all(future.done() for future in futures):
            if not _take_done(run):
                time.sleep(_POLL)
        answers = [run.fetched(future) for future in futures]
        for future in futures:
            run.held.pop(future.key, None)
        return answers

    return ask


def _summed_and_held(summarize, hold, piece, layout) -> tuple:
    """A part's sums (`_summed`) and what it keeps on its worker for the level's rounds (`Parts.hold`)."""
    sums = _summed(summarize, piece, layout)
    return sums, None if isinstance(sums, ValueError) else hold(piece)


def _sums_of(summed_and_held: tuple):
    return summed_and_held[0]


def _asked(function, summed_and_held: tuple, *args):
    return function(summed_and_held[1], *args)


#: Seconds between two looks at the futures a run waits for (asking a future whether it is done costs nothing).
_POLL = 0.05


def _year_task(run: _Run, year: str, lean: District, summing: dict, label: str):
    """The year's evaluation task on the cluster, sent once its parts are summed and added (`_added`, which takes
    the run's earlier years done meanwhile); or, when the parts were lost with their workers, that loss
    (the year is then evaluated here, `_from_cluster`)."""
    from distributed import KilledWorker

    client, held = run.client, run.held
    try:
        summed = _added(run, summing)
    except (KilledWorker, CancelledError) as lost:
        # the year's other parts are not needed any more; the loss is kept without its traceback (whose frames hold
        # the year's view and futures)
        client.cancel([held.pop(key) for key in list(held) if key.startswith(f"plevaluate-part-{label}-")], force=True)
        return lost.with_traceback(None)
    with embedded():
        future = client.submit(_published_year, lean, summed, key=f"plevaluate-year-{label}", pure=False)
    held[future.key] = future
    return future


def _outcomes(run: _Run) -> dict:
    """The run's outcomes, once every year's task is done: each year's ``(evaluation, warnings)``, or what lost it,
    taken as each year is done (a done year's result and its task's arguments are then forgotten on the cluster, not
    kept for the slowest year)."""
    while run.tasks:
        if not _take_done(run):
            time.sleep(_POLL)
    return run.outcomes


def _take_done(run: _Run) -> int:
    """Moves each of the run's year tasks that is done (or was lost before it was sent) into its outcomes (`_taken`),
    without waiting; how many were."""
    done = [year for year, task in run.tasks.items() if isinstance(task, BaseException) or task.done()]
    for year in done:
        run.outcomes[year] = _taken(run, run.tasks.pop(year))
    return len(done)


def _taken(run: _Run, task):
    """A done year task's ``(evaluation, warnings)``, or what lost it (`distributed.KilledWorker`, a cancellation,
    or the loss `_year_task` returned); the task is then no longer held. Any other error (a ContractError there) is
    raised with the task still held: the run's end cancels it with the rest (the error's traceback keeps the
    future, so forgetting it here would leave the failed task on its worker)."""
    from distributed import KilledWorker

    if isinstance(task, BaseException):
        return task
    try:
        outcome = run.fetched(task)
    except (KilledWorker, CancelledError) as lost:
        outcome = lost.with_traceback(None)  # its traceback's frames would keep the future
    run.held.pop(task.key, None)
    return outcome


def _split(ready, key: str, count: int) -> list:
    """``ready`` (a frame or a tuple of frames, `Parts.prepare`) in ``count`` parts by a hash of ``key`` (`plevaluate.held.cut_by`)."""
    cut = cut_by(ready, key, count)
    return [cut(k) for k in range(count)]


def _wait_for_room(run: _Run, summing: dict, room: int) -> None:
    """Waits until fewer than ``room`` of the parts sent (two for each worker, `_in_parts`) are still being summed,
    taking the sums done and the earlier years done meanwhile; or until the run's tasks were given up or its client
    closed. A part sent waits in the scheduler, rows and all, until its task is done and its sums taken: sent all at
    once, a level's parts sat there together (with a local cluster, whose scheduler runs in this process, they were
    this process's memory too: at 2,000 schools, three years, the scheduler of a cluster of its own peaked at
    672 MB)."""
    from distributed import Future

    def summed_now() -> int:
        return sum(
            isinstance(future, Future) and not future.done() for _, _, sums, _, _ in summing.values() for future in sums
        )

    while summed_now() >= room and not run.lost():
        if not _take_sums(run, summing, finished=True) and not _take_done(run):
            time.sleep(_POLL)


def _summed(summarize, piece, layout):
    """A part's sums, or the data problem that stopped them (a `ValueError`), for the level to report as it reports
    one found in one process."""
    try:
        return summarize(piece, layout)
    except ValueError as error:
        return error
    finally:
        hand_back_memory()


class _GivenUp(CancelledError):
    """A year not sent to a cluster left without workers (`plevaluate.cluster.deserted`) or whose client closed, or
    whose tasks were given up there: evaluated here."""


def _from_cluster(outcome, view, year: str) -> Evaluation:
    """The year's evaluation from its outcome on the cluster (`_outcomes`: its evaluation and warnings, raised here),
    or, if the year or its parts were lost, evaluated here with a `LostProcessWarning`."""
    if isinstance(outcome, BaseException):
        lost = (
            str(outcome)
            if isinstance(outcome, _GivenUp)
            else f"the Dask workers evaluating {year} ended abruptly (out of memory?) or the task was lost "
            f"({type(outcome).__name__})"
        )
        warnings.warn(
            f"{lost}; {year} was evaluated in this process instead, with the same results",
            LostProcessWarning,
            stacklevel=4,
        )
        return evaluate(view(year, on_this_machine=True), publish=True)
    evaluation, caught = outcome
    for message, category, filename, lineno in caught:
        warnings.warn_explicit(message, category, filename, lineno)
    return evaluation


@contextmanager
def _connected(scheduler, workers: int):
    """A Dask client for ``scheduler`` (`plevaluate.cluster.connect`), closed afterwards with any cluster started
    for it; a client handed in is used as it is and left open."""
    if not isinstance(scheduler, str):
        from distributed import Client

        if not isinstance(scheduler, Client):
            raise TypeError(f"scheduler is an address, 'local' or a distributed.Client, not {scheduler!r}")
        yield check_workers(scheduler)
        return

    client, cluster = connect(scheduler, workers)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _published(district: District, year: str) -> Evaluation:
    """One school year's published evaluation, in this process."""
    return evaluate(year_view(district, year), publish=True)


def _one_thread_each() -> None:
    die_with_parent()
    threadpool_limits(limits=1)


#: One year at a time in a process: Python's warnings machinery (`warnings.catch_warnings`, which the levels use to
#: turn caveats into notes) is one per process, so two years evaluated at once in two threads of a Dask worker would
#: take each other's caveats.
_ONE_YEAR_AT_A_TIME = threading.Lock()


def _published_year(view: District, summed: Mapping | None = None) -> tuple[Evaluation, list[tuple]]:
    """A year evaluated in another process: its published evaluation, and its warnings for the caller to raise
    (a process's own warnings would be printed there, or lost). ``summed``: the sums of tables summed in parts
    (`_in_parts`), which the levels read in place of their rows (`plevaluate.contract.District.summaries`)."""
    if summed:
        view = replace(view, summaries=dict(summed))
    try:
        with _ONE_YEAR_AT_A_TIME, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            evaluation = evaluate(view, publish=True)
    finally:  # outside the year's recorded warnings: a finalizer's warning is not the year's
        hand_back_memory()
    return evaluation, [(str(w.message), w.category, w.filename, w.lineno) for w in caught]


def _by_level(records: Iterable[dict]) -> dict[int, list[dict]]:
    """Records by level, in their order."""
    out: dict[int, list[dict]] = {}
    for row in records:
        out.setdefault(int(row["level"]), []).append(row)
    return out


def _last_measured(records: list[dict], year: str) -> dict[int, str]:
    """For each level not measured in ``year`` but measured before: when it last was, and its result
    (``records``: one scope's trend rows, in year order)."""
    by_level = _by_level(row for row in records if row["level"] > 0)
    words = {}
    for level in sorted(by_level):
        part = by_level[level]
        now = [row for row in part if row["year"] == year]
        if not now or now[0]["status"] != "not yet measured":
            continue
        before = [row for row in part if row["year"] < year and not pd.isna(row["estimate"])]
        if not before:
            continue
        last = before[-1]
        value = _format(last["estimate"], last["unit"])
        words[level] = (
            f"{str(last['level_name']).capitalize()} was not measured in {year}; it was last measured in {last['year']} "
            f"({value}, {last['status']})."
        )
    return words
