"""What a level returns: its tidy tables, the caveats that travel with them, and how they were made.

Every level runner (``evaluate_reactions``, ``evaluate_learning``, ...) returns a `LevelResult`.
Its tables share the tidy schema of `plevaluate.schema` (``level, <group columns>, measure, estimate, ci_low,
ci_high, n, n_missing, method, suppressed``), so results for all schools concatenate without a
fight; its ``notes`` are the sentences a report must print beside the numbers ("3 schools
suppressed: fewer than 10 respondents", "the 24 educators with no post score scored lower at pre").
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import StatisticalWarning

if TYPE_CHECKING:
    from .chain import Cell
    from .contract import District
    from .evaluate import Evaluation
    from .power import DesignContext
    from .schema import TableSpec

__all__ = [
    "HIDDEN_STATUSES",
    "JUDGEMENTS",
    "Level",
    "LevelResult",
    "Note",
    "judge",
    "keep_nothing",
    "noting_warnings",
    "target_status",
]

#: The judgement of an estimate against a target. ``not conclusive``: the interval includes the target.
JUDGEMENTS = ("met", "not met", "not conclusive")

#: Statuses of rows whose estimate is not published (set by `plevaluate.privacy.publish`).
HIDDEN_STATUSES = ("too few people to report", "hidden to protect a smaller group")


class Note(str):
    """A caveat a reader must see with the numbers: its text, plus where it applies.

    A note *is* its text (so it prints, joins and compares as one), and carries ``level`` (0-5),
    ``scope`` (``"district"`` for the whole evaluation, or the school_id it is about; a school's
    report shows district notes and its own, never another school's) and ``kind`` (``caveat``,
    ``flag``, ``suppressed``, ``protecting``, ``missing``).

    >>> n = Note("S03: latest mean rating 1.5", level=3, scope="S03", kind="flag")
    >>> n, n.scope, n.kind
    ('S03: latest mean rating 1.5', 'S03', 'flag')
    """

    level: int
    scope: str
    kind: str

    def __new__(cls, text: str, *, level: int = 0, scope: str = "district", kind: str = "caveat") -> Note:
        note = super().__new__(cls, text)
        note.level, note.scope, note.kind = int(level), str(scope), str(kind)
        return note

    def __reduce__(self):
        return (_note, (str(self), self.level, self.scope, self.kind))

    def as_dict(self) -> dict:
        return {"text": str(self), "level": self.level, "scope": self.scope, "kind": self.kind}

    @classmethod
    def from_value(cls, value, level: int) -> Note:
        """A note from a saved dict, a plain string (a district-wide caveat of ``level``) or a note."""
        if isinstance(value, Note):
            return value
        if isinstance(value, dict):
            return cls(
                value["text"],
                level=value.get("level", level),
                scope=value.get("scope", "district"),
                kind=value.get("kind", "caveat"),
            )
        return cls(str(value), level=level)


def _note(text: str, level: int, scope: str, kind: str) -> Note:
    return Note(text, level=level, scope=scope, kind=kind)


@dataclass(frozen=True)
class LevelResult:
    """The evidence for one Guskey level.

    Attributes
    ----------
    level : int
        1 to 5.
    name : str
        The level's name in words ("participants' reactions").
    tables : Mapping[str, DataFrame]
        Named tidy tables (``"constructs"``, ``"items"``, ``"target"``, ...).
    notes : tuple of Note
        Caveats a reader must see with the numbers: doubtful analyses, rows left out, flagged schools,
        and (once published) suppressed groups. Plain strings given here become district-wide notes.
    meta : Mapping
        How the result was made: the plan values used, methods, counts of rows read.
    evidence : bool
        False when the district collected no data for this level ("no evidence collected").
    handoff : Mapping
        What later levels need from this one, computed on the full data (level 4's latest
        implementation rate of each school for level 5's dose-response; the educators using the
        practice for the cost analysis). In memory only: never saved, published or rendered.
    """

    level: int
    name: str
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()
    meta: Mapping[str, object] = field(default_factory=dict)
    evidence: bool = True
    handoff: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(Note.from_value(n, self.level) for n in self.notes))

    def notes_for(self, scope: str) -> tuple[Note, ...]:
        """The notes a report about ``scope`` shows: district-wide notes, and the school's own."""
        return tuple(n for n in self.notes if n.scope in ("district", scope))

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def _repr_html_(self) -> str:
        head = f"<h4>Level {self.level}: {html.escape(self.name)}</h4>"
        if not self.evidence:
            return head + "<p>No evidence collected for this level.</p>"
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        parts = [head, f"<ul>{notes}</ul>" if notes else ""]
        for name, table in self.tables.items():
            # to_html escapes cell text (school names and comments are untrusted)
            parts.append(f"<h5>{html.escape(name)} ({len(table)} rows)</h5>")
            parts.append(table.head(20).to_html(index=False, float_format="{:.3f}".format, na_rep=""))
        return "".join(parts)


