"""``plevaluate audit``: read every published output as a privacy officer would, before anyone else does.

It scans what a report run wrote (HTML text and source, PDF text, kept notebooks, the CSV bundle,
and the metadata of every embedded image) for

- a student ID or an educator ID from the data folder,
- an educator's name (any ``name``, ``first_name`` + ``last_name`` or ``email`` column of educators.csv),
- an e-mail address,
- a count of people below the plan's ``min_n``, in words ("7 educators") or in a CSV column that
  counts people.

`plevaluate.render` runs it at the end of every report run; any finding fails the run.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import os
import re
import struct
import zlib
from collections.abc import Collection
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from . import registry
from ._outputs import die_with_parent, kill_pool
from .comments.redact import Redactor
from .contract import TABLES, raw_table
from .plan import read_plan

__all__ = ["PEOPLE_COLUMNS", "AuditError", "Finding", "audit"]

#: CSV columns that count people: a value from 1 to min_n - 1 is a finding.
PEOPLE_COLUMNS = (
    "n_people",
    "participants",
    "respondents",
    "n_treatment",
    "n_comparison",
    "n_missing_post",
    "n_matched",
    "baseline_treatment",
    "baseline_comparison",
    "analytic_treatment",
    "analytic_comparison",
    "new_students",
)
_NOUNS = r"(educators?|respondents?|students?|teachers?|participants?|people|persons?|principals?|coaches|coach|staff)"
_NUMBER_WORDS = {
    word: n
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
_COUNT_IN_WORDS = re.compile(
    r"(?<![\w.,<$])(\d+|"
    + "|".join(_NUMBER_WORDS)
    + r") (?:participating |more |other |new |responding )?"
    + _NOUNS
    + r"\b(?!\.[a-z])",
    re.IGNORECASE,
)
# "Respondents: 7", "educators = 4", "n = 7", "(n=3)"
_COUNT_LABELLED = re.compile(r"(?<![\w])(" + _NOUNS[1:-1] + r"|n)[^\S\n]*[:=][^\S\n]*(\d+)(?![\d.,%])", re.I)
# a rule, not a count: "it needs 2 items and 2 respondents", "at least 3 teachers", "fewer than 10 people"
_RULE = re.compile(r"\b(needs?|needed|requires?|required|at least|minimum|fewer than|more than|min_n)\b[^.;:]*$",
                   re.IGNORECASE)  # fmt: skip
# a number that names a grade, a level or a year is not a count: "grade 3 students", "level 2 teachers"
_LABEL_BEFORE = re.compile(r"\b(grades?|years?|levels?|steps?|items?|cohorts?|rounds?|sessions?|ages?)\s*$", re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")
_DATA_URI = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")
_BASE64_PNG = re.compile(r'"image/png": "[A-Za-z0-9+/=\\n]+"')


class AuditError(ValueError):
    """``audit`` was pointed at something it cannot vouch for: no output folder, or data without people."""


@dataclass(frozen=True)
class Finding:
    """One thing in a published file that must not be there."""

    file: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}: {self.detail}"


_BLOCK = frozenset(
    "address article aside blockquote br caption dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header hr "
    "li main nav ol p pre section table tbody td tfoot th thead tr ul details summary".split()
)


class _Text(HTMLParser):
    """The text of a page as a reader reads it: inline markup joins (``<b>7</b> educators``), block
    boundaries (table cells, paragraphs, headings) break lines, so words of two cells never read as one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        if tag in _BLOCK:
            self.parts.append("\n")
        for name, value in attrs:
            if name in ("alt", "title", "aria-label") and value:
                self.parts.append(f"\n{value}\n")

    def handle_endtag(self, tag):
        if tag in ("style", "script") and self._skip:
            self._skip -= 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _html_text(source: str) -> str:
    parser = _Text()
    parser.feed(source)
    return "".join(parser.parts)


def _png_text(data: bytes) -> str:
    """The text chunks (tEXt, zTXt, iTXt) of a PNG: where image metadata would carry a name."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ""
    parts, at = [], 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        if kind == b"tEXt":
            parts.append(body.replace(b"\x00", b" ").decode("latin-1"))
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\x00")
            parts.append(key.decode("latin-1") + " " + zlib.decompress(rest[1:]).decode("latin-1", "replace"))
        elif kind == b"iTXt":
            parts.append(body.replace(b"\x00", b" ").decode("utf-8", "replace"))
        at += 12 + length
    return " ".join(parts)


def _images(source: str) -> str:
    texts = []
    encoded_images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", source)
    encoded_images += [m.replace("\\n", "") for m in re.findall(r'"image/png": "([A-Za-z0-9+/=\\n]+)"', source)]
    for encoded in encoded_images:
        try:
            texts.append(_png_text(base64.b64decode(encoded)))
        except (ValueError, zlib.error, struct.error):
            continue
    return " ".join(texts)


def _normal(text: str) -> str:
    """Text as the audit compares it: markup removed, entities decoded, case and whitespace folded."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub("", text))).casefold().strip()


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


