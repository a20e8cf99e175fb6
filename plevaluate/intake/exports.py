"""Reading an export as the tool wrote it: text cells by the row number a spreadsheet shows.

Each tool's documented shape is recognised (`detect`), so an export named as the wrong tool is refused;
a workbook's header row and sheet are found and named; Excel date serials are recognised; timestamps are
read to the second as wall-clock time (`wall_clock`), the basis of the response keys that recognise one
response however it was downloaded.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import scales as likert
from ..contract import WORKBOOK_SUFFIXES, cell_text
from ..errors import ContractError, Problem
from ..gates import check_file, check_workbook, read_bytes

# Columns that identify a person or a place: dropped on reading, whatever the source.
_PERSONAL = re.compile(
    r"e-?mail|ip[ _]?address|^ip$|latitude|longitude|^location|recipient|external ?(data )?reference|"
    r"^custom ?data|^custom_\d|phone|employee|staff ?id|^educator[ _]?id$|"
    r"^((your|full|first|last|given|family|sur|teacher'?s?|respondent'?s?|educator'?s?)[ _]?)?name$|"
    r"^(first|last)_name$",
    re.IGNORECASE,
)

#: Columns a tool adds about the response itself (not questions, not personal).
METADATA = {
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
#: The column holding a tool's own, globally unique response ID.
NATIVE_ID = {"qualtrics": "responseid", "surveymonkey": ("respondent id", "respondent_id")}
#: The column holding when a response was submitted.
SUBMITTED = {
    "google": ("timestamp",),
    "msforms": ("completion time",),
    "qualtrics": ("recordeddate", "enddate"),
    "surveymonkey": ("end date", "date_modified", "end_date"),
}
TOOLS = {
    "google": "Google Forms",
    "msforms": "Microsoft Forms",
    "qualtrics": "Qualtrics",
    "surveymonkey": "SurveyMonkey",
}


def personal(header: str) -> bool:
    """Whether a column names or locates a person: a short header such as "Email Address", "Your name",
    "IPAddress" (a question that merely mentions e-mail, "I e-mail parents weekly", is a question)."""
    header = header.strip()
    return len(header.split()) <= 5 and bool(_PERSONAL.search(header) or re.search(r"\byour name\b", header, re.I))


@dataclass
class Question:
    column: str  # the column in Export.frame
    field_id: str  # the tool's own name for it (Qualtrics Q3_1; the header elsewhere)
    text: str  # the question as written
    texts: tuple[str, ...]  # texts to match against survey_items.csv: the whole, then a grid row's statement
    offered: tuple[str, ...] | None = None  # the answer options the form offered (.sav value labels), low code first
    open_ended: bool = False  # the tool marks it open-ended (SurveyMonkey's "Open-Ended Response")

    @property
    def stem(self) -> str | None:
        """A grid's question (the part every row of the grid shares), if this is a grid row."""
        grid = re.match(r"^(.*)\[(.+)\]\s*$", self.text, re.DOTALL)
        if grid:
            return grid.group(1).strip() or None
        return self.text.rsplit(" - ", 1)[0].strip() or None if " - " in self.text else None


@dataclass
class Export:
    """An export read into text cells, indexed by the row number a spreadsheet shows (or the case number)."""

    name: str
    source: str
    frame: pd.DataFrame
    questions: list[Question]
    personal: list[str]
    email: pd.Series | None
    native: pd.Series | None  # the tool's own response ID (Qualtrics, SurveyMonkey)
    legacy: pd.Series  # what plevaluate before import history keyed a response by (recognises old imports)
    submitted: pd.Series | None = None  # wall-clock "YYYY-MM-DD HH:MM:SS", or None where the cell is blank
    seconds: bool = True  # whether the timestamps carry seconds (an export re-saved by Excel may not)
    notes: list[str] = field(default_factory=list)
    finished: pd.Series | None = None  # Qualtrics Finished: False for a partial response

    def keep(self, rows: pd.Series) -> None:
        self.frame = self.frame[rows]
        for name in ("native", "legacy", "email", "submitted", "finished"):
            series = getattr(self, name)
            if series is not None:
                setattr(self, name, series[rows])


