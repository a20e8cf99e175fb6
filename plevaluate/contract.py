"""The data contract: what each CSV table in a district's data folder holds, and loading it.

A district's data is a folder of CSV tables (UTF-8, header row) plus ``plan.yml``.
Only ``schools.csv`` and ``educators.csv`` are required; a level whose table is
absent is reported as "no evidence collected". IDs are read as text, so
``007`` stays ``007``. Extra columns are kept.

`load` reads every table, checks it against `TABLES`, and raises one
`~plevaluate.errors.ContractError` listing every problem it found (file, CSV row
number with the header as row 1, column, value, what was expected, the likely
fix). Valid but doubtful data gives a `~plevaluate.errors.ContractWarning`, and
is recorded in `District.notes`.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import csv
import datetime
import difflib
import hashlib
import io
import re
import threading
import warnings
import weakref
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import CancelledError
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from . import registry
from ._outputs import hand_back_memory
from .cluster import PATIENCE, Unanswered, addresses_of, check_workers, deserted, embedded, fetched, workers_of
from .comments.codebook import CODEBOOK, Codebook, read_codebook
from .comments.redact import findable, for_district
from .errors import ContractError, ContractWarning, LostProcessWarning, Problem
from .gates import check_file, check_workbook, read_blocks, read_bytes
from .held import HeldTable, LostPart, compact, cut_by, lost, parts_for
from .plan import Plan, plan_years, read_plan
from .vocabulary import LEVEL_OF_USE_CODES, LEVEL_OF_USE_NAMES, RATING_LABELS, RATING_WORDS, in_program

__all__ = [
    "LEVEL_OF_USE_CODES",
    "LEVEL_OF_USE_NAMES",
    "RATING_LABELS",
    "RATING_WORDS",
    "Column",
    "District",
    "TABLES",
    "InputTable",
    "in_program",
    "load",
    "raw_table",
]

# Cells that mean "no value" in typed columns (numbers, dates, flags, categories).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "-", "--", "\u2013", "\u2014", "."})
# Invisible characters that change how text reads (bidirectional overrides, zero-width marks) or are
# control codes: warned about at loading; reports show them as visible [U+XXXX] marks.
INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
#: An educator's roles (educators.csv; a comment's writer in comments.csv).
ROLES = ("teacher", "coach", "principal", "assistant_principal", "specialist", "other")
TRUE_TOKENS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_TOKENS = frozenset({"false", "f", "no", "n", "0"})


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``kind`` is one of ``id`` (text, compared exactly), ``text``, ``category``
    (one of ``choices``), ``number``, ``integer``, ``date``, ``bool``, ``rating``
    (1-4 or a rubric label) and ``level_of_use`` (0-7 or a CBAM roman label).
    """

    name: str
    kind: str
    required: bool = False
    nullable: bool = False
    choices: tuple[str, ...] = ()
    min: float | None = None
    min_inclusive: bool = True
    max: float | None = None
    references: str | None = None
    description: str = ""

    def expected(self) -> str:
        return "expected " + self.expectation()

    def expectation(self) -> str:
        if self.kind == "category":
            return "one of " + ", ".join(self.choices)
        if self.kind in ("number", "integer"):
            noun = "a whole number" if self.kind == "integer" else "a number"
            bounds = []
            if self.min is not None:
                bounds.append(f"{'at least' if self.min_inclusive else 'greater than'} {self.min:g}")
            if self.max is not None:
                bounds.append(f"at most {self.max:g}")
            return noun + (" " + " and ".join(bounds) if bounds else "")
        if self.kind == "date":
            return "a date such as 2025-09-15 (YYYY-MM-DD) or 9/15/2025"
        if self.kind == "bool":
            return "true or false (also yes/no, 1/0)"
        if self.kind == "rating":
            return "a rating 1-4 or one of " + ", ".join(RATING_LABELS)
        if self.kind == "level_of_use":
            return "a Level of Use 0-7 or one of 0, I, II, III, IVA, IVB, V, VI"
        return "a value"


@dataclass(frozen=True)
class InputTable:
    """One input table of the data contract (a CSV file or sheet the district provides): its columns, primary key
    and Guskey level. Result tables are declared with `plevaluate.schema.TableSpec`."""

    name: str
    row_is: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required: bool = False
    level: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _id(name: str, refs: str | None = None, required: bool = True, nullable: bool = False, desc: str = "") -> Column:
    return Column(name, "id", required=required, nullable=nullable, references=refs, description=desc)


TABLES: Mapping[str, InputTable] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            InputTable(
                "schools",
                "a school",
                (
                    _id("school_id"),
                    Column("school_name", "text", required=True),
                    Column("group", "category", required=True, choices=("participant", "comparison")),
                    Column(
                        "grade_band", "category", nullable=True, choices=("elementary", "middle", "high", "k8", "other")
                    ),
                    Column("cohort", "text", nullable=True),
                    Column("enrollment", "integer", nullable=True, min=0),
                ),
                key=("school_id",),
                required=True,
            ),
            InputTable(
                "educators",
                "an educator",
                (
                    _id("educator_id"),
                    _id("school_id", "schools.school_id"),
                    Column(
                        "role",
                        "category",
                        required=True,
                        choices=ROLES,
                    ),
                    Column("years_experience", "number", nullable=True, min=0, max=60),
                    Column("participant", "bool", nullable=True),
                    Column("name", "text", nullable=True, description="never shown in any report"),
                    Column(
                        "email",
                        "text",
                        nullable=True,
                        description="never shown in any report; links survey responses to the educator (plevaluate import)",
                    ),
                ),
                key=("educator_id",),
                required=True,
            ),
            InputTable(
                "sessions",
                "a PL session or activity",
                (
                    _id("session_id"),
                    Column("date", "date", required=True),
                    Column(
                        "format",
                        "category",
                        required=True,
                        choices=("workshop", "coaching", "plc", "virtual", "learning_walk", "conference", "other"),
                    ),
                    Column("hours", "number", required=True, min=0, min_inclusive=False, max=80),
                    Column("title", "text", nullable=True),
                    Column("focus", "text", nullable=True),
                ),
                key=("session_id",),
                level="1-2",
            ),
            InputTable(
                "attendance",
                "an educator at a session",
                (
                    _id("educator_id", "educators.educator_id"),
                    _id("session_id", "sessions.session_id"),
                    Column("minutes", "number", nullable=True, min=0, max=4800),
                ),
                key=("educator_id", "session_id"),
                level="1-4",
            ),
            InputTable(
                "costs",
                "a cost line",
                (
                    Column("item", "text", required=True),
                    Column(
                        "category",
                        "category",
                        required=True,
                        choices=(
                            "facilitators_coaches",
                            "participant_time",
                            "substitutes_stipends",
                            "materials_licences",
                            "vendor_fees",
                            "facilities",
                            "evaluation",
                            "other",
                        ),
                    ),
                    Column("amount", "number", required=True, min=0),
                    Column("funding_source", "text", required=True),
                    _id("school_id", "schools.school_id", required=False, nullable=True),
                    Column("date", "date", nullable=True),
                    # a one-time purchase used over several years is annualized over this many (cost.py)
                    Column("useful_life_years", "number", nullable=True, min=1, max=50),
                ),
                level="cost",
            ),
            InputTable(
                "survey_items",
                "a survey item",
                (
                    _id("item_id"),
                    Column("construct", "text", required=True),
                    Column("text", "text", required=True),
                    Column("reverse_coded", "bool", nullable=True),
                    Column("scale_min", "integer", nullable=True),
                    Column("scale_max", "integer", nullable=True),
                    Column("level", "integer", nullable=True, min=1, max=3),
                ),
                key=("item_id",),
                level="1",
            ),
            InputTable(
                "reactions",
                "one answer to one survey item",
                (
                    _id("response_id"),
                    _id(
                        "session_id",
                        "sessions.session_id",
                        nullable=True,
                        desc="blank only for a staff survey (level-3 items) not about any one session",
                    ),
                    _id("item_id", "survey_items.item_id"),
                    Column("response", "number", required=True, nullable=True),
                    _id("educator_id", "educators.educator_id", required=False, nullable=True),
                    _id("school_id", "schools.school_id", required=False, nullable=True),
                    _id(
                        "respondent",
                        required=False,
                        nullable=True,
                        desc="pseudonymous respondent key (plevaluate import): links one person's surveys, names no one",
                    ),
                    Column(
                        "date",
                        "date",
                        nullable=True,
                        description="the date the answer was given (a staff survey not tied to a session)",
                    ),
                ),
                key=("response_id", "item_id"),
                level="1",
            ),
            InputTable(
                "learning",
                "an assessment score",
                (
                    _id("educator_id", "educators.educator_id"),
                    _id("assessment_id"),
                    Column("occasion", "category", required=True, choices=("pre", "post")),
                    Column("score", "number", required=True, min=0),
                    Column("max_score", "number", nullable=True, min=0, min_inclusive=False),
                    Column("date", "date", nullable=True),
                ),
                key=("educator_id", "assessment_id", "occasion"),
                level="2",
            ),
            InputTable(
                "conditions",
                "a rubric rating of one indicator at one school",
                (
                    _id("school_id", "schools.school_id"),
                    Column("date", "date", required=True),
                    Column("structure", "text", required=True),
                    _id("indicator_id"),
                    Column("rating", "rating", required=True),
                    Column("rater_role", "text", nullable=True),
                ),
                level="3",
            ),
            InputTable(
                "observations",
                "one classroom observation",
                (
                    _id("observation_id"),
                    Column("date", "date", required=True),
                    _id("school_id", "schools.school_id"),
                    _id("educator_id", "educators.educator_id"),
                    Column("practice_observed", "bool", required=True),
                    Column("rating", "number", nullable=True),
                    Column("level_of_use", "level_of_use", nullable=True),
                    Column("observer_role", "text", nullable=True),
                ),
                key=("observation_id",),
                level="4",
            ),
            InputTable(
                "students",
                "a student's outcome in one year",
                (
                    _id("student_id"),
                    _id("school_id", "schools.school_id"),
                    Column("outcome", "number", required=True, nullable=True),
                    Column("year", "integer", required=True, min=1990, max=2100),
                    _id("educator_id", "educators.educator_id", required=False, nullable=True),
                    Column("grade", "text", nullable=True),
                    Column("prior_score", "number", nullable=True),
                    Column("period", "category", nullable=True, choices=("pre", "post")),
                    Column("treatment", "bool", nullable=True),
                    Column("english_learner", "bool", nullable=True),
                    Column("disability", "bool", nullable=True),
                    Column("econ_disadvantaged", "bool", nullable=True),
                ),
                key=("student_id", "year"),
                level="5",
            ),
            InputTable(
                "comments",
                "an open-ended answer (a survey comment or an observer's note), stored redacted",
                (
                    _id("comment_id"),
                    Column(
                        "level",
                        "category",
                        required=True,
                        choices=("1", "3"),
                        description="1: a session survey's comment (reactions); 3: a staff survey's (organization)",
                    ),
                    Column("question", "text", required=True, description="the open-ended question as asked"),
                    _id("session_id", "sessions.session_id", required=False, nullable=True),
                    _id("school_id", "schools.school_id", required=False, nullable=True),
                    Column(
                        "role",
                        "category",
                        nullable=True,
                        choices=ROLES,
                    ),
                    _id(
                        "respondent",
                        required=False,
                        nullable=True,
                        desc="pseudonymous respondent key or educator_id: counts people, names no one",
                    ),
                    Column("date", "date", nullable=True),
                    Column(
                        "text",
                        "text",
                        required=True,
                        description="the answer with names, e-mails, phone numbers and URLs redacted; quoted only "
                        "when quotes.csv approves it",
                    ),
                ),
                key=("comment_id",),
                level="1,3",
            ),
            InputTable(
                "comment_codes",
                "a theme one coder applied to one comment (a blank theme: coded, no theme applies)",
                (
                    _id("comment_id", "comments.comment_id"),
                    Column("coder", "text", required=True, description="who coded (initials or a role, not a name)"),
                    Column("theme", "text", nullable=True, description="a theme id of codebook.yml"),
                ),
                level="1,3",
            ),
            InputTable(
                "quotes",
                "a comment the evaluator decided on quoting",
                (
                    _id("comment_id", "comments.comment_id"),
                    Column("approved", "bool", required=True),
                    Column(
                        "edited_text",
                        "text",
                        nullable=True,
                        description="the quote as it may be shown (shortened, corrected); blank: the comment's text",
                    ),
                ),
                key=("comment_id",),
                level="1,3",
            ),
        )
    }
)


# ----------------------------------------------------------------------------------------------
# Reading one file
# ----------------------------------------------------------------------------------------------


@dataclass
class _Read:
    """What reading one table produced: its frame (all text, index = CSV row number) and notes."""

    spec: InputTable
    frame: pd.DataFrame | None
    sha256: str
    problems: list[Problem] = field(default_factory=list)
    source: str = ""  # where the table came from, as problems name it: "schools.csv" or "district.xlsx, sheet schools"
    # a typed column's distinct values, and each row's position among them (-1 for a blank)
    distinct: dict[str, tuple[np.ndarray, pd.Index]] = field(default_factory=dict)
    # a typed column of a table whose rows are held on a cluster (`_read_held`): its rows are asked of its blocks
    held: dict[str, _HeldColumn] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.source or self.spec.filename

    def error(self, expected: str, fix: str = "", *, row=None, column=None, value=None) -> None:
        self.problems.append(Problem(self.label, expected, fix, _int(row), column, value))

    def warn(self, expected: str, fix: str = "", *, row=None, column=None, value=None) -> None:
        self.problems.append(Problem(self.label, expected, fix, _int(row), column, value, "warning"))


