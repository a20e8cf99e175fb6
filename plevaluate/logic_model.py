"""The program's logic model, drawn from its plan: ESSA's Tier 4, "demonstrates a rationale".

Tier 4 evidence asks for a logic model informed by research, and for ongoing efforts to examine the program's
effects. A plan already holds most of a logic model: each Guskey level's intended result, its measure and its
target (``levels:``), the observable practice, the description, and the rationale with the research it rests
on (``rationale:``, `plevaluate.plan.Rationale`). `logic_model` lays them out as data, in the columns a logic
model reads from left to right:

1. **resources**: the budget from costs.csv (its total and each funding source's share) and participants'
   time, valued at the plan's ``educator_hourly_rate``; "not yet recorded" before any cost is;
2. **activities**: the PL formats from sessions.csv (sessions and hours of each), or the plan's description
   before any session is recorded;
3. **participants' reactions and learning**, 4. **organization support and classroom use** (with the plan's
   ``observable_practice``) and 5. **student outcomes**: one box per level of `plevaluate.registry` (a level
   added by a plugin joins the column of the built-in level numbered just below it), each with the plan's
   result, measure and target written in the level's unit (a share as a percentage, an effect in SD).

Beside the boxes: the research the plan cites (``rationale.references``, with the link each supports) and the
evaluation schedule, which level is measured when. With data the schedule is read from the records themselves
(the month range of the surveyed sessions, the learning assessments, the conditions ratings' terms, the
walkthroughs, the students' test springs); with a plan alone it is what the plan implies ("after each
session", "pre and post", level 4's target "by May 2027").

Everything here is plan text and dated records: no statistic about people, so nothing to suppress. The
tables (`TABLES`) travel in the results bundle as ``Evaluation.extras`` (`plevaluate.render` adds them), and the
report ``logic-model`` (``notebooks/logic_model.ipynb``, `plevaluate.report.logic_model`) presents them.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import registry
from ._tidy import school_year, terms
from .contract import TABLES as INPUT_TABLES
from .contract import WORKBOOK_SUFFIXES, District, load
from .figures import number, words
from .gates import read_bytes
from .held import HeldTable, LostPart
from .plan import Plan, plan_years, read_plan
from .schema import TableSpec
from .version import __version__

if TYPE_CHECKING:
    from .evaluate import Evaluation
    from .results import Level

__all__ = ["STAGES", "TABLES", "LogicModel", "from_evaluation", "from_folder", "logic_model"]

#: The logic model's columns, left to right: key -> heading.
STAGES: Mapping[str, str] = MappingProxyType(
    {
        "resources": "Resources",
        "activities": "Activities",
        "participants": "Participants' reactions and learning",
        "schools": "Organization support and classroom use",
        "students": "Student outcomes",
    }
)

#: The column each built-in level's box stands in, by its plan key.
_STAGE_OF = MappingProxyType(
    {
        "reactions": "participants",
        "learning": "participants",
        "organization": "schools",
        "practice": "schools",
        "outcomes": "students",
    }
)

#: The level the plan's ``observable_practice`` is about (its box shows it).
_PRACTICE = "practice"

_MODULE = "plevaluate.logic_model"

#: The tables a logic model publishes (in the results bundle as ``Evaluation.extras``), declared.
TABLES: Mapping[str, TableSpec] = MappingProxyType({
    "logic_model": TableSpec("diagnostic",
                        "stage stage_name level level_name box funding_source format result measure target unit "
                        "target_text detail cost hours sessions",
                        "one line of a box of the logic model: a box's first line names it (a level's result, "
                        "measure and target; the budget's total; the PL sessions' total), the lines after it "
                        "detail it (a funding source, a PL format)", built_by=_MODULE),
    "logic_model_references": TableSpec("diagnostic", "citation supports url",
                        "the research the plan cites (rationale.references) and the link of the logic model each "
                        "supports", built_by=_MODULE),
    "logic_model_schedule": TableSpec("diagnostic",
                        "level level_name when first_collected last_collected source",
                        "when a level's evidence is collected: from the dated records when there are any, else as "
                        "the plan implies", built_by=_MODULE),
    "logic_model_about": TableSpec("diagnostic", "program years description observable_practice summary",
                        "the program the logic model is about (one row, from the plan)", built_by=_MODULE),
})  # fmt: skip

_BOX_COLUMNS = list(TABLES["logic_model"].columns)

_MONTHS = (
    "January February March April May June July August September October November December".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class LogicModel:
    """A program's logic model as data (`logic_model`).

    Attributes
    ----------
    about : DataFrame
        One row: program, years (the school years the plan names), description, observable_practice, summary
        (the rationale in words).
    boxes : DataFrame
        One row per line of a box, in reading order: stage (`STAGES`), stage_name, level, level_name, box (the
        box's heading in words), funding_source, format, result, measure, target (the plan's, in ``unit``),
        unit, target_text (the target in words: ``70%``, ``0.10 SD``, one per year when the plan sets
        ``targets:``; with level 4's ``by_month``, ``60% by May 2026``), detail (what else the box says: level 4's
        observable practice, a PL format in words), cost (dollars), hours and sessions (PL sessions).
    references : DataFrame
        citation, supports, url: the research the plan cites.
    schedule : DataFrame
        level, level_name, when (in words), first_collected and last_collected (a month ``2025-09``, or for
        student outcomes a test spring ``2026``; empty when only the plan says), source (the records read, or
        ``plan.yml``).
    provenance : Mapping
        plevaluate_version, drawn_at (a model saved with an evaluation: its evaluated_at), data_folder, plan_sha256, and
        ``evidence``: ``data`` when records were read, ``plan`` for a plan alone.
    """

    about: pd.DataFrame
    boxes: pd.DataFrame
    references: pd.DataFrame
    schedule: pd.DataFrame
    provenance: Mapping[str, str] = field(default_factory=dict)

    @property
    def program(self) -> str:
        return str(self.about["program"].iloc[0])

    @property
    def years(self) -> str:
        return str(self.about["years"].iloc[0])

    def tables(self) -> dict[str, pd.DataFrame]:
        """The published tables (`TABLES`), by the name they take in ``Evaluation.extras``."""
        return {
            "logic_model": self.boxes,
            "logic_model_references": self.references,
            "logic_model_schedule": self.schedule,
            "logic_model_about": self.about,
        }

    def _repr_html_(self) -> str:
        shown = self.boxes[["stage_name", "box", "result", "measure", "target_text", "detail"]]
        return shown.to_html(index=False, na_rep="")  # escapes every cell


def logic_model(
    plan: Plan,
    district: District | None = None,
    levels: Iterable[Level] | None = None,
    *,
    provenance: Mapping[str, str] | None = None,
) -> LogicModel:
    """The program's logic model from its plan, and from ``district``'s records for what the plan does not say.

    Parameters
    ----------
    plan : Plan
        The plan (``district.plan`` when a data folder is loaded): the program, each level's result, measure and
        target, the observable practice and the rationale.
    district : District, optional
        The data: costs.csv gives the resources, sessions.csv the activities, and the dated records of every
        level the evaluation schedule. Without it (a plan and nothing else yet) those come from the plan.
    levels : iterable of Level, optional
        The levels of evidence (`plevaluate.registry.levels`, the default): one box and one schedule row each
        (cost, level 0, is the resources column).
    provenance : mapping, optional
        What the model was drawn from (`LogicModel.provenance`); by default this version and the time now.

    Returns
    -------
    LogicModel

    Examples
    --------
    >>> from plevaluate import read_plan
    >>> model = logic_model(read_plan("data/sample/plan.yml"))
    >>> model.boxes.loc[model.boxes["level"] == 4, ["stage", "target_text"]].values.tolist()
    [['schools', '60% by May 2026']]
    >>> model.schedule.loc[model.schedule["level"] == 1, "when"].iloc[0]
    'after each session (an end-of-session survey)'
    """
    chosen = [level for level in (registry.levels() if levels is None else levels) if level.number >= 1]
    chosen.sort(key=lambda level: level.number)
    tables = _tables(district)
    rows = _resources(plan, tables) + _activities(plan, tables) + _level_boxes(plan, chosen)
    boxes = pd.DataFrame(rows)
    for column in _BOX_COLUMNS:
        if column not in boxes:
            boxes[column] = np.nan
    boxes = boxes[_BOX_COLUMNS]
    boxes["level"] = boxes["level"].astype("Int64")
    for column in ("target", "cost", "hours"):
        boxes[column] = boxes[column].astype(float)
    boxes["sessions"] = boxes["sessions"].astype("Int64")
    references = pd.DataFrame(
        [{"citation": r.citation, "supports": r.supports, "url": r.url} for r in plan.rationale.references],
        columns=["citation", "supports", "url"],
        dtype="string",
    )
    schedule = pd.DataFrame([_schedule_row(plan, tables, level) for level in chosen], columns=_SCHEDULE)
    schedule["level"] = schedule["level"].astype("Int64")
    about = pd.DataFrame(
        [
            {
                "program": plan.program,
                "years": plan.school_year,
                "description": plan.description,
                "observable_practice": plan.observable_practice,
                "summary": plan.rationale.summary,
            }
        ],
        dtype="string",
    )
    made = {
        "plevaluate_version": __version__,
        "drawn_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # "data" when any box or date was read from records (a starter kit's item bank alone is not evidence)
        "evidence": "data"
        if {"costs", "sessions"} & set(tables) or schedule["first_collected"].ne("").any()
        else "plan",
    }
    return LogicModel(about, _strings(boxes), references, _strings(schedule), {**made, **(provenance or {})})


def from_folder(path: str | Path, levels: Iterable[Level] | None = None) -> LogicModel:
    """The logic model of a data folder: loaded and validated (`plevaluate.load`) when it holds any table, or
    from its ``plan.yml`` alone when it holds nothing else yet (a program being planned).

    Raises `plevaluate.ContractError` (or `PlanError`) naming every problem, as `plevaluate.load` does."""
    folder = Path(path)
    levels = registry.levels() if levels is None else tuple(levels)
    plan_file = folder / "plan.yml"
    is_book = folder.suffix.lower() in WORKBOOK_SUFFIXES and not folder.is_dir()
    has_tables = is_book or any((folder / spec.filename).exists() for spec in INPUT_TABLES.values())
    has_tables = has_tables or any(p.suffix.lower() in WORKBOOK_SUFFIXES for p in folder.glob("*") if p.is_file())
    if not has_tables and plan_file.exists():
        plan = read_plan(plan_file, levels)
        digest = hashlib.sha256(read_bytes(plan_file, kind="yaml")).hexdigest()
        return logic_model(plan, None, levels, provenance={"data_folder": folder.name, "plan_sha256": digest})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # `plevaluate validate` prints them; a logic model does not depend on them
        district = load(folder)
    digest = district.file_hashes.get("plan.yml", "")
    return logic_model(district.plan, district, levels, provenance={"data_folder": folder.name, "plan_sha256": digest})


def from_evaluation(ev: Evaluation) -> LogicModel | None:
    """The logic model saved with an evaluation (``Evaluation.extras``, as `plevaluate.render` saves it), or None
    when the evaluation carries none."""
    if not all(name in ev.extras for name in TABLES):
        return None
    made = ev.provenance
    provenance = {
        "plevaluate_version": str(made.get("plevaluate_version", "")),
        "evaluated_at": str(made.get("evaluated_at", "")),
        "data_folder": str(made.get("data_folder", "")),
        "plan_sha256": str(made.get("file_hashes", {}).get("plan.yml", "")),
        "evidence": "data",
    }
    return LogicModel(
        ev.extras["logic_model_about"],
        ev.extras["logic_model"],
        ev.extras["logic_model_references"],
        ev.extras["logic_model_schedule"],
        provenance,
    )


# ---- the boxes ----


def _tables(district: District | None) -> dict[str, pd.DataFrame]:
    """The district's tables that hold rows (none without a district)."""
    if district is None:
        return {}
    tables = {name: frame for name, frame in district.tables.items() if frame is not None and len(frame)}
    try:  # students held on a cluster (`plevaluate.held`): only their springs and periods are read (`_students`)
        held = [name for name, frame in tables.items() if isinstance(frame, HeldTable)]
        for name in held:
            tables[name] = pd.concat(tables[name].map(_springs_and_periods), ignore_index=True)
    except LostPart:  # a part lost with its worker: the students read again here
        return _tables(district.here())
    return tables


