"""Importing survey-tool exports and spreadsheets into a district's data folder.

``plevaluate import SOURCE FILE --into DATA_DIR`` (and `import_export`) turns an export as the tool
wrote it into the data contract's tables and appends them to the folder:

- ``google``: Google Forms CSV (``Timestamp``, optional ``Email Address``, one column per question,
  grid rows as ``Question [Row]``);
- ``msforms``: Microsoft Forms Excel export (``ID``, ``Start time``, ``Completion time``, ``Email``,
  ``Name``, then the questions);
- ``qualtrics``: Qualtrics CSV or TSV (three header rows: field IDs, question text, ImportId) or SPSS
  ``.sav`` (value labels give the coding);
- ``surveymonkey``: SurveyMonkey CSV or XLSX (two header rows: question over answer option) or ``.sav``;
- ``sheet``: any wide sheet (CSV or XLSX), described by the mapping file: pre/post assessments,
  walkthrough forms.

Survey answers become reactions.csv rows for one session; questions are matched to survey_items.csv
by text (case- and whitespace-insensitive) or by the mapping file, and an unmatched rating question
becomes a new item. Labels are coded with `plevaluate.scales`. Personal columns (names, e-mails, IP
addresses, locations, recipient fields) never enter the folder: a respondent is linked to an
``educator_id`` through educators.csv's private ``email`` column, or gets a pseudonymous key (a keyed
hash with a district-held secret kept outside the folder). Rows already in the folder are never
changed; importing the same export twice adds nothing. The folder is validated with the new rows
before anything is written: a problem anywhere means nothing is written.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import io
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import scales as likert
from .contract import TABLES, WORKBOOK_SUFFIXES, _cell_text, load
from .errors import ContractError, ContractWarning, OutputError, Problem
from .gates import Inputs, check_file, check_workbook, read_bytes, read_yaml

__all__ = ["SOURCES", "ImportSummary", "ImportMapping", "import_export", "read_mapping"]

#: The exports `import_export` reads.
SOURCES = ("google", "msforms", "qualtrics", "surveymonkey", "sheet")

#: Environment variable holding the district's secret for pseudonymous respondent keys.
SECRET_VARIABLE = "PLEVALUATE_SECRET"

# Columns that identify a person or a place: dropped on reading, whatever the source.
_PERSONAL = re.compile(
    r"e-?mail|ip ?address|^ip$|latitude|longitude|^location|recipient|external ?(data )?reference|"
    r"^custom ?data|^custom_\d|phone|"
    r"^((your|full|first|last|given|family|sur|teacher'?s?|respondent'?s?|educator'?s?)[ _]?)?name$|"
    r"^(first|last)_name$",
    re.IGNORECASE,
)


def _personal(header: str) -> bool:
    """Whether a column names or locates a person: a short header such as "Email Address", "Your name",
    "IPAddress" (a question that merely mentions e-mail, "I e-mail parents weekly", is a question)."""
    header = header.strip()
    return len(header.split()) <= 5 and bool(_PERSONAL.search(header) or re.search(r"\byour name\b", header, re.I))


# Columns a tool adds about the response itself (not questions, not personal).
_METADATA = {
    "google": {"timestamp", "score"},
    "msforms": {"id", "start time", "completion time", "last modified time", "total points", "quiz feedback"},
    "qualtrics": {
        "startdate",
        "enddate",
        "status",
        "progress",
        "duration (in seconds)",
        "finished",
        "recordeddate",
        "responseid",
        "distributionchannel",
        "userlanguage",
        "q_recaptchascore",
        "q_relevantidduplicate",
        "q_relevantidduplicatescore",
        "q_relevantidfraudscore",
        "q_relevantidlaststartdate",
    },
    "surveymonkey": {"respondent id", "collector id", "start date", "end date", "respondent_id", "collector_id"},
}
_NATIVE_ID = {"msforms": "id", "qualtrics": "responseid", "surveymonkey": "respondent id"}


# ----------------------------------------------------------------------------------------------
# The mapping file
# ----------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


with warnings.catch_warnings():  # "construct" is pydantic's name too; the mapping file's word is kept
    warnings.filterwarnings("ignore", message='Field name "construct"', category=UserWarning)

    class QuestionMap(_Strict):
        """Where one question goes: an item of survey_items.csv (new or existing) and how its answers are coded."""

        item: str | None = Field(None, description="item_id in survey_items.csv (created if new).")
        construct: str | None = Field(None, description="Construct of a new item (default: unassigned).")
        level: int | None = Field(
            None, ge=1, le=3, description="Guskey level of a new item: 1, or 3 for support items."
        )
        reverse_coded: bool | None = None
        scale: str | None = Field(None, description="A scale name (agreement-5) or one defined under scales:.")
        scale_min: int | None = Field(None, description="For numeric answers: the lowest point.")
        scale_max: int | None = Field(None, description="For numeric answers: the highest point.")
        skip: bool = Field(False, description="Leave this question out.")


class Constant(_Strict):
    value: str


class Wide(_Strict):
    """Several sheet columns that become rows: ``from`` maps each sheet column to the value of ``by``."""

    column: str = Field(description="The contract column the cells fill (e.g. score).")
    by: str = Field(description="The contract column that says which sheet column a row came from (e.g. occasion).")
    from_: dict[str, str] = Field(alias="from", description="Sheet column -> value of `by` (Pre-test: pre).")


class ImportMapping(_Strict):
    """The mapping file (YAML): how an export's questions or columns map to the data contract."""

    session: str | None = Field(None, description="session_id the survey was about (--session overrides).")
    school_question: str | None = Field(None, description="Question (text or field ID) whose answer is the school.")
    questions: dict[str, str | QuestionMap] = Field(
        default_factory=dict, description="Question text or field ID -> item_id, or how to import it."
    )
    scales: dict[str, list[str | list[str]]] = Field(
        default_factory=dict, description="Custom scales: name -> labels from low to high."
    )
    # the generic sheet
    table: str | None = Field(None, description="sheet source: the contract table the sheet fills.")
    sheet: str | None = Field(None, description="sheet source: the workbook sheet (default: the first).")
    header_row: int = Field(1, ge=1, description="sheet source: the row holding the column names.")
    columns: dict[str, str | Constant] = Field(
        default_factory=dict, description="sheet source: contract column -> sheet column, or {value: constant}."
    )
    educator_email: str | None = Field(None, description="sheet source: a sheet column of e-mails to link educators.")
    wide: Wide | None = None