def _int(row) -> int | None:
    return None if row is None else int(row)


def _decode(raw: bytes, read: _Read) -> str | None:
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        read.error(
            "expected a CSV text file, but it is an Excel workbook (.xlsx or .xls) saved with a .csv name",
            "open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'.",
        )
        return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        read.error(
            "expected UTF-8 text, but the file is UTF-16 (Excel's 'Unicode Text' export)",
            "save it as 'CSV UTF-8 (Comma delimited)'.",
        )
        return None
    if b"\x00" in raw:
        at = raw.index(b"\x00")
        line = raw[:at].count(b"\n") + 1
        count = raw.count(b"\x00")
        if count > len(raw) // 20:
            read.error(
                "expected a CSV text file, but it contains binary data",
                "export the table again as 'CSV UTF-8 (Comma delimited)'.",
            )
        else:
            read.error(
                f"expected text, but the file contains {count} NUL character(s) (byte 0), the first at line {line}: "
                "a damaged or truncated export",
                "export the table again, or remove the NUL characters in a text editor.",
                row=line,
            )
        return None
    if raw.startswith(b"\xef\xbb\xbf"):  # Excel's "CSV UTF-8" writes a byte-order mark; it is not data
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            read.error(
                f"expected UTF-8 text, but byte {exc.start} cannot be read as UTF-8 or Windows-1252",
                "save the file as 'CSV UTF-8 (Comma delimited)'.",
            )
            return None
        line = raw[: exc.start].count(b"\n") + 1
        read.warn(
            f"expected UTF-8 text, but the file is Windows-1252 (Excel's plain 'CSV' export); it was read as Windows-1252 "
            f"starting at line {line}",
            "check accented names, then save as 'CSV UTF-8 (Comma delimited)' to silence this warning.",
        )
        return text


def _read_csv(path: Path, spec: InputTable, parse=None) -> _Read:
    """``parse``: where a plain file's blocks after the first are parsed (`_plain_csv`)."""
    digest = hashlib.sha256()
    try:  # a plain file is read a block at a time, never held whole (`_plain_csv`); closed if it is not plain
        with contextlib.closing(read_blocks(path, PLAIN_BLOCK, kind="table", label=spec.filename)) as blocks:
            plain = _plain_csv(_hashed(blocks, digest), parse)
    except ContractError as exc:  # not a regular file, too large, unreadable: said by the read gate
        read = _Read(spec, None, "")
        read.problems.extend(exc.problems)
        return read
    if plain is not None:
        return _from_rows(*plain, _Read(spec, None, digest.hexdigest()))
    try:  # any other file is read whole, its problems found and worded
        raw = read_bytes(path, kind="table", label=spec.filename)
    except ContractError as exc:
        read = _Read(spec, None, "")
        read.problems.extend(exc.problems)
        return read
    read = _Read(spec, None, hashlib.sha256(raw).hexdigest())
    text = _decode(raw, read)
    if text is None:
        return read
    if not text or text.isspace():
        read.error("expected a header row and data rows, but the file is empty", _empty_fix(spec))
        return read
    if read.problems:  # read as Windows-1252: the same reading of its text, as UTF-8
        plain = _plain_csv(_in_blocks(text.encode("utf-8")))
        if plain is not None:
            return _from_rows(*plain, read)
    try:  # the csv module reads the whole file in C; only a broken file is read again to find the line
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        last = 0
        try:
            for _ in reader:
                last = reader.line_num
        except csv.Error as exc:
            read.error(
                f"a readable CSV file ({exc}): the row starting at line {last + 1} never ends",
                'a quote (") opens a value that is never closed: close it, or remove the quote.',
                row=last + 1,
            )
        return read
    return _from_records(list(enumerate(records, start=1)), read)


def _hashed(blocks: Iterable[bytes], digest) -> Iterator[bytes]:
    """``blocks`` as they are read, each added to ``digest`` (the file's SHA-256 when every block is read)."""
    for block in blocks:
        digest.update(block)
        yield block


def _in_blocks(encoded: bytes) -> Iterator[bytes]:
    """``encoded`` a block of whole lines at a time, as `read_blocks` reads a file."""
    start = 0
    while start < len(encoded):
        stop = encoded.find(b"\n", start + PLAIN_BLOCK - 1) + 1 or len(encoded)  # after a line break, or the end
        yield encoded[start:stop]
        start = stop


#: How a file `_decode` names as not text begins (a workbook, an old Excel file, UTF-16): never read as plain.
_NOT_TEXT = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\xff\xfe", b"\xfe\xff")
#: A character that is not a space: a file whose first block has none is decoded whole, to be called empty if it is
#: only spaces.
_SOME_TEXT = re.compile(rb"[\x21-\x7e]")


def _plain_csv(blocks: Iterable[bytes], parse=None) -> tuple[list[str], pd.DataFrame, np.ndarray] | None:
    """A file of UTF-8 text, given as blocks of whole lines (`plevaluate.gates.read_blocks`, `_in_blocks`), with no
    quotes, every line as wide as the header, and no line of only spaces and commas, read by pandas' C parser a
    block at a time (`_plain_block`): (header, rows, their line numbers), each column of rows a categorical of its
    text whose categories are its distinct values in the order they first appear (what `_Distinct` types). Anything
    else returns None, as soon as a block shows it, and is read whole by the csv module, which finds and words each
    problem; for such a file both readings give the same table, since without quotes a record is a line and a field
    is the text between commas.

    The file is never held whole, as bytes, text or a frame of strings: each block's text is parsed and its columns
    factorized, and the blocks' codes are joined at the end (`_joined`).

    ``parse`` (`on_cluster`) parses the blocks after the first elsewhere: called with a block and the header's width,
    it returns a future of `_plain_block`'s reading. At most `IN_FLIGHT` blocks are out at once; each reading is taken
    in the file's order, and the others are cancelled once one is not plain. A block whose reading does not come back
    (its workers kept dying: Dask's `KilledWorker`; a cluster gone) is parsed here, with a `LostProcessWarning`."""
    header, width, before = None, 0, 0
    numbers, pieces, out = [], [], collections.deque()

    def came_back(sent: tuple[bytes, object]):
        block, future = sent
        try:
            return future.result()
        except Exception as error:  # noqa: BLE001 - parsed here instead, as a lost year is evaluated here
            warnings.warn(  # one message for every block (a file's blocks lost together are one warning)
                f"a block of a table was parsed in this process: its task on the cluster was lost "
                f"({type(error).__name__})",
                LostProcessWarning,
                stacklevel=6,
            )
            return _plain_block(block, width)

    def first_back():  # the reading of the first block out, then forgotten; a stop (Ctrl-C) while it is waited on
        read = came_back(out[0])  # leaves it out, to be cancelled below with the rest
        out.popleft()
        return read

    def taken(read) -> bool:
        nonlocal before
        if read is None:
            return False
        lines, found, columns = read
        numbers.append(found + (before + 1))
        before += lines
        if columns is not None:
            pieces.append(columns)
        return True

    try:
        for block in blocks:
            if header is not None:  # a later block: read here, or sent out and taken in order
                if parse is None:
                    if not taken(_plain_block(block, width)):
                        return None
                    continue
                out.append((block, parse(block, width)))  # its bytes kept until taken, to parse here if lost there
                del block
                while len(out) > IN_FLIGHT:
                    if not taken(first_back()):
                        return None
                continue
            if block.startswith(b"\xef\xbb\xbf"):  # Excel's "CSV UTF-8" writes a byte-order mark; it is not data
                block = block[3:]
            if block.startswith(_NOT_TEXT) or _SOME_TEXT.search(block) is None:
                return None
            read = _plain_block(block, None)  # the first block, with the header: read here
            if read is None:
                return None
            header, read = read
            width = len(header)
            taken(read)
        while out:
            if not taken(first_back()):
                return None
    finally:
        for _, future in out:  # a file found not plain, or a failed reading: the rest are not wanted
            with contextlib.suppress(Exception):  # a closed client's futures were cancelled with it
                future.cancel()
    if header is None:
        return None
    rows = pd.DataFrame({k: _joined([piece[k] for piece in pieces]) for k in range(width)})
    return header, rows, np.concatenate(numbers)


#: Blocks a load on a cluster has out at once (`_plain_csv`): each is 8 MB (`PLAIN_BLOCK`) sent, and its reading
#: (codes and distinct values) held until taken.
IN_FLIGHT = 8


def on_cluster(client, sent: weakref.WeakSet, given_up: threading.Event | None = None):
    """A way to parse a plain file's blocks (`_plain_csv`) as tasks on a Dask ``client``'s workers, each block inside
    its task (a block whose worker is lost is parsed again on another); each future is added to ``sent`` while it is
    held. Once ``given_up`` is set (the cluster was left without workers, `plevaluate.cluster.deserted`), the rest
    are parsed here."""

    def parse(block: bytes, width: int):
        if given_up is not None and given_up.is_set():
            here = concurrent.futures.Future()
            here.set_result(_plain_block(block, width))
            return here
        try:
            with embedded():
                future = client.submit(_plain_block, block, width, pure=False)
        except Exception as error:  # noqa: BLE001 - the client closed (its scheduler gone): parsed here (`came_back`)
            lost = concurrent.futures.Future()
            lost.set_exception(error)
            return lost
        sent.add(future)
        return _Sent(future, client, given_up)

    return parse


class _Sent:
    """A block's task on a cluster (`on_cluster`), its reading fetched by `plevaluate.cluster.fetched`: once the
    cluster's tasks were given up (no workers, `plevaluate.cluster.deserted`) or its client closed, a reading still
    not here is lost, and `_plain_csv` parses the block here."""

    def __init__(self, future, client, given_up: threading.Event | None):
        self.future, self.client, self.given_up = future, client, given_up

    def result(self):
        return fetched(self.future, self.client, self.given_up)

    def cancel(self) -> None:
        self.future.cancel()


def _code_type(count: int) -> type:
    """The smallest integer type holding the codes of ``count`` distinct values (and -1)."""
    return np.int8 if count < 2**7 else np.int16 if count < 2**15 else np.int32 if count < 2**31 else np.int64


def _joined(pieces: list[tuple[np.ndarray, np.ndarray]]) -> pd.Categorical:
    """One column from its blocks' ``(codes, distinct values)``: a categorical whose categories are the distinct
    values in the order they first appear, as if the column had been factorized whole."""
    if not pieces:
        return pd.Categorical.from_codes(np.empty(0, dtype=np.int8), categories=pd.Index([], dtype=object))
    if len(pieces) == 1:  # a file of one block (most): its codes are the column's
        codes, distinct = pieces[0]
    else:  # each block's distinct values, in order: their first appearances are the column's, in order
        positions, distinct = pd.factorize(np.concatenate([values for _, values in pieces]))
        positions = positions.astype(_code_type(len(distinct)))
        codes, at = [], 0
        for block_codes, values in pieces:
            codes.append(positions[at : at + len(values)][block_codes])
            at += len(values)
        codes = np.concatenate(codes)
    return pd.Categorical.from_codes(codes, categories=pd.Index(distinct, dtype=object), validate=False)


def _plain_block(block: bytes, width: int | None):
    """One block of whole lines of a plain file (`_plain_csv`), or None if it is not plain: (its lines, the line
    number within the block, from 0, of each row it holds, and each column's ``(codes, distinct values)``
    (`pandas.factorize`, the codes in the smallest integer type), or None without rows). The file's first block
    (``width`` None) begins with the header: ``(header, that)``.

    Each block is read on its own (the lines before it need not be known), so that the blocks of a file can be read
    anywhere and joined in order."""
    if b'"' in block or b"\x00" in block:
        return None
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n")
        if b"\r" in block:
            return None
    data = np.frombuffer(block, dtype=np.uint8)
    ends, length, commas, filled = _line_counts(data, tabs=b"\t" in block)
    header, body_start, first = None, 0, 0
    if width is None:  # the header
        if filled[0] == 0:
            return None
        header = block[: ends[0]].decode("utf-8").split(",")
        width, body_start, first = len(header), int(ends[0]) + 1, 1
    if block.startswith(b"\xef\xbb\xbf", body_start):
        return None  # pandas drops a byte-order mark that begins what it parses: on a row it is data, and is warned of
    empty = length[first:] == 0
    if ((filled[first:] == 0) & ~empty).any() or (commas[first:][~empty] != width - 1).any():
        return None
    found = np.flatnonzero(~empty) + first
    columns = None
    if len(found):
        rows = pd.read_csv(
            io.BytesIO(block[body_start:]),
            encoding="utf-8",
            header=None,
            names=range(width),
            dtype=object,
            na_filter=False,
            quoting=csv.QUOTE_NONE,
            skip_blank_lines=True,
            engine="c",
        )
        if len(rows) != len(found):
            return None
        columns = []
        for k in range(width):
            codes, values = pd.factorize(rows[k].to_numpy(dtype=object))
            columns.append((codes.astype(_code_type(len(values))), values))  # held until every block is read
    out = (len(ends), found, columns)
    return out if header is None else (header, out)


#: Bytes of a file whose lines `_plain_csv` reads at once (`_plain_block`): its arrays (a flag per byte, numbers per line) stay a
#: few times this size whatever the file's (a whole 114 MB file's took 0.45 GB more than its text, at its peak 0.6).
PLAIN_BLOCK = 1 << 23