def _resources(plan: Plan, tables: Mapping[str, pd.DataFrame]) -> list[dict]:
    stage = {"stage": "resources", "stage_name": STAGES["resources"]}
    rows: list[dict] = []
    costs = tables.get("costs")
    if costs is not None:
        amount = pd.to_numeric(costs["amount"], errors="coerce")
        source = costs["funding_source"].astype("string").fillna("funding source not stated")
        rows.append({**stage, "box": "Budget", "cost": float(amount.sum()), "unit": "dollars",
                     "detail": f"costs.csv, all funding sources{_years_of(costs)}"})  # fmt: skip
        by_source = amount.groupby(source, sort=False).sum().sort_values(ascending=False, kind="stable")
        rows += [
            {**stage, "box": "Budget", "funding_source": name, "cost": float(value), "unit": "dollars"}
            for name, value in by_source.items()
        ]
    else:
        rows.append({**stage, "box": "Budget", "detail": "not yet recorded (costs.csv)"})
    rate = plan.educator_hourly_rate
    if not plan.cost.include_participant_time:
        time = "not valued: the cost analysis counts the budget only (cost.include_participant_time: false)"
    elif rate > 0:
        time = f"participants' hours of professional learning, valued at ${rate:,.2f} an hour"
    else:
        time = "not yet valued (the plan's educator_hourly_rate is not set)"
    rows.append({**stage, "box": "Educators' time", "detail": time})
    return rows