def read_mapping(path: str | Path | None) -> ImportMapping:
    """Read and check a mapping file; every problem is listed in one `ContractError`."""
    if path is None:
        return ImportMapping()
    path = Path(path)
    raw = read_yaml(path, what="mapping") or {}
    if not isinstance(raw, dict):
        raise ContractError([Problem(path.name, "a mapping of keys to values", "see the README's import section.")])
    try:
        return ImportMapping.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(path.name, f"{e['msg']}", "correct the entry; see the README's import section.", column=_loc(e))
            for e in exc.errors()
        ]
        raise ContractError(problems, str(path)) from None


def _loc(error: dict) -> str:
    return ".".join(str(part) for part in error["loc"])


# ----------------------------------------------------------------------------------------------
# Reading an export
# ----------------------------------------------------------------------------------------------


@dataclass
class Question:
    column: str  # the column in Export.frame
    field_id: str  # the tool's own name for it (Qualtrics Q3_1; the header elsewhere)
    text: str  # the question as written
    texts: tuple[str, ...]  # texts to match against survey_items.csv: the whole, then a grid row's statement


@dataclass
class Export:
    """An export read into text cells, indexed by the row number a spreadsheet shows (or the case number)."""

    name: str
    source: str
    frame: pd.DataFrame
    questions: list[Question]
    personal: list[str]
    email: pd.Series | None
    native: pd.Series
    codes: dict[str, dict[float, str]] = field(default_factory=dict)  # .sav value labels
    notes: list[str] = field(default_factory=list)


def _decode(raw: bytes, name: str) -> str:
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            return raw.decode(encoding)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _text_rows(path: Path) -> list[list[str]]:
    text = _decode(read_bytes(path, kind="export"), path.name)
    first = text.split("\n", 1)[0]
    # a tab-separated export, or a CSV saved by a spreadsheet set to a language that writes semicolons
    counts = {"\t": first.count("\t") + (1_000_000 if path.suffix.lower() == ".tsv" else 0), ";": first.count(";")}
    delimiter = max(counts, key=counts.get) if max(counts.values()) > first.count(",") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _sheet_rows(path: Path, sheet: str | None = None) -> list[list[str]]:
    from python_calamine import CalamineError, CalamineWorkbook

    problem = check_workbook(path)
    if problem is not None:
        raise ContractError([problem], str(path))
    try:
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as error:
        raise ContractError(
            [Problem(path.name, f"a readable .xlsx workbook ({error})", "open it in Excel and save it again as .xlsx")]
        ) from None
    if sheet is not None and sheet not in book.sheet_names:
        raise ContractError(
            [Problem(path.name, f"a sheet named {sheet!r}", f"sheets in the workbook: {', '.join(book.sheet_names)}.")]
        )
    found = book.get_sheet_by_name(sheet) if sheet else book.get_sheet_by_index(0)
    return [[_cell_text(v) for v in row] for row in found.to_python(skip_empty_area=False)]


def _rows(path: Path, sheet: str | None = None) -> list[list[str]]:
    problem = check_file(path, kind="export", label=str(path))
    if problem is not None:
        raise ContractError([problem], str(path))
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return _sheet_rows(path, sheet)
    return _text_rows(path)


def _frame(header: list[str], body: list[list[str]], first_row: int) -> pd.DataFrame:
    width = len(header)
    rows = [(r + [""] * width)[:width] for r in body]
    index = pd.Index(range(first_row, first_row + len(rows)), name="row")
    keep = [i for i, r in enumerate(rows) if any(c.strip() for c in r)]
    columns = _unique([h.strip() for h in header])
    return pd.DataFrame([rows[i] for i in keep], columns=columns, index=index[keep], dtype=object)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _split(text: str, source: str) -> tuple[str, ...]:
    """A question's texts to match: the whole, and for a grid row the statement alone."""
    texts = [text]
    grid = re.match(r"^(.*)\[(.+)\]\s*$", text, re.DOTALL)  # Google Forms, SurveyMonkey: Question [Row]
    if grid:
        texts.append(grid.group(2))
    elif " - " in text:  # Qualtrics, and SPSS labels: Question - Statement
        texts.append(text.rsplit(" - ", 1)[1])
    return tuple(t.strip() for t in texts if t.strip())