@dataclass(frozen=True)
class _People:
    """What the audit looks for: IDs (case-folded), names as word sequences in both orders, e-mails."""

    ids: dict[str, str]  # case-folded -> as the data hold it
    names: dict[tuple[str, ...], str]  # words (case-folded) -> the name as the data hold it
    emails: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.ids or self.names or self.emails)


def _identifiers(data: Path) -> _People:
    """Student and educator IDs (those distinctive enough to search for), educator names and e-mails."""
    ids: dict[str, str] = {}
    names: dict[tuple[str, ...], str] = {}
    emails: set[str] = set()
    for table, column in (("students", "student_id"), ("educators", "educator_id")):
        values = _distinct(data, table, column)  # each ID once, not a row's worth of text each (students.csv)
        # very short or purely small-number IDs would match ordinary numbers in a report
        ids.update({v.casefold(): v for v in values if len(v) >= 4 and not (v.isdigit() and len(v) < 6)})
    frame = _raw(data, "educators")
    if frame is not None:
        full = []
        for column in ("name", "full_name"):
            if column in frame:
                full += [v for v in frame[column] if v.strip()]
        if {"first_name", "last_name"} <= set(frame.columns):
            full += [f"{f} {g}" for f, g in zip(frame["first_name"], frame["last_name"]) if f.strip() and g.strip()]
        for name in full:
            words = tuple(_words(_normal(name)))
            if len(words) < 2:
                if words and len(words[0]) >= 4:
                    names[words] = name.strip()
                continue
            names[words] = name.strip()
            names[(words[-1], *words[:-1])] = name.strip()  # "Last, First" and "Last First"
        if "email" in frame:
            emails |= {v.strip().casefold() for v in frame["email"] if "@" in v}
    return _People(ids, names, frozenset(emails))


def _distinct(data: Path, table: str, column: str) -> list[str]:
    """The distinct values of one column of a table, stripped, as text (none when the table or column is absent)."""
    frame = raw_table(data, table, columns=(column,))
    if frame is None:
        whole = _raw(data, table)  # a damaged CSV, as best it reads
        frame = None if whole is None else whole[[c for c in (column,) if c in whole]].astype("category")
    if frame is None or column not in frame:
        return []
    return sorted({str(v).strip() for v in frame[column].cat.categories if pd.notna(v)})


def _raw(data: Path, table: str) -> pd.DataFrame | None:
    """A table as text from a data folder or workbook (CSV or .xlsx), or from a damaged CSV as best it reads."""

    frame = raw_table(data, table)
    path = data / TABLES[table].filename
    if frame is None and path.is_file():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding_errors="replace")
    return None if frame is None else frame.fillna("").astype(str)


def _plan_min_n(out: Path, data: Path) -> int:
    manifest = out / "results" / "manifest.json"
    if manifest.is_file():
        return int(json.loads(manifest.read_text(encoding="utf-8")).get("plan", {}).get("min_n", 10))

    folder = data.parent if data.is_file() else data
    return read_plan(folder / "plan.yml", registry.levels()).min_n if (folder / "plan.yml").is_file() else 10


