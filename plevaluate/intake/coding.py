"""The codebook: each question of an export -> an item, its construct, level and scale, and label -> code.

A question is coded on the scale its own labels fit (`plevaluate.scales.choose`), never on labels pooled
from other questions; an answer outside its question's scale stops the import naming row, column and label;
labels that fit several scales coding them differently stop it too, until the mapping names the scale. A
choice question (schools, roles, demographics; `.sav` value labels that are no rating scale) is never a
rating. New items get a construct per question group and scale, never shared with items on another scale.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import scales as likert
from ..errors import Problem
from .exports import Export, Question
from .mapping import ImportMapping, QuestionMap

__all__ = ["Coding", "code_questions", "match_key"]

_ROLES = {
    "teacher",
    "coach",
    "instructional coach",
    "principal",
    "assistant principal",
    "specialist",
    "paraprofessional",
    "counselor",
    "administrator",
    "other",
}


# One "word" holding a digit: an ID, a code, an IP or e-mail address, a number (answers that are not comments).
_IDENTIFIER = r"[\w.@:+/#-]*\d[\w.@:+/#-]*"


def match_key(text: str) -> str:
    """A question or item text as it is matched: `normal`, and trailing punctuation ignored."""
    return likert.normal(text).rstrip(" .!?:;,")


@dataclass
class Coding:
    """One line of the codebook."""

    question: Question
    status: str  # "matched", "new", "skipped" or "open-ended" (its answers become comments, not reactions)
    item: str | None = None
    how: str = ""
    construct: str | None = None
    proposed: bool = False
    level: int | None = None
    scale: str = ""
    low: int = 1
    high: int = 5
    reverse: bool = False
    values: pd.Series | None = None
    labels: dict[str, int | None] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        q = self.question.text
        if self.status in ("skipped", "open-ended"):
            return f"  [{self.status}] {q}\n      {self.reason}"
        head = f"  [{self.status} {self.item}{' ' + self.how if self.how else ''}] {q}"
        construct = self.construct + (" (proposed: confirm or rename it in the mapping)" if self.proposed else "")
        coded = ", ".join(
            f"{label}={'' if code is None else code} x{self.counts[label]}" for label, code in self.labels.items()
        )
        line = f"      {construct}, level {self.level}, {self.scale} ({self.low}-{self.high})"
        lines = [head, line + (f": {coded}" if coded else "")]
        lines += [f"      note: {n}" for n in self.notes]
        return "\n".join(lines)


def _scales(mapping: ImportMapping) -> dict[str, likert.Scale]:
    out = dict(likert.SCALES)
    out.update({name: likert.custom(name, labels) for name, labels in mapping.scales.items()})
    return out


def _lookup(mapping: ImportMapping, question: Question) -> QuestionMap | None:
    keys = {likert.normal(k): v for k, v in mapping.questions.items()}
    for key in (question.field_id, question.column, *question.texts):
        found = keys.get(likert.normal(key))
        if found is not None:
            return QuestionMap(item=found) if isinstance(found, str) else found
    return None


def new_item_id(text: str) -> str:
    return "Q" + hashlib.sha1(match_key(text).encode()).hexdigest()[:6].upper()


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", likert.normal(text))
    stop = {"how", "much", "do", "you", "the", "a", "an", "of", "to", "each", "with", "following", "please", "rate"}
    kept = [w for w in words if w not in stop][:4] or words[:4]
    return "_".join(kept)[:40] or "new"


def code_questions(
    export: Export,
    items: pd.DataFrame | None,
    mapping: ImportMapping,
    *,
    staff: bool,
    known_scales: Mapping[str, str],
    schools: pd.DataFrame | None,
) -> tuple[list[Coding], list[dict], list[Problem]]:
    """The codebook of ``export``, the survey_items rows it adds, and every problem (nothing is written then).

    ``known_scales``: item_id -> the scale an earlier import coded it on (the import history)."""
    problems: list[Problem] = []
    scales = _scales(mapping)
    items = items if items is not None else pd.DataFrame(columns=["item_id", "construct", "text", "level"])
    by_text: dict[str, pd.Series] = {}
    for _, item in items.iterrows():
        by_text.setdefault(match_key(item["text"]), item)
    known = {row["item_id"]: row for _, row in items.iterrows()}
    construct_scale = {
        (row["construct"]): (_int(row.get("scale_min"), 1), _int(row.get("scale_max"), 5)) for row in known.values()
    }
    special = {likert.normal(q) for q in (mapping.school_question, mapping.respondent_id_question) if q is not None}
    school_names = set()
    if schools is not None:
        school_names = {likert.normal(v) for v in [*schools["school_name"], *schools["school_id"]]}
    codings: list[Coding] = []
    new_items: list[dict] = []
    # a grid (rows of one question) offers every row the same options: its rows' labels, and the points of the
    # items its rows match, decide a row whose own answers fit several scales
    grid_labels: dict[str, set[str]] = {}
    grid_points: dict[str, set[int]] = {}
    for question in export.questions:
        if question.stem is None:
            continue
        cells = export.frame[question.column].fillna("").astype(str).map(likert.normal)
        grid_labels.setdefault(question.stem, set()).update(
            {likert.label_key(c) for c in cells} - {""} - likert.NOT_A_RATING
        )
        row = next((by_text[match_key(t)] for t in question.texts if match_key(t) in by_text), None)
        if row is not None and pd.notna(row.get("scale_min")) and pd.notna(row.get("scale_max")):
            grid_points.setdefault(question.stem, set()).add(int(row["scale_max"]) - int(row["scale_min"]) + 1)

    def problem(question: Question, expected: str, fix: str, row=None, value=None) -> None:
        problems.append(Problem(export.name, expected, fix, row, question.field_id, value))

    for question in export.questions:
        names = {likert.normal(t) for t in (question.field_id, question.column, *question.texts)}
        if names & special:
            continue
        entry = _lookup(mapping, question)
        if entry is not None and entry.skip:
            codings.append(Coding(question, "skipped", reason="skipped by the mapping file"))
            continue
        given = export.frame[question.column].fillna("").astype(str)
        normal = given.map(likert.normal)
        present = given[(normal != "") & ~normal.isin(likert.NOT_A_RATING)]
        # the item
        item_row, how = None, ""
        if entry is not None and entry.item is not None:
            item_id, item_row, how = entry.item, known.get(entry.item), "by the mapping"
        else:
            for text in question.texts:
                if match_key(text) in by_text:
                    item_row = by_text[match_key(text)]
                    how = (
                        "by text" if likert.normal(text) == likert.normal(item_row["text"]) else "ignoring punctuation"
                    )
                    break
            item_id = item_row["item_id"] if item_row is not None else None
        if question.open_ended and item_row is None and entry is None:
            codings.append(_open_ended(question, present))
            continue
        if item_row is None and item_id is None and entry is None and len(present):
            near = _near(match_key(question.texts[-1]), list(by_text))
            if near:
                item = by_text[near[0]]
                problem(
                    question,
                    f"a question matching an item, but its text is close to item {item['item_id']} "
                    f"({item['text']!r}) without being the same",
                    f"did you mean item {item['item_id']}? Map it in the mapping file (questions: "
                    f"'{question.texts[-1]}': {item['item_id']}), or, if it is a new question, give it a construct "
                    f"there (questions: '{question.texts[-1]}': {{construct: ...}})",
                )
                continue
        points = None
        low = 1
        if item_row is not None and pd.notna(item_row.get("scale_min")) and pd.notna(item_row.get("scale_max")):
            low, high = int(item_row["scale_min"]), int(item_row["scale_max"])
            points = high - low + 1
        coding = Coding(question, "matched" if item_row is not None else "new", item_id, how)
        numeric = pd.to_numeric(present, errors="coerce")
        scale: likert.Scale | None = None
        named = entry.scale if entry is not None else None
        if len(present) and numeric.notna().all() and question.offered is None and named is None:
            # answers written as numbers: on the item's scale, or the mapping's scale_min..scale_max
            if entry is not None and entry.scale_min is not None and entry.scale_max is not None:
                low, high = entry.scale_min, entry.scale_max
            elif points is None:
                codings.append(
                    Coding(
                        question,
                        "skipped",
                        reason="numbers with no scale: give scale_min and scale_max for it in the mapping file, or "
                        "map it to an existing item",
                    )
                )
                continue
            values = pd.to_numeric(given, errors="coerce").where(given.str.strip().ne(""))
            outside = values.notna() & ((values < low) | (values > high) | (values % 1 != 0))
            for row in outside[outside].index:
                problem(
                    question,
                    f"a whole number from {low} to {high}",
                    "correct the answer in the export",
                    row,
                    str(given[row]),
                )
            coding.scale, coding.low, coding.high, coding.values = f"numbers {low}-{high}", low, int(high), values
            coding.counts = Counter(present)
            coding.labels = {v: int(float(v)) for v in sorted(set(present), key=float)}
        else:
            named = named or (known_scales.get(item_id) if item_id is not None else None)
            if named is not None:
                scale = scales.get(named)
                if scale is None:
                    continue  # the mapping's check names it
            elif question.offered is not None:
                offered = [o for o in question.offered if likert.normal(o) not in likert.NOT_A_RATING]
                found = [
                    s for s in likert.fitting(offered, scales.values(), len(offered)) if len(s) == len(set(offered))
                ]
                scale = found[0] if found else None
                if scale is None:
                    shown = ", ".join(offered[:5]) + (" ..." if len(offered) > 5 else "")
                    codings.append(
                        Coding(
                            question,
                            "skipped",
                            reason=f"a choice question: its value labels ({shown}) are not a rating scale",
                        )
                    )
                    continue
            elif present.empty:
                if item_row is None:
                    codings.append(Coding(question, "skipped", reason="no answers"))
                    continue
            else:
                labels = set(present.map(likert.label_key))
                hits = present.map(lambda v: likert.recognized(v, scales.values()))
                if hits.mean() < 0.5 and item_row is None and entry is None:
                    if _free_text(present, school_names):
                        codings.append(_open_ended(question, present))
                    else:
                        codings.append(Coding(question, "skipped", reason=_not_rating(present, school_names)))
                    continue
                choice = likert.choose(labels, scales.values(), points)
                stem = question.stem
                if choice.ambiguous and stem is not None and len(grid_points.get(stem, ())) <= 1:
                    hint = points or next(iter(grid_points.get(stem, ())), None)
                    grid = likert.choose(grid_labels[stem], scales.values(), hint)
                    if grid.scale is not None and grid.scale in choice.fits:
                        choice = likert.Choice(grid.scale, choice.fits, grid.longer)
                        coding.notes.append(f"coded on the scale of its grid's rows ({grid.scale.name})")
                scale = choice.scale
                if choice.ambiguous:
                    differ = ", ".join(s.name for s in choice.fits)
                    problem(
                        question,
                        f"answers that tell which scale the form used, but they fit {differ}, which code them "
                        "differently",
                        f"name the form's scale for this question in the mapping file (questions: "
                        f"'{question.texts[-1]}': {{scale: {choice.fits[0].name}}}; plevaluate import --help-mapping)",
                    )
                    continue
                if choice.longer:
                    coding.notes.append(
                        f"coded on {scale.name} ({choice.why}); if the form offered "
                        f"{' or '.join(s.name for s in choice.longer)}, name that scale for it in the mapping"
                    )
            if scale is None and len(present):
                candidates = [s for s in scales.values() if points is None or len(s) == points] or list(scales.values())
                scale = max(candidates, key=lambda s: (sum(s.code(v) is not None for v in present), -len(s)))
            if points is not None and scale is not None and len(scale) != points:
                problem(
                    question,
                    f"a scale of {points} points, as item {item_id}'s scale_min..scale_max in survey_items.csv, "
                    f"but {scale.name} has {len(scale)}",
                    "name a scale with as many points, or map the question to another item",
                )
                continue
            off = present[present.map(lambda v, s=scale: s is None or s.code(v) is None)] if len(present) else present
            for row, value in off.items():
                problem(
                    question,
                    f"a label of the {scale.name} scale ({', '.join(scale.first_labels())})",
                    "correct the answer in the export; if the form's scale has this label, define the scale under "
                    "scales: in the mapping file and name it for this question",
                    row,
                    value,
                )
            if len(off):
                continue
            if scale is None:  # an existing item with no answers in this export
                values = pd.Series(np.nan, index=given.index)
                coding.scale, coding.high = "no answers", (low + points - 1 if points else low + 4)
            else:
                codes = given.map(lambda v, s=scale: s.code(v) if likert.normal(v) else None)
                values = pd.to_numeric(codes, errors="coerce") + (low - 1)
                coding.scale, coding.high = scale.name, low + len(scale) - 1
                coding.counts = Counter(likert.normal(v) for v in present)
                coding.labels = {
                    label: scale.code(label) + low - 1
                    for label in sorted(coding.counts, key=lambda x, s=scale: s.code(x))
                }
            coding.low, coding.values = low, values
        blank_or_na = given.map(likert.normal)
        missing = int(blank_or_na.isin(likert.NOT_A_RATING).sum())
        if missing:
            coding.notes.append(f"{missing} answer(s) such as N/A or Prefer not to say kept as missing, not a score")
        if item_id is None:
            item_id = coding.item = new_item_id(question.texts[-1])
        if item_row is not None:
            level = _int(item_row.get("level"), 1)
            coding.construct, coding.level = item_row["construct"], level
            if staff and level != 3:
                problem(
                    question,
                    f"a level-3 (staff survey) item, but it matches item {item_id}, a level-{level} item answered "
                    "about a session",
                    "import this export with --session SESSION_ID if it is a session's survey; or map the question "
                    "to a level-3 item",
                )
                continue
        else:
            already = next((i for i in new_items if i["item_id"] == item_id), None)
            if already is not None:
                coding.status, coding.construct, coding.level = "matched", already["construct"], int(already["level"])
            else:
                span = (coding.low, coding.high)
                construct = entry.construct if entry is not None and entry.construct else None
                if construct is not None and construct_scale.get(construct, span) != span:
                    other = construct_scale[construct]
                    problem(
                        question,
                        f"a construct whose items share one scale, but {construct!r} holds items scored "
                        f"{other[0]}-{other[1]} and this question is scored {span[0]}-{span[1]}",
                        "give this question a construct of its own in the mapping file (a construct's mean needs one "
                        "scale)",
                    )
                    continue
                if construct is None:
                    construct = _propose(question, coding.scale, span, construct_scale)
                    coding.proposed = True
                construct_scale.setdefault(construct, span)
                coding.construct = construct
                coding.level = (entry.level if entry is not None and entry.level else None) or (3 if staff else 1)
                coding.reverse = bool(entry is not None and entry.reverse_coded)
                new_items.append(
                    {
                        "item_id": item_id,
                        "construct": construct,
                        "text": question.texts[-1],
                        "reverse_coded": "true" if coding.reverse else "false",
                        "scale_min": str(coding.low),
                        "scale_max": str(coding.high),
                        "level": str(coding.level),
                    }
                )
        coding.item = item_id
        codings.append(coding)
    return codings, new_items, problems


def _near(text: str, items: list[str]) -> list[str]:
    """An item text this question's nearly is: close as characters (difflib's ratio at least 0.88), or the same
    words but one (a word changed, added or left out) in a text of four words or more."""
    close = difflib.get_close_matches(text, items, n=1, cutoff=0.88)
    if close:
        return close
    words = text.split()
    for item in items:
        other = item.split()
        if min(len(words), len(other)) < 4 or abs(len(words) - len(other)) > 1:
            continue
        matcher = difflib.SequenceMatcher(None, words, other, autojunk=False)
        changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
        if changed == 1:
            return [item]
    return []


def _int(value, default: int) -> int:
    try:
        return int(float(value)) if value is not None and not pd.isna(value) and str(value).strip() else default
    except (TypeError, ValueError):
        return default


def _propose(question: Question, scale: str, span: tuple[int, int], taken: Mapping[str, tuple[int, int]]) -> str:
    """A construct for a new item: its grid's question (the items of one grid), else its scale; never a
    construct whose items are on another scale."""
    base = _slug(question.stem) if question.stem else "new_" + re.sub(r"[^a-z0-9]+", "_", scale.lower()).strip("_")
    name = base
    if taken.get(name, span) != span:
        name = f"{base}_{span[0]}_{span[1]}"
    return name


def _free_text(present: pd.Series, schools: set[str]) -> bool:
    """Whether a question's answers are open-ended text: neither schools nor roles, nor a choice question's few
    options each chosen repeatedly."""
    labels = present.map(likert.normal)
    if labels.isin(schools).mean() >= 0.5 or labels.isin(_ROLES).mean() >= 0.5:
        return False
    if present.str.strip().str.fullmatch(_IDENTIFIER).mean() >= 0.5:  # codes, IDs, addresses: not comments
        return False
    distinct = set(present)
    return not (len(distinct) <= 10 and len(present) >= 2 * len(distinct))


def _open_ended(question: Question, present: pd.Series) -> Coding:
    """An open-ended question: its answers become comments (redacted), never shown in the codebook."""
    return Coding(
        question,
        "open-ended",
        reason=f"open-ended, {len(present)} answer(s) (not shown): kept as comments, redacted; to leave it out, "
        "give it {skip: true} in the mapping file",
    )


def _not_rating(present: pd.Series, schools: set[str]) -> str:
    labels = present.map(likert.normal)
    distinct = list(dict.fromkeys(present))
    if len(distinct) <= 10 and len(present) >= 2 * len(distinct):  # a choice question's options: shown
        shown = ", ".join(repr(v) for v in distinct[:3])
    else:  # free text may hold anything, names included: never echoed
        shown = f"free text, {len(distinct)} different answers, not shown"
    if labels.isin(schools).mean() >= 0.5:
        return f"a choice question: its answers name schools ({shown}), never a rating"
    if labels.isin(_ROLES).mean() >= 0.5:
        return f"a choice question: its answers are roles ({shown}), never a rating"
    return (
        f"not a rating question: its answers ({shown}) are on no scale of the library; to code it, define its "
        "scale under scales: in the mapping file and name it for the question"
    )