def _read_sav(path: Path, source: str) -> Export:
    import pyreadstat

    problem = check_file(path, kind="export")
    if problem is not None:
        raise ContractError([problem], str(path))
    try:
        frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=False)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError, UnicodeDecodeError) as error:
        raise ContractError(
            [
                Problem(
                    path.name,
                    f"a readable SPSS .sav file ({error})",
                    "download the export again, or export it as CSV and import that",
                )
            ]
        ) from None
    frame.index = pd.Index(range(1, len(frame) + 1), name="case")
    labels = meta.column_names_to_labels or {}
    codes = {k: {float(c): str(v) for c, v in m.items()} for k, m in (meta.variable_value_labels or {}).items()}
    text = frame.apply(lambda col: col.map(_sav_text)).astype(object)
    columns = list(frame.columns)
    return _export(path.name, source, text, columns, [labels.get(c) or c for c in columns], codes)


def _sav_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return _cell_text(value)


def _read(source: str, path: Path) -> Export:
    if path.suffix.lower() == ".sav":
        if source not in ("qualtrics", "surveymonkey"):
            raise ContractError(
                [
                    Problem(
                        path.name,
                        f"a {source} export",
                        "SPSS .sav files come from qualtrics or surveymonkey: name that source.",
                    )
                ]
            )
        return _read_sav(path, source)
    rows = _rows(path)
    if not rows:
        raise ContractError([Problem(path.name, "a header row and responses, but the file is empty")])
    if source == "qualtrics":
        if len(rows) < 3 or not any("importid" in c.lower() for c in rows[2]):
            raise ContractError(
                [
                    Problem(
                        path.name,
                        "a Qualtrics export with three header rows (field IDs, question text, ImportId)",
                        "export again from Qualtrics: Data & Analysis > Export > CSV, with the default header rows.",
                    )
                ]
            )
        frame = _frame(rows[0], rows[3:], 4)
        return _export(path.name, source, frame, list(frame.columns), rows[1])
    if source == "surveymonkey":
        if len(rows) < 2:
            raise ContractError([Problem(path.name, "a SurveyMonkey export with two header rows")])
        top, sub, texts, last = rows[0], rows[1], [], ""
        for i, head in enumerate(top):
            last = head.strip() or last  # a question's text spans the columns of its answer options
            option = sub[i].strip() if i < len(sub) else ""
            if not head.strip() and not option:
                texts.append(last)
            elif option and option.lower() not in ("response", "open-ended response") and head.strip() != option:
                texts.append(f"{last} [{option}]" if last else option)
            else:
                texts.append(last)
        frame = _frame(texts, rows[2:], 3)
        return _export(path.name, source, frame, list(frame.columns), texts)
    frame = _frame(rows[0], rows[1:], 2)
    return _export(path.name, source, frame, list(frame.columns), list(frame.columns))


def _export(
    name: str,
    source: str,
    frame: pd.DataFrame,
    ids: list[str],
    texts: Sequence[str],
    codes: Mapping[str, Mapping[float, str]] | None = None,
) -> Export:
    meta = _METADATA.get(source, set()) | {"responseid", "respondent_id", "collector_id"}
    personal, questions, email = [], [], None
    for column, field_id, text in zip(frame.columns, ids, texts):
        key = field_id.strip().lower()
        if _personal(key) or _personal(str(text)):
            personal.append(str(field_id))
            if "mail" in key and email is None:
                email = frame[column].map(likert.normal).replace({"": None, "anonymous": None})
            continue
        if key in meta or str(text).strip().lower() in meta:
            continue
        questions.append(Question(column, str(field_id), str(text).strip(), _split(str(text), source)))
    native_column = next((c for c in frame.columns if c.strip().lower() in (_NATIVE_ID.get(source, ""),)), None)
    if native_column is not None and frame[native_column].str.strip().ne("").all():
        native = source + "|" + frame[native_column].str.strip()
    else:  # no response ID (Google Forms): the response's own content, personal columns left out, keyed below
        kept = [c for c, f, t in zip(frame.columns, ids, texts) if str(f) not in personal]
        content = frame[kept].astype(str).agg("\x1f".join, axis=1) if kept else frame.index.astype(str).to_series()
        native = source + "|" + content
    notes = []
    status = next((c for c in frame.columns if c.strip().lower() == "status"), None)
    out = Export(name, source, frame, questions, personal, email, native, dict(codes or {}), notes)
    if status is not None:
        preview = (
            frame[status].str.strip().str.lower().isin({"survey preview", "survey test", "spam", "1", "2", "8", "9"})
        )
        if preview.any():
            notes.append(f"{int(preview.sum())} survey preview or spam response(s) left out (Qualtrics Status)")
            _keep(out, ~preview)
    return out


def _keep(export: Export, keep: pd.Series) -> None:
    export.frame = export.frame[keep]
    export.native = export.native[keep]
    if export.email is not None:
        export.email = export.email[keep]


# ----------------------------------------------------------------------------------------------
# The summary
# ----------------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What an import read and wrote, as the command prints it."""

    source: str
    file: str
    into: Path
    responses: int = 0
    written: dict[str, int] = field(default_factory=dict)  # table -> rows added
    already: dict[str, int] = field(default_factory=dict)  # table -> rows that were there already
    matched: dict[str, str] = field(default_factory=dict)  # question -> item_id
    added: list[str] = field(default_factory=list)  # "Q1A2B3C (construct, scale): text"
    personal: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    linked: int = 0
    pseudonymous: int = 0
    anonymous: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.file} ({self.source}) into {self.into}:"]
        lines.append(f"  read {self.responses} response(s)" + self._people())
        for table, n in self.written.items():
            lines.append(f"  wrote {n} row(s) to {table}.csv")
        for table, n in self.already.items():
            if n:
                lines.append(f"  {n} row(s) of {table}.csv were there already and were not written again")
        if self.already and not any(self.written.values()):
            lines.append("  nothing new: this export had been imported already")
        if self.matched:
            lines.append("  questions matched to items:")
            lines += [f"    {item} <- {text}" for text, item in self.matched.items()]
        if self.added:
            lines.append("  items added to survey_items.csv:")
            lines += [f"    {item}" for item in self.added]
        if self.personal:
            lines.append(f"  personal columns dropped (never written): {', '.join(self.personal)}")
        if self.skipped:
            lines.append("  not imported:")
            lines += [f"    {s}" for s in self.skipped]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _people(self) -> str:
        parts = []
        if self.linked:
            parts.append(f"{self.linked} linked to educators by e-mail")
        if self.pseudonymous:
            parts.append(f"{self.pseudonymous} with a pseudonymous respondent key")
        if self.anonymous:
            parts.append(f"{self.anonymous} anonymous")
        return f": {', '.join(parts)}" if parts else ""