def _decode(raw: bytes) -> str:
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            return raw.decode(encoding)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _text_rows(path: Path) -> list[list[str]]:
    text = _decode(read_bytes(path, kind="export"))
    first = text.split("\n", 1)[0]
    # a tab-separated export, or a CSV saved by a spreadsheet set to a language that writes semicolons
    counts = {"\t": first.count("\t") + (1_000_000 if path.suffix.lower() == ".tsv" else 0), ";": first.count(";")}
    delimiter = max(counts, key=counts.get) if max(counts.values()) > first.count(",") else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


@dataclass
class Rows:
    """A file's rows of text cells, and where they came from."""

    rows: list[list[str]]
    sheet: str | None = None  # the workbook sheet read
    sheets: tuple[str, ...] = ()
    date1904: bool | None = None  # a workbook's date system; None for text files

    def note(self) -> str | None:
        if self.sheet is None or len(self.sheets) < 2:
            return None
        return f"read the sheet {self.sheet!r} (the workbook has {len(self.sheets)}: {', '.join(self.sheets)})"


def _date1904(path: Path) -> bool:
    """Whether a workbook counts dates from 1904 (Excel for Mac before 2011) rather than 1900."""
    try:
        with zipfile.ZipFile(path) as book:
            xml = book.read("xl/workbook.xml").decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return False
    found = re.search(r"date1904\s*=\s*\"(1|true)\"", xml)
    return found is not None


def read_rows(path: Path, sheet: str | None = None, looks_right=None) -> Rows:
    """The rows of a CSV/TSV or of a workbook's sheet: the named sheet, else the first for which ``looks_right``
    (given the rows) is true, else the first."""
    problem = check_file(path, kind="export", label=str(path))
    if problem is not None:
        raise ContractError([problem], str(path))
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        return Rows(_text_rows(path))
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
    names = tuple(book.sheet_names)
    if sheet is not None and sheet not in names:
        raise ContractError(
            [Problem(path.name, f"a sheet named {sheet!r}", f"sheets in the workbook: {', '.join(names)}.")]
        )

    def rows_of(name: str) -> list[list[str]]:
        found = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        return [[cell_text(v) for v in row] for row in found]

    date1904 = _date1904(path)
    if sheet is not None:
        return Rows(rows_of(sheet), sheet, names, date1904)
    for name in names if looks_right is not None else names[:1]:
        rows = rows_of(name)
        if looks_right is None or looks_right(rows):
            return Rows(rows, name, names, date1904)
    return Rows(rows_of(names[0]), names[0], names, date1904)


# ----------------------------------------------------------------------------------------------
# Which tool wrote it
# ----------------------------------------------------------------------------------------------


def _cells(row: Sequence[str]) -> set[str]:
    return {likert.normal(c) for c in row if str(c).strip()}


def detect(rows: Sequence[Sequence[str]]) -> tuple[str, int, str] | None:
    """(tool, header row index, evidence) for an export whose shape a tool documents, else None.

    Qualtrics: three header rows, the third of ``{"ImportId": ...}``; SurveyMonkey: Respondent ID and
    Collector ID over a row of answer options; Microsoft Forms: ID, Start time, Completion time; Google
    Forms: a first column Timestamp. A title row above the header (a workbook's merged title) is passed over.
    """
    for index, row in enumerate(rows[:10]):
        cells = _cells(row)
        if not cells:
            continue
        if len(rows) > index + 2 and any("importid" in c.lower() for c in rows[index + 2]):
            return "qualtrics", index, "three header rows, the third of ImportIds"
        if {"respondent id", "collector id"} <= cells or {"respondent_id", "collector_id"} <= cells:
            return "surveymonkey", index, "Respondent ID and Collector ID columns"
        if {"id", "start time", "completion time"} <= cells:
            return "msforms", index, "ID, Start time and Completion time columns"
        first = next((likert.normal(c) for c in row if str(c).strip()), "")
        if first in ("timestamp", "marca temporal", "horodateur", "zeitstempel") and len(cells) > 1:
            return "google", index, "a first column Timestamp"
    return None