def _line_counts(block: np.ndarray, tabs: bool) -> tuple[np.ndarray, ...]:
    """Of each line of ``block`` (bytes, its lines whole): where it ends, its length without the line break, its
    commas, and its bytes other than commas, spaces and tabs."""
    byte_is = np.equal(block, 10, out=np.empty(len(block), dtype=bool))  # one buffer for each byte test: allocating
    ends = np.flatnonzero(byte_is)  # a block-sized array costs more than testing it
    if block[-1] != 10:
        ends = np.append(ends, len(block))  # the file's last line has no line break
    starts = np.r_[0, ends[:-1] + 1]
    length = ends - starts
    long = np.flatnonzero(length > 255)  # counted in single bytes below, a longer line's count could wrap

    def per_line(byte: int) -> np.ndarray:  # how many of each line's bytes are this byte
        np.equal(block, byte, out=byte_is)
        counts = np.add.reduceat(byte_is.view(np.uint8), starts, dtype=np.uint8).astype(np.int64)
        counts[long] = [np.count_nonzero(byte_is[starts[i] : ends[i]]) for i in long]
        return counts

    commas = per_line(44)
    return ends, length, commas, length - commas - per_line(32) - (per_line(9) if tabs else 0)


def cell_text(value) -> str:
    """A workbook cell as the text a CSV export would hold: whole numbers without '.0', dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _read_sheet(path: Path, sheet: str | None, spec: InputTable, label: str, digest: str) -> _Read:
    """One table from a sheet of an ``.xlsx`` workbook (python-calamine), with the sheet's own row numbers."""
    from python_calamine import CalamineError, CalamineWorkbook

    read = _Read(spec, None, digest, source=label)
    problem = check_workbook(path, label=path.name)
    if problem is not None:
        read.problems.append(problem)
        return read
    try:
        book = CalamineWorkbook.from_path(str(path))
        found = book.get_sheet_by_name(sheet) if sheet is not None else book.get_sheet_by_index(0)
        cells = found.to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as exc:
        read.error(f"a readable .xlsx workbook ({exc})", "open it in Excel and save it again as .xlsx.")
        return read
    records = [(number, [cell_text(v) for v in row]) for number, row in enumerate(cells, start=1)]
    while records and all(not cell.strip() for cell in records[0][1]):
        records.pop(0)  # blank rows above the header
    if not records:
        read.error("expected a header row and data rows, but the sheet is empty", _empty_fix(spec))
        return read
    width = max(i + 1 for i, cell in enumerate(records[0][1]) if cell.strip())
    for number, row in records:
        if any(cell.strip() for cell in row[width:]):
            read.error(
                "values only under a named column", "name the column in the header row, or clear the cells.", row=number
            )
    return _from_records([(n, row[:width] + [""] * (width - len(row))) for n, row in records], read)


def _from_records(records: list[tuple[int, list[str]]], read: _Read) -> _Read:
    """The table from its rows of text, each with its row number in the file or sheet (header first)."""
    (_, header), rows, numbers = records[0], [], []
    width = len(header)
    for number, record in records[1:]:
        if len(record) == width and "".join(record).strip():
            rows.append(record)  # the common case, decided without looking at each cell
            numbers.append(number)
        elif not record or all(not cell.strip() for cell in record):
            continue  # a blank line is not a row
        else:
            read.error(
                f"expected {width} fields like the header, found {len(record)}",
                "a value probably contains an unquoted comma: put the value in double quotes, or re-export the file.",
                row=number,
            )
    return _from_rows(header, rows, numbers, read)


def _from_rows(
    header: list[str], rows: list[list[str]] | pd.DataFrame, numbers: list[int] | np.ndarray, read: _Read
) -> _Read:
    """The table from its header and rows of text (a list of rows, or a frame of text columns in that order),
    each row with its number in the file or sheet."""
    spec = read.spec
    header = _checked_header(header, read)
    if header is None:
        return read
    if isinstance(rows, pd.DataFrame):
        frame = rows.set_axis(header, axis=1).set_axis(
            pd.Index(np.asarray(numbers, dtype=np.int64), name="csv_row"), axis=0
        )
    else:
        frame = pd.DataFrame(
            rows, columns=header, dtype=object, index=pd.Index(np.asarray(numbers, dtype=np.int64), name="csv_row")
        )
    if frame.empty and not read.problems:
        if spec.required:
            # a starter folder (plevaluate init): valid, but nothing can be evaluated until it is filled in
            read.warn(
                f"no rows yet: list one row per {spec.row_is.removeprefix('a ').removeprefix('an ')}; "
                "no evidence collected yet",
                f"fill in {spec.filename} before importing evidence or rendering reports.",
            )
        else:
            read.warn(
                "no rows yet (a header and no rows): no evidence collected yet",
                f"delete {spec.filename} if no evidence will be collected for this level, or fill it in.",
            )
            return read
    read.frame = frame
    return read


def _checked_header(header: list[str], read: _Read) -> list[str] | None:
    """The column names of ``header`` (`_check_header`), or None when the table cannot be read by them."""
    if len(header) == 1:
        for separator, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if separator in header[0]:
                read.error(
                    f"values separated by commas, but the header is separated by {label}",
                    "re-export as 'CSV UTF-8 (Comma delimited)'; Excel in some languages writes semicolons.",
                )
                return None
    return _check_header(header, read)


def _empty_fix(spec: InputTable) -> str:
    if spec.required:
        return f"export {spec.filename} again: it is required (one row per {spec.row_is.removeprefix('a ')})."
    return f"export it again, or delete {spec.filename} if no evidence was collected for this level."


def _check_header(header: list[str], read: _Read) -> list[str] | None:
    spec = read.spec
    stripped = [h.strip() for h in header]
    padded = [h for h, s in zip(header, stripped) if h != s]
    if padded:
        read.warn(
            "column names without spaces around them; spaces were removed from " + ", ".join(repr(h) for h in padded),
            "remove the spaces in the header row.",
        )
    seen: set[str] = set()
    for position, name in enumerate(stripped, start=1):
        if not name:
            read.error(f"a name for every column; column {position} of the header is blank", "name or delete it.")
        elif name in seen:
            read.error(f"each column name once; '{name}' appears twice", "rename or delete one of them.", column=name)
        seen.add(name)
    known = [c.name for c in spec.columns]
    unknown = [n for n in stripped if n and n not in known]
    for col in spec.columns:
        if col.required and col.name not in stripped:
            close = _did_you_mean(col.name, unknown)
            fix = (
                f"did you mean '{close}'? Rename that column to '{col.name}'."
                if close
                else f"add a '{col.name}' column."
            )
            need = ", ".join(spec.required_columns)
            read.error(f"required column '{col.name}' is missing (required: {need})", fix, column=col.name)
    for name in unknown:
        close = _did_you_mean(name, [c.name for c in spec.columns if not c.required and c.name not in stripped])
        if close:
            read.warn(
                f"'{name}' is not a contract column and is kept as an extra column",
                f"did you mean '{close}'? Rename it if so.",
                column=name,
            )
    if any(p.severity == "error" for p in read.problems):
        return None
    return stripped


def _did_you_mean(name: str, candidates: list[str]) -> str | None:
    folded = {c.lower().replace(" ", "_").replace("-", "_"): c for c in candidates}
    key = name.lower().replace(" ", "_").replace("-", "_")
    if key in folded:
        return folded[key]
    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None


# ----------------------------------------------------------------------------------------------
# Checking and typing columns
# ----------------------------------------------------------------------------------------------


def _type_columns(read: _Read, date_format: str = "auto") -> pd.DataFrame:
    frame = read.frame if read.frame is not None else pd.DataFrame()
    out = {}
    for name in frame.columns:
        col = read.spec.column(name)
        if col is None:  # an extra column: its text, as read
            out[name] = _text(frame[name])
            continue
        column = _Distinct(frame[name])
        out[name] = _type_column(column, col, read, date_format)
        read.distinct[name] = column.typed_codes()
    return pd.DataFrame(out, index=frame.index)


def _codes(frame: pd.DataFrame, name: str, read: _Read) -> np.ndarray:
    """Each row's distinct value of a column as a number (-1 for a blank), for comparing rows."""
    found = read.distinct.get(name)
    return found[0] if found is not None else pd.factorize(frame[name])[0]


class _Distinct:
    """A column of text as its distinct values and, for each row, which of them it holds.

    Columns repeat a few values many times (school IDs, categories, dates), so every check and
    conversion runs once per distinct value and is taken back to the rows; only rows with a problem are
    visited one by one, to word it.
    """

    def __init__(self, values: pd.Series):
        if isinstance(values.dtype, pd.CategoricalDtype):  # read by `_plain_csv`: factorized as it was read
            codes, uniques = values.cat.codes.to_numpy(), values.cat.categories.to_numpy(dtype=object)
        else:
            codes, uniques = pd.factorize(values.to_numpy(dtype=object))  # text as read: never missing
        self.index = values.index
        self.codes = codes
        self.text = np.asarray(uniques, dtype=object)
        self.counts = np.bincount(codes, minlength=len(uniques))
        self.typed, self.blank = None, None

    def map(self, func) -> np.ndarray:
        return np.array([func(v) for v in self.text], dtype=object)

    def flags(self, func) -> np.ndarray:
        return np.fromiter((bool(func(v)) for v in self.text), dtype=bool, count=len(self.text))

    def rows(self, mask: np.ndarray) -> np.ndarray:
        """Each row's flag, from a flag per distinct value."""
        return np.asarray(mask, dtype=bool)[self.codes]

    def each(self, mask: np.ndarray):
        """(row number, distinct value's position) for every row whose value is flagged, in row order."""
        for at in np.flatnonzero(self.rows(mask)):
            yield self.index[at], self.codes[at]

    def count(self, mask: np.ndarray) -> int:
        return int(self.counts[np.asarray(mask, dtype=bool)].sum())

    def first(self, mask: np.ndarray):
        """(row number, distinct value's position) of the first row whose value is flagged."""
        return next(self.each(mask))

    def take(self, typed, blank: np.ndarray | None = None) -> pd.Series:
        """The column: each row gets its distinct value's typed value. ``blank`` says the typed values
        all differ except for these blanks (text kept as it was), which spares `typed_codes` a pass."""
        self.typed, self.blank = typed, blank
        return pd.Series(typed.take(self.codes), index=self.index)

    def typed_codes(self) -> tuple[np.ndarray, pd.Index]:
        """The distinct typed values, and each row's position among them (-1 for a blank): two raw values
        that type to the same value (' S01' and 'S01') get the same position."""
        position, values = _typed_positions(self.typed, self.blank)
        return position[self.codes], values


def _typed_positions(typed, blank: np.ndarray | None) -> tuple[np.ndarray, pd.Index]:
    """The distinct values of ``typed`` (a column's typed value for each of its distinct raw values), and each raw
    value's position among them (-1 for a blank); ``blank``: as `_Distinct.take` says."""
    if blank is not None:
        kept = ~blank
        return np.where(kept, np.cumsum(kept) - 1, -1), pd.Index(typed[kept])
    codes, values = pd.factorize(typed)
    return codes, pd.Index(values)


_SPACE = re.compile(r"\s")


def _type_column(column: _Distinct, col: Column, read: _Read, date_format: str = "auto") -> pd.Series:
    text = column.text
    stripped = column.map(str.strip) if _SPACE.search(",".join(text)) else text  # IDs seldom hold any space
    if col.kind == "id":
        padded = stripped != text
        if padded.any():
            first, at = column.first(padded)
            read.warn(
                f"IDs without spaces around them; spaces were removed from {column.count(padded)} value(s), "
                f"first in row {first} ({text[at]!r})",
                "trim the IDs in the source system's export.",
                column=col.name,
            )
        missing = stripped == ""
    elif col.kind == "text":
        missing = stripped == ""
        stripped = text
    else:
        missing = column.flags(lambda v: v.strip().lower() in MISSING_TOKENS)
    if not col.nullable:
        for row, _ in column.each(missing):
            read.error(
                f"expected a value ({col.expectation()}), but the cell is blank",
                "fill it in.",
                row=row,
                column=col.name,
            )
    present = ~missing
    if col.kind in ("id", "text"):
        hidden = present & (
            np.array([INVISIBLE.search(v) is not None for v in stripped], dtype=bool)
            if INVISIBLE.search(",".join(stripped))  # seldom found: one search through all distinct values first
            else False
        )
        if hidden.any():
            first, at = column.first(hidden)
            codes = sorted({f"U+{ord(c):04X}" for c in INVISIBLE.findall(stripped[at])})
            read.warn(
                f"text without invisible or control characters; {column.count(hidden)} value(s) contain them "
                f"(first in row {first}: {', '.join(codes)}), which can make a name read differently than it is",
                "remove them in the source system; reports show them as visible [U+XXXX] marks.",
                column=col.name,
            )
        typed = pd.array(np.where(present, stripped, None), dtype="string")
        return column.take(typed, blank=missing if stripped is text else None)
    stripped = pd.Series(stripped, dtype=object)
    present = pd.Series(present)
    if col.kind == "category":
        return _category(column, stripped, present, col, read)
    if col.kind in ("number", "integer"):
        return _number(column, stripped, present, col, read)
    if col.kind == "date":
        return _date(column, stripped, present, col, read, date_format)
    if col.kind == "bool":
        return _flag(column, stripped, present, col, read)
    if col.kind == "rating":
        return _coded(column, stripped, present, col, read, RATING_LABELS, 1, 4)
    if col.kind == "level_of_use":
        return _coded(column, stripped, present, col, read, LEVEL_OF_USE_CODES, 0, 7)
    raise ValueError(f"unknown column kind {col.kind!r}")  # a bug in TABLES, not in the data


def _normal_label(value: str) -> str:
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


# Each kind below gets the column's distinct values (stripped) and whether each is present, and
# returns the typed column; `column` words each problem for the rows that hold the value.