# ----------------------------------------------------------------------------------------------
# The folder being imported into
# ----------------------------------------------------------------------------------------------


@dataclass
class _Folder:
    path: Path
    tables: Mapping[str, pd.DataFrame]

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)


def _folder(into: Path) -> _Folder:
    if not into.is_dir():
        raise ContractError(
            [Problem(str(into), "a data folder to import into", "create one with: plevaluate init " + str(into))]
        )
    for spec in TABLES.values():
        for suffix in WORKBOOK_SUFFIXES:
            if (into / (spec.name + suffix)).exists():
                raise ContractError(
                    [
                        Problem(
                            spec.name + suffix,
                            "CSV tables to append to; import writes CSV files",
                            f"save {spec.name}{suffix} as {spec.filename} (CSV UTF-8) and remove the workbook.",
                        )
                    ]
                )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)
        try:
            district = load(into)
        except ContractError as exc:
            raise ContractError(
                [Problem(str(into), "a folder that validates before anything is imported into it", "fix these first:")]
                + list(exc.problems),
                str(into),
            ) from None
    return _Folder(into, district.tables)


#: The shortest district secret accepted: a short secret can be guessed, and with it every pseudonym reversed.
MIN_SECRET_BYTES = 16


def _secret(secret: str | bytes | None) -> bytes | None:
    where = "the secret given"
    if secret is None:
        secret, where = os.environ.get(SECRET_VARIABLE), f"${SECRET_VARIABLE}"
    if secret is None:
        return None
    value = (secret.encode() if isinstance(secret, str) else secret).strip()
    if not value:
        return None
    if len(value) < MIN_SECRET_BYTES:
        raise ContractError(
            [
                Problem(
                    where,
                    f"a secret of at least {MIN_SECRET_BYTES} bytes, but it holds {len(value)}: a short secret "
                    "can be guessed, and with it every pseudonymous key reversed",
                    "make a long random secret (python -c 'import secrets; print(secrets.token_hex(32))' "
                    "> ~/plevaluate-secret) and keep it outside the data folder",
                )
            ],
            where,
            doing="use",
        )
    return value


def read_secret(path: str | Path, into: str | Path) -> bytes:
    """The district secret from ``--secret-file``, through the read gate: a regular file kept outside the data
    folder (where reports and shared copies of the folder cannot carry it), at least 16 bytes."""
    path = Path(path)
    inputs = Inputs.of(into)
    inside = inputs.overlapping(path.absolute().parent)
    if inputs.which(path) is not None or (inside is not None and inside[1] != "contains"):
        raise OutputError(
            [
                Problem(
                    f"--secret-file {path}",
                    "a secret kept outside the data folder, where reports and shared copies of the folder cannot "
                    "carry it; this file is inside the data folder",
                    "move the secret file out of the data folder",
                )
            ],
            str(path),
            doing="use",
        )
    secret = _secret(read_bytes(path, kind="secret", label=f"--secret-file {path}"))
    if secret is None:
        raise ContractError(
            [Problem(f"--secret-file {path}", "a secret, but the file is empty", "write a long random secret into it")],
            str(path),
            doing="use",
        )
    return secret


# ----------------------------------------------------------------------------------------------
# Questions to items, labels to numbers
# ----------------------------------------------------------------------------------------------


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


def _new_item_id(text: str) -> str:
    return "Q" + hashlib.sha1(likert.normal(text).encode()).hexdigest()[:6].upper()


@dataclass
class _Coded:
    question: Question
    item: str
    values: pd.Series  # float codes, NaN missing
    scale_min: int
    scale_max: int
    scale: str


