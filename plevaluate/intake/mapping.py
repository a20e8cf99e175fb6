"""The mapping file: how an export's questions, or a sheet's columns, map to the data contract.

Every key is documented in `HELP` (printed by ``plevaluate import --help-mapping``, and in the README). A
mapping is read through the read gate and checked in one pass: every problem is listed in plain words, an
unknown key or scale gets a did-you-mean.
"""

from __future__ import annotations

import difflib
import warnings
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import scales as likert
from ..errors import ContractError, Problem
from ..gates import read_yaml

__all__ = ["HELP", "Constant", "ImportMapping", "QuestionMap", "Wide", "read_mapping"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


with warnings.catch_warnings():  # "construct" is pydantic's name too; the mapping file's word is kept
    warnings.filterwarnings("ignore", message='Field name "construct"', category=UserWarning)

    class QuestionMap(_Strict):
        """Where one question goes: an item of survey_items.csv (new or existing) and how its answers are coded."""

        item: str | None = Field(None, description="the item_id in survey_items.csv it answers (created if new)")
        construct: str | None = Field(
            None, description="the construct of a new item (default: the one the import proposes)"
        )
        level: int | None = Field(
            None, ge=1, le=3, description="the Guskey level of a new item: 1 (reactions) or 3 (staff survey on support)"
        )
        reverse_coded: bool | None = Field(None, description="true when agreeing is the unfavourable answer")
        scale: str | None = Field(
            None, description="the scale its labels are coded on: a library scale (agreement-5) or one under scales:"
        )
        scale_min: int | None = Field(None, description="for answers written as numbers: the lowest point")
        scale_max: int | None = Field(None, description="for answers written as numbers: the highest point")
        skip: bool = Field(False, description="true: leave this question out (listed as skipped)")


class Constant(_Strict):
    value: str = Field(description="the value every row gets")


class Wide(_Strict):
    """Several sheet columns that become rows: ``from`` maps each sheet column to the value of ``by``."""

    column: str = Field(description="the contract column the cells fill (e.g. score)")
    by: str = Field(description="the contract column saying which sheet column a row came from (e.g. occasion)")
    from_: dict[str, str] = Field(alias="from", description="sheet column -> value of `by` (Pre-test: pre)")


class ImportMapping(_Strict):
    """The mapping file (YAML)."""

    session: str | None = Field(None, description="the session_id the survey was about (--session overrides)")
    staff_survey: bool = Field(
        False,
        description="true: a level-3 staff survey, not about one session; answers are dated by their timestamps "
        "(--staff-survey)",
    )
    date: str | None = Field(
        None, description="a staff survey's date (YYYY-MM-DD) when the export has no timestamps (--date overrides)"
    )
    school_question: str | None = Field(
        None, description="the question (text or field ID) whose answer is the respondent's school"
    )
    respondent_id_question: str | None = Field(
        None,
        description="a column holding each respondent's educator_id (Qualtrics ExternalReference, an employee ID "
        "column): links responses to educators.csv instead of the e-mail; never written to the folder",
    )
    time_zone: str | None = Field(
        None,
        description="the zone timestamps are compared in (America/Chicago): a timestamp carrying an offset is "
        "converted to it, one without is read as in it. Default: each timestamp's own wall-clock time",
    )
    questions: dict[str, str | QuestionMap] = Field(
        default_factory=dict, description="question text or field ID -> item_id, or how to import it (below)"
    )
    scales: dict[str, list[str | list[str]]] = Field(
        default_factory=dict, description="custom scales: name -> labels from low to high (a list gives spellings)"
    )
    # the generic sheet
    table: str | None = Field(None, description="sheet: the contract table the sheet fills")
    sheet: str | None = Field(None, description="a workbook's sheet to read (default: the one the columns are on)")
    header_row: int | None = Field(
        None, ge=1, description="the row holding the column names (default: found, and named in the summary)"
    )
    columns: dict[str, str | Constant] = Field(
        default_factory=dict, description="sheet: contract column -> sheet column, or {value: a constant}"
    )
    educator_email: str | None = Field(None, description="sheet: a column of e-mails linking rows to educators.csv")
    wide: Wide | None = Field(None, description="sheet: several columns that become rows (pre-test, post-test)")


_MODELS: dict[str, type[BaseModel]] = {"": ImportMapping, "questions": QuestionMap, "wide": Wide, "columns": Constant}

#: ``plevaluate import --help-mapping``: every key of the mapping file, with an example.
HELP = (
    "The mapping file (YAML, --mapping FILE) tells plevaluate import what it cannot see in an export.\n"
    "Every key is optional. Unknown keys, unknown scales and a question text that nearly matches an item\n"
    "are errors (with a did-you-mean): nothing is imported until the mapping is right.\n\n"
    + "\n".join(
        f"  {name:24} {field.description}"
        for name, field in ImportMapping.model_fields.items()
        if name not in ("questions", "scales") and field.description
    )
    + "\n\nquestions: each key is a question's text (or Qualtrics field ID, or a grid row's statement); the\n"
    "value is an item_id, or a mapping of:\n"
    + "\n".join(f"  {name:24} {field.description}" for name, field in QuestionMap.model_fields.items())
    + "\n\nscales: name -> the labels from low to high; the library's scales need no definition:\n  "
    + ", ".join(likert.SCALES)
    + "\n\nExample (a session survey):\n"
    "  session: S01\n"
    "  questions:\n"
    "    The content is relevant to my classroom.: C1\n"
    "    How would you rate the facilitator?: {construct: facilitation, scale: quality-5-very-good}\n"
    "    Any other comments?: {skip: true}\n"
    "  scales:\n"
    "    readiness-3: [Not ready, Somewhat ready, Ready]\n\n"
    "Example (a staff survey on support, level 3):\n"
    "  staff_survey: true\n"
    "  questions:\n"
    "    My principal protects time for collaborative planning.: {construct: support, level: 3}\n\n"
    "Example (a pre/post assessment sheet):\n"
    "  table: learning\n"
    "  columns: {educator_id: Teacher ID, assessment_id: {value: fractions-2026}, max_score: {value: '20'}}\n"
    "  wide: {column: score, by: occasion, from: {Pre-test: pre, Post-test: post}}\n\n"
    "Partial responses (Qualtrics Finished = False) and one person's second response to a session follow the\n"
    "plan's imports: section (partial_responses: keep | drop; resubmissions: latest | first | error).\n"
)


def read_mapping(path: str | Path | None) -> ImportMapping:
    """Read and check a mapping file; every problem is listed in one `ContractError`, in plain words."""
    if path is None:
        return ImportMapping()
    path = Path(path)
    raw = read_yaml(path, what="mapping") or {}
    if not isinstance(raw, dict):
        raise ContractError(
            [Problem(path.name, "a mapping of keys to values", "see plevaluate import --help-mapping")], str(path)
        )
    problems = [_plain(path.name, error) for error in _errors(raw)]
    if not problems:
        mapping = ImportMapping.model_validate(raw)
        problems += _unknown_scales(path.name, mapping)
    if problems:
        raise ContractError(problems, str(path))
    return mapping


def _errors(raw: dict) -> list[dict]:
    try:
        ImportMapping.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
    else:
        return []
    # a question's value is "str | QuestionMap": keep the errors of the branch the user meant
    out, seen = [], set()
    for e in errors:
        loc = tuple(e["loc"])
        if len(loc) >= 3 and loc[0] == "questions":
            meant_map = isinstance(raw.get("questions", {}).get(loc[1]), dict)
            branch = loc[2]
            if (branch == "str") == meant_map:
                continue
            loc = loc[:2] + loc[3:] if branch in ("str", "QuestionMap") else loc
        if len(loc) >= 3 and loc[0] == "columns":
            meant_map = isinstance(raw.get("columns", {}).get(loc[1]), dict)
            if (loc[2] == "str") == meant_map:
                continue
            loc = loc[:2] + loc[3:]
        key = (loc, e["type"])
        if key not in seen:
            seen.add(key)
            out.append({**e, "loc": loc})
    return out


def _plain(name: str, error: dict) -> Problem:
    loc, kind = error["loc"], error["type"]
    where = " > ".join(str(p) for p in loc)
    if kind == "extra_forbidden":
        model = _model_at(loc)
        allowed = [f.alias or n for n, f in model.model_fields.items()]
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return Problem(
            name,
            f"a known key, but {loc[-1]!r} is not one",
            f"{hint}keys here: {', '.join(allowed)} (plevaluate import --help-mapping)",
            column=where,
        )
    words = {
        "string_type": "text",
        "int_type": "a whole number",
        "int_parsing": "a whole number",
        "int_from_float": "a whole number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "dict_type": "a mapping (key: value lines)",
        "model_type": "a mapping (key: value lines)",
        "list_type": "a list ([a, b, c])",
        "missing": "this key, which is required here",
        "greater_than_equal": "a number at least " + str((error.get("ctx") or {}).get("ge", "")),
        "less_than_equal": "a number at most " + str((error.get("ctx") or {}).get("le", "")),
    }
    expected = words.get(kind, error["msg"])
    if len(loc) == 2 and loc[0] == "questions" and kind in ("string_type", "model_type", "dict_type"):
        expected = "an item_id, or a mapping of item, construct, level, scale, ... "
    given = error.get("input")
    value = None if isinstance(given, (dict, list)) or kind == "missing" else repr(given)
    return Problem(
        name,
        f"{expected}" + (f", but it is {value}" if value is not None else ""),
        "correct the entry (plevaluate import --help-mapping)",
        column=where,
    )


def _model_at(loc: tuple) -> type[BaseModel]:
    if loc and loc[0] in ("questions", "columns") and len(loc) >= 3:
        return _MODELS[loc[0]]
    if loc and loc[0] == "wide" and len(loc) >= 2:
        return Wide
    return ImportMapping


def _unknown_scales(name: str, mapping: ImportMapping) -> list[Problem]:
    known = [*likert.SCALES, *mapping.scales]
    problems = []
    for question, entry in mapping.questions.items():
        if isinstance(entry, QuestionMap) and entry.scale is not None and entry.scale not in known:
            near = difflib.get_close_matches(entry.scale, known, n=1, cutoff=0.5)
            problems.append(
                Problem(
                    name,
                    f"a known scale, but {entry.scale!r} is neither in the scale library nor under scales:",
                    (f"did you mean {near[0]!r}? " if near else "")
                    + "library scales: "
                    + ", ".join(likert.SCALES)
                    + "; or define it under scales:",
                    column=f"questions > {question} > scale",
                )
            )
    for scale, labels in mapping.scales.items():
        flat = [likert.normal(x) for point in labels for x in ([point] if isinstance(point, str) else point)]
        repeated = sorted({x for x in flat if flat.count(x) > 1})
        if len(labels) < 2 or repeated:
            problems.append(
                Problem(
                    name,
                    "a scale of at least two points, each label once"
                    + (f"; {', '.join(repeated)} is repeated" if repeated else ""),
                    "list the labels from low to high, each once",
                    column=f"scales > {scale}",
                )
            )
    return problems