def _wrong_tool(name: str, source: str, found: tuple[str, int, str] | None) -> ContractError | None:
    if found is not None and found[0] == source:
        return None
    if found is not None:
        tool, _, evidence = found
        return ContractError(
            [
                Problem(
                    name,
                    f"a {TOOLS[source]} export, but it looks like a {TOOLS[tool]} export ({evidence})",
                    f"import it as {tool}: plevaluate import {tool} {name} --into ...",
                )
            ]
        )
    shapes = {
        "google": "a first column Timestamp, then one column per question (Responses > Download responses (.csv))",
        "msforms": "columns ID, Start time, Completion time, then the questions (Responses > Open in Excel)",
        "qualtrics": "three header rows: field IDs, question text, ImportIds (Data & Analysis > Export > CSV)",
        "surveymonkey": "Respondent ID and Collector ID, with a second header row of answer options "
        "(Analyze results > Save as > Export file > All responses data)",
    }
    return ContractError(
        [
            Problem(
                name,
                f"a {TOOLS[source]} export: {shapes[source]}; this file has no such header",
                "download the export again as the tool writes it; a sheet of your own is imported with "
                "plevaluate import sheet and a mapping file (plevaluate import --help-mapping)",
            )
        ]
    )


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def frame_of(header: list[str], body: list[list[str]], first_row: int) -> pd.DataFrame:
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


def _split(text: str) -> tuple[str, ...]:
    """A question's texts to match: the whole, and for a grid row the statement alone."""
    texts = [text]
    grid = re.match(r"^(.*)\[(.+)\]\s*$", text, re.DOTALL)  # Google Forms, SurveyMonkey: Question [Row]
    if grid:
        texts.append(grid.group(2))
    elif " - " in text:  # Qualtrics, and SPSS labels: Question - Statement
        texts.append(text.rsplit(" - ", 1)[1])
    return tuple(t.strip() for t in texts if t.strip())


def read_export(source: str, path: Path, *, time_zone: str | None = None, date_format: str = "auto") -> Export:
    """Read an export of ``source``; refused when it has another tool's shape or none."""
    if path.suffix.lower() == ".sav":
        if source not in ("qualtrics", "surveymonkey"):
            raise ContractError(
                [
                    Problem(
                        path.name,
                        f"a {TOOLS[source]} export, but SPSS .sav files come from Qualtrics or SurveyMonkey",
                        "import it as qualtrics or surveymonkey",
                    )
                ]
            )
        export = _read_sav(path, source)
    else:
        read = read_rows(path, looks_right=lambda rows: detect(rows) is not None)
        rows = read.rows
        if not rows:
            raise ContractError([Problem(path.name, "a header row and responses, but the file is empty")])
        found = detect(rows)
        wrong = _wrong_tool(path.name, source, found)
        if wrong is not None:
            raise wrong
        at = found[1]
        notes = [n for n in (read.note(),) if n]
        if at:
            notes.append(f"the header is on row {at + 1} (row {at} and above: a title, passed over)")
        rows = rows[at:]
        if source == "qualtrics":
            frame = frame_of(rows[0], rows[3:], at + 4)
            export = _export(path.name, source, frame, list(frame.columns), rows[1])
        elif source == "surveymonkey":
            top, sub, texts, last, open_ended = rows[0], rows[1], [], "", set()
            for i, head in enumerate(top):
                last = head.strip() or last  # a question's text spans the columns of its answer options
                option = sub[i].strip() if i < len(sub) else ""
                if option.lower() == "open-ended response":
                    open_ended.add(i)
                if not head.strip() and not option:
                    texts.append(last)
                elif option and option.lower() not in ("response", "open-ended response") and head.strip() != option:
                    texts.append(f"{last} [{option}]" if last else option)
                else:
                    texts.append(last)
            frame = frame_of(texts, rows[2:], at + 3)
            opened = {c for i, c in enumerate(frame.columns) if i in open_ended}
            export = _export(path.name, source, frame, list(frame.columns), texts, open_ended=opened)
        else:
            frame = frame_of(rows[0], rows[1:], at + 2)
            export = _export(path.name, source, frame, list(frame.columns), list(frame.columns))
        export.notes[:0] = notes
        _submitted(export, read.date1904, time_zone, date_format)
        return export
    _submitted(export, False, time_zone, date_format)
    return export