def _category(column: _Distinct, stripped: pd.Series, present: pd.Series, col: Column, read: _Read) -> pd.Series:
    normal = stripped.map(_normal_label)
    bad = present & ~normal.isin(col.choices)
    close = {at: _did_you_mean(stripped[at], list(col.choices)) for at in np.flatnonzero(bad)}
    for row, at in column.each(bad):
        hint = f"did you mean '{close[at]}'? " if close[at] else ""
        read.error(col.expected(), f"{hint}use one of the listed values.", row=row, column=col.name, value=stripped[at])
    changed = present & ~bad & (normal != stripped)
    if changed.any():
        first, at = column.first(changed)
        read.warn(
            f"values spelled as listed; {column.count(changed)} value(s) were normalized, e.g. row {first} "
            f"{stripped[at]!r} -> {normal[at]!r}",
            f"use the exact spellings: {', '.join(col.choices)}.",
            column=col.name,
        )
    return column.take(pd.array(normal.where(present & ~bad), dtype="string"))


def _number(column: _Distinct, stripped: pd.Series, present: pd.Series, col: Column, read: _Read) -> pd.Series:
    numbers = pd.to_numeric(stripped.where(present), errors="coerce").astype(float)
    infinite = present & np.isinf(numbers)  # "inf", "Infinity", 1e309: read by pandas, never a measurement
    numbers = numbers.mask(infinite)
    bad = present & numbers.isna()
    for row, at in column.each(bad):
        read.error(
            col.expected() + (" (a finite number)" if infinite[at] else ""),
            "write the number itself" if infinite[at] else "remove text, units or thousands separators from the cell.",
            row=row,
            column=col.name,
            value=stripped[at],
        )
    ok = present & ~bad
    if col.kind == "integer":
        frac = ok & (numbers % 1 != 0)
        for row, at in column.each(frac):
            read.error(col.expected(), "use a whole number.", row=row, column=col.name, value=stripped[at])
        ok &= ~frac
    out_of_range = pd.Series(False, index=numbers.index)
    if col.min is not None:
        out_of_range |= ok & ((numbers < col.min) if col.min_inclusive else (numbers <= col.min))
    if col.max is not None:
        out_of_range |= ok & (numbers > col.max)
    for row, at in column.each(out_of_range):
        read.error(col.expected(), _range_fix(col, numbers[at]), row=row, column=col.name, value=stripped[at])
    typed = column.take(numbers.where(ok & ~out_of_range).to_numpy(dtype=float))
    return typed.round().astype("Int64") if col.kind == "integer" else typed


def _range_fix(col: Column, value: float) -> str:
    if col.name == "amount" and value < 0:
        return "record a refund or credit by reducing the cost line it refunds; costs cannot be negative."
    return "correct the value, or the unit it was recorded in."


_US_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")
_ZONED = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$")
EARLIEST_DATE, LATEST_DATE = pd.Timestamp("1900-01-01"), pd.Timestamp("2099-12-31")


def _date(
    column: _Distinct, stripped: pd.Series, present: pd.Series, col: Column, read: _Read, date_format: str = "auto"
) -> pd.Series:
    """ISO dates, or dates with slashes read in one order for the whole column.

    With ``date_format: auto`` (plan.yml) the order comes from the column's unambiguous dates (a first
    number above 12 is a day, a second above 12 is a day); when every date could be read either way
    they are read month first (US exports) with a warning; dates that contradict the column's order
    are errors. ``date_format: DD/MM/YYYY`` or ``MM/DD/YYYY`` decides outright. A date is a calendar
    date from 1900 to 2099: ``-2`` or ``45000`` is not read as a year.
    """
    values = stripped.where(present)
    # a timestamp with a zone (2025-09-12T08:30:00Z, ...+02:00) is read at the clock time written: its date
    values = values.str.replace(_ZONED, r"\1", regex=True)
    iso = pd.to_datetime(values, format="ISO8601", errors="coerce")
    slash = present & iso.isna() & values.fillna("").str.match(_US_DATE)
    if slash.any():
        parts = values[slash].str.extract(r"^(\d{1,2})/(\d{1,2})/(\d{4})$").astype(int)
        rows = column.counts[np.flatnonzero(slash)]
        day_first, month_first = (
            int(rows[(parts[0] > 12).to_numpy()].sum()),
            int(rows[(parts[1] > 12).to_numpy()].sum()),
        )
        order = date_format
        if order == "auto":
            order = "DD/MM/YYYY" if day_first > month_first else "MM/DD/YYYY"
            if not day_first and not month_first:
                read.warn(
                    f"dates whose order is clear; all {column.count(slash)} dates with slashes could be month/day "
                    "or day/month (no number above 12), and were read as MM/DD/YYYY",
                    "write dates as YYYY-MM-DD, or set date_format: DD/MM/YYYY in plan.yml if they are day first.",
                    column=col.name,
                )
            elif day_first and month_first:
                read.warn(
                    f"one date order in a column; {day_first} date(s) are day first and {month_first} month "
                    f"first, so the column was read as {order} and the others are errors",
                    "write dates as YYYY-MM-DD, or set date_format in plan.yml.",
                    column=col.name,
                )
        fmt = "%d/%m/%Y" if order == "DD/MM/YYYY" else "%m/%d/%Y"
        iso = iso.where(~slash, pd.to_datetime(values.where(slash), format=fmt, errors="coerce"))
    iso = iso.where((iso >= EARLIEST_DATE) & (iso <= LATEST_DATE))
    bad = present & iso.isna()
    for row, at in column.each(bad):
        read.error(col.expected(), "write the date as YYYY-MM-DD.", row=row, column=col.name, value=stripped[at])
    return column.take(iso.to_numpy(dtype="datetime64[ns]"))


def _flag(column: _Distinct, stripped: pd.Series, present: pd.Series, col: Column, read: _Read) -> pd.Series:
    lower = stripped.str.lower()
    is_true, is_false = lower.isin(TRUE_TOKENS), lower.isin(FALSE_TOKENS)
    bad = present & ~is_true & ~is_false
    for row, at in column.each(bad):
        read.error(col.expected(), "use true or false (or 1 and 0).", row=row, column=col.name, value=stripped[at])
    out = pd.Series(pd.NA, index=stripped.index, dtype="boolean")
    out[is_true & present] = True
    out[is_false & present] = False
    return column.take(out.array)


def _coded(
    column: _Distinct,
    stripped: pd.Series,
    present: pd.Series,
    col: Column,
    read: _Read,
    labels: Mapping[str, int],
    low: int,
    high: int,
) -> pd.Series:
    coded = stripped.map(_normal_label).map(labels)
    numeric = pd.to_numeric(stripped.where(present & coded.isna()), errors="coerce")
    numeric = numeric.where((numeric >= low) & (numeric <= high) & (numeric % 1 == 0))
    values = coded.astype(float).fillna(numeric.astype(float))
    bad = present & values.isna()
    for row, at in column.each(bad):
        read.error(col.expected(), "use the number or the label.", row=row, column=col.name, value=stripped[at])
    return column.take(values.where(present).to_numpy(dtype=float))


# ----------------------------------------------------------------------------------------------
# Rules across rows and tables
# ----------------------------------------------------------------------------------------------


def _row_key(codes: list[np.ndarray]) -> np.ndarray:
    """One number per row, equal for two rows exactly when every column's code is equal (-1 for blank)."""
    key = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
    size = 1
    for column in codes:
        width = int(column.max(initial=-1)) + 2  # codes -1 .. max
        if size * width >= 2**62:  # the combined numbers would overflow: renumber what is combined so far
            key = pd.factorize(key)[0].astype(np.int64)
            size = int(key.max(initial=-1)) + 1
        key = key * width + (column + 1)
        size *= width
    return key


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Each row's flag: an earlier row has its key (`pandas.Series.duplicated`), found by sorting the keys, not by
    a hash table of them (reactions.csv of 20,000 schools x 3 years: 1.26 GB more than the district for the table of
    its 25 million keys; sorted, about 18 bytes a row)."""
    order = np.argsort(keys, kind="stable")  # equal keys in row order: the first of each is not repeated
    ordered = keys[order]
    repeated = np.zeros(len(keys), dtype=bool)
    repeated[order[1:][ordered[1:] == ordered[:-1]]] = True
    return repeated


def _check_keys(frame: pd.DataFrame | HeldTable, read: _Read) -> None:
    spec = read.spec
    if isinstance(frame, HeldTable):  # its key's rows are in one part (`HeldTable`): each part's repeats, in row order
        found = frame.map(_repeats, spec, read.source)
        read.problems.extend(sorted((problem for part in found for problem in part), key=lambda p: p.row))
        return
    key = [k for k in spec.key if k in frame.columns]
    if spec.name == "students" and "period" in frame.columns:
        key.append("period")
    if key:
        codes = [_codes(frame, k, read) for k in key]
        keys = _row_key(codes)
        dup = _repeated(keys) & np.logical_and.reduce([c >= 0 for c in codes])
        if not dup.any():
            return
        rows = pd.Series(keys)
        firsts = frame[rows.duplicated(keep=False).to_numpy() & ~dup]
        first_row = {tuple(v): row for row, v in zip(firsts.index, firsts[key].itertuples(index=False))}
        for row, values in zip(frame.index[dup], frame.loc[dup, key].itertuples(index=False)):
            shown = ", ".join(f"{k}={v}" for k, v in zip(key, values))
            read.error(
                f"expected each {' + '.join(key)} once; {shown} is also in row {first_row[tuple(values)]}",
                "delete the repeated row, or correct its ID.",
                row=row,
                column=key[0] if len(key) == 1 else None,
            )
    else:
        dup = pd.Series(_row_key([_codes(frame, k, read) for k in frame.columns])).duplicated().to_numpy()
        for row in frame.index[dup]:
            read.error(
                "expected each row once; this row repeats an earlier one exactly", "delete the repeated row.", row=row
            )


def _repeats(part: pd.DataFrame, spec: InputTable, source: str) -> list[Problem]:
    """`_check_keys`' problems of a part of a table held on a cluster, found where the part is."""
    read = _Read(spec, None, "", source=source)
    _check_keys(part, read)
    return read.problems


def _check_references(frames: Mapping[str, pd.DataFrame], reads: Mapping[str, _Read]) -> None:
    for name, frame in frames.items():
        read = reads[name]
        for col in read.spec.columns:
            if not col.references or col.name not in frame.columns:
                continue
            target_table, target_col = col.references.split(".")
            target = frames.get(target_table)
            if target is None:
                if target_table in reads and any(p.severity == "error" for p in reads[target_table].problems):
                    continue  # present but unreadable: its own problems say why
                if col.nullable and _all_blank(frame, read, col.name):
                    continue  # nothing to look up (a staff survey tied to no session needs no sessions.csv)
                read.error(
                    f"{TABLES[target_table].filename} to look up '{col.name}', but that file is missing",
                    f"add {TABLES[target_table].filename}, or remove {read.spec.filename}.",
                    column=col.name,
                )
                continue
            known = reads[target_table].distinct[target_col][1]  # the target's IDs, each once
            unknown = _rows_holding(frame, read, col.name, lambda distinct: ~distinct.isin(known))  # noqa: B023
            if known.empty and unknown:  # a starter folder with this table not filled in yet: one problem
                read.error(
                    f"{TABLES[target_table].filename} to list the {len({v for _, v in unknown})} {target_col}(s) "
                    f"named in {len(unknown)} row(s) here, but it has no rows yet",
                    f"fill in {TABLES[target_table].filename} first.",
                    column=col.name,
                )
                continue
            names = [str(k) for k in known] if unknown else []
            for row, value in unknown:
                close = difflib.get_close_matches(str(value), names, n=1, cutoff=0.8)
                hint = f"did you mean '{close[0]}'? " if close else ""
                read.error(
                    f"expected a {target_col} listed in {TABLES[target_table].filename}",
                    f"{hint}correct the ID, or add {value} to {TABLES[target_table].filename}.",
                    row=row,
                    column=col.name,
                    value=value,
                )


def _rows_holding(frame, read: _Read, name: str, flag) -> list[tuple[int, object]]:
    """(row, typed value) of every row of column ``name`` whose typed value ``flag`` flags (given the column's
    distinct typed values, it flags each; a blank is never flagged), in row order: from the rows here, or asked of
    the blocks of a table held on a cluster (`_HeldColumn`)."""
    if isinstance(frame, HeldTable):
        positions, distinct = read.held[name].typed_codes()
        flagged = np.append(np.asarray(flag(distinct), dtype=bool), False)[positions]
        return [(row, distinct[positions[at]]) for row, at in read.held[name].each(flagged)]
    codes, distinct = read.distinct[name]
    flagged = np.append(np.asarray(flag(distinct), dtype=bool), False)[codes]  # blank: -1
    return list(zip(frame.index[flagged].tolist(), frame[name].to_numpy()[flagged]))


def _all_blank(frame, read: _Read, name: str) -> bool:
    """Whether every row's ``name`` is blank."""
    if isinstance(frame, HeldTable):
        positions, _ = read.held[name].typed_codes()
        return bool((positions[read.held[name].counts > 0] < 0).all())
    return bool(frame[name].isna().all())


def _scales(items: pd.DataFrame, read: _Read) -> pd.DataFrame:
    low = items["scale_min"] if "scale_min" in items else pd.Series(np.nan, index=items.index)
    high = items["scale_max"] if "scale_max" in items else pd.Series(np.nan, index=items.index)
    scales = pd.DataFrame({"item_id": items["item_id"], "scale_min": low.fillna(1.0), "scale_max": high.fillna(5.0)})
    bad = scales["scale_min"] >= scales["scale_max"]
    for row in scales.index[bad]:
        read.error(
            "scale_min below scale_max",
            "check the two columns (defaults: 1 and 5).",
            row=row,
            column="scale_max",
            value=f"{scales.loc[row, 'scale_max']:g}",
        )
    return scales