def _years_of(costs: pd.DataFrame) -> str:
    """The school years the budget's lines fall in, as the box says them: a program's budget over three years read
    as this year's beside the reports' cost of the latest year (a reader's review: $910,302 and $525,669)."""
    years = sorted({y for y in school_year(costs["date"]).dropna() if y}) if "date" in costs else []
    if len(years) > 1:
        return f", {years[0]} to {years[-1]} together (each year's reports count that year's)"
    return f", {years[0]}" if years else ""


def _format_words(code: str) -> str:
    """A session format as a box says it: ``PLC``, ``learning walk``."""
    return "PLC" if str(code).lower() == "plc" else words(code)


def _activities(plan: Plan, tables: Mapping[str, pd.DataFrame]) -> list[dict]:
    stage = {"stage": "activities", "stage_name": STAGES["activities"]}
    sessions = tables.get("sessions")
    if sessions is None:
        detail = plan.description or "not yet recorded (sessions.csv)"
        return [{**stage, "box": "Planned activities", "detail": detail}]
    hours = pd.to_numeric(sessions["hours"], errors="coerce")
    rows = [{**stage, "box": "PL sessions", "sessions": len(sessions), "hours": float(hours.sum())}]
    order = sessions.assign(hours=hours).sort_values("date", kind="stable") if "date" in sessions else sessions
    for code, part in order.groupby("format", sort=False):  # in the order each format first met
        rows.append(
            {
                **stage,
                "box": "PL sessions",
                "format": code,
                "detail": _format_words(code),
                "sessions": len(part),
                "hours": float(pd.to_numeric(part["hours"], errors="coerce").sum()),
            }
        )
    return rows