def _read_sav(path: Path, source: str) -> Export:
    """An SPSS file: value labels are read as the answers' labels (a rating's or a choice's), never as numbers."""
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
    offered = {}
    for column, mapping in codes.items():
        if column in text:
            lookup = {_sav_text(c): label for c, label in mapping.items()}
            # a code with no label stays as written: the coding step names it
            text[column] = text[column].map(lambda v, m=lookup: m.get(v, v))
            offered[column] = tuple(label for _, label in sorted(mapping.items()))
    columns = list(frame.columns)
    return _export(path.name, source, text, columns, [labels.get(c) or c for c in columns], offered)


def _sav_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return cell_text(value)


def _export(
    name: str,
    source: str,
    frame: pd.DataFrame,
    ids: list[str],
    texts: Sequence[str],
    offered: Mapping[str, tuple[str, ...]] | None = None,
    *,
    open_ended: Collection[str] = (),
) -> Export:
    meta = METADATA.get(source, set()) | {"responseid", "respondent_id", "collector_id"}
    dropped, questions, email = [], [], None
    for column, field_id, text in zip(frame.columns, ids, texts):
        key = field_id.strip().lower()
        if personal(key) or personal(str(text)):
            dropped.append(str(field_id))
            if "mail" in key and email is None:
                email = frame[column].map(likert.normal).replace({"": None, "anonymous": None})
            continue
        if key in meta or str(text).strip().lower() in meta:
            continue
        offers = (offered or {}).get(column)
        questions.append(
            Question(column, str(field_id), str(text).strip(), _split(str(text)), offers, column in open_ended)
        )
    wanted = NATIVE_ID.get(source, ())
    wanted = (wanted,) if isinstance(wanted, str) else wanted
    native_column = next((c for c in frame.columns if c.strip().lower() in wanted), None)
    native = None
    if native_column is not None and frame[native_column].str.strip().ne("").all():
        native = frame[native_column].str.strip()
    legacy_id = {"msforms": "id", **{k: (v if isinstance(v, str) else v[0]) for k, v in NATIVE_ID.items()}}
    legacy_column = next((c for c in frame.columns if c.strip().lower() == legacy_id.get(source, "")), None)
    if legacy_column is not None and frame[legacy_column].str.strip().ne("").all():
        legacy = source + "|" + frame[legacy_column].str.strip()
    else:
        kept = [c for c, f in zip(frame.columns, ids) if str(f) not in dropped]
        content = frame[kept].astype(str).agg("\x1f".join, axis=1) if kept else frame.index.astype(str).to_series()
        legacy = source + "|" + content
    out = Export(name, source, frame, questions, dropped, email, native, legacy)
    status = next((c for c in frame.columns if c.strip().lower() == "status"), None)
    if status is not None:
        preview = (
            frame[status].str.strip().str.lower().isin({"survey preview", "survey test", "spam", "1", "2", "8", "9"})
        )
        if preview.any():
            out.notes.append(f"{int(preview.sum())} survey preview or spam response(s) left out (Qualtrics Status)")
            out.keep(~preview)
    finished = next((c for c in out.frame.columns if c.strip().lower() == "finished"), None)
    if finished is not None:
        out.finished = ~out.frame[finished].map(likert.normal).isin({"false", "0", "no"})
    return out


# ----------------------------------------------------------------------------------------------
# Timestamps
# ----------------------------------------------------------------------------------------------

# a zone after a time: "GMT-6", "UTC+05:30", "-06:00" or "+0200" right after the time, "Z", or a name such as "MDT"
# (a date's own "-15" is no offset: an offset follows a time or GMT/UTC)
_ZONE = re.compile(
    r"\s*(?:(?P<offset>(?:GMT|UTC)\s*[+-]\d{1,2}(?::?\d{2})?|(?<=\d:\d\d)[+-]\d{2}:?\d{2}|(?<=\d:\d\d)\s+[+-]\d{2}:?\d{2})"
    r"|(?<=\d)(?P<z>Z)|(?P<name>\b(?:GMT|UTC|[A-Z]{2,4}T)\b))\s*$"
)
_SERIAL = re.compile(r"^\d{4,6}(\.\d+)?$")  # an Excel date serial: 45889.625 is 2025-08-20 15:00


