"""The chain of evidence: for the district and each school, one row per level of the registry.

Each row carries the scope's own evidence (what was collected, with that scope's counts), the
headline estimate and interval, the plan's target and a status; `chain_sentence` says in words
where the chain holds, where it first breaks, and which levels the data cannot judge yet. The
rows come from each level's ``headline`` (`plevaluate.registry`); this module knows no level.
Both tables are declared here (`TABLES`, `plevaluate.schema`).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .privacy import coded_share, format_n
from .results import HIDDEN_STATUSES, Level, LevelResult
from .schema import TableSpec
from .vocabulary import RATING_WORDS

__all__ = [
    "RATING_WORDS",
    "STATUSES",
    "STATUS_MEANINGS",
    "TABLES",
    "Cell",
    "chain_of_evidence",
    "chain_sentence",
    "chain_sentences",
    "from_target",
    "hidden",
    "against_zero",
    "judged",
]

#: The status a chain-of-evidence row can have.
STATUSES = (
    "met",
    "not met",
    "not conclusive",
    "not yet measured",
    "too few people to report",
    "hidden to protect a smaller group",
    "no target set",
    "not applicable",
    "not estimable",
    "reported",
)

#: What each status means, in plain words (reports print these beside the badges).
STATUS_MEANINGS = {
    "met": "the whole interval is at or above the target",
    "not met": "the whole interval is below the target",
    "not conclusive": "the interval includes the target: the data cannot tell whether it was met",
    "too few people to report": "fewer people than the reporting minimum",
    "hidden to protect a smaller group": "hidden so that a smaller group's result cannot be worked out",
    "no target set": "the plan sets no target for this level",
    "not yet measured": "no evidence was collected",
    "not applicable": "not part of the program",
    "not estimable": "too little data for an estimate",
    "reported": "reported without a target",
}

#: The tables this module builds, declared (`plevaluate.schema`): ``Evaluation.chain`` and ``Evaluation.sentences``.
TABLES = {
    "chain": TableSpec("diagnostic", "scope level level_name question evidence measure unit estimate ci_low ci_high target n status status_detail",
                       "one scope (the district or a school) at one level: its evidence, headline estimate in its unit, "
                       "interval, target and status (n: the people, or else the units, the headline rests on)"),
    "sentences": TableSpec("diagnostic", "scope sentence",
                       "where a scope's chain of evidence holds, where it first breaks, and what cannot be judged yet"),
}  # fmt: skip


@dataclass(frozen=True)
class Cell:
    """One chain-of-evidence row being built: the level, the scope and the words around the estimate.

    Attributes
    ----------
    level : Level
        The registry entry.
    scope : str
        ``district`` or a school_id (the row's scope column).
    school_id : str or None
        None for the district.
    evidence : str
        What the scope's evidence rests on, with its counts (`evidence`).
    plan : dict
        The plan as evaluated.
    comparison : bool
        True for a comparison school.
    """

    level: Level
    scope: str
    school_id: str | None
    evidence: str
    plan: dict
    comparison: bool = False

    @property
    def min_n(self) -> int:
        return int(self.plan.get("min_n", 10))

    def row(
        self,
        estimate=np.nan,
        low=np.nan,
        high=np.nan,
        target=np.nan,
        status="not yet measured",
        detail="",
        n=np.nan,
        *,
        measure: str | None = None,
        unit: str | None = None,
        evidence: str | None = None,
    ) -> dict:
        """A chain row of this cell; ``measure`` and ``unit`` default to the level's headline."""
        return {
            "scope": self.scope,
            "level": self.level.number,
            "level_name": self.level.name,
            "question": self.level.question,
            "evidence": self.evidence if evidence is None else evidence,
            "measure": self.level.measure(self.plan) if measure is None else measure,
            "unit": self.level.unit if unit is None else unit,
            "estimate": estimate,
            "ci_low": low,
            "ci_high": high,
            "target": target,
            "n": n,
            "status": status,
            "status_detail": detail or status,
        }


def _status(status: str) -> str:
    return {"no target": "no target set"}.get(status, status)


def judged(status: str, effect: bool, low: float, high: float) -> str:
    """What a status means, in words; for an effect (`plevaluate.results.Level.effect`) also what its interval
    says against zero (`against_zero`)."""
    detail = STATUS_MEANINGS.get(status, status)
    if effect and status in ("met", "not met", "not conclusive"):
        zero = against_zero(status, low, high)
        if zero:
            detail += f"; {zero}"
    return detail


#: An effect whose interval excludes zero and includes the target, in words: "benefit" and "real" read as the
#: program's doing, which a comparison without a lottery cannot show (a reader's review).
EXCLUDES_ZERO = "a modest difference, unlikely to be chance alone, though whether it reaches the target is unclear"


def against_zero(status: str, low: float, high: float) -> str:
    """What an effect's interval says against zero, beside its status against the target ("" when nothing
    needs adding: a met target is a benefit already).

    >>> against_zero("not conclusive", -0.02, 0.23)
    'the interval also includes zero: the data cannot tell a benefit from no difference'
    >>> against_zero("not conclusive", 0.02, 0.16)
    'the interval excludes zero: a modest difference, unlikely to be chance alone, though whether it reaches the target is unclear'
    >>> against_zero("not met", -0.30, -0.05)
    'the whole interval is below zero: the program group scored lower than the comparison group'
    """
    if pd.isna(low) or pd.isna(high):
        return ""
    if low <= 0 <= high:
        return "the interval also includes zero: the data cannot tell a benefit from no difference"
    if high < 0:
        return "the whole interval is below zero: the program group scored lower than the comparison group"
    if status == "not conclusive":
        return f"the interval excludes zero: {EXCLUDES_ZERO}"
    if status == "not met":
        return "the interval excludes zero: a difference unlikely to be chance alone, though smaller than the target"
    return ""


def hidden(row) -> str | None:
    """The status of a published row that suppression hid, or None when it is shown."""
    if not bool(row.get("suppressed", False)):
        return None
    return HIDDEN_STATUSES[1] if bool(row.get("complementary", False)) else HIDDEN_STATUSES[0]


def school_row(frame: pd.DataFrame, school_id: str) -> dict | None:
    """The first row of ``frame`` about one school, as a dict (None when there is none): what
    ``frame[frame["school_id"] == school_id].iloc[0]`` gives, from a lookup built once per table, so that
    asking for every school costs the table once, not once per school (the chain of evidence asks for
    each school at each level)."""
    key = id(frame)
    entry = _BY_SCHOOL.get(key)
    if entry is None or entry[0]() is not frame or entry[1] != len(frame):
        first = frame[frame["school_id"].notna()].drop_duplicates("school_id", keep="first")
        entry = (
            weakref.ref(frame, lambda _, k=key: _BY_SCHOOL.pop(k, None)),
            len(frame),
            dict(zip(first["school_id"], first.to_dict("records"))),
        )
        _BY_SCHOOL[key] = entry
    return entry[2].get(school_id)


_BY_SCHOOL: dict[int, tuple] = {}


def from_target(result: LevelResult, cell: Cell, table: str = "target") -> dict | None:
    """The headline of a level whose ``target`` table has a district row and one row per school
    (`plevaluate.results.target_status`; a table without ``breakdown`` is about the district only):
    estimate, interval, target and status of the cell's scope."""
    frame = result.tables.get(table)
    if frame is None:
        return cell.row()
    if cell.school_id is None:  # a table without breakdowns is about the district
        rows = frame[frame["breakdown"] == "district"] if "breakdown" in frame else frame
        r = rows.iloc[0] if len(rows) else None
    else:
        r = school_row(frame, cell.school_id)
    if r is None:
        return None
    n = r.get("n_people", r.get("n", np.nan))
    status = _status(str(r["status"]))
    low, high = r.get("ci_low", np.nan), r.get("ci_high", np.nan)
    detail = judged(status, cell.level.effect, low, high)
    coded = r.get("coded")
    if isinstance(coded, str):  # a share with fewer than min_n people on one side: only its side of a bound is shown
        detail += f"; the share is shown only as {coded_share(coded, r['bound'])} (fewer than the reporting minimum "
        detail += "on one side)"
    return cell.row(r["estimate"], low, high, r["target"], status, detail, n)


def evidence(
    level: Level,
    result: LevelResult | None,
    school_id: str | None,
    min_n: int,
    *,
    table: str = "coverage",
    words: str | None = None,
    hidden_words: str | None = None,
) -> str:
    """What a scope's evidence at ``level`` rests on, with that scope's own counts (its ``coverage`` table).

    ``table``, ``words`` and ``hidden_words`` name another coverage table of the level and its words (with
    ``{records}`` and ``{people}``), for a headline that rests on other evidence than the level's usual
    (level 3 read from its staff survey when no conditions were rated)."""
    words = level.evidence if words is None else words
    hidden_words = level.evidence_hidden if hidden_words is None else hidden_words
    if result is None or not result.evidence:
        return level.no_evidence
    frame = result.tables.get(table)
    if frame is None:
        return words if "{" not in words else level.no_evidence
    if school_id is None:
        rows = frame[frame["breakdown"] == "district"]
        r = rows.iloc[0] if len(rows) else None
    else:
        r = school_row(frame, school_id)
    if r is None:
        return f"{level.no_evidence} at this school"
    if bool(r.get("suppressed", False)) and bool(r.get("complementary", False)):
        return hidden_words
    people = format_n(r["n_people"], min_n) if pd.notna(r["n_people"]) else f"<{min_n}"
    records = "some" if pd.isna(r["records"]) else f"{int(r['records']):,}"  # hidden with a small group's count
    return words.format(records=records, people=people)


def chain_of_evidence(
    levels: Mapping[int, LevelResult], schools: pd.DataFrame, plan: dict, registry: Sequence[Level]
) -> pd.DataFrame:
    """One row per scope (the district, then each school) and level of ``registry`` (the levels evaluated,
    `plevaluate.registry.levels`; handed in, so the chain never imports the registry back).

    Each row carries its own scope's evidence: a school's row counts that school's responses,
    educators, observations and students (the ``coverage`` table of each level).

    Returns
    -------
    DataFrame
        scope, level, level_name, question, evidence (what was collected, in words, with the scope's
        counts), measure, unit (``share``, ``sd``, ``rating``, ``points``, ``dollars``), estimate,
        ci_low, ci_high, target, n, status (one of `STATUSES`), status_detail (what the status means).
    """
    min_n = int(plan.get("min_n", 10))
    rows = []
    scopes = [("district", None)] + [(s, s) for s in schools["school_id"]]
    group = schools.set_index("school_id")["group"]
    for scope, key in scopes:
        comparison = key is not None and group.get(key) == "comparison"
        for level in sorted(registry, key=lambda level: level.number):
            result = levels.get(level.number)
            cell = Cell(level, scope, key, evidence(level, result, key, min_n), plan, comparison)
            if result is not None and result.meta.get("error"):
                rows.append(
                    cell.row(
                        status="not estimable",
                        detail=str(result.meta["error"]),
                        evidence="data collected, but the level could not be computed",
                    )
                )
            elif result is None or not result.evidence:
                rows.append(cell.row())
            elif comparison and level.program_only:
                rows.append(cell.row(status="not applicable", detail="comparison school: not in the program"))
            else:
                rows.append(level.headline(result, cell) or cell.row())
    return pd.DataFrame(rows, columns=list(TABLES["chain"].columns))


def chain_sentences(chain: pd.DataFrame, registry: Sequence[Level]) -> pd.DataFrame:
    """scope, sentence: each scope's `chain_sentence`, in the chain's order of scopes."""
    rows = [(scope, chain_sentence(part, registry)) for scope, part in records_by_scope(chain).items()]
    return pd.DataFrame(rows, columns=list(TABLES["sentences"].columns))


def records_by_scope(table: pd.DataFrame) -> dict[str, list[dict]]:
    """A table's rows as records, by ``scope``, in the table's order: one pass (a pandas group per scope cost a
    second per 1,000 schools). For the chain, and for the year-by-year trend (`plevaluate.years`)."""
    out: dict[str, list[dict]] = {}
    for row in table.to_dict("records"):
        out.setdefault(row["scope"], []).append(row)
    return out


def _value(row) -> str:
    if row["unit"] == "share":
        return f"{row['estimate']:.0%}"
    if row["unit"] == "sd":
        return f"{row['estimate']:.2f} SD"
    if row["unit"] == "rating":
        return f"a rating of {row['estimate']:g}"
    return f"{row['estimate']:+.1f} points"


def _target(row, key: str = "target") -> str:
    if row["unit"] == "share":
        return f"{row[key]:.0%}"
    if row["unit"] == "sd":
        return f"{row[key]:.2f} SD"
    return f"{row[key]:g}"


def chain_sentence(
    rows: pd.DataFrame | Sequence[Mapping], registry: Sequence[Level], earlier: Mapping[int, str] | None = None
) -> str:
    """Where the chain of evidence holds, where it first breaks, and which levels cannot be judged yet.

    A level is called met or not met only when its whole interval is on one side of the target; a
    level whose interval includes the target is named as not conclusive, with its numbers (and, for an
    effect, what its interval says against zero). Levels without sentence words (cost) are left out.

    ``earlier`` (a multi-year program): for a level not measured this year but measured before, a sentence
    saying when and what; such a level is "not measured this year", not "no evidence", and the chain does
    not break there.

    ``rows``: one scope's rows of the chain, as a DataFrame or as records (`chain_sentences` passes records).
    """
    earlier = earlier or {}
    words = {level.number: level for level in registry if level.met}
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)
    records.sort(key=lambda row: row["level"])
    if sum(row["status"] == "not applicable" for row in records) >= 4:
        return (
            "A comparison school: it did not take part in the program; its students are the comparison group "
            "for the student-outcome estimate."
        )
    held, small, unsure, broken, reported, said, before = [], [], [], None, [], [], []
    for row in records:
        if row["level"] not in words:
            continue
        if row["status"] == "met" and broken is None:
            held.append(words[row["level"]].met)
        elif row["status"] in HIDDEN_STATUSES:
            small.append(str(row["level"]))
        elif row["status"] == "not conclusive":
            unsure.append(row)
        elif row["status"] == "not yet measured" and row["level"] in earlier:
            before.append(earlier[row["level"]])
        elif row["status"] in ("not met", "not yet measured") and broken is None:
            broken = row
        elif row["status"] == "reported" and row["status_detail"] not in ("", "reported"):
            reported.append(row)  # evidence without a target (level 3 from its staff survey): said, not judged
        elif row["status"] == "no target set" and not str(row["status_detail"]).startswith(
            ("no target set", STATUS_MEANINGS["no target set"])
        ):
            said.append(row)  # a level's own words about a result with no target (a school's students at level 5)
    if broken is not None and broken["status"] == "not met":
        reason = words[broken["level"]].not_met.format(value=_value(broken), target=_target(broken))
        if words[broken["level"]].effect and broken["ci_high"] < 0:
            reason += f"; {against_zero(broken['status'], broken['ci_low'], broken['ci_high'])}"
    elif broken is not None:
        reason = f"there is no evidence yet ({broken['level_name'].lower()} not measured)"
    if broken is None:
        if len(held) == 1 and not unsure:  # "every level" of one read as a clean bill of health (a review)
            text = "The one level judged against a target met it: " + held[0] + "."
        elif held and not unsure:
            text = "Every level with a result met its target: " + _join(held) + "."
        elif held:
            text = f"{_join(held)[0].upper()}{_join(held)[1:]}."
        elif not unsure:
            text = "No level has a result to compare with a target yet."
        else:
            text = ""
    elif held:
        text = f"{_join(held)[0].upper()}{_join(held)[1:]}, but at level {broken['level']} {reason}."
    else:
        text = f"The chain of evidence breaks at level {broken['level']}: {reason}."
    if unsure:
        levels = _join([str(r["level"]) for r in unsure])
        details = []
        for r in unsure:
            detail = (
                f"{words[r['level']].unsure} {_value(r)} against {_target(r)}, interval {_target(r, 'ci_low')} to "
                f"{_target(r, 'ci_high')}"
            )
            if words[r["level"]].effect:
                if r["ci_low"] <= 0 <= r["ci_high"]:
                    detail += ", which also includes zero"
                elif r["ci_low"] > 0:
                    detail += f", which excludes zero: {EXCLUDES_ZERO}"
            details.append(detail)
        plural = len(unsure) > 1
        text += (
            f" Level{'s' if plural else ''} {levels} {'are' if plural else 'is'} not conclusive: "
            f"{'their intervals include' if plural else 'the interval includes'} the target "
            f"({'; '.join(details)})."
        )
    for r in reported:
        text += f" At level {r['level']} there is no target to judge against: {r['status_detail']}."
    for r in said:
        text += f" At level {r['level']}, {r['status_detail']}."
    for sentence in before:
        text += f" {sentence}"
    if small:
        listed = _join(small)
        text += f" Level{'s' if len(small) > 1 else ''} {listed}: not shown (too few people, or protecting a smaller group)."
    return text.strip()


def _join(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