@dataclass(frozen=True)
class Level:
    """Everything plevaluate knows about one level of evidence, in one place (`plevaluate.registry`).

    Attributes
    ----------
    number : int
        Its place in the chain of evidence: 1-5 for Guskey's levels, 0 for cost; a new level takes a new number.
    key : str
        Its entry under ``levels:`` in plan.yml (``cost`` for level 0, whose options are plan.yml's ``cost:``).
    name, question : str
        Its short name ("Reactions") and the question it answers, as reports print them.
    run : callable
        ``run(district, upstream) -> LevelResult``: the level for the district and every school, on the
        full data. ``upstream`` maps the numbers in ``needs`` to their results; nothing else crosses levels.
    headline : callable
        ``headline(result, cell) -> dict | None``: the level's chain-of-evidence row for one scope
        (`plevaluate.chain.Cell`), or None for "not measured at this scope".
    tables : Mapping[str, TableSpec]
        The tables ``run`` may return, each declared with its columns (`plevaluate.schema`).
    needs : tuple of int
        The levels whose results ``run`` reads (they run first).
    measure : callable
        ``measure(plan) -> str``: what the headline measures, in words, from the plan (a dict).
    unit : str
        The headline's unit: ``share``, ``sd``, ``rating``, ``points`` or ``dollars``.
    evidence, evidence_hidden, no_evidence : str
        What the evidence is, with a scope's ``{records}`` and ``{people}`` (from the result's
        ``coverage`` table; plain words for a level without one); the words used when a smaller
        group's counts must not be shown; and when nothing was collected.
    met, not_met, unsure, more_evidence : str
        The chain sentence's words: the level held ("teachers used it in classrooms"); it fell short
        (with ``{value}`` and ``{target}``); what is not conclusive ("classroom use"); and what data
        would settle a not-conclusive result.
    program_only : bool
        True when comparison schools take no part (their row reads "not applicable").
    effect : bool
        True when the headline is an effect, a difference between groups whose interval is read against zero as
        well as against the target (level 5): an interval that includes zero cannot tell a benefit from no
        difference; one above zero that includes the target is a modest difference, unlikely to be chance alone,
        whose size against the target is unclear; one wholly below zero is a harm, said plainly.
    sections : Mapping[str, str]
        Report sections by report: ``"module:function"``, imported when a report is rendered. ``district``,
        ``board`` and ``technical``: ``function(ev)``; ``school``: ``function(ev, school_id)``; each returns a
        displayable object (a `plevaluate.report.toolkit.Section`). Two entries return sentences instead:
        ``findings`` (``function(ev) -> list[str]``, the board summary's "What we found") and ``next_steps``
        (``function(ev, school_id) -> list[str]``, the school report's "What to do next"; the level's row of the
        chain is then not restated there).
    target_model : type, optional
        A pydantic model of the level's plan.yml entry (levels added by a plugin; built-in levels are
        declared in `plevaluate.plan`).
    privacy : tuple of plevaluate.privacy.Rule
        How each of its tables that counts people is suppressed when published (`plevaluate.privacy`);
        a table without a rule is published as computed, so it must hold no count of fewer than
        ``min_n`` people.
    years : callable, optional
        ``years(district, evaluations) -> dict[str, DataFrame]``: the level's own tables over several school years
        (`plevaluate.years.evaluate_years`, which hands it every year's published evaluation), by the name they
        take in ``Evaluation.extras``.
    years_tables : Mapping[str, TableSpec]
        The tables ``years`` may return, declared (`plevaluate.schema`).
    portfolio : callable, optional
        ``portfolio(ev) -> dict``: the level's part of the district portfolio (`plevaluate.portfolio`): ``costs``
        (measure, unit, estimate, status) and ``funding`` (funding_source, cost) of one program's evaluation.
    design : callable, optional
        ``design(context) -> dict``: the level's row of the design check (`plevaluate.design.check_design`),
        from a `plevaluate.power.DesignContext`; a level without one is listed there as not checked.
    parts : Parts, optional
        How the level computes from parts of its largest table where the parts are (a Dask cluster): `Parts`.
    """

    number: int
    key: str
    name: str
    question: str
    run: Callable[[District, Mapping[int, LevelResult]], LevelResult]
    headline: Callable[[LevelResult, Cell], dict | None]
    tables: Mapping[str, TableSpec] = field(default_factory=dict)
    needs: tuple[int, ...] = ()
    measure: Callable[[dict], str] = lambda plan: ""
    unit: str = "share"
    evidence: str = "{records} records"
    no_evidence: str = "no evidence collected"
    evidence_hidden: str = "counts not shown (protects a smaller group)"
    met: str = ""
    not_met: str = ""
    unsure: str = ""
    more_evidence: str = "more evidence would settle it"
    program_only: bool = True
    effect: bool = False
    sections: Mapping[str, str] = field(default_factory=dict)
    target_model: type | None = None
    privacy: tuple = ()
    years: Callable[[District, Mapping[str, Evaluation]], Mapping[str, pd.DataFrame]] | None = None
    years_tables: Mapping[str, TableSpec] = field(default_factory=dict)
    portfolio: Callable[[Evaluation], Mapping[str, pd.DataFrame | None]] | None = None
    design: Callable[[DesignContext], dict] | None = None
    parts: Parts | None = None