def _offset(text: str) -> datetime.timezone | None:
    sign = -1 if "-" in text else 1
    digits = re.sub(r"[^\d:]", "", text)
    hours, _, minutes = digits.partition(":")
    if not minutes and len(hours) > 2:
        hours, minutes = hours[:-2], hours[-2:]
    return datetime.timezone(sign * datetime.timedelta(hours=int(hours or 0), minutes=int(minutes or 0)))


def wall_clock(
    values: pd.Series, *, date1904: bool = False, time_zone: str | None = None, date_format: str = "auto"
) -> tuple[pd.Series, list[int], bool]:
    """Timestamps as ``YYYY-MM-DD HH:MM:SS`` text: the wall-clock time written (an offset or zone name dropped),
    or converted to ``time_zone`` where the text carries an offset. Excel serials are converted with the
    workbook's date system. Returns the texts, the rows that could not be read, and whether seconds were written."""
    zone = None
    if time_zone:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(time_zone)
    out = pd.Series(None, index=values.index, dtype=object)
    bad: list[int] = []
    seconds = False
    texts = values.fillna("").astype(str).str.strip()
    slashed = texts[texts.str.match(r"^\d{1,2}/\d{1,2}/\d{2,4}")]
    dayfirst = date_format == "DD/MM/YYYY" or (
        date_format == "auto" and slashed.str.extract(r"^(\d{1,2})/")[0].astype(float).gt(12).any()
    )
    for row, text in texts.items():
        if not text:
            continue
        if _SERIAL.match(text):
            origin = datetime.datetime(1904, 1, 1) if date1904 else datetime.datetime(1899, 12, 30)
            moment = origin + datetime.timedelta(days=float(text))
            moment = moment.replace(microsecond=0) + datetime.timedelta(seconds=round(moment.microsecond / 1e6))
            seconds = seconds or moment.second != 0
            out[row] = moment.strftime("%Y-%m-%d %H:%M:%S")
            continue
        found = _ZONE.search(text)
        offset = None
        if found and (found.group("offset") or found.group("z")):
            offset = datetime.timezone.utc if found.group("z") else _offset(found.group("offset"))
        bare = text[: found.start()] if found else text
        try:
            moment = pd.Timestamp(pd.to_datetime(bare, dayfirst=dayfirst)).to_pydatetime()
        except (ValueError, TypeError, OverflowError):
            bad.append(int(row))
            continue
        if zone is not None and offset is not None:
            moment = moment.replace(tzinfo=offset).astimezone(zone).replace(tzinfo=None)
        seconds = seconds or bool(re.search(r"\d:\d{2}:\d{2}", bare))
        out[row] = moment.strftime("%Y-%m-%d %H:%M:%S")
    return out, bad, seconds


def _submitted(export: Export, date1904: bool | None, time_zone: str | None, date_format: str) -> None:
    wanted = SUBMITTED.get(export.source, ())
    column = next((c for w in wanted for c in export.frame.columns if c.strip().lower() == w), None)
    if column is None:
        export.submitted = None
        return
    stamps, bad, seconds = wall_clock(
        export.frame[column], date1904=bool(date1904), time_zone=time_zone, date_format=date_format
    )
    if bad:
        raise ContractError(
            [
                Problem(
                    export.name,
                    "a date and time (when the response was submitted)",
                    "download the export again; if a spreadsheet changed the column, format it as a date and time",
                    row,
                    column,
                    str(export.frame.at[row, column]),
                )
                for row in bad
            ]
        )
    export.submitted, export.seconds = stamps, seconds
    if not seconds and stamps.notna().any():
        export.notes.append(
            f"the {column} column has no seconds (a spreadsheet re-saved it): responses are recognised to the minute"
        )