def _stage_of(level: Level, levels: list[Level]) -> str:
    """A level's column: its own for a built-in level; a plugin's joins the built-in level numbered below it."""
    if level.key in _STAGE_OF:
        return _STAGE_OF[level.key]
    below = [other for other in levels if other.key in _STAGE_OF and other.number < level.number]
    return _STAGE_OF[max(below, key=lambda other: other.number).key] if below else "participants"


def _level_boxes(plan: Plan, levels: list[Level]) -> list[dict]:
    rows = []
    years = plan_years(plan.school_year)
    for level in levels:
        goal = getattr(plan.levels, level.key, None)
        stage = _stage_of(level, levels)
        target = getattr(goal, "target", None)
        by_year = dict(getattr(goal, "targets", {}) or {})
        latest = by_year.get(years[-1], target)
        detail = plan.observable_practice if level.key == _PRACTICE else ""
        text = _target_text(target, by_year, years, level.unit)
        month = getattr(goal, "by_month", None)
        if month and text != "no target set":
            text += f", each by {_MONTHS[month - 1]}" if len(years) > 1 else f" by {_by_month(month, years)}"
        rows.append(
            {
                "stage": stage,
                "stage_name": STAGES[stage],
                "level": level.number,
                "level_name": level.name,
                "box": f"Level {level.number}. {level.name}",
                "result": getattr(goal, "result", "") or "",
                "measure": getattr(goal, "measure", "") or "",
                "target": np.nan if latest is None else float(latest),
                "unit": level.unit,
                "target_text": text,
                "detail": detail,
            }
        )
    return rows