def keep_nothing(frame: pd.DataFrame, district: District) -> pd.DataFrame:
    """Nothing of the table travels with the year (`Parts.keep`)."""
    return frame.iloc[:0, :0]


def no_facts(part) -> dict:
    """A part tells the layout nothing (`Parts.facts`: parts that agree on nothing beforehand)."""
    return {}


def no_layout(facts: list[dict]) -> None:
    """No layout (`Parts.layout`, with `no_facts`)."""
    return None


@dataclass(frozen=True)
class Parts:
    """How a level computes from parts of one of its tables, each summed where it is, so that the table's rows need
    not meet in one process (`plevaluate.years.evaluate_on_cluster`). The level's ``run`` then finds
    ``district.summaries[number] = (layout, sums)`` in place of the rows, and must give the tables it gives from the
    rows (to 1e-9). Two levels may sum the same table (levels 1 and 3, reactions.csv), each its own way.

    Attributes
    ----------
    table : str
        The table split (``students``).
    key : str
        The column whose rows stay in one part (``student_id``: a student's periods are linked inside a part), in
        every frame ``prepare`` gives.
    prepare : callable
        ``prepare(frame, district) -> frame`` or a tuple of frames split alike by ``key`` (the survey's answers, each
        response's scores and who attended which session, by educator): what each part needs added before it is
        read (level 5's treatment). A `ValueError` says the level cannot read the table: it then travels whole.
    facts, layout : callable
        ``facts(part) -> dict`` of each part, and ``layout([facts, ...])``: what every part must agree on.
    summarize, combine : callable
        ``summarize(part, layout) -> sums`` and ``combine([sums, ...]) -> sums``.
    keep : callable
        ``keep(frame, district) -> frame``: the rows and columns of the table the rest of the evaluation still reads
        (level 5: the student IDs an approved quote could name, for the quotes' redactor); they travel with the year,
        the rest stays in the parts. By default nothing (`keep_nothing`).
    hold, refine : callable, optional
        For what needs more than one round of the parts (level 4's GEE models: each step's sums at its
        coefficients): ``hold(part)`` is what each part keeps where it is, once summed, and ``refine(sums, ask) ->
        sums`` completes the added sums, where ``ask(function, *args)`` gives ``[function(held, *args)]`` for every
        part's ``held``. The parts are forgotten once ``refine`` returns.
    """

    table: str
    key: str
    prepare: Callable[[pd.DataFrame, District], pd.DataFrame]
    facts: Callable[[pd.DataFrame], dict]
    layout: Callable[[list], Any]
    summarize: Callable[[pd.DataFrame, Any], Any]
    combine: Callable[[list], Any]
    keep: Callable[[pd.DataFrame, District], pd.DataFrame] = keep_nothing
    hold: Callable[[Any], Any] | None = None
    refine: Callable[[Any, Callable[..., list]], Any] | None = None