def _code_questions(
    export: Export, items: pd.DataFrame | None, mapping: ImportMapping, summary: ImportSummary
) -> tuple[list[_Coded], list[dict], list[Problem]]:
    problems: list[Problem] = []
    scales = _scales(mapping)
    by_text = {}
    if items is not None:
        for _, item in items.iterrows():
            by_text.setdefault(likert.normal(item["text"]), item)
    known = {} if items is None else {row["item_id"]: row for _, row in items.iterrows()}
    school_q = likert.normal(mapping.school_question) if mapping.school_question else None

    def answers(question: Question) -> pd.Series:
        values = export.frame[question.column].fillna("").astype(str)
        normal = values.map(likert.normal)
        return values.where((normal != "") & ~normal.isin(likert.NOT_A_RATING))

    # a first pass gives each rating family the labels used anywhere in the export (a form uses one scale)
    used: dict[str, set[str]] = {}
    for question in export.questions:
        found = answers(question).dropna()
        if found.empty or question.column in export.codes:
            continue
        labels = set(found.map(likert.normal))
        for scale in scales.values():
            if labels <= scale.labels():
                used.setdefault(scale.family, set()).update(labels)

    coded, new_items = [], []
    for question in export.questions:
        if school_q in {likert.normal(t) for t in (question.field_id, question.column, *question.texts)}:
            continue
        entry = _lookup(mapping, question)
        if entry is not None and entry.skip:
            summary.skipped.append(f"{question.text}: skipped by the mapping file")
            continue
        item_row = None
        if entry is not None and entry.item is not None:
            item_id = entry.item
            item_row = known.get(item_id)
        else:
            item_row = next((by_text[likert.normal(t)] for t in question.texts if likert.normal(t) in by_text), None)
            item_id = item_row["item_id"] if item_row is not None else None
        given = answers(question)
        present = given.dropna()
        points = None
        if item_row is not None and pd.notna(item_row.get("scale_min")) and pd.notna(item_row.get("scale_max")):
            low, high = int(item_row["scale_min"]), int(item_row["scale_max"])
            points = high - low + 1
        else:
            low, high = 1, None
        # numbers: .sav codes, or numeric exports with a known scale
        numeric = pd.to_numeric(present, errors="coerce")
        if question.column in export.codes:
            labels = export.codes[question.column]
            missing = {c for c, label in labels.items() if likert.normal(label) in likert.NOT_A_RATING}
            valid = sorted(set(labels) - missing)
            if not valid:
                summary.skipped.append(f"{question.text}: value labels are not a rating scale")
                continue
            values = pd.to_numeric(given, errors="coerce")
            values = values.where(~values.isin(missing))
            outside = values.notna() & ~values.isin(valid)
            for row in outside[outside].index:
                problems.append(
                    Problem(
                        export.name,
                        "a value with a value label",
                        "check the export.",
                        row,
                        question.field_id,
                        str(given[row]),
                    )
                )
            low, high, scale_name = int(min(valid)), int(max(valid)), "value labels"
        elif len(present) and numeric.notna().all():
            if entry is not None and entry.scale_min is not None and entry.scale_max is not None:
                low, high = entry.scale_min, entry.scale_max
            elif item_row is None or high is None:
                summary.skipped.append(
                    f"{question.text}: numbers with no scale (give scale_min and scale_max in the mapping file)"
                )
                continue
            values = pd.to_numeric(given, errors="coerce")
            outside = values.notna() & ((values < low) | (values > high) | (values % 1 != 0))
            for row in outside[outside].index:
                problems.append(
                    Problem(
                        export.name,
                        f"a whole number from {low} to {high}",
                        "correct the answer in the export.",
                        row,
                        question.field_id,
                        str(given[row]),
                    )
                )
            scale_name = f"{low}-{high}"
        else:
            if present.empty:
                if item_id is None:
                    summary.skipped.append(f"{question.text}: no answers")
                    continue
                values, scale_name = pd.Series(np.nan, index=given.index), "no answers"
                high = high if high is not None else low + 4
            else:
                labels = set(present.map(likert.normal))
                hits = present.map(lambda v: likert.recognized(v, scales.values()))
                if entry is None or entry.scale is None:
                    if hits.mean() < 0.5:
                        summary.skipped.append(f"{question.text}: not a rating question (text or choices)")
                        continue
                    family = next((s.family for s in scales.values() if labels & s.labels() == labels), None)
                    pool = labels | used.get(family, set()) if family else labels
                    scale, longer = likert.choose(pool, scales.values(), points)
                    if scale is None:
                        scale, longer = likert.choose(labels, scales.values(), points)
                else:
                    scale = scales.get(entry.scale)
                    longer = []
                    if scale is None:
                        problems.append(
                            Problem(
                                "mapping file",
                                f"a scale named {entry.scale!r}",
                                f"use one of {', '.join(scales)} or define it under scales:.",
                                column=question.text,
                            )
                        )
                        continue
                if scale is None:
                    best = max(scales.values(), key=lambda s, found=present: sum(s.code(v) is not None for v in found))
                    for row, value in present.items():
                        if best.code(value) is None:
                            problems.append(
                                Problem(
                                    export.name,
                                    f"a label of the {best.name.replace('-', ' ')}-point scale "
                                    f"({', '.join(sorted(best.labels()))})",
                                    "correct the answer in the export, or define the form's scale under scales: in "
                                    "the mapping file and name it for this question.",
                                    row,
                                    question.field_id,
                                    value,
                                )
                            )
                    continue
                if longer:
                    summary.notes.append(
                        f"{question.text!r}: answers fit the {scale.name} scale and were coded on it; if the form "
                        f"offered {' or '.join(s.name for s in longer)} (points no one chose), name that scale for "
                        "this question in the mapping file"
                    )
                codes = given.map(lambda v, on=scale: np.nan if pd.isna(v) else on.code(v))
                values = pd.to_numeric(codes, errors="coerce") + (low - 1)
                high = low + len(scale) - 1
                scale_name = scale.name
        if item_id is None:
            item_id = _new_item_id(question.texts[-1])
        if item_id not in known and item_id not in {i["item_id"] for i in new_items}:
            construct = (entry.construct if entry else None) or "unassigned"
            new_items.append(
                {
                    "item_id": item_id,
                    "construct": construct,
                    "text": question.texts[-1],
                    "reverse_coded": "true" if entry is not None and entry.reverse_coded else "false",
                    "scale_min": str(low),
                    "scale_max": str(high),
                    "level": str((entry.level if entry else None) or 1),
                }
            )
            summary.added.append(f"{item_id} ({construct}, {scale_name}): {question.texts[-1]}")
        else:
            summary.matched[question.text] = item_id
        coded.append(_Coded(question, item_id, values, low, int(high), scale_name))
    return coded, new_items, problems