def _files(out: Path, skip: Collection[str] = ()):
    """Every file under ``out``, through linked folders too (each folder once), in order; none in the folders of
    ``out`` named in ``skip``."""
    seen: set[tuple[int, int]] = set()
    for root, folders, files in os.walk(out, followlinks=True):
        info = os.stat(root)
        if (info.st_dev, info.st_ino) in seen:
            folders[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        if Path(root) == out:
            folders[:] = [name for name in folders if name not in skip]
        folders.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file():
                yield path


def _decoded(data: bytes) -> str:
    """Bytes as text: UTF-16 (with its byte-order mark, or NUL-heavy), UTF-8, else Latin-1 (every byte a character,
    so names and IDs in a binary file's metadata still read)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 3 and data[1:200:2].count(0) > 40):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _archive_text(path: Path, data: bytes) -> str:
    """The text inside a zip (xlsx, docx, pptx too) or gzip file: each member decoded, names included."""
    import gzip
    import io
    import zipfile

    if data[:2] == b"\x1f\x8b":
        try:
            return _decoded(gzip.decompress(data)[: 64 * 1024 * 1024])
        except (OSError, EOFError, zlib.error):
            return ""
    if zipfile.is_zipfile(io.BytesIO(data)):
        parts = []
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.infolist()[:10_000]:
                    parts.append(member.filename)
                    if member.file_size <= 64 * 1024 * 1024:
                        parts.append(_decoded(archive.read(member)))
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error):
            pass
        return " ".join(parts)
    return ""


def _office_text(data: bytes) -> str:
    """The text of a Word document's or PowerPoint deck's XML members (body, tables, slides, notes, comments,
    properties), one paragraph a line."""
    import io
    import zipfile

    parts = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist()[:10_000]:
                if member.filename.endswith((".xml", ".rels")) and member.file_size <= 64 * 1024 * 1024:
                    xml = _decoded(archive.read(member))
                    xml = re.sub(r"</(?:w:p|a:p|w:tc|a:tc|dc:title|dc:creator|cp:keywords)>", "\n", xml)
                    parts.append(html.unescape(re.sub(r"<[^>]+>", "", xml)))
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error):
        return ""
    return "\n".join(parts)


#: A letter of a right-to-left script (Hebrew, Arabic, Syriac, Thaana, N'Ko and their presentation forms).
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def _pdf_text(path: Path) -> str:
    """A PDF's pages' text, or ``\x00unreadable: why`` (an unreadable PDF is itself a finding).

    Read with PDFium (pypdfium2), the PDF engine of Chromium, which printed them: fourteen times as fast as pypdf's
    reading in Python (the sample's 16 PDFs, 183 pages: 11.3 -> 0.8 s) with the same words. PDFium marks a hyphen
    that ends a line with U+FFFE and joins the next line's word to it; given back as a hyphen and a line break, as
    pypdf read it (an ID or a name is matched as before, word by word). PDFium also turns around a line that is
    mostly Hebrew or Arabic, the left-to-right words in it too (a school's name in Arabic beside "E0016" gave
    "0016E", "7 educators" gave "educators 7"): a PDF with a right-to-left letter is read by pypdf as well, and
    both texts are searched. A PDF PDFium cannot read is read by pypdf, as before (PDFium refuses one without
    pages, which pypdf reads as empty); one neither reads is unreadable."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(path)
        try:
            text = " ".join(page.get_textpage().get_text_range() for page in document).replace("\ufffe", "-\n")
        finally:
            document.close()
    except Exception as error:  # noqa: BLE001 - a PDF PDFium cannot read (one without pages): pypdf tries, as before
        return _pypdf_text(path, error)
    if _RIGHT_TO_LEFT.search(text):
        more = _pypdf_text(path)
        if not more.startswith("\x00unreadable"):  # PDFium read it: its text is searched all the same
            text += "\n" + more
    return text


def _pypdf_text(path: Path, pdfium_error: Exception | None = None) -> str:
    """A PDF's pages' text as pypdf reads it, or ``\x00unreadable: why`` (PDFium's error, when it failed first)."""
    from pypdf import PdfReader

    try:
        return " ".join(page.extract_text() or "" for page in PdfReader(path).pages)
    except Exception as error:  # noqa: BLE001 - an unreadable PDF is itself a finding
        return f"\x00unreadable: {pdfium_error or error}"


def _pdf_texts(paths: list[Path], workers: int) -> dict[Path, str]:
    """Every PDF's text, in ``workers`` processes when there are many (reading a PDF's text is the slow part of an
    audit: at 2,000 school reports it took a quarter of an hour in one process with pypdf, which PDFium replaced)."""
    if workers <= 1 or len(paths) < 8:
        return {path: _pdf_text(path) for path in paths}
    pool = ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent)
    try:
        texts = dict(zip(paths, pool.map(_pdf_text, paths, chunksize=max(1, len(paths) // (workers * 8)))))
    except BaseException:
        kill_pool(pool)
        raise
    pool.shutdown(wait=True)
    return texts


def _texts(
    out: Path, workers: int = 1, skip: Collection[str] = (), sheets_of: dict | None = None
) -> dict[str, tuple[str, str]]:
    """file -> (text to search for identifiers, text a reader reads, for counts in words).

    Every file under ``out`` is read, hidden and linked folders too (a stopped run's leftovers are published
    all the same if someone copies the folder): HTML and notebooks as source and as read, PDFs as their
    pages' text, PNG images by their metadata, zip and gzip files (workbooks, documents, decks) member by
    member, every other file as text (UTF-16 and binary files decoded so that names in them still read).
    ``sheets_of``: filled with each workbook's sheets (`_sheets`), by file, for the audit's count check.
    """
    found: dict[str, tuple[str, str]] = {}
    files = list(_files(out, skip))
    pdfs = _pdf_texts([path for path in files if path.suffix.lower() == ".pdf"], workers)
    for path in files:
        name = str(path.relative_to(out))
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm", ".svg", ".xml"):
            source = _decoded(path.read_bytes())
            markup = _DATA_URI.sub("data:", source)  # the images' metadata is read by _images, not their bytes
            found[name] = (markup + " " + _images(source), _html_text(markup))
        elif suffix == ".ipynb":
            source = path.read_text(encoding="utf-8", errors="replace")
            found[name] = (_BASE64_PNG.sub('"image/png": ""', source) + " " + _images(source), _notebook_text(source))
        elif suffix == ".pdf":
            text = pdfs[path]
            found[name] = (text, "") if text.startswith("\x00unreadable") else (text, text)
        elif suffix == ".png":
            found[name] = (_png_text(path.read_bytes()), "")
        elif suffix in (".xlsx", ".xlsm") and (sheets := _sheets(path)):
            if sheets_of is not None:
                sheets_of[name] = sheets
            # each cell on its own line, so that two cells never read as one phrase; the archive's text too
            cells = "\n".join(
                str(value)
                for _, table in sheets
                for row in table.itertuples(index=False)
                for value in row
                if value is not None
            )
            headers = "\n".join(str(c) for _, table in sheets for c in table.columns)
            found[name] = (_archive_text(path, path.read_bytes()) + "\n" + cells, headers + "\n" + cells)
        elif suffix in (".docx", ".pptx"):
            data = path.read_bytes()
            # what a reader reads: the documents' XML text, paragraph by paragraph (a picture's bytes are searched
            # for names and IDs, never read as words: a PNG can hold what looks like an e-mail address)
            found[name] = (_archive_text(path, data), _office_text(data))
        else:  # CSV, JSON, text, Markdown, archives, images, anything else
            data = path.read_bytes()
            archive = _archive_text(path, data)
            text = archive or _decoded(data)
            found[name] = (text, "" if suffix in (".csv", ".json") else _html_text(text))
    return found


def _notebook_text(source: str) -> str:
    """The Markdown and text outputs of a kept notebook, as a reader reads them."""
    try:
        notebook = json.loads(source)
    except ValueError:
        return ""
    parts = []
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        if cell.get("cell_type") == "markdown":
            parts.append("".join(cell.get("source", [])))
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for kind in ("text/markdown", "text/html", "text/plain"):
                if kind in data:
                    text = "".join(data[kind]) if isinstance(data[kind], list) else str(data[kind])
                    parts.append(_html_text(text) if kind == "text/html" else text)
                    break
            if "text" in output:
                parts.append("".join(output["text"]) if isinstance(output["text"], list) else str(output["text"]))
    return "\n".join(parts)


def _counts(readable: str, min_n: int) -> list[str]:
    """Counts of people below ``min_n`` in what a reader reads: "7 educators", "seven teachers",
    "Respondents: 7", "n = 3"; a rule ("it needs 2 respondents", "at least 3 teachers") is not a count."""
    text = _INLINE_SPACE.sub(" ", html.unescape(readable))  # lines stay apart: two cells never read as one phrase
    found = []
    for match in _COUNT_IN_WORDS.finditer(text):
        number = match.group(1).lower()
        value = _NUMBER_WORDS.get(number, None) if not number.isdigit() else int(number)
        if value is None or not 0 < value < min_n:
            continue
        before = text[max(0, match.start() - 60) : match.start()]
        if _RULE.search(before) or _LABEL_BEFORE.search(before):
            continue
        found.append(f"{match.group(1)} {match.group(2)}")
    for match in _COUNT_LABELLED.finditer(text):
        value = int(match.group(2))
        if 0 < value < min_n and not _RULE.search(text[max(0, match.start() - 60) : match.start()]):
            found.append(match.group(0))
    return found


def _check_arguments(out: Path, data: Path) -> None:
    if not out.exists():
        raise AuditError(f"{out} does not exist: give the folder a report run wrote (its --out)")
    if not out.is_dir():
        raise AuditError(f"{out} is a file: give the folder a report run wrote (its --out)")
    if not data.exists():
        raise AuditError(f"--data {data} does not exist: give the data folder the reports were made from")


#: The redaction's patterns without names: what an e-mail, a phone number or a link looks like (comments).
_ANYONE = Redactor.build()


def audit(
    out: str | Path,
    data: str | Path,
    *,
    min_n: int | None = None,
    require_people: bool = True,
    workers: int = 1,
    skip: Collection[str] = (),
) -> list[Finding]:
    """Every finding in the outputs of ``out`` against the people of the data folder ``data``.

    Parameters
    ----------
    out : path
        A folder written by ``plevaluate report`` (or ``portfolio``).
    data : path
        The data folder it was made from (read only, for the IDs and names to look for).
    min_n : int, optional
        The reporting minimum; by default the plan's, as recorded in ``out/results/manifest.json``.
    workers : int
        Processes reading the PDFs' text (the slow part: about 0.05 s a report).
    skip : collection of str
        Folders of ``out`` not read (a portfolio's programs' folders, each audited by its own run).

    Returns
    -------
    list of Finding
        Empty when nothing was found.

    Raises
    ------
    AuditError
        When ``out`` is not a folder, or ``data`` holds no people to look for (no IDs, names or e-mails;
        unless ``require_people`` is False, as for a report run's own check of a district with no people
        yet): an audit against nothing would say "nothing found" and mean nothing.

    Notes
    -----
    Text is compared as a reader would see it: markup removed, HTML entities decoded, case and
    whitespace folded. Names are matched in both orders ("Jane Doe", "Doe, Jane"), IDs in any case and
    in file names too, in every file of the folder (hidden folders included).
    """
    out, data = Path(out), Path(data)
    if isinstance(skip, str):  # "alpha" in "alphabet": a string would skip every folder whose name is in it
        raise TypeError(f"skip is a collection of folder names, not the string {skip!r}; write {{{skip!r}}}")
    _check_arguments(out, data)
    people = _identifiers(data)
    if not people and require_people:
        raise AuditError(
            f"--data {data} holds no people to look for (no student or educator IDs, names or e-mails): give the "
            "data folder the reports were made from"
        )
    min_n = _plan_min_n(out, data) if min_n is None else min_n
    findings: list[Finding] = []
    sheets_of: dict[str, list] = {}
    for name, (searchable, readable) in _texts(out, workers, skip, sheets_of).items():
        if searchable.startswith("\x00unreadable"):
            findings.append(Finding(name, "unreadable PDF", searchable[1:]))
            continue
        findings += _people_in(name, searchable, people)
        emails = sorted(set(_EMAIL.findall(html.unescape(readable if readable else searchable))))
        if emails:
            findings.append(Finding(name, "e-mail address", ", ".join(emails[:3])))
        if readable and not name.lower().endswith((".csv", ".json", ".xlsx", ".xlsm")):  # words, not number columns
            phones = _ANYONE.redact(html.unescape(readable))[1]["phone"]
            if phones:
                findings.append(Finding(name, "phone number", f"{phones} in the text (a comment quoted unredacted?)"))
        for count in _counts(readable, min_n):
            findings.append(Finding(name, f"count of people below min_n {min_n}", count))
        if name.lower().endswith((".csv", ".xlsx", ".xlsm")):
            findings += _small_counts(out / name, name, min_n, sheets_of.get(name, []))
    return findings


def _tokens(text: str) -> set[str]:
    """The tokens of ``text`` an ID is looked for among: runs of letters, digits, ``_`` and ``-``, casefolded (a
    ligature such as U+FB01 becomes its letters), and the parts of each between hyphens."""
    tokens = set(_TOKEN.findall(text.casefold()))
    return tokens | {part for token in tokens if "-" in token for part in token.split("-")}


def _people_in(name: str, searchable: str, people: _People) -> list[Finding]:
    found = []
    plain = html.unescape(searchable)
    tokens = _tokens(plain + " " + _TAG.sub("", plain) + " " + name)
    leaked = sorted(people.ids[t] for t in tokens & people.ids.keys())
    if leaked:
        found.append(Finding(name, "student or educator ID", ", ".join(leaked[:5])))
    hits = set()
    in_name = _SPACE.sub(" ", re.sub(r"[_\-./]+", " ", name)).casefold()  # a name in a file name, too
    for text in (_normal(searchable), _SPACE.sub(" ", html.unescape(_TAG.sub(" ", searchable))).casefold(), in_name):
        words = _words(text)
        present = set(words)  # only names whose every word is in the text are looked for as a phrase
        candidates = [w for w in people.names if present.issuperset(w)]
        if candidates:
            spaced = " " + " ".join(words) + " "  # words apart by one space: a name is " first last "
            hits |= {people.names[w] for w in candidates if " " + " ".join(w) + " " in spaced}
        hits |= {e for e in people.emails if e in text}
    if hits:
        found.append(Finding(name, "educator name or e-mail", "; ".join(sorted(hits)[:3])))
    return found


def _sheets(path: Path) -> list[tuple[str, pd.DataFrame]]:
    """A workbook's sheets as tables (the first row the header); none when it cannot be read as a workbook.

    Read by python-calamine (Rust; 15x faster than openpyxl's read-only mode, which was half of a portfolio's
    audit), its cells as openpyxl gives them: a blank cell None, a whole number an int. A workbook calamine cannot
    read whole (a sheet it refuses, two sheets of one name, which it finds by name) is read by openpyxl, as before."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        names = list(book.sheet_names)
    except Exception:  # noqa: BLE001 - not a workbook calamine reads: its text was still searched
        return []
    if len(set(names)) < len(names):
        return _sheets_by_openpyxl(path)
    try:
        sheets = [(name, book.get_sheet_by_name(name).to_python(skip_empty_area=False)) for name in names]
    except Exception:  # noqa: BLE001 - one sheet calamine refuses must not hide the others
        return _sheets_by_openpyxl(path)
    return _tables((title, [[_cell(value) for value in row] for row in rows]) for title, rows in sheets)


def _sheets_by_openpyxl(path: Path) -> list[tuple[str, pd.DataFrame]]:
    """`_sheets` by openpyxl's read-only mode (a workbook calamine cannot read whole)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - not a workbook openpyxl reads: its text was still searched
        return []
    try:
        return _tables((sheet.title, list(sheet.iter_rows(values_only=True))) for sheet in book.worksheets)
    finally:
        book.close()


def _tables(sheets) -> list[tuple[str, pd.DataFrame]]:
    """(title, rows of cells) -> (title, table with the first row its header), for each sheet with a row."""
    out = []
    for title, rows in sheets:
        if rows:
            header = [str(c) if c is not None else "" for c in rows[0]]
            out.append((title, pd.DataFrame(rows[1:], columns=header)))
    return out


def _cell(value):
    if isinstance(value, str) and value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: Excel's day 0 (its serial numbers count days from here; the days before 1 March 1900 one more, for its 29 February).
_EXCEL_DAY_0 = datetime.datetime(1899, 12, 30)


def _serial(value):
    """A cell read as a date, time or duration as the number Excel stores: a count shown with a date format (say
    a built-in East Asian one) is still a count. Anything else as it is."""
    if isinstance(value, datetime.timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, datetime.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if isinstance(value, datetime.date):
        moment = value if isinstance(value, datetime.datetime) else datetime.datetime.combine(value, datetime.time())
        days = (moment - _EXCEL_DAY_0).total_seconds() / 86400
        return days - 1 if moment < datetime.datetime(1900, 3, 1) else days
    return value


def _small_counts(path: Path, name: str, min_n: int, sheets: list) -> list[Finding]:
    """Counts below ``min_n`` in the people-counting columns of a CSV, or of every sheet of a workbook (``sheets``,
    as `_texts` read them)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return [f for sheet, table in sheets for f in _small_in(table, f"{name} [{sheet}]", min_n)]
    try:
        table = pd.read_csv(path)
    except (ValueError, OSError):
        return []
    return _small_in(table, name, min_n)


def _small_in(table: pd.DataFrame, name: str, min_n: int) -> list[Finding]:
    found = []
    for column in (c for c in table.columns if c in PEOPLE_COLUMNS):
        cells = table[column]
        values = pd.to_numeric(cells.map(_serial) if cells.dtype == object else cells, errors="coerce")
        small = values[(values > 0) & (values < min_n)]
        if len(small):
            found.append(
                Finding(
                    name,
                    f"count of people below min_n {min_n}",
                    f"column '{column}', row {int(small.index[0]) + 2}: {small.iloc[0]:g}",
                )
            )
    return found