@contextmanager
def noting_warnings(notes: list[str]) -> Iterator[None]:
    """Append the message of every `StatisticalWarning` raised inside the block to ``notes``, then re-issue it.

    The caveat then travels with the result (and reaches the report) and still reaches whoever is
    watching warnings.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, StatisticalWarning):
            notes.append(str(warning.message))
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def judge(estimate: float, low: float, high: float, target: float) -> str:
    """``met`` when the whole interval is at or above ``target``, ``not met`` when it is entirely below,
    ``not conclusive`` when it includes the target; ``""`` when any number is missing.

    A point estimate without an interval (a rubric rating) is judged on its own: ``low = high = estimate``.

    >>> judge(0.8, 0.75, 0.85, 0.7), judge(0.72, 0.6, 0.8, 0.7), judge(0.5, 0.4, 0.6, 0.7)
    ('met', 'not conclusive', 'not met')
    """
    if any(v is None or pd.isna(v) for v in (estimate, low, high, target)):
        return ""
    if low >= target:
        return "met"
    if high < target:
        return "not met"
    return "not conclusive"


def target_status(table: pd.DataFrame, target: float | None) -> pd.DataFrame:
    """Add the plan's target and the judgement of each estimate against it.

    Returns
    -------
    DataFrame
        ``table`` plus ``target``; ``met`` (the point estimate is at or above the target; missing
        without an estimate or a target) and ``status`` (`judge`): ``met`` when the whole interval
        is at or above the target, ``not met`` when it is entirely below, ``not conclusive`` when it
        includes the target, ``no target`` without one. Statistics are judged on the full data;
        `plevaluate.privacy.publish` later replaces the status of rows it hides.

    Examples
    --------
    >>> t = pd.DataFrame({"estimate": [0.8, 0.72, 0.5], "ci_low": [0.75, 0.6, 0.4], "ci_high": [0.85, 0.8, 0.6]})
    >>> target_status(t, 0.7)["status"].tolist()
    ['met', 'not conclusive', 'not met']
    """
    out = table.copy()
    out["target"] = np.nan if target is None else float(target)
    estimate = out["estimate"].astype(float)
    known = estimate.notna() & out["target"].notna()
    out["met"] = (estimate >= out["target"]).where(known).astype("boolean")
    status = [
        judge(e, lo, hi, t) or ("no target" if pd.isna(t) else "not estimable")
        for e, lo, hi, t in zip(estimate, out["ci_low"], out["ci_high"], out["target"])
    ]
    out["status"] = status
    return out