def _target_text(target: float | None, by_year: Mapping[str, float], years: list[str], unit: str) -> str:
    """The plan's target in its unit's words (``70%``, ``0.50 SD``); one per school year when ``targets:`` sets
    any (``40% in 2023-24, 55% in 2024-25``); ``no target set`` when there is none."""
    if by_year and len(years) > 1:
        said = [
            f"{number(by_year.get(year, target), unit)} in {year}"
            for year in years
            if by_year.get(year, target) is not None
        ]
        return ", ".join(said) or "no target set"
    value = by_year.get(years[-1], target)
    return "no target set" if value is None else number(value, unit)


def _by_month(month: int, years: list[str]) -> str:
    """``May 2026`` (the month in the plan's one school year, August to July), or ``May of each school year``."""
    if len(years) > 1:
        return f"{_MONTHS[month - 1]} of each school year"
    start = int(years[0][:4]) if years[0][:4].isdigit() else None
    if start is None:
        return _MONTHS[month - 1]
    return f"{_MONTHS[month - 1]} {start if month >= 8 else start + 1}"


# ---- the schedule ----

_SCHEDULE = ["level", "level_name", "when", "first_collected", "last_collected", "source"]


def _month(value) -> str:
    return f"{value:%Y-%m}"


def _months_words(first, last) -> str:
    """``September 2025 to May 2026``; one month once."""
    a, b = f"{_MONTHS[first.month - 1]} {first.year}", f"{_MONTHS[last.month - 1]} {last.year}"
    return a if a == b else f"{a} to {b}"


def _dated(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["date"], errors="coerce").dropna() if "date" in frame else pd.Series(dtype="M8[ns]")


def _reactions(plan, tables, goal) -> dict | None:
    answers, sessions = tables.get("reactions"), tables.get("sessions")
    if answers is None or sessions is None or "session_id" not in answers:
        return None
    surveyed = sessions[sessions["session_id"].isin(answers["session_id"].dropna())]
    dates = _dated(surveyed)
    if dates.empty:
        return None
    count = surveyed["session_id"].nunique()
    return {
        "when": f"after each session: {count} surveyed, {_months_words(dates.min(), dates.max())}",
        "first_collected": _month(dates.min()),
        "last_collected": _month(dates.max()),
        "source": "reactions.csv and sessions.csv",
    }


def _learning(plan, tables, goal) -> dict | None:
    scores = tables.get("learning")
    if scores is None:
        return None
    dates = _dated(scores)
    if dates.empty:
        return {"when": "pre and post (the assessments are not dated)", "first_collected": "", "last_collected": "",
                "source": "learning.csv"}  # fmt: skip
    occasions = scores.loc[dates.index, "occasion"].astype("string").str.lower()
    said = [
        f"{occasion} {_months_words(part.min(), part.max())}"
        for occasion in ("pre", "post")
        if not (part := dates[occasions == occasion]).empty
    ]
    return {
        "when": "; ".join(said) or _months_words(dates.min(), dates.max()),
        "first_collected": _month(dates.min()),
        "last_collected": _month(dates.max()),
        "source": "learning.csv",
    }


def _conditions(plan, tables, goal) -> dict | None:
    ratings = tables.get("conditions")
    if ratings is None:
        return None
    dates = _dated(ratings)
    if dates.empty:
        return None
    rated = terms(dates).drop_duplicates("term").sort_values("term_order")
    labels = list(rated["term"])
    if len({label.split(" ")[0] for label in labels}) == 1:  # one school year: its terms by name
        names = [label.split(" ", 1)[1] for label in labels]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
        when = f"each term: {listed} {labels[0].split(' ')[0]}"
    else:
        when = f"each term: {labels[0]} to {labels[-1]}, {len(labels)} terms"
    return {
        "when": when,
        "first_collected": _month(dates.min()),
        "last_collected": _month(dates.max()),
        "source": "conditions.csv",
    }