def _check_rules(frames: dict[str, pd.DataFrame], reads: Mapping[str, _Read]) -> None:
    if "students" in frames and "schools" in frames:
        _check_membership(frames["students"], frames["schools"], reads["students"])
    if "schools" in frames:
        _check_lookalike_ids(frames["schools"], reads["schools"])
    if "educators" in frames:
        _check_emails(frames["educators"], reads["educators"])
    if "survey_items" in frames:
        scales = _scales(frames["survey_items"], reads["survey_items"])
        _check_construct_scales(frames["survey_items"], scales, reads["survey_items"])
    if "reactions" in frames:
        _check_staff_survey(frames["reactions"], frames.get("survey_items"), reads["reactions"])
        _check_resubmissions(frames["reactions"], reads["reactions"])
        _check_one_person_per_response(frames["reactions"], reads["reactions"])
    if "reactions" in frames and "survey_items" in frames:
        read = reads["reactions"]
        scales = scales.drop_duplicates("item_id").set_index("item_id")
        answers = frames["reactions"]
        low = answers["item_id"].map(scales["scale_min"])
        high = answers["item_id"].map(scales["scale_max"])
        r = answers["response"]
        bad = r.notna() & low.notna() & ((r < low) | (r > high) | (r % 1 != 0))
        for row in bad[bad].index:
            read.error(
                f"expected a whole number from {low[row]:g} to {high[row]:g} (the scale of item {answers.loc[row, 'item_id']})",
                "correct the answer, or the item's scale_min/scale_max in survey_items.csv.",
                row=row,
                column="response",
                value=f"{r[row]:g}",
            )
    if "learning" in frames:
        _check_learning(frames["learning"], reads["learning"])
    if "observations" in frames and "educators" in frames:
        obs, read = frames["observations"], reads["observations"]
        home = obs["educator_id"].map(
            frames["educators"].drop_duplicates("educator_id").set_index("educator_id")["school_id"]
        )
        elsewhere = home.notna() & (home != obs["school_id"])
        if elsewhere.any():
            first = elsewhere.idxmax()
            read.warn(
                f"observations at the educator's own school (educators.csv); {int(elsewhere.sum())} observation(s) "
                f"are at another school, first in row {first}",
                "fine for itinerant staff; otherwise correct school_id.",
                column="school_id",
            )


def _check_emails(educators: pd.DataFrame, read: _Read) -> None:
    """Two educators with one e-mail (ignoring case and spaces): a survey import links an answer to an educator
    by e-mail and could not tell them apart. The e-mail itself is personal data and is never printed."""
    if "email" not in educators.columns:
        return
    folded = educators["email"].astype("string").str.replace(r"\s+", "", regex=True).str.casefold()
    given = folded.notna() & folded.ne("")
    shared = given & folded.duplicated(keep=False)
    if not shared.any():
        return
    for rows in folded[shared].groupby(folded[shared], sort=False).groups.values():
        for row in rows:
            others = ", ".join(str(r) for r in rows if r != row)
            read.error(
                f"expected each educator's own e-mail; this one is also in row(s) {others}",
                "give each educator their own e-mail, or leave it blank; survey imports link a response to an "
                "educator by e-mail and cannot tell these apart.",
                row=row,
                column="email",
                value="(an e-mail address)",
            )


def _item_levels(items: pd.DataFrame) -> pd.Series:
    """Each item's Guskey level (1 when blank, as `plevaluate.survey.score_reactions` reads it)."""
    level = items["level"] if "level" in items.columns else pd.Series(np.nan, index=items.index)
    return pd.to_numeric(level, errors="coerce").fillna(1).astype(int)


def _check_construct_scales(items: pd.DataFrame, scales: pd.DataFrame, read: _Read) -> None:
    """The items of one construct (at one level) on one scale: a construct's mean is taken across its items."""
    frame = pd.DataFrame(
        {
            "construct": items["construct"],
            "level": _item_levels(items),
            "item_id": items["item_id"],
            "scale": scales["scale_min"].map("{:g}".format) + "-" + scales["scale_max"].map("{:g}".format),
        }
    ).dropna(subset=["construct"])
    for (construct, level), part in frame.groupby(["construct", "level"], sort=False):
        if part["scale"].nunique() < 2:
            continue
        shown = "; ".join(
            f"row {row} ({item}) {scale}" for row, item, scale in zip(part.index, part["item_id"], part["scale"])
        )
        read.error(
            f"expected the items of one construct on one scale; construct '{construct}' (level {level}) mixes "
            f"scales: {shown}",
            "put items on different scales in different constructs (a construct's mean needs one scale), or correct "
            "scale_min/scale_max (defaults: 1 and 5).",
            column="construct",
            value=str(construct),
        )


def _check_resubmissions(answers: pd.DataFrame, read: _Read) -> None:
    """One person (educator or pseudonymous respondent) with two responses to one session's survey: counted twice
    in every level-1 summary. A warning: ``plevaluate import`` applies the plan's imports.resubmissions rule, but
    rows typed in or imported before it may hold both."""
    if "session_id" not in answers.columns:
        return
    for column in ("educator_id", "respondent"):
        if column not in answers.columns:
            continue
        known = answers[answers[column].notna() & answers["session_id"].notna()]
        responses = known.drop_duplicates("response_id").groupby([column, "session_id"], sort=True)["response_id"]
        counts = responses.nunique()
        for (person, session), n in counts[counts > 1].items():
            first = known.index[(known[column] == person) & (known["session_id"] == session)][0]
            read.warn(
                f"one response per person to a session's survey, but {'educator ' + str(person) if column == 'educator_id' else 'one respondent'} "
                f"has {n} responses to session {session}: each is counted",
                "keep one (plevaluate import keeps the latest by default; its --undo removes an import's rows), or "
                "remove the other rows of the earlier response_id",
                row=first,
                column=column,
            )


def _check_one_person_per_response(answers: pd.DataFrame, read: _Read) -> None:
    """A response is one person's survey: every row of a response_id names the same educator, or every row none.
    Two people under one response_id would be one respondent in every level-1 and level-3 summary (and an
    educator's answers are summed together where they are, `plevaluate.survey.prepare_survey`). Each response that
    mixes them is reported once per odd one out, at its first row: the educator (or blank) on fewer of its rows."""
    if "educator_id" not in answers.columns or "response_id" not in answers.columns:
        return
    who = answers["educator_id"].astype(object).where(answers["educator_id"].notna(), "")
    response = answers["response_id"].to_numpy()
    mixed = who.groupby(response, sort=False).nunique() > 1
    if not mixed.any():
        return
    inside = answers["response_id"].isin(mixed.index[mixed.to_numpy()]).to_numpy()
    rows = pd.DataFrame({"response": response[inside], "who": who[inside].to_numpy(), "row": answers.index[inside]})
    for name, group in rows.groupby("response", sort=False):
        counts = (
            group.groupby("who", sort=False)["row"]
            .agg(["size", "first"])
            .sort_values("size", ascending=False, kind="stable")
        )
        said = " and ".join(
            f"{'educator ' + str(person) if person else 'no educator'} on {n} row{'s' if n > 1 else ''}"
            for person, n in counts["size"].items()
        )
        for person, first in counts["first"].iloc[1:].items():
            read.error(
                f"one person per response, but response {name} names {said}",
                "give each person's survey its own response_id, or correct the educator_id; if plevaluate import "
                "wrote these rows (a respondent once missing from educators.csv), undo that import (plevaluate "
                "import --into DATA --list, then --undo ID) and import the export again",
                row=first,
                column="educator_id",
                value=person or None,
            )


def _check_staff_survey(answers: pd.DataFrame, items: pd.DataFrame | None, read: _Read) -> None:
    """An answer tied to no session is a staff-survey answer (Guskey level 3, not about any one session): its
    item must be a level-3 item, and its date places it in a school year."""
    if "session_id" not in answers.columns:
        return
    without = answers["session_id"].isna()
    if not without.any():
        return
    if items is not None:
        levels = pd.Series(_item_levels(items).to_numpy(), index=items["item_id"].to_numpy())
        level = answers["item_id"].map(levels[~levels.index.duplicated()])
        for row in answers.index[(without & level.notna() & level.ne(3)).to_numpy()]:
            read.error(
                f"expected a session_id: item {answers.loc[row, 'item_id']} is a level-{int(level[row])} item, "
                "not a staff-survey (level-3) item",
                "give the session the answer is about; only staff-survey (level-3) items may be answered without a "
                "session.",
                row=row,
                column="session_id",
            )
    undated = without & answers["date"].isna() if "date" in answers.columns else without
    for row in answers.index[undated.to_numpy()]:
        read.error(
            "expected a date on an answer tied to no session (a staff survey), to place it in a school year",
            "give the survey's date.",
            row=row,
            column="date",
        )


def _check_membership(students, schools: pd.DataFrame, read: _Read) -> None:
    """students.csv columns that look like program membership are not used: say so, and whether they agree. Held on
    a cluster (`HeldTable`), each part's disagreements are counted where it is."""
    if isinstance(students, HeldTable):
        found = students.map(_disagreements, schools)  # each part's count and first row, by column
        columns = {
            column: (
                sum(part[column][0] for part in found),
                min((part[column][1] for part in found if part[column][1] is not None), default=None),
            )
            for column in (found[0] if found else {})
        }
    else:
        columns = _disagreements(students, schools)
    for column, (count, first) in columns.items():
        detail = (
            f"; it disagrees with the school's group in {count} row(s), first row {first}"
            if count
            else "; it agrees with the school groups"
        )
        read.warn(
            f"program membership from schools.csv's group (participant/comparison); the '{column}' column of "
            f"students.csv is not used{detail}",
            "set each school's group in schools.csv; rename or delete the column to silence this warning.",
            column=column,
        )


def _disagreements(students: pd.DataFrame, schools: pd.DataFrame) -> dict[str, tuple[int, int | None]]:
    """Each students.csv column that looks like program membership: how many rows disagree with their school's
    group, and the first of them (None if none)."""
    columns = [c for c in students.columns if c.strip().lower() in ("treatment", "treated", "group", "condition")]
    if columns:
        group = students["school_id"].map(schools.drop_duplicates("school_id").set_index("school_id")["group"])
        group = group.eq("participant")
    found = {}
    for column in columns:
        text = students[column].astype("string").str.strip().str.lower()
        flag = text.map(
            {
                "1": True,
                "0": False,
                "true": True,
                "false": False,
                "participant": True,
                "comparison": False,
                "treatment": True,
                "control": False,
            }
        )
        disagree = flag.notna() & (flag != group)
        found[column] = (int(disagree.sum()), int(disagree.idxmax()) if disagree.any() else None)
    return found


def _check_lookalike_ids(schools: pd.DataFrame, read: _Read) -> None:
    """School IDs that differ only by case or punctuation ('S-1', 's1'): distinct to plevaluate, not to a reader."""
    unique = schools.drop_duplicates("school_id")
    folded = unique["school_id"].str.lower().str.replace(r"[^a-z0-9]", "", regex=True)
    clashes = unique.loc[folded.duplicated(keep=False), "school_id"]
    if len(clashes):
        read.warn(
            f"school IDs that differ by more than case or punctuation; {', '.join(map(repr, clashes))} "
            "are distinct IDs that read alike",
            "check that they are different schools; their report file names get a suffix to keep them apart.",
            column="school_id",
        )


def _check_learning(frame: pd.DataFrame, read: _Read) -> None:
    if "max_score" in frame:
        over = frame["max_score"].notna() & (frame["score"] > frame["max_score"])
        for row in over[over].index:
            read.error(
                f"expected a score no greater than max_score ({frame.loc[row, 'max_score']:g})",
                "correct the score or max_score.",
                row=row,
                column="score",
                value=f"{frame.loc[row, 'score']:g}",
            )
    pair = pd.Series(_row_key([_codes(frame, c, read) for c in ("educator_id", "assessment_id")]), index=frame.index)
    occasion = frame["occasion"]
    orphan = frame.index[(occasion == "post").fillna(False) & ~pair.isin(pair[(occasion == "pre").fillna(False)])]
    orphan = orphan.tolist()
    if orphan:
        shown = ", ".join(str(r) for r in orphan[:8]) + (f" and {len(orphan) - 8} more" if len(orphan) > 8 else "")
        read.warn(
            f"a pre score for every post score; {len(orphan)} post score(s) have none (rows {shown}). "
            "They are counted as unmatched, not used in gains",
            "add the missing pre scores if they exist.",
            column="occasion",
        )