# ----------------------------------------------------------------------------------------------
# Respondents
# ----------------------------------------------------------------------------------------------


def _respondents(
    export: Export, folder: _Folder, secret: bytes | None, anonymous: bool, summary: ImportSummary
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """educator_id, school_id (of linked educators) and pseudonymous key of each response."""
    index = export.frame.index
    educator = pd.Series(None, index=index, dtype=object)
    school = pd.Series(None, index=index, dtype=object)
    key = pd.Series(None, index=index, dtype=object)
    email = export.email
    if email is None or anonymous:
        summary.anonymous = len(index)
        return educator, school, key
    educators = folder.table("educators")
    if educators is not None and "email" in educators.columns:
        lookup = educators.dropna(subset=["email"])
        by_email = dict(zip(lookup["email"].map(likert.normal), lookup["educator_id"]))
        school_of = dict(zip(educators["educator_id"], educators["school_id"]))
        educator = email.map(lambda e: by_email.get(e) if isinstance(e, str) else None)
        school = educator.map(lambda e: school_of.get(e) if isinstance(e, str) else None)
    unlinked = email.notna() & educator.isna()
    if unlinked.any():
        if secret is None:
            raise ContractError(
                [
                    Problem(
                        export.name,
                        f"a way to key {int(unlinked.sum())} respondent(s) whose e-mail is not in educators.csv's "
                        "email column without keeping the e-mail",
                        f"give a district-held secret (--secret-file, kept outside the data folder, or the "
                        f"{SECRET_VARIABLE} environment variable) for pseudonymous keys; or add the e-mails to "
                        "educators.csv's email column; or import with --anonymous.",
                    )
                ]
            )
        key[unlinked] = email[unlinked].map(
            lambda e: "p-" + hmac.new(secret, e.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
        )
    summary.linked = int(educator.notna().sum())
    summary.pseudonymous = int(key.notna().sum())
    summary.anonymous = len(index) - summary.linked - summary.pseudonymous
    return educator, school, key


def _schools_from_answers(export: Export, folder: _Folder, mapping: ImportMapping, problems: list[Problem]):
    if not mapping.school_question:
        return None
    wanted = likert.normal(mapping.school_question)
    question = next(
        (q for q in export.questions if wanted in {likert.normal(t) for t in (q.field_id, q.column, *q.texts)}), None
    )
    if question is None:
        problems.append(
            Problem(
                "mapping file",
                f"a question {mapping.school_question!r} in the export (school_question)",
                "copy the question's text or field ID from the export.",
            )
        )
        return None
    schools = folder.table("schools")
    lookup = {}
    if schools is not None:
        lookup.update({likert.normal(n): i for n, i in zip(schools["school_name"], schools["school_id"])})
        lookup.update({likert.normal(i): i for i in schools["school_id"]})
    answers = export.frame[question.column].fillna("")
    out = answers.map(lambda v: lookup.get(likert.normal(v)) if v.strip() else None)
    for row in out[out.isna() & answers.str.strip().ne("")].index:
        problems.append(
            Problem(
                export.name,
                "a school named in schools.csv (school_name or school_id)",
                "correct the answer, or add the school to schools.csv.",
                row,
                question.field_id,
                answers[row],
            )
        )
    return out


# ----------------------------------------------------------------------------------------------
# Appending to the folder
# ----------------------------------------------------------------------------------------------


def _existing(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        return [], []
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    return (rows[0], [r for r in rows[1:] if any(c.strip() for c in r)]) if rows else ([], [])


def _append(
    folder: Path,
    additions: Mapping[str, list[dict]],
    origins: Mapping[str, list[int | None]],
    export_name: str,
    summary: ImportSummary,
) -> None:
    """Append new rows (never changing a row that is there), check the whole folder with them, then write."""
    planned: dict[str, tuple[list[str], list[list[str]], int]] = {}
    kept_origins: dict[str, list[int | None]] = {}
    for table, rows in additions.items():
        spec = TABLES[table]
        header, old = _existing(folder / spec.filename)
        if not header:
            header = [c.name for c in spec.columns if c.required or any(c.name in r for r in rows)]
        header = header + [c for r in rows for c in r if c not in header]
        header = list(dict.fromkeys(header))
        key = list(spec.key) or header
        seen = {tuple(dict(zip(header, r)).get(k, "").strip() for k in key) for r in old}
        new, kept, repeat = [], [], 0
        for row, origin in zip(rows, origins[table]):
            mark = tuple(str(row.get(k, "") or "").strip() for k in key)
            if mark in seen:
                repeat += 1
                continue
            seen.add(mark)
            new.append([str(row.get(c, "") or "") for c in header])
            kept.append(origin)
        summary.already[table] = summary.already.get(table, 0) + repeat
        summary.written[table] = len(new)
        padded_old = [r + [""] * (len(header) - len(r)) for r in old]
        planned[table] = (header, padded_old + new, len(old))
        kept_origins[table] = kept
    if not any(len(rows) - n for _, rows, n in planned.values()):
        return
    with tempfile.TemporaryDirectory(prefix="plevaluate-import-") as tmp:
        trial = Path(tmp)
        for path in folder.iterdir():
            if path.is_file() and (path.suffix.lower() == ".csv" or path.name in ("plan.yml", "plan.yaml")):
                shutil.copy2(path, trial / path.name)
        for table, (header, rows, _) in planned.items():
            _write_csv(trial / TABLES[table].filename, header, rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ContractWarning)
            try:
                load(trial)
            except ContractError as exc:
                raise ContractError(
                    [_origin(p, planned, kept_origins, export_name) for p in exc.problems if p.severity == "error"],
                    export_name,
                ) from None
        for table in planned:  # each file replaced whole, never half-written
            name = TABLES[table].filename
            staged = folder / f".{name}.importing"
            shutil.copy2(trial / name, staged)
            os.replace(staged, folder / name)


def _origin(problem: Problem, planned, origins, export_name: str) -> Problem:
    """A problem in a row about to be added, told as the export's row."""
    for table, (_, _, n_old) in planned.items():
        if problem.file == TABLES[table].filename and problem.row is not None and problem.row > n_old + 1:
            origin = origins[table][problem.row - n_old - 2]
            return Problem(
                f"{export_name} (as {TABLES[table].filename})",
                problem.expected,
                problem.fix,
                origin,
                problem.column,
                problem.value,
                problem.severity,
            )
    return problem


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _number(value: float) -> str:
    return "" if pd.isna(value) else (str(int(value)) if float(value).is_integer() else repr(float(value)))


# ----------------------------------------------------------------------------------------------
# The two kinds of import
# ----------------------------------------------------------------------------------------------


def import_export(
    source: str,
    file: str | Path,
    into: str | Path,
    *,
    session: str | None = None,
    mapping: str | Path | ImportMapping | None = None,
    secret: str | bytes | None = None,
    anonymous: bool = False,
) -> ImportSummary:
    """Convert an export into the data contract's tables and append them to a data folder.

    Parameters
    ----------
    source : {"google", "msforms", "qualtrics", "surveymonkey", "sheet"}
    file : path
        The export as downloaded (CSV, TSV, XLSX, or SPSS .sav for qualtrics and surveymonkey).
    into : path
        The data folder (it must validate before the import; it is validated again with the new rows).
    session : str, optional
        The session_id the survey was about (survey sources); else the mapping file's ``session``.
    mapping : path or ImportMapping, optional
        Maps questions to items, defines custom scales, or describes a generic sheet.
    secret : str or bytes, optional
        District-held secret for pseudonymous respondent keys (default: ``$PLEVALUATE_SECRET``). Never stored.
    anonymous : bool
        Drop respondents' identities instead of keying them (responses are not linked across surveys).

    Returns
    -------
    ImportSummary
        What was read and written; ``str()`` is the command's printed summary.

    Raises
    ------
    ContractError
        Listing every problem (the export's file, row, column and value). Nothing is written then.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: use one of {', '.join(SOURCES)}")
    file, into = Path(file), Path(into)
    plan = mapping if isinstance(mapping, ImportMapping) else read_mapping(mapping)
    if not into.is_dir():
        _folder(into)  # the error that says how to make one
    tables = Inputs.of(into)  # the files an import may rewrite: never the export or the mapping, through any link
    for flag, given in (("the export", file), ("--mapping", None if isinstance(mapping, ImportMapping) else mapping)):
        same = tables.which(Path(given)) if given is not None else None
        if same is not None and same.suffix.lower() == ".csv":
            raise OutputError(
                [
                    Problem(
                        f"{flag} {given}",
                        f"a file apart from the data folder's tables, but it is {same}, which the import rewrites",
                        "import a copy of the export kept outside the data folder",
                    )
                ],
                str(given),
            )
    # one import at a time: two at once would each append to the table as it was before the other
    with _one_at_a_time(into):
        try:
            return _import(source, file, into, plan, session, secret, anonymous)
        except ContractError as exc:  # told as what it is: this export was not imported, nothing was written
            raise ContractError(exc.problems + exc.warnings, file.name, doing="import") from None


@contextlib.contextmanager
def _one_at_a_time(folder: Path):
    """An exclusive lock on the data folder itself (no lock file is left in it); released however the process ends."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(
                f"another plevaluate import is writing to {folder}; wait for that import to finish"
            ) from None
        yield
    finally:
        os.close(handle)


def _import(
    source: str,
    file: Path,
    into: Path,
    plan: ImportMapping,
    session: str | None,
    secret: str | bytes | None,
    anonymous: bool,
) -> ImportSummary:
    folder = _folder(into)
    summary = ImportSummary(source, file.name, into)
    if source == "sheet":
        _import_sheet(file, folder, plan, summary)
        return summary
    session = session or plan.session
    sessions = folder.table("sessions")
    if not session:
        raise ContractError([Problem(file.name, "the session the survey was about", "give --session SESSION_ID.")])
    if sessions is None or session not in set(sessions["session_id"]):
        raise ContractError(
            [
                Problem(
                    "sessions.csv",
                    f"a session {session!r} for the responses to belong to",
                    f"add a row for {session} to sessions.csv (date, format, hours), then import again.",
                )
            ]
        )
    export = _read(source, file)
    summary.notes += export.notes
    duplicated = export.native.duplicated()
    if duplicated.any():
        summary.notes.append(f"{int(duplicated.sum())} row(s) repeat an earlier response in the export; read once")
        _keep(export, ~duplicated)
    summary.responses = len(export.frame)
    summary.personal = export.personal
    problems: list[Problem] = []
    coded, new_items, found = _code_questions(export, folder.table("survey_items"), plan, summary)
    problems += found
    answered_school = _schools_from_answers(export, folder, plan, problems)
    if problems:
        raise ContractError(problems, file.name)
    educator, school, key = _respondents(export, folder, _secret(secret), anonymous, summary)
    if answered_school is not None:
        school = school.fillna(answered_school)
    # one ID per response and session: tools number responses per form (Microsoft Forms' ID 1, 2, 3 ...)
    # keyed with the district secret where there is one; the content keyed holds no personal column either way
    keyed = _secret(secret) or b"plevaluate response"
    response_ids = export.native.map(
        lambda n: "r-" + hmac.new(keyed, f"{session}|{n}".encode(), hashlib.sha256).hexdigest()[:16]
    )
    rows, origins = [], []
    for item in coded:
        for row, value in item.values.items():
            if pd.isna(value) and not str(export.frame.at[row, item.question.column]).strip():
                continue  # a blank cell: the question was not shown, or not answered ("N/A" is kept, as missing)
            rows.append(
                {
                    "response_id": response_ids[row],
                    "session_id": session,
                    "item_id": item.item,
                    "response": _number(value),
                    "educator_id": _text(educator[row]),
                    "school_id": _text(school[row]),
                    "respondent": _text(key[row]),
                }
            )
            origins.append(int(row))
    order = sorted(range(len(rows)), key=lambda i: origins[i])  # response by response, as the export reads
    rows, origins = [rows[i] for i in order], [origins[i] for i in order]
    additions = {"reactions": rows}
    item_origins: dict[str, list[int | None]] = {"reactions": origins}
    if new_items:
        additions = {"survey_items": new_items, **additions}
        item_origins["survey_items"] = [None] * len(new_items)
    if not key.notna().any():
        for row in rows:
            row.pop("respondent")
    _append(into, additions, item_origins, file.name, summary)
    summary.written.pop("survey_items", None)
    return summary


def _import_sheet(file: Path, folder: _Folder, plan: ImportMapping, summary: ImportSummary) -> None:
    if plan.table not in TABLES:
        raise ContractError(
            [Problem("mapping file", "table: the contract table the sheet fills", f"one of {', '.join(TABLES)}.")]
        )
    spec = TABLES[plan.table]
    rows = _rows(file, plan.sheet)
    if len(rows) < plan.header_row:
        raise ContractError([Problem(file.name, f"a header in row {plan.header_row}", "set header_row.")])
    frame = _frame(rows[plan.header_row - 1], rows[plan.header_row :], plan.header_row + 1)
    summary.responses = len(frame)
    problems = []
    columns = {likert.normal(c): c for c in frame.columns}
    used = set()

    def column(name: str, role: str) -> str | None:
        found = columns.get(likert.normal(name))
        if found is None:
            problems.append(
                Problem(file.name, f"a column {name!r} ({role})", f"columns in the sheet: {', '.join(frame.columns)}.")
            )
        else:
            used.add(found)
        return found

    out = pd.DataFrame(index=frame.index)
    for target, given in plan.columns.items():
        if spec.column(target) is None:
            problems.append(
                Problem(
                    "mapping file",
                    f"a column of {spec.filename}",
                    f"columns: {', '.join(c.name for c in spec.columns)}.",
                    column=target,
                )
            )
        elif isinstance(given, Constant):
            out[target] = given.value
        else:
            found = column(given, target)
            if found is not None:
                out[target] = frame[found].str.strip()
    if plan.educator_email:
        found = column(plan.educator_email, "educator e-mail")
        educators = folder.table("educators")
        if found is not None:
            if educators is None or "email" not in educators.columns:
                problems.append(
                    Problem(
                        "educators.csv",
                        "an email column to link the sheet's e-mails",
                        "add the educators' e-mails to educators.csv (kept private).",
                    )
                )
            else:
                by_email = dict(zip(educators["email"].map(likert.normal), educators["educator_id"]))
                emails = frame[found].map(likert.normal)
                out["educator_id"] = emails.map(by_email)
                for row in out.index[out["educator_id"].isna() & emails.ne("")]:
                    problems.append(
                        Problem(
                            file.name,
                            "an e-mail listed in educators.csv",
                            "add it there, or correct it.",
                            row,
                            found,
                            "(an e-mail address)",
                        )
                    )
    if "school_id" in out and folder.table("schools") is not None:
        schools = folder.table("schools")
        lookup = {likert.normal(n): i for n, i in zip(schools["school_name"], schools["school_id"])}
        out["school_id"] = out["school_id"].map(lambda v: lookup.get(likert.normal(v), v) if isinstance(v, str) else v)
    if plan.wide is not None:
        parts = []
        for given, label in plan.wide.from_.items():
            found = column(given, f"{plan.wide.by} {label}")
            if found is not None:
                part = out.copy()
                part[plan.wide.by] = label
                part[plan.wide.column] = frame[found].str.strip()
                parts.append(part[part[plan.wide.column].ne("")])
        out = pd.concat(parts) if parts else out
    if problems:
        raise ContractError(problems, file.name)
    summary.personal = [c for c in frame.columns if c not in used and _personal(c)]
    summary.skipped = [
        f"{c}: not in the mapping file" for c in frame.columns if c not in used and c not in summary.personal
    ]
    ids = [
        c for c in spec.key if spec.column(c).kind == "id" and c not in out.columns and not spec.column(c).references
    ]
    for name in ids:  # a key the sheet does not have: made from the sheet row, so a re-import matches it
        content = frame.loc[out.index].astype(str).agg("\x1f".join, axis=1)
        if plan.wide is not None:
            content = content + "\x1f" + out[plan.wide.by].astype(str)
        prefix = name[0] + "-"
        out[name] = content.map(lambda c, p=prefix: p + hashlib.sha256((spec.name + c).encode()).hexdigest()[:10])
    records = [{k: ("" if pd.isna(v) else str(v)) for k, v in r.items()} for r in out.to_dict("records")]
    _append(folder.path, {spec.name: records}, {spec.name: [int(i) for i in out.index]}, file.name, summary)
