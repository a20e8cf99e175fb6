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
import json
import re
import struct
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

__all__ = ["PEOPLE_COLUMNS", "Finding", "audit"]

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
_COUNT_IN_WORDS = re.compile(
    r"(?<![\w.,<$])(\d+) (?:participating |more |other )?(educators?|respondents?|students?|teachers?|"
    r"participants?|people|principals?|coaches)\b(?!\.[a-z])"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")
_DATA_URI = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")
_BASE64_PNG = re.compile(r'"image/png": "[A-Za-z0-9+/=\\n]+"')


@dataclass(frozen=True)
class Finding:
    """One thing in a published file that must not be there."""

    file: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}: {self.detail}"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        for name, value in attrs:
            if name in ("alt", "title", "aria-label") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _html_text(source: str) -> str:
    parser = _Text()
    parser.feed(source)
    return " ".join(parser.parts)


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


def _identifiers(data: Path) -> tuple[set[str], list[str]]:
    """Student and educator IDs (those distinctive enough to search for) and educator names, from the raw CSVs."""
    ids: set[str] = set()
    names: list[str] = []
    for table, column in (("students", "student_id"), ("educators", "educator_id")):
        frame = _raw(data, table)
        if frame is not None and column in frame:
            values = frame[column].str.strip()
            # very short or purely small-number IDs would match ordinary numbers in a report
            ids |= {v for v in values if len(v) >= 4 and not (v.isdigit() and len(v) < 6)}
    frame = _raw(data, "educators")
    if frame is not None:
        for column in ("name", "full_name", "email"):
            if column in frame:
                names += [v.strip() for v in frame[column] if len(v.strip()) >= 4]
        if {"first_name", "last_name"} <= set(frame.columns):
            names += [f"{f.strip()} {g.strip()}" for f, g in zip(frame["first_name"], frame["last_name"])]
    return ids, sorted(set(names))


def _raw(data: Path, table: str) -> pd.DataFrame | None:
    """A table as text from a data folder or workbook (CSV or .xlsx), or from a damaged CSV as best it reads."""
    from .contract import TABLES, raw_table

    frame = raw_table(data, table)
    path = data / TABLES[table].filename
    if frame is None and path.is_file():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding_errors="replace")
    return None if frame is None else frame.fillna("").astype(str)


def _plan_min_n(out: Path, data: Path) -> int:
    manifest = out / "results" / "manifest.json"
    if manifest.is_file():
        return int(json.loads(manifest.read_text(encoding="utf-8")).get("plan", {}).get("min_n", 10))
    from .plan import read_plan

    folder = data.parent if data.is_file() else data
    return read_plan(folder / "plan.yml").min_n if (folder / "plan.yml").is_file() else 10


def _texts(out: Path) -> dict[str, tuple[str, str]]:
    """file -> (text to search for identifiers, text a reader reads, for counts in words)."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(out).parts):
            continue
        name = str(path.relative_to(out))
        if path.suffix == ".html":
            source = path.read_text(encoding="utf-8", errors="replace")
            markup = _DATA_URI.sub("data:", source)  # the images' metadata is read by _images, not their bytes
            found[name] = (markup + " " + _images(source), _html_text(markup))
        elif path.suffix == ".ipynb":
            source = path.read_text(encoding="utf-8", errors="replace")
            found[name] = (_BASE64_PNG.sub('"image/png": ""', source) + " " + _images(source), "")
        elif path.suffix in (".csv", ".json"):
            found[name] = (path.read_text(encoding="utf-8", errors="replace"), "")
        elif path.suffix == ".pdf":
            from pypdf import PdfReader

            try:
                text = " ".join(page.extract_text() or "" for page in PdfReader(path).pages)
            except Exception as error:  # noqa: BLE001 - an unreadable PDF is itself a finding
                text = ""
                found[name] = (f"\x00unreadable: {error}", "")
                continue
            found[name] = (text, text)
    return found


def audit(out: str | Path, data: str | Path, *, min_n: int | None = None) -> list[Finding]:
    """Every finding in the outputs of ``out`` against the people of the data folder ``data``.

    Parameters
    ----------
    out : path
        A folder written by ``plevaluate report``.
    data : path
        The data folder it was made from (read only, for the IDs and names to look for).
    min_n : int, optional
        The reporting minimum; by default the plan's, as recorded in ``out/results/manifest.json``.

    Returns
    -------
    list of Finding
        Empty when nothing was found.
    """
    out, data = Path(out), Path(data)
    min_n = _plan_min_n(out, data) if min_n is None else min_n
    ids, names = _identifiers(data)
    findings: list[Finding] = []
    for name, (searchable, readable) in _texts(out).items():
        if searchable.startswith("\x00unreadable"):
            findings.append(Finding(name, "unreadable PDF", searchable[1:]))
            continue
        leaked = sorted(set(_TOKEN.findall(searchable)) & ids)
        if leaked:
            findings.append(Finding(name, "student or educator ID", ", ".join(leaked[:5])))
        people = [n for n in names if n in searchable]
        if people:
            findings.append(Finding(name, "educator name or e-mail", "; ".join(people[:3])))
        emails = sorted(set(_EMAIL.findall(readable if readable else searchable)))
        if emails:
            findings.append(Finding(name, "e-mail address", ", ".join(emails[:3])))
        for number, noun in _COUNT_IN_WORDS.findall(readable):
            if 0 < int(number) < min_n:
                findings.append(Finding(name, f"count of people below min_n {min_n}", f"{number} {noun}"))
        if name.endswith(".csv"):
            findings += _small_counts(out / name, name, min_n)
    return findings


def _small_counts(path: Path, name: str, min_n: int) -> list[Finding]:
    try:
        table = pd.read_csv(path)
    except (ValueError, OSError):
        return []
    found = []
    for column in (c for c in table.columns if c in PEOPLE_COLUMNS):
        values = pd.to_numeric(table[column], errors="coerce")
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