# ----------------------------------------------------------------------------------------------
# The district
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class District:
    """A district's validated data: one DataFrame per table that was present, and the plan.

    Tables are indexed by their CSV row number (``csv_row``, the header is row 1), so any row can
    be traced back to the file. Tables that were not in the folder are absent (`has` is False and
    the attribute is None): that level has no evidence collected.
    """

    path: Path
    plan: Plan
    tables: Mapping[str, pd.DataFrame]
    notes: tuple[Problem, ...] = ()
    file_hashes: Mapping[str, str] = field(default_factory=dict)
    #: The themes of open-ended answers (``codebook.yml``, `plevaluate.comments.codebook`), when the folder has one.
    codebook: Codebook | None = None
    #: What each level computed from its table's parts where they are, in place of the table's rows, by level:
    #: ``{5: (layout, sums)}`` when a Dask cluster summed a year's students in parts (`plevaluate.years.evaluate_on_cluster`;
    #: level 5's `Layout` and `StudentSums`; levels 1 and 3 the survey's `SurveyLayout` and `SurveySums`). Internal:
    #: never published, never saved.
    summaries: Mapping[int, object] = field(default_factory=dict)

    def has(self, table: str) -> bool:
        return table in self.tables

    def __reduce__(self):
        """Picklable (a year's view goes to another process, `plevaluate.years.evaluate_each_year`): its read-only
        mappings travel as dicts and are read-only again on arrival. A table held on a cluster is brought here first
        (`here`): its parts' futures belong to this process's client."""
        if any(isinstance(table, HeldTable) for table in self.tables.values()):
            return self.here().__reduce__()
        return _district, (
            self.path,
            self.plan,
            dict(self.tables),
            self.notes,
            dict(self.file_hashes),
            self.codebook,
            dict(self.summaries),
        )

    def __getattr__(self, name: str):
        if name in TABLES:
            return self.tables.get(name)
        raise AttributeError(name)

    def here(self) -> District:
        """This district with every table held on a Dask cluster (`plevaluate.held.HeldTable`, `load` with a client)
        brought into this process: gathered from the workers, or, when a part was lost with its worker, read again
        from the district's files (the same rows: the data were validated when loaded)."""
        held = [name for name, table in self.tables.items() if isinstance(table, HeldTable)]
        if not held:
            return self
        tables = dict(self.tables)
        try:
            for name in held:
                tables[name] = tables[name].gathered()
        except LostPart as lost:
            tables.update(self._read_again(held))
            warnings.warn(
                f"{', '.join(TABLES[name].filename for name in held)}, held on a Dask cluster, could not be brought "
                f"back whole ({lost}): it was read again in this process from the same files, with the same results",
                LostProcessWarning,
                stacklevel=2,
            )
        return replace(self, tables=MappingProxyType(tables))

    def _read_again(self, names: list[str]) -> dict[str, pd.DataFrame]:
        """Tables ``names`` read again from the district's files, which must be the files it was loaded from (their
        SHA-256, `file_hashes`): a file changed or removed since is a `ContractError`, not other numbers."""
        files = [TABLES[name].filename for name in names]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ContractWarning)  # said when it was loaded
                again = load(self.path)
        except ContractError:
            again = None
        if (
            again is None
            or dict(again.file_hashes) != dict(self.file_hashes)
            or any(name not in again.tables for name in names)
        ):
            raise ContractError(
                [
                    Problem(
                        ", ".join(files),
                        "the files the district was loaded from: a Dask worker holding part of it was lost, so it "
                        "must be read again, and the folder's files have changed (or gone) since it was loaded",
                        "run the command again on the data as they are now.",
                    )
                ],
                str(self.path),
            )
        return {name: again.tables[name] for name in names}

    @property
    def school_ids(self) -> list[str]:
        return list(self.tables["schools"]["school_id"])

    def school(self, school_id: str) -> District:
        """The same district restricted to one school's rows (district-wide lines such as sessions are kept)."""
        schools = self.tables["schools"]
        if school_id not in set(schools["school_id"]):
            close = difflib.get_close_matches(school_id, [str(s) for s in schools["school_id"]], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"no school with school_id {school_id!r} in schools.csv{hint}")
        educators = self.tables["educators"]
        staff = set(educators.loc[educators["school_id"] == school_id, "educator_id"])
        tables = {}
        for name, frame in self.here().tables.items():
            if "school_id" in frame.columns and name != "costs":
                keep = frame["school_id"] == school_id
                if name == "reactions" and "educator_id" in frame.columns:
                    keep = keep.fillna(False) | frame["educator_id"].isin(staff)
                tables[name] = frame[keep.fillna(False).astype(bool)]
            elif name == "costs" and "school_id" in frame.columns:
                tables[name] = frame[(frame["school_id"] == school_id).fillna(False).astype(bool)]
            elif "educator_id" in frame.columns:
                tables[name] = frame[frame["educator_id"].isin(staff)]
            else:
                tables[name] = frame
        return District(self.path, self.plan, MappingProxyType(tables), self.notes, self.file_hashes, self.codebook)

    def summary(self) -> pd.DataFrame:
        """One row per contract table: present or not, rows, columns, schools covered, date range, warnings."""
        rows = []
        tables = self.here().tables
        for name, spec in TABLES.items():
            frame = tables.get(name)
            warns = sum(p.file == spec.filename or p.file.endswith(f"sheet {spec.name}") for p in self.notes)
            if frame is None:
                rows.append(
                    {
                        "table": spec.filename,
                        "level": spec.level,
                        "rows": 0,
                        "columns": 0,
                        "schools": 0,
                        "first_date": pd.NaT,
                        "last_date": pd.NaT,
                        "warnings": warns,
                        "status": "no evidence collected",
                    }
                )
                continue
            dates = frame["date"] if "date" in frame.columns else pd.Series(dtype="datetime64[ns]")
            rows.append(
                {
                    "table": spec.filename,
                    "level": spec.level,
                    "rows": len(frame),
                    "columns": frame.shape[1],
                    "schools": int(frame["school_id"].nunique()) if "school_id" in frame.columns else 0,
                    "first_date": dates.min(),
                    "last_date": dates.max(),
                    "warnings": warns,
                    "status": "loaded",
                }
            )
        return pd.DataFrame(rows)


#: Workbook files read as tables: an ``.xlsx`` file in place of a table's CSV, or a whole workbook.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def _district(path, plan, tables, notes, file_hashes, codebook, summaries=None) -> District:
    return District(
        path, plan, MappingProxyType(tables), notes, MappingProxyType(file_hashes), codebook, summaries or {}
    )


def _table_files(folder: Path, problems: list[Problem]) -> Iterator[tuple[InputTable, Path]]:
    """Each table's file in a folder: ``name.csv``, or ``name.xlsx`` (its first sheet) in place of it."""
    names = {p.name.lower(): p for p in folder.iterdir()}
    for spec in TABLES.values():
        found = [names[n] for n in (spec.filename, *(spec.name + s for s in WORKBOOK_SUFFIXES)) if n in names]
        if len(found) > 1:
            problems.append(
                Problem(
                    spec.filename,
                    f"one file per table, but {spec.name} is given as {' and '.join(p.name for p in found)}",
                    "keep one of them: delete or rename the other.",
                )
            )
            continue
        if found:
            problem = check_file(found[0], kind="table")  # a folder, a pipe or a device named like a table
            if problem is not None:
                problems.append(problem)
                continue
            yield spec, found[0]
    names = {lower: path for lower, path in names.items() if path.is_file()}
    expected = [spec.filename for spec in TABLES.values()]
    tables = {spec.name for spec in TABLES.values()}
    for lower, path in names.items():
        stem, suffix = lower.rsplit(".", 1) if "." in lower else (lower, "")
        if suffix == "csv" and lower not in expected:
            close = difflib.get_close_matches(lower, expected, n=1, cutoff=0.8)
            hint = f"did you mean {close[0]}? Rename it." if close else f"tables read: {', '.join(expected)}."
            problems.append(
                Problem(
                    path.name, "expected a table of the data contract; this file is not read", hint, severity="warning"
                )
            )
        elif "." + suffix in WORKBOOK_SUFFIXES and stem not in tables:
            problems.append(
                Problem(
                    path.name,
                    "a workbook named after one table (schools.xlsx) to be read from this folder; this one is not read",
                    f"to read a workbook with one sheet per table, give its path: plevaluate validate {path}",
                    severity="warning",
                )
            )


def _workbook_sheets(book: Path, problems: list[Problem]) -> Iterator[tuple[InputTable, str]]:
    """Each table's sheet in a workbook with one sheet per table, named as the table (``schools`` or ``schools.csv``)."""
    from python_calamine import CalamineError, CalamineWorkbook

    problem = check_workbook(book)
    if problem is not None:
        problems.append(problem)
        return
    try:
        sheets = CalamineWorkbook.from_path(str(book)).sheet_names
    except (CalamineError, OSError, ValueError) as exc:
        problems.append(Problem(book.name, f"a readable .xlsx workbook ({exc})", "save it again as .xlsx in Excel."))
        return
    by_name: dict[str, list[str]] = {}
    for sheet in sheets:
        by_name.setdefault(sheet.strip().lower().removesuffix(".csv"), []).append(sheet)
    for spec in TABLES.values():
        found = by_name.pop(spec.name, [])
        if len(found) > 1:
            problems.append(
                Problem(book.name, f"one sheet per table, but {spec.name} is in sheets {', '.join(found)}", "keep one.")
            )
        elif found:
            yield spec, found[0]
    known = [spec.name for spec in TABLES.values()]
    for name, found in by_name.items():
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        problems.append(
            Problem(
                f"{book.name}, sheet {found[0]}",
                "expected a sheet named after a table of the data contract; this sheet is not read",
                f"did you mean {close[0]}? Rename the sheet." if close else f"tables read: {', '.join(known)}.",
                severity="warning",
            )
        )


def raw_table(path: str | Path, table: str, columns: Iterable[str] | None = None) -> pd.DataFrame | None:
    """One table of a data folder or workbook as text, unchecked (None when absent or unreadable).

    For tools that look data up rather than analyse it (the privacy audit, the importer): the same
    files and sheets `load` reads, CSV or ``.xlsx``. ``columns``: only those (the ones present), each a categorical
    of its distinct values as read: the privacy audit looks up student IDs, and made every cell of students.csv a
    string to find them (2,000 schools, 1.1 million rows: 2.7 s; 1.4 s from the one column's 353,117 distinct values;
    the reading itself, every column's distinct values, still peaks at about 230 MB).
    """
    path, spec = Path(path), TABLES[table]
    if path.is_file() and path.suffix.lower() in WORKBOOK_SUFFIXES:
        sheets = dict((s.name, sheet) for s, sheet in _workbook_sheets(path, []))
        read = _read_sheet(path, sheets[table], spec, path.name, "") if table in sheets else None
    else:
        found = dict(_table_files(path, [])) if path.is_dir() else {}
        file = found.get(spec)
        if file is None:
            return None
        read = _read_sheet(file, None, spec, file.name, "") if file.suffix.lower() in WORKBOOK_SUFFIXES else None
        read = read or _read_csv(file, spec)
    if read is None or read.frame is None:
        return None
    if columns is not None:
        wanted = [c for c in columns if c in read.frame.columns]
        return read.frame[wanted].astype("category")  # the plain reading's categoricals kept: no string per row
    return pd.DataFrame({c: _text(v) for c, v in read.frame.items()})


def _text(column: pd.Series) -> pd.Series:
    """A column of text as read, as strings (`_plain_csv` gives each as a categorical of its distinct values)."""
    return column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column


# ----------------------------------------------------------------------------------------------
# students.csv read and checked where its rows are held (#34)
# ----------------------------------------------------------------------------------------------
#
# On a cluster, students.csv never comes to this process whole. Its blocks are sent to the workers and read there
# (`_plain_block`), and each reading stays there. What comes here is each column's distinct values, with their rows'
# counts (the values of an ID no other table refers to, student_id, only where a check could flag them:
# `_notable`). Each column is typed and checked here by `_type_column`, as a column read here is, on a `_HeldColumn`.
# Which rows hold a flagged value is asked of the blocks. Each block is then typed where it is (`_typed_pieces`) and
# cut by student into the parts of a `HeldTable`. The checks across rows run on the parts (a student's rows are in
# one part): repeated keys (`_check_keys`), membership columns (`_check_membership`), and the IDs a comment could
# name (`_redacted`). Every problem is the one a load in this process finds, in the same order.


#: The tables a load on a cluster reads, checks and holds on its workers (`_read_held`), by their key's first column.
HELD_TABLES = ("students",)


class _HeldColumn(_Distinct):
    """A column of a table whose blocks are held on a cluster (`_read_held`), as `_type_column` reads a `_Distinct`.

    Its distinct values (every block's, in the order they first appear) and their rows' counts are here: for a
    column of `_notable` values only, just those (every other value is typed as itself). Which rows hold a flagged
    value (`each`) is asked of the blocks, in the file's order, and only when some row does. `take` gives each
    distinct value's typed value; `_typed_pieces` takes them to the rows."""

    def __init__(self, held: _HeldBlocks, k: int, positions: list[np.ndarray], text, counts, notable: bool):
        self.held, self.k, self.positions, self.notable = held, k, positions, notable
        self.text = np.asarray(text, dtype=object)
        self.counts = counts
        self.typed, self.blank = None, None

    def each(self, mask: np.ndarray):
        mask = np.asarray(mask, dtype=bool)
        if not self.counts[mask].any():
            return
        sent = [
            self.held.ask(_flagged, reading, self.k, mask[at], self.notable, before)
            for reading, at, before in zip(self.held.readings, self.positions, self.held.before)
        ]
        for at, future in zip(self.positions, sent):
            rows, found = self.held.answer(future)
            yield from zip(rows.tolist(), at[found].tolist())

    def take(self, typed, blank: np.ndarray | None = None) -> pd.Series:
        """Each distinct value's typed value (the rows get theirs where they are held: `_typed_pieces`)."""
        self.typed, self.blank = typed, blank
        return pd.Series(typed)

    def typed_codes(self) -> tuple[np.ndarray, pd.Index]:
        """The distinct typed values, and each distinct raw value's position among them (-1 for a blank)."""
        return _typed_positions(self.typed, self.blank)