def _observations(plan, tables, goal) -> dict | None:
    visits = tables.get("observations")
    if visits is None:
        return None
    dates = _dated(visits)
    if dates.empty:
        return None
    return {
        "when": f"walkthroughs, {_months_words(dates.min(), dates.max())}",
        "first_collected": _month(dates.min()),
        "last_collected": _month(dates.max()),
        "source": "observations.csv",
    }


def _springs(years: Iterable[int]) -> str:
    """The test springs: ``2026``, ``2023 to 2026``, or ``2023, 2025``."""
    years = sorted(set(years))
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]} to {years[-1]}"
    return ", ".join(str(y) for y in years)


def _students(plan, tables, goal) -> dict | None:
    scores = tables.get("students")
    if scores is None or "year" not in scores:
        return None
    year = pd.to_numeric(scores["year"], errors="coerce")
    if year.dropna().empty:
        return None
    if "period" in scores and scores["period"].notna().any():
        period = scores["period"].astype("string").str.lower()
        pre, post = year[period == "pre"].dropna().astype(int), year[period == "post"].dropna().astype(int)
        said = [f"spring {_springs(pre)} tests (before)"] * (not pre.empty)
        said += [f"spring {_springs(post)} tests (after)"] * (not post.empty)
        when = " and ".join(said)
    else:
        when = f"spring tests, {_springs(year.dropna().astype(int))}, each against the spring before"
    return {
        "when": when,
        "first_collected": str(int(year.min())),
        "last_collected": str(int(year.max())),
        "source": "students.csv",
    }


def _springs_and_periods(part: pd.DataFrame) -> pd.DataFrame:
    return part[[c for c in ("year", "period") if c in part]].drop_duplicates()


#: How each dated input table says when its level's evidence was collected, by the data contract's table name.
_FROM_DATA = MappingProxyType(
    {
        "reactions": _reactions,
        "learning": _learning,
        "conditions": _conditions,
        "observations": _observations,
        "students": _students,
    }
)


def _planned(table: str, plan: Plan, goal) -> str:
    """When a level's evidence is collected, as the plan implies, by the input table that will hold it."""
    years = plan_years(plan.school_year)
    if table == "reactions":
        return "after each session (an end-of-session survey)"
    if table == "learning":
        return "pre and post: before the learning starts and at the end of the year"
    if table == "conditions":
        return "each term: fall, winter and spring"
    if table == "observations":
        month = getattr(goal, "by_month", None)
        return "walkthroughs through the year" + (f", the target by {_by_month(month, years)}" if month else "")
    if table == "students":
        starts = [int(y[:4]) for y in years if y[:4].isdigit()]
        if not starts:
            return "each spring's test, against the spring before"
        if len(starts) == 1:
            return f"spring {starts[0] + 1} tests, against spring {starts[0]} (before)"
        return f"spring tests, {starts[0]} (before) to {starts[-1] + 1}, each against the spring before"
    return ""


def _schedule_row(plan: Plan, tables: Mapping[str, pd.DataFrame], level: Level) -> dict:
    goal = getattr(plan.levels, level.key, None)
    own = [name for name, spec in INPUT_TABLES.items() if spec.level == str(level.number)]
    row = {"level": level.number, "level_name": level.name}
    for name in own:
        rule = _FROM_DATA.get(name)
        found = rule(plan, tables, goal) if rule is not None else None
        if found:
            return {**row, **found}
    for name in own:
        said = _planned(name, plan, goal)
        if said:
            missing = "" if not tables else f" (no dated {name}.csv yet)"
            return {**row, "when": said, "first_collected": "", "last_collected": "", "source": f"plan.yml{missing}"}
    return {**row, "when": "as its evidence is collected (the plan sets no schedule for it)", "first_collected": "",
            "last_collected": "", "source": "plan.yml"}  # fmt: skip


def _strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as ``string`` (they round-trip through the results bundle's CSVs unchanged)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].astype("string")
    return out