@dataclass
class _HeldBlocks:
    """The blocks of a file read on a cluster (`_read_held`): each one's reading, held by a worker, and the lines
    before it. Every wait for an answer has an end (`plevaluate.cluster.fetched`): a lost block raises `LostPart`."""

    client: object
    given_up: threading.Event | None
    readings: list = field(default_factory=list)
    before: list[int] = field(default_factory=list)

    def ask(self, function, *args, **options):
        with embedded():
            return self.client.submit(function, *args, pure=False, **options)

    def sent(self, data, worker: str):
        """A future of ``data`` sent to ``worker`` (not to the scheduler: a task holding it would keep it there for
        as long as its result is held), or `LostPart` when the worker is gone or the scheduler does not answer within
        `plevaluate.cluster.PATIENCE` seconds."""
        try:
            return self.client.scatter(data, hash=False, workers=[worker], timeout=PATIENCE)
        except Exception as error:  # noqa: BLE001 - an unknown worker is a KeyError there; no answer a TimeoutError
            raise LostPart(f"{type(error).__name__} sending a block: {error}") from None

    def answer(self, future):
        """``future``'s result; `LostPart` when its block was lost (`plevaluate.held.lost`), any other error (a bug of
        a step's own) raised as itself, never taken for a loss and read again here."""
        try:
            return fetched(future, self.client, self.given_up)
        except Exception as error:  # noqa: BLE001 - sorted by `lost`
            if lost(error, self.client):
                raise LostPart(f"{type(error).__name__}: {error}") from None
            raise


def _notable(values: np.ndarray) -> np.ndarray:
    """The positions among ``values`` (an ID column's distinct values) of those `_type_column` could change or flag:
    blank, or holding a space or an invisible character. Every other ID is typed as itself."""
    if not len(values):
        return np.empty(0, dtype=np.int64)
    text = pd.Series(values, dtype=object)
    flagged = text.eq("") | text.str.contains(_SPACE) | text.str.contains(INVISIBLE)
    return np.flatnonzero(flagged.to_numpy(dtype=bool))


def _block_values(reading, width: int, notable: tuple[int, ...], skipped: tuple[int, ...]):
    """What this process needs of a block's reading (`_plain_block`), or None if the block is not plain: its lines,
    and each column's distinct values with their rows' counts (a column in ``notable``: only its `_notable` values;
    in ``skipped``: nothing)."""
    if reading is None:
        return None
    lines, found, columns = reading
    values = []
    for k in range(width):
        if k in skipped:
            values.append(None)
            continue
        codes, distinct = columns[k] if columns is not None else (np.empty(0, np.int8), np.empty(0, dtype=object))
        counts = np.bincount(codes, minlength=len(distinct))
        at = _notable(distinct) if k in notable else slice(None)
        values.append((distinct[at], counts[at]))
    return lines, len(found), values


def _flagged(reading, k: int, mask: np.ndarray, notable: bool, before: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a block (their row numbers, in order) whose column ``k`` holds a value ``mask`` flags (a flag for
    each of the block's distinct values, or its `_notable` ones), and each one's value's position in ``mask``."""
    _, found, columns = reading
    if columns is None:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    codes, distinct = columns[k]
    if notable:
        at = np.full(len(distinct), -1, dtype=np.int64)
        at[_notable(distinct)] = np.arange(len(mask))
        of_row = at[codes]
        rows = np.flatnonzero((of_row >= 0) & np.append(mask, False)[of_row])
        return found[rows] + before + 1, of_row[rows]
    rows = np.flatnonzero(mask[codes])
    return found[rows] + before + 1, codes[rows].astype(np.int64)


def _typed_pieces(reading, before: int, header: list[str], typed: list, notable: tuple[int, ...], key: str, count: int):
    """A block's rows typed (each column's typed value for each of the block's distinct values, `typed`; a column
    in ``notable`` typed for its `_notable` values, any other value as itself; None: kept as text), and cut by
    ``key`` into ``count`` pieces (`plevaluate.held.cut_by`)."""
    lines, found, columns = reading
    index = pd.Index(found.astype(np.int64) + before + 1, name="csv_row")
    out = {}
    for k, name in enumerate(header):
        codes, distinct = columns[k] if columns is not None else (np.empty(0, np.int8), np.empty(0, dtype=object))
        if typed[k] is None:
            out[name] = pd.Series(distinct.take(codes), index=index, dtype=object)
            continue
        values = typed[k]
        if k in notable:
            values = pd.array(distinct, dtype="string")
            values[_notable(distinct)] = typed[k]
        out[name] = pd.Series(values.take(codes), index=index)
    frame = pd.DataFrame(out, index=index)
    cut = cut_by(frame, key, count)
    return tuple(cut(k) for k in range(count))


def _header_of(first) -> list[str] | None:
    """The header of a file's first block's reading (`_plain_block`), or None if the block is not plain."""
    return None if first is None else first[0]


def _reading_of(first):
    return first[1]


def _given_up(error: Exception, client, spec: InputTable) -> None:
    """A held reading given up, with a `LostProcessWarning`, when ``error`` says the cluster lost a block, did not
    answer, or its client closed; any other error (plevaluate's own) is raised."""
    if not (isinstance(error, LostPart) or lost(error, client)):
        raise error
    warnings.warn(
        f"{spec.filename} was read in this process: reading it on the cluster failed ({type(error).__name__}: {error})",
        LostProcessWarning,
        stacklevel=5,
    )


def _piece(pieces: tuple, k: int) -> pd.DataFrame:
    return pieces[k]


def _part(*pieces: pd.DataFrame) -> pd.DataFrame:
    """A part of a `HeldTable` from its pieces of every block, in the file's order, as parts are held (`compact`)."""
    return compact(pd.concat(pieces))


def _dtypes(pieces: tuple) -> dict:
    return pieces[0].dtypes.to_dict()


def _read_held(path: Path, spec: InputTable, client, given_up, date_format: str) -> tuple[_Read, HeldTable] | None:
    """``path`` read and typed on ``client``'s workers, its rows held there in parts by the table's first key
    (`HeldTable`); every problem found as a load here finds it (the checks across rows follow in `load`). None when
    the file is not plain (`_plain_csv`), holds no row, or a block was lost: it is then read here (`_read_csv`)."""
    digest, held = hashlib.sha256(), _HeldBlocks(client, given_up)
    header, width, lines, rows, values = None, 0, 0, 0, []
    notable, skipped = (), ()
    try:
        workers = addresses_of(client)  # the blocks, then the parts, spread evenly over the workers
        if not workers:
            return None  # nowhere to hold it: read here (`_held` says so)
        with contextlib.closing(read_blocks(path, PLAIN_BLOCK, kind="table", label=spec.filename)) as blocks:
            for block in _hashed(blocks, digest):
                if header is None:  # the first block, with the header: read there too, its header asked
                    if block.startswith(b"\xef\xbb\xbf"):
                        block = block[3:]
                    if block.startswith(_NOT_TEXT) or _SOME_TEXT.search(block) is None:
                        return None
                    first = held.ask(_plain_block, held.sent(block, workers[0]), None)
                    header = held.answer(held.ask(_header_of, first))
                    if header is None:
                        return None
                    width = len(header)
                    columns = [spec.column(name.strip()) for name in header]
                    notable = tuple(
                        k for k, c in enumerate(columns) if c is not None and c.kind == "id" and not c.references
                    )
                    skipped = tuple(k for k, c in enumerate(columns) if c is None)
                    future = held.ask(_reading_of, first)
                    del first
                else:
                    future = held.ask(_plain_block, held.sent(block, workers[len(held.readings) % len(workers)]), width)
                del block
                held.readings.append(future)
                values.append(held.ask(_block_values, future, width, notable, skipped))
        for k, future in enumerate(values):
            values[k] = held.answer(future)
            if values[k] is None:
                return None
            held.before.append(lines)
            lines, rows = lines + values[k][0], rows + values[k][1]
    except ContractError:  # not a regular file, too large, unreadable: said by the read gate, when read here
        return None
    except Exception as error:  # noqa: BLE001 - a block lost: read here; an error of plevaluate's own is raised
        _given_up(error, client, spec)
        return None
    if not rows:
        return None
    read = _Read(spec, None, digest.hexdigest())
    names = _checked_header(header, read)
    if names is None:
        return read, None
    columns = []
    for k in range(width):
        if k in skipped:
            columns.append(None)
            continue
        distinct, counts = zip(*(found[2][k] for found in values))
        positions, text = pd.factorize(np.concatenate([np.asarray(d, dtype=object) for d in distinct]))
        at = np.cumsum([0, *map(len, distinct)])
        total = np.zeros(len(text), dtype=np.int64)
        np.add.at(total, positions, np.concatenate(counts))
        columns.append(
            _HeldColumn(held, k, [positions[a:b] for a, b in zip(at[:-1], at[1:])], text, total, k in notable)
        )
    del values
    typed = []
    try:
        for k, name in enumerate(names):
            if columns[k] is None:
                typed.append(None)
                continue
            typed.append(_type_column(columns[k], spec.column(name), read, date_format).array)
            if not columns[k].notable:
                read.held[name] = columns[k]  # asked again by `_check_references`
        key = spec.key[0]
        count = parts_for(rows, max(2, 2 * len(workers)))
        pieces = [
            held.ask(
                _typed_pieces,
                reading,
                before,
                names,
                [None if t is None else t.take(c.positions[b]) for t, c in zip(typed, columns)],
                notable,
                key,
                count,
            )
            for b, (reading, before) in enumerate(zip(held.readings, held.before))
        ]
        parts = tuple(
            held.ask(
                _part,
                *[held.ask(_piece, p, k) for p in pieces],
                workers=workers[k % len(workers)],
                allow_other_workers=True,
            )
            for k in range(count)
        )
        dtypes = held.answer(held.ask(_dtypes, pieces[0]))  # as loaded: its text as text, not categoricals
        if sum(held.answer(held.ask(len, part)) for part in parts) != rows:  # every part made before the load ends
            raise LostPart("a part of the table was not made whole")
    except Exception as error:  # noqa: BLE001 - a block lost: read here; an error of plevaluate's own is raised
        _given_up(error, client, spec)
        return None
    table = HeldTable(client, key, parts, dtypes)
    table.__dict__["_shape"] = (pd.Index(names), rows)  # known: not asked of the parts
    return read, table


def load(path: str | Path, *, client=None) -> District:
    """Read and validate a district's data folder.

    Parameters
    ----------
    path : str or Path
        A folder holding ``schools.csv``, ``educators.csv``, any of the optional tables, and ``plan.yml``.
    client : distributed.Client, optional
        A Dask client: the large tables' blocks are parsed on its workers (`on_cluster`), sent from here (the
        workers need not see the folder); students.csv is read, typed and checked there, and held there in parts by
        student (`_read_held`, `plevaluate.held.HeldTable`): this process never holds its rows. The district is the
        same, and so is every problem found. A closed client, or workers without this plevaluate, are refused first
        (`plevaluate.cluster.check_workers`, a ValueError).

    Returns
    -------
    District
        The validated tables (typed: IDs as text, numbers as floats, dates as datetimes) and the plan.

    Raises
    ------
    ContractError
        Listing every problem found in every file, each with file, row, column, value, what was
        expected and the likely fix. Warnings (`ContractWarning`) flag valid but doubtful data.

    Examples
    --------
    >>> from plevaluate import load
    >>> district = load("data/sample")
    >>> district.schools["school_id"].iloc[0]
    'S01'
    """
    folder = Path(path)
    book = folder if folder.suffix.lower() in WORKBOOK_SUFFIXES and not folder.is_dir() else None
    if book is not None:
        problem = check_file(book, kind="export", label=str(book))
        if problem is not None:
            raise ContractError([problem], str(book))
        folder = book.parent  # plan.yml sits beside the workbook
    elif not folder.is_dir():
        what = "nothing is there" if not folder.exists() else "it is not a folder"
        raise ContractError(
            [Problem(str(folder), f"expected a folder of CSV tables, or an .xlsx workbook; {what}", "check the path.")],
            str(folder),
        )
    problems: list[Problem] = []
    plan_path = next(
        (folder / n for n in ("plan.yml", "plan.yaml") if (folder / n).exists() or (folder / n).is_symlink()), None
    )
    plan, plan_errors = Plan(program=folder.name, school_year="unknown"), []
    if plan_path:
        try:
            plan = read_plan(plan_path, registry.levels())
        except ContractError as exc:
            plan_errors = list(exc.problems)
    else:
        problems.append(
            Problem(
                "plan.yml",
                "expected an evaluation plan; none was found, so defaults are used (min_n 10, no targets)",
                "add plan.yml with the program, school year and a target for each level.",
                severity="warning",
            )
        )
    reads: dict[str, _Read] = {}
    frames: dict[str, pd.DataFrame] = {}  # each table typed as soon as it is read (`_typed`)
    if client is not None:
        check_workers(client)  # refused, naming its workers, if unfit
    held_from: dict[str, Path] = {}  # the file of each table read on a cluster (`_read_held`)
    sent = weakref.WeakSet()  # the blocks out on a cluster: given up if it is left without workers (`deserted`)
    with contextlib.nullcontext() if client is None else deserted(client, lambda: list(sent)) as given_up:
        parse = None if client is None else on_cluster(client, sent, given_up)

        def hold(file: Path, spec: InputTable):  # students.csv read, checked and held on the workers
            held_from[spec.name] = file
            return _read_held(file, spec, client, given_up, plan.date_format)

        _read_tables(folder, book, parse, None if client is None else hold, reads, frames, plan, problems)
    for spec in TABLES.values():
        if spec.required and spec.name not in reads:
            where = f"a sheet named {spec.name} to {book.name}" if book is not None else f"{spec.filename} to {folder}"
            problems.append(
                Problem(
                    book.name if book is not None else spec.filename,
                    f"expected a required table (one row per {spec.row_is.removeprefix('a ').removeprefix('an ')})",
                    f"add {where}.",
                )
            )
    kept = {name: len(read.problems) for name, read in reads.items()}, len(problems)
    try:
        codebook = _checked(folder, frames, reads, plan, problems)
    except LostPart as lost:  # a held table's worker lost, or the client closed, while its rows were checked there
        for name, read in reads.items():
            del read.problems[kept[0][name] :]  # the checks' problems so far: found again below
        del problems[kept[1] :]
        for name, table in list(frames.items()):
            if isinstance(table, HeldTable):
                warnings.warn(
                    f"{reads[name].label} was read again in this process: the Dask cluster holding it lost a part of "
                    f"it while it was checked ({lost})",
                    LostProcessWarning,
                    stacklevel=2,
                )
                reads[name] = _read_csv(held_from[name], reads[name].spec)
                if reads[name].frame is None:  # changed since, and now unreadable: its problems say why
                    del frames[name]
                _typed(reads[name], frames, plan.date_format)  # in its place among the tables
        codebook = _checked(folder, frames, reads, plan, problems)
    if "schools" in frames and not plan_errors:
        _check_cohorts(frames["schools"], reads["schools"], plan)

    for read in reads.values():
        problems.extend(read.problems)
    errors = [p for p in problems if p.severity == "error"] + plan_errors
    if not errors:
        problems += _outside_school_year(frames, plan) + _years_without_data(frames, plan)
    if errors:
        raise ContractError(errors + [p for p in problems if p.severity == "warning"], str(book or folder))
    notes = tuple(p for p in problems if p.severity == "warning")
    for note in notes:
        warnings.warn(str(note), ContractWarning, stacklevel=2)
    hashes = {
        read.label.split(",")[0] if book is not None else read.spec.filename: read.sha256 for read in reads.values()
    }
    if plan_path:
        hashes[plan_path.name] = hashlib.sha256(read_bytes(plan_path, kind="yaml")).hexdigest()
    if codebook is not None:
        hashes[CODEBOOK] = hashlib.sha256(read_bytes(folder / CODEBOOK, kind="yaml")).hexdigest()
    rows = sum(len(frame) for frame in frames.values())
    if client is not None and "students" in frames and not isinstance(frames["students"], HeldTable):
        frames["students"] = _held(client, frames["students"])  # read here: a workbook, quotes, a lost block
    district = District(book or folder, plan, MappingProxyType(frames), notes, MappingProxyType(hashes), codebook)
    del reads, frames
    if rows >= HAND_BACK_ROWS:
        # the files' bytes, their text and the typing's steps are freed but kept by the allocator: handed back, the
        # process holds what the district holds (5,000 schools x 3 years: 2.41 -> 1.59 GB, in 0.06 s)
        hand_back_memory()
    return district


def _checked(folder: Path, frames: dict, reads: dict, plan: Plan, problems: list[Problem]):
    """The checks across rows and tables, their problems added to ``reads`` and ``problems``; the codebook. A table
    held on a cluster is checked there: `LostPart` if a part of it was lost."""
    for name, frame in frames.items():
        _check_keys(frame, reads[name])
    _check_references(frames, reads)
    for read in reads.values():  # a held table's blocks were last asked which rows hold a value: let go there
        read.held.clear()
    _check_rules(frames, reads)
    codebook = _codebook(folder, frames, reads, problems)
    if "comments" in frames and "educators" in frames:
        frames["comments"] = _redacted(frames, plan, reads["comments"])
    return codebook


def _read_tables(
    folder: Path, book: Path | None, parse, hold, reads: dict, frames: dict, plan: Plan, problems: list
) -> None:
    """Each table of the workbook ``book``, or each file of ``folder``, read into ``reads`` and typed into
    ``frames``; ``parse``: a plain CSV's blocks parsed on a cluster (`on_cluster`); ``hold``: a table of
    `HELD_TABLES` read, typed and held there (`_read_held`), or None to read it here."""
    if book is not None:
        digest = hashlib.sha256(read_bytes(book, kind="export")).hexdigest()
        for spec, sheet in _workbook_sheets(book, problems):
            reads[spec.name] = _read_sheet(book, sheet, spec, f"{book.name}, sheet {sheet}", digest)
            _typed(reads[spec.name], frames, plan.date_format)
        return
    for spec, file in _table_files(folder, problems):
        if file.suffix.lower() in WORKBOOK_SUFFIXES:
            digest = hashlib.sha256(read_bytes(file, kind="export")).hexdigest()
            reads[spec.name] = _read_sheet(file, None, spec, file.name, digest)
        else:
            found = hold(file, spec) if hold is not None and spec.name in HELD_TABLES else None
            if found is not None:
                reads[spec.name], table = found
                if table is not None:
                    frames[spec.name] = table
                continue
            reads[spec.name] = _read_csv(file, spec, parse)
        _typed(reads[spec.name], frames, plan.date_format)


def _typed(read: _Read, frames: dict[str, pd.DataFrame], date_format: str) -> None:
    """The table ``read`` typed into ``frames`` (when it read), and its text let go: typed as soon as read, a table's
    text is never held beside another's (5,000 schools x 3 years: every table's text held at once took the load from
    1.24 GB before typing to a peak of 2.67)."""
    if read.frame is not None:
        frames[read.spec.name] = _type_columns(read, date_format)
        read.frame = None


def _held(client, students: pd.DataFrame):
    """The students, validated, held in parts by ``student_id`` on the ``client``'s workers (`HeldTable`), so that this
    process no longer holds them; here still if the cluster has no worker or its client closed (with a
    `LostProcessWarning`: an evaluation on that cluster then works with the rows held here)."""
    try:
        if client.status == "running" and workers_of(client):
            return HeldTable.hold(client, students, "student_id")
    except (Unanswered, OSError, CancelledError):
        pass
    warnings.warn(
        "students.csv stays in this process: the Dask cluster had no workers to hold it, or its client closed",
        LostProcessWarning,
        stacklevel=3,
    )
    return students


#: Rows loaded from which a load hands its parsing's memory back: a small load leaves little to hand back, and the
#: cycle collector's full pass costs up to a second in a process holding much (a test run's, a notebook's).
HAND_BACK_ROWS = 500_000


def _codebook(folder: Path, frames: dict[str, pd.DataFrame], reads: Mapping[str, _Read], problems: list[Problem]):
    """The folder's codebook.yml, read through the gate; every theme comment_codes.csv names must be in it."""
    path = folder / CODEBOOK
    codebook = None
    if path.exists() or path.is_symlink():
        try:
            codebook = read_codebook(path)
        except ContractError as error:
            problems.extend(error.problems)
            return None
    if "comment_codes" in frames:
        codes, read = frames["comment_codes"], reads["comment_codes"]
        if codebook is None:
            read.error(
                "a codebook.yml beside it naming the themes coders applied",
                f"add {CODEBOOK} to {folder} (its themes, with an id each), or remove comment_codes.csv.",
            )
            return None
        people = for_district(frames.get("educators"), None)
        for coder in sorted(set(codes["coder"].dropna().astype(str))):
            if people.redact(coder)[1]:  # a name, an ID, an e-mail address ...
                rows = codes.index[codes["coder"].astype(str) == coder]
                read.error(
                    "a coder's initials or role, never an educator's name or ID (coders are published with their "
                    "agreement)",
                    "write the coder's initials (e.g. AR) or a role (e.g. evaluator 1).",
                    row=rows[0],
                    column="coder",
                    value="(an educator's name or ID, not shown)",
                )
        known = set(codebook.ids)
        unknown = codes["theme"].notna() & ~codes["theme"].isin(known)
        for row in unknown[unknown].index:
            close = _did_you_mean(str(codes.loc[row, "theme"]), sorted(known))
            read.error(
                f"a theme id of {CODEBOOK} (its themes: {', '.join(codebook.ids)})",
                f"use {close}." if close else f"add the theme to {CODEBOOK}, or correct the id.",
                row=row,
                column="theme",
                value=str(codes.loc[row, "theme"]),
            )
    return codebook


def _redacted(frames: Mapping[str, pd.DataFrame], plan: Plan, read: _Read) -> pd.DataFrame:
    """Comments as they may be used: the redaction pass again (plevaluate import stores them redacted; a file made
    by hand may not be), naming the rows that held a name, an e-mail, a phone number or a URL."""
    comments, students = frames["comments"], frames.get("students")
    if isinstance(students, HeldTable):  # the few student IDs the comments could name, found where they are held
        named = [found for part in students.map(_named, comments["text"]) for found in part]
        students = pd.DataFrame({"student_id": pd.array(named, dtype="string")})
    redactor = for_district(frames.get("educators"), students, plan.comments.redact, texts=comments["text"])
    text, counts = redactor.redact_all(comments["text"])
    changed = counts.drop(columns=[c for c in ("row",) if c in counts.columns]).sum(axis=1) > 0
    changed.index = comments.index
    if changed.any():
        rows = list(changed[changed].index)
        kinds = counts.drop(columns=[c for c in ("row",) if c in counts.columns]).sum()
        what = ", ".join(f"{int(n)} {kind}" for kind, n in kinds.items() if n)
        read.warn(
            f"comments without names, IDs, e-mail addresses, phone numbers or URLs; {len(rows)} held some ({what}), first "
            f"in row {rows[0]}: they are redacted wherever the comments are used",
            "import comments with plevaluate import (which stores them redacted), or redact the file.",
            column="text",
        )
    return comments.assign(text=text.to_numpy())


def _named(students: pd.DataFrame, texts: pd.Series) -> tuple[str, ...]:
    """The student IDs of ``students`` that ``texts`` could name (`plevaluate.comments.redact.findable`)."""
    return findable(students["student_id"].dropna().unique(), texts)


#: Tables whose dates should fall in the program's school years (a misread day/month often does not).
_DATED = ("sessions", "learning", "conditions", "observations", "reactions")


def _check_cohorts(schools: pd.DataFrame, read: _Read, plan: Plan) -> None:
    """schools.csv's cohort: blank (in the program from the start) or the year a participant school's first
    program year starts (2024, or 2024-25); a school joining after the plan's last year never joined."""
    if "cohort" not in schools.columns:
        return
    text = schools["cohort"].astype("string").str.strip()
    given = text.notna() & text.ne("")
    found = text.str.extract(r"^(\d{4})(?:\s*[-/]\s*\d{2}(?:\d{2})?)?$", expand=False)
    for row in given[given & found.isna()].index:
        read.error(
            "a cohort written as the year the school's first program year starts, e.g. 2024 or 2024-25 (blank: "
            "in the program from the start)",
            "write the year the school joined.",
            row=row,
            column="cohort",
            value=str(text[row]),
        )
    years = [int(y[:4]) for y in plan_years(plan.school_year) if y[:4].isdigit()]
    if not years:
        return
    start = pd.to_numeric(found, errors="coerce")
    for wrong, expected, fix in (
        (start > years[-1], "within the plan's school years ({year}); {start} is after them, so the school never "
         "joined during the evaluation", "make it a comparison school until it joins, or correct the year."),
        (start < years[0] - 10, "near the plan's school years ({year}); {start} is more than ten years before them",
         "correct the year the school joined."),
    ):  # fmt: skip
        for row in start[wrong.fillna(False).astype(bool)].index:
            read.error(
                "a cohort " + expected.format(year=plan.school_year, start=int(start[row])),
                fix,
                row=row,
                column="cohort",
                value=str(text[row]),
            )


def _years_without_data(frames: Mapping[str, pd.DataFrame], plan: Plan) -> list[Problem]:
    """A warning when the plan names school years after the last one with any dated row: the reports
    evaluate the latest year with data, not an empty year."""
    years = plan_years(plan.school_year)
    if len(years) < 2:
        return []
    found: set[str] = set()
    for name in (*_DATED, "costs"):
        frame = frames.get(name)
        if frame is not None and "date" in frame.columns:
            dates = frame["date"].dropna()
            start = dates.dt.year - (dates.dt.month < 7)
            found |= {f"{y}-{(y + 1) % 100:02d}" for y in start.unique()}
    with_data = [y for y in years if y in found]
    if not with_data or with_data[-1] == years[-1]:
        return []
    empty = years[years.index(with_data[-1]) + 1 :]
    return [
        Problem(
            "plan.yml",
            f"data in every school year the plan names; {', '.join(empty)} hold no dated rows, so the reports "
            f"evaluate {with_data[-1]}, the latest year with data",
            f"end school_year at {with_data[-1]} in plan.yml until the next year's data arrive.",
            column="school_year",
            severity="warning",
        )
    ]


def _outside_school_year(frames: Mapping[str, pd.DataFrame], plan: Plan) -> list[Problem]:
    """Warnings for dates outside the plan's school years (July of the first year to July of the last)."""
    years = [int(y) for y in re.findall(r"\d{4}|(?<=-)\d{2}\b", plan.school_year)]
    if not years:
        return []
    first = years[0]
    last = max(first + 1, *(y if y > 100 else 2000 + y for y in years[1:]))
    start, end = pd.Timestamp(first, 7, 1), pd.Timestamp(last, 7, 31)
    found = []
    for name in _DATED:
        frame = frames.get(name)
        if frame is None or "date" not in frame:
            continue
        dates = frame["date"]
        outside = dates.notna() & ((dates < start) | (dates > end))
        if outside.any():
            row = outside.idxmax()
            found.append(
                Problem(
                    TABLES[name].filename,
                    f"dates in the school year {plan.school_year} ({start:%Y-%m-%d} to {end:%Y-%m-%d}); "
                    f"{int(outside.sum())} date(s) fall outside it, first in row {row} "
                    f"({dates[row]:%Y-%m-%d})",
                    "check the school_year in plan.yml, and whether day and month were swapped "
                    "(set date_format in plan.yml).",
                    column="date",
                    severity="warning",
                )
            )
    return found
