"""The read, write and publication gates, tried as a careless or hostile user would, command by command.

Every case runs what a user runs (``plevaluate validate``, ``design``, ``sample``, ``init``, ``import``,
``report``, ``audit``), and asserts the exact message the user reads, the exit code, no traceback, and
that every input is byte for byte unchanged (`tests.conftest.folder_hash` over the data folder, and
the hash of every other file the case hands the command). Together with ``tests/test_hardening.py``'s
catalogue of bad data, they are the catalogue of issue #28.

Running as root (as CI does), permission errors cannot be provoked: root reads and writes anything.
The gates word them (`plevaluate.gates.os_problem`, tested directly below).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import shutil
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import plevaluate
from plevaluate.cli import main
from plevaluate.gates import Ledger, os_problem
from tests import intake_fixtures as fx
from tests.conftest import SAMPLE, folder_hash, write_tiny
from tests.test_hardening import Case, _plan

TABLES = tuple(plevaluate.TABLES)  # every table of the data contract
SECRET = "a district-held secret of enough length"


def _run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text
    return code, text


def _hash(path: Path) -> str:
    if path.is_dir():
        return folder_hash(path)
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return "absent"


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def _write(folder: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False)


# ---------------------------------------------------------------------------------------------------------------
# validate: the read gate on every table and on plan.yml
# ---------------------------------------------------------------------------------------------------------------


def _replace_with(kind: str, table: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / (table if "." in table else f"{table}.csv")
        path.unlink(missing_ok=True)
        if kind == "pipe":
            os.mkfifo(path)
        elif kind == "folder":
            path.mkdir()
        elif kind == "device":
            path.symlink_to("/dev/zero")
        elif kind == "dangling":
            path.symlink_to(folder / "nowhere.csv")

    return edit


_KIND_WORDS = {
    "pipe": "a file, but this is a named pipe (FIFO)",
    "folder": "a file, but this is a folder",
    "device": "a file, but this is a character device",
    "dangling": "a file plevaluate can read (No such file or directory)",
}


READ_CASES = [
    Case(f"{kind} as {table}.csv", _replace_with(kind, table), f"{table}.csv:\n  - {_KIND_WORDS[kind]}")
    for table in TABLES
    for kind in ("pipe", "folder", "device")
] + [
    Case("dangling link as students.csv", _replace_with("dangling", "students"), _KIND_WORDS["dangling"]),
    Case("pipe as plan.yml", _replace_with("pipe", "plan.yml"), "plan.yml:\n  - a file, but this is a named pipe"),
    Case("folder as plan.yml", _replace_with("folder", "plan.yml"), "plan.yml:\n  - a file, but this is a folder"),
    Case("device as plan.yml", _replace_with("device", "plan.yml"), "plan.yml:\n  - a file, but this is a character"),
]


def _plan_text(text: str | bytes) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / "plan.yml").write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))

    return edit


def _byte_bomb() -> str:
    """250 KB of YAML whose aliases expand to gigabytes of text (few nodes: the node bound alone missed it)."""
    big = "x" * 100_000
    return f'program: a\nschool_year: 2025-26\nbig: &b "{big}"\nmany: [' + ", ".join(["*b"] * 30_000) + "]\n"


PLAN_CASES = [
    Case("min_n true", _plan("min_n: 10", "min_n: true"), "entry 'min_n', value 'True': Value error, expected a number, not true/false"),
    Case("min_n false", _plan("min_n: 10", "min_n: false"), "expected a number, not true/false"),
    Case("ci .nan", _plan("min_n: 10", "min_n: 10\nci: .nan"), "entry 'ci', value 'nan': Input should be a finite number"),
    Case("hourly rate .inf", _plan("educator_hourly_rate: 48.50", "educator_hourly_rate: .inf"), "entry 'educator_hourly_rate', value 'inf': Input should be a finite number"),
    Case("hourly rate true", _plan("educator_hourly_rate: 48.50", "educator_hourly_rate: true"), "entry 'educator_hourly_rate', value 'True'"),
    Case("discount rate .inf", _plan("min_n: 10", "min_n: 10\ncost: {discount_rate: .inf}"), "entry 'cost.discount_rate', value 'inf': Input should be a finite number"),
    Case("target .inf", _plan("target: 0.10", "target: .inf"), "Input should be a finite number"),
    Case("target true", _plan("target: 0.10", "target: true"), "expected a number, not true/false"),
    Case("yaml byte bomb", _plan_text(_byte_bomb()), "at most 100,000 values and 1.0 MB of text once YAML aliases (*name) are expanded"),
    Case("plan too large", _plan_text("program: a\n#" + "x" * 300_000 + "\n"), "plan.yml:\n  - a file of at most 256 KB, but it holds 293 KB"),
    Case("plan not utf-8", _plan_text(b"program: \xff\xfe\x00a\n"), "plan.yml:\n  - a UTF-8 text file. Fix: Save plan.yml as UTF-8."),
    Case("plan invalid yaml", _plan_text("program: [a\n"), "plan.yml:\n  - row 2: valid YAML"),
    Case("plan a list", _plan_text("- a\n- b\n"), "a mapping of keys to values"),
]  # fmt: skip


def _cell(table: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        frame = _read(folder, table)
        frame.loc[row - 2, column] = value
        _write(folder, table, frame)

    return edit


VALUE_CASES = [
    Case("cost inf", _cell("costs", 2, "amount", "inf"), "row 2, column 'amount', value 'inf': expected a number at least 0 (a finite number). Fix: Write the number itself."),
    Case("cost 1e309", _cell("costs", 2, "amount", "1e309"), "row 2, column 'amount', value '1e309': expected a number at least 0 (a finite number)"),
    Case("outcome Infinity", _cell("students", 2, "outcome", "Infinity"), "row 2, column 'outcome', value 'Infinity': expected a number (a finite number)"),
    Case("prior -inf", _cell("students", 3, "prior_score", "-inf"), "row 3, column 'prior_score', value '-inf': expected a number (a finite number)"),
    Case("hours inf", _cell("sessions", 2, "hours", "inf"), "column 'hours', value 'inf'"),
    Case("score INF", _cell("learning", 2, "score", "INF"), "column 'score', value 'INF'"),
]  # fmt: skip

ZONE_CASES = [
    Case(f"zoned timestamp {stamp}", _cell("sessions", 2, "date", stamp), "meets the data contract", 0)
    for stamp in ("2025-09-12T08:30:00Z", "2025-09-12T08:30:00+02:00", "2025-09-12 08:30:00-0500", "2025-09-12T08:30Z")
]


@pytest.mark.slow
@pytest.mark.parametrize("case", READ_CASES + PLAN_CASES + VALUE_CASES + ZONE_CASES, ids=lambda c: c.id)
def test_validate_read_gate(case: Case, tmp_path: Path, make=None):
    folder = make(tmp_path) if make is not None else write_tiny(tmp_path / "district")
    case.edit(folder)
    before = folder_hash(folder)
    code, text = _run(["validate", str(folder)])
    assert case.message in text, text[-1500:]
    assert code == case.code, text[-1500:]
    assert folder_hash(folder) == before


@pytest.mark.parametrize("size", [1, 3, 8, 1 << 20])
@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a,b\n",
        b"a,b\n1,2",
        b"a,b\r\n1,2\r\n\n",
        b"header\n" + b"x" * 50 + b"\nlast",
        b"\n\n\n",
        b"a,b\r1,2\r" * 9,
    ],
)
def test_a_file_read_in_blocks_is_its_bytes_cut_after_line_breaks(data: bytes, size: int, tmp_path: Path):
    # contract.load reads a large plain CSV a block of whole lines at a time (`read_blocks`): the blocks are the
    # file, in order, each ending after a line break (the last at the file's end), whatever the block's size
    from plevaluate.gates import read_blocks

    path = tmp_path / "t.csv"
    path.write_bytes(data)
    blocks = list(read_blocks(path, size))
    assert b"".join(blocks) == data
    assert all(block.endswith(b"\n") for block in blocks[:-1]) and all(blocks)
    assert all(block.count(b"\n") <= 1 or len(block) <= 2 * size for block in blocks)  # whole lines, about size


def test_a_file_read_in_blocks_passes_the_read_gate(tmp_path: Path, monkeypatch):
    from plevaluate import gates
    from plevaluate.errors import ContractError
    from plevaluate.gates import read_blocks

    with pytest.raises(ContractError, match="a file, but this is a folder"):
        list(read_blocks(tmp_path, 8, label="students.csv"))
    path = tmp_path / "students.csv"
    path.write_bytes(b"a,b\n" * 100)
    monkeypatch.setitem(gates.LIMITS, "table", 50)
    with pytest.raises(ContractError, match="a file of at most 50 bytes, but it holds 400 bytes"):
        list(read_blocks(path, 8))


def test_a_zoned_timestamp_is_read_at_its_written_date(tmp_path: Path):
    from plevaluate import load

    folder = write_tiny(tmp_path / "district")
    _cell("sessions", 2, "date", "2025-09-12T23:30:00-05:00")(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        district = load(folder)
    assert str(district.sessions["date"].iloc[0].date()) == "2025-09-12"


# ---- multi-year: cohorts and years ----


def _years(tmp_path: Path) -> Path:
    folder = tmp_path / "years"
    shutil.copytree(SAMPLE.parent / "sample-years", folder, ignore=shutil.ignore_patterns("truth.json"))
    return folder


def _cohort(value: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        schools = _read(folder, "schools")
        first = schools.index[schools["group"].eq("participant")][0]
        schools.loc[first, "cohort"] = value
        _write(folder, "schools", schools)

    return edit


COHORT_CASES = [
    Case("blank cohort (from the start)", _cohort(""), "meets the data contract", 0),
    Case("cohort 2024-25", _cohort("2024-25"), "meets the data contract", 0),
    Case("text cohort", _cohort("spring"), "row 2, column 'cohort', value 'spring': a cohort written as the year the school's first program year starts, e.g. 2024 or 2024-25"),
    Case("cohort 2030", _cohort("2030"), "row 2, column 'cohort', value '2030': a cohort within the plan's school years (2023-24 to 2025-26); 2030 is after them"),
    Case("cohort 1999", _cohort("1999"), "row 2, column 'cohort', value '1999': a cohort near the plan's school years (2023-24 to 2025-26); 1999 is more than ten years before them"),
    Case("plan years beyond the data", _plan("school_year: 2023-24 to 2025-26", "school_year: 2023-24 to 2027-28"),
         "plan.yml, entry 'school_year': data in every school year the plan names; 2026-27, 2027-28 hold no dated rows, so the reports evaluate 2025-26, the latest year with data", 0),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", COHORT_CASES, ids=lambda c: c.id)
def test_validate_multi_year_cohorts(case: Case, tmp_path: Path):
    test_validate_read_gate(case, tmp_path, make=_years)


def test_a_blank_cohort_is_in_the_program_from_the_start_for_design_and_years(tmp_path: Path):
    folder = _years(tmp_path)
    _cohort("")(folder)
    code, text = _run(["design", str(folder)])
    assert code == 0 and "Design check for" in text


def test_reports_evaluate_the_latest_year_with_data(tmp_path: Path):
    from plevaluate import load
    from plevaluate.years import evaluated_years

    folder = _years(tmp_path)
    _plan("school_year: 2023-24 to 2025-26", "school_year: 2023-24 to 2027-28")(folder)
    with pytest.warns(Warning, match="the reports evaluate 2025-26"):
        district = load(folder)
    assert evaluated_years(district) == ["2023-24", "2024-25", "2025-26"]


# ---- workbooks ----


def _csv_renamed(folder: Path) -> Path:
    book = folder / "district.xlsx"
    book.write_text("school_id,school_name,group\nS01,A,participant\n", encoding="utf-8")
    return book


def _too_many_rows(folder: Path) -> Path:
    """A 'workbook' of a few KB whose sheet holds more rows than Excel allows (it expands to ~60 MB)."""
    book = folder / "district.xlsx"
    row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
    with zipfile.ZipFile(book, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b"<worksheet><sheetData>")
            block = row * 10_000
            for _ in range(105):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")
    return book


def _truncated(folder: Path) -> Path:
    source = folder / "good.xlsx"
    fx.surveymonkey_xlsx(SAMPLE, "PL01", source)
    book = folder / "district.xlsx"
    book.write_bytes(source.read_bytes()[:700])
    source.unlink()
    return book


WORKBOOK_CASES = [
    ("csv renamed xlsx", _csv_renamed, "an .xlsx workbook (a zip of sheets), but the file is text (a CSV file renamed .xlsx?)"),
    ("more rows than Excel", _too_many_rows, "at most 1,048,576 rows in a sheet (Excel's limit), but sheet1 holds more than that"),
    ("truncated workbook", _truncated, "an .xlsx workbook (a zip of sheets), but the file is not a workbook"),
]  # fmt: skip


@pytest.mark.parametrize("name, make, message", WORKBOOK_CASES, ids=[c[0] for c in WORKBOOK_CASES])
def test_validate_workbook_read_gate(name, make, message, tmp_path: Path):
    folder = tmp_path / "wb"
    folder.mkdir()
    book = make(folder)
    before = folder_hash(folder)
    code, text = _run(["validate", str(book)])
    assert code == 1 and message in text, text[-1500:]
    assert folder_hash(folder) == before


@pytest.mark.slow
@pytest.mark.parametrize("name, make, message", WORKBOOK_CASES, ids=[c[0] for c in WORKBOOK_CASES])
def test_import_workbook_read_gate(name, make, message, tmp_path: Path):
    folder = write_tiny(tmp_path / "district")
    spare = tmp_path / "exports"
    spare.mkdir()
    book = make(spare)
    before, export = folder_hash(folder), _hash(book)
    code, text = _run(["import", "surveymonkey", str(book), "--into", str(folder), "--session", "PL01", "--anonymous"])
    assert code == 1 and message in text, text[-1500:]
    assert folder_hash(folder) == before and _hash(book) == export


# ---------------------------------------------------------------------------------------------------------------
# design --csv: the write gate on a single file
# ---------------------------------------------------------------------------------------------------------------


def _design_target(name: str, data: Path, tmp: Path) -> Path:
    if name == "plan.yml":
        return data / "plan.yml"
    if name == "students.csv":
        return data / "students.csv"
    if name == "hard link of students.csv":
        link = tmp / "link.csv"
        os.link(data / "students.csv", link)
        return link
    if name == "symbolic link to students.csv":
        link = tmp / "sym.csv"
        link.symlink_to(data / "students.csv")
        return link
    if name == "a new file inside the data folder":
        return data / "design.csv"
    if name == "a folder":
        return tmp
    if name == "/dev/full":
        return Path("/dev/full")
    if name == "/dev/null":
        return Path("/dev/null")
    if name == "a pipe":
        os.mkfifo(tmp / "pipe.csv")
        return tmp / "pipe.csv"
    if name == "a user's own file":
        (tmp / "mine.csv").write_text("my notes\n")
        return tmp / "mine.csv"
    if name == "a folder that does not exist":
        return tmp / "nowhere" / "design.csv"
    raise AssertionError(name)


DESIGN_CASES = [
    ("plan.yml", "a file that is not one of the command's inputs, but it is"),
    ("students.csv", "a file that is not one of the command's inputs, but it is"),
    ("hard link of students.csv", "(the same file through a link). Fix: Write to a new file outside the data folder."),
    ("symbolic link to students.csv", "(the same file through a link)"),
    ("a new file inside the data folder", "a file outside the data folder, but it is inside the data folder"),
    ("a folder", "a file to write, but this is a folder. Fix: Name a new file (design.csv, say)."),
    ("/dev/full", "a file to write, but this is a character device"),
    ("/dev/null", "a file to write, but this is a character device"),
    ("a pipe", "a file to write, but this is a named pipe (FIFO)"),
    ("a user's own file", "this file exists and plevaluate did not write it (or it was changed since), so it is never replaced"),
    ("a folder that does not exist", "is not a folder. Fix: Create the folder first."),
]  # fmt: skip


@pytest.mark.parametrize("name, message", DESIGN_CASES, ids=[c[0] for c in DESIGN_CASES])
def test_design_csv_write_gate(name, message, tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    other = tmp_path / "other"
    other.mkdir()
    target = _design_target(name, data, other)
    before, target_before = folder_hash(data), _hash(target) if target.is_file() else None
    code, text = _run(["design", str(data), "--csv", str(target)])
    assert code == 2 and message in text, text[-1500:]
    assert "Design check for" not in text  # refused before any work
    assert folder_hash(data) == before
    if target_before is not None:
        assert _hash(target) == target_before


def test_design_csv_into_a_workbook_district(tmp_path: Path):
    folder = tmp_path / "wb"
    folder.mkdir()
    book = folder / "district.xlsx"
    book.write_bytes(b"PK\x03\x04 not really")
    (folder / "plan.yml").write_text("program: a\nschool_year: 2025-26\n")
    for target in (book, folder / "plan.yml", folder / "design.csv"):
        before = folder_hash(folder)
        code, text = _run(["design", str(book), "--csv", str(target)])
        assert code == 2 and "--csv" in text, text
        assert folder_hash(folder) == before


def test_design_csv_replaces_only_its_own_file(tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    target = tmp_path / "design.csv"
    assert _run(["design", str(data), "--csv", str(target)])[0] == 0
    assert Ledger(tmp_path).wrote("design.csv") and oct(target.stat().st_mode & 0o777) == "0o644"
    assert _run(["design", str(data), "--csv", str(target)])[0] == 0  # its own file: replaced
    target.write_text(target.read_text() + "my note\n")  # edited by a person: never replaced again
    code, text = _run(["design", str(data), "--csv", str(target)])
    assert code == 2 and "plevaluate did not write it (or it was changed since)" in text
    assert target.read_text().endswith("my note\n")
    assert not list(tmp_path.glob(".design.csv.*"))  # no temporary file left


# ---------------------------------------------------------------------------------------------------------------
# sample and init: new folders only
# ---------------------------------------------------------------------------------------------------------------


def _occupied(tmp: Path) -> Path:
    folder = tmp / "mine"
    folder.mkdir()
    (folder / "schools.csv").write_text("school_id\nMINE\n")
    return folder


def _a_file(tmp: Path) -> Path:
    path = tmp / "file"
    path.write_text("mine")
    return path


def _a_link(tmp: Path) -> Path:
    target = tmp / "real"
    target.mkdir()
    link = tmp / "link"
    link.symlink_to(target)
    return link


NEW_FOLDER_CASES = [
    (command, name, make, message)
    for command in ("sample", "init")
    for name, make, message in (
        ("a folder holding the user's files", _occupied, "a new or empty folder, but it holds schools.csv; nothing there is ever replaced"),
        ("a file", _a_file, "a new folder, but this is a file"),
        ("a link to a folder", _a_link, "a new folder, but this is a link"),
        ("/dev/null", lambda tmp: Path("/dev/null"), "a new folder, but this is a character device"),
    )
]  # fmt: skip


@pytest.mark.parametrize(
    "command, name, make, message", NEW_FOLDER_CASES, ids=[f"{c[0]}: {c[1]}" for c in NEW_FOLDER_CASES]
)
def test_new_folder_write_gate(command, name, make, message, tmp_path: Path):
    target = make(tmp_path)
    before = _hash(target) if target.exists() and target != Path("/dev/null") else None
    code, text = _run([command, str(target)])
    assert code == 2 and message in text, text
    if before is not None:
        assert _hash(target) == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--schools", "0"], "--schools 0: a sample needs schools; give a number such as 12"),
        (["--schools", "-3"], "--schools -3: a sample needs schools"),
        (["--years", "0"], "--years 0: a sample covers at least 1 school year"),
        (["--cohorts", "2"], "--cohorts needs --years 2 or more"),
    ],
    ids=["no schools", "negative schools", "no years", "cohorts without years"],
)
def test_sample_arguments(argv, message, tmp_path: Path):
    code, text = _run(["sample", str(tmp_path / "new"), *argv])
    assert code == 2 and message in text
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------------------------------------------------------
# import: the export, the mapping and the secret through the read gate; the folder's tables through the write gate
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def district(tmp_path: Path) -> Path:
    folder = tmp_path / "district"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("truth.json", "reactions.csv"))
    return folder


def _export_case(name: str, data: Path, tmp: Path) -> tuple[list[str], Path]:
    """(the arguments after 'import', the file handed in as the export) for each hostile export."""
    good = fx.google(SAMPLE, "PL01", tmp / "google.csv")
    base = ["--into", str(data), "--session", "PL01", "--anonymous"]
    if name == "missing export":
        return ["google", str(tmp / "nowhere.csv"), *base], tmp / "nowhere.csv"
    if name == "export is a folder":
        return ["google", str(tmp), *base], tmp
    if name == "export is a pipe":
        os.mkfifo(tmp / "pipe.csv")
        return ["google", str(tmp / "pipe.csv"), *base], tmp / "pipe.csv"
    if name == "export is /dev/zero":
        return ["google", "/dev/zero", *base], Path("/dev/zero")
    if name == "broken .sav":
        path = tmp / "broken.sav"
        path.write_bytes(b"$FL2 this is not SPSS")
        return ["qualtrics", str(path), *base], path
    if name == "csv renamed .xlsx":
        path = tmp / "renamed.xlsx"
        shutil.copy(good, path)
        return ["msforms", str(path), *base], path
    if name == "export is the folder's own table":
        path = data / "sessions.csv"
        return ["sheet", str(path), "--into", str(data)], path
    if name == "export is a hard link of the folder's table":
        path = tmp / "link.csv"
        os.link(data / "learning.csv", path)
        return ["sheet", str(path), "--into", str(data)], path
    if name == "mapping is a pipe":
        os.mkfifo(tmp / "map.yml")
        return ["google", str(good), *base, "--mapping", str(tmp / "map.yml")], good
    if name == "mapping alias bomb":
        (tmp / "map.yml").write_text(_byte_bomb().replace("program: a\nschool_year: 2025-26\n", ""))
        return ["google", str(good), *base, "--mapping", str(tmp / "map.yml")], good
    if name == "mapping is a folder":
        return ["google", str(good), *base, "--mapping", str(tmp)], good
    raise AssertionError(name)


EXPORT_CASES = [
    ("missing export", 1, "a file plevaluate can read (No such file or directory). Fix: Check the path; nothing is there."),
    ("export is a folder", 1, "a file, but this is a folder"),
    ("export is a pipe", 1, "a file, but this is a named pipe (FIFO)"),
    ("export is /dev/zero", 1, "a file, but this is a character device"),
    ("broken .sav", 1, "a readable SPSS .sav file"),
    ("csv renamed .xlsx", 1, "an .xlsx workbook (a zip of sheets), but the file is text (a CSV file renamed .xlsx?)"),
    ("export is the folder's own table", 2, "a file apart from the data folder's tables, but it is"),
    ("export is a hard link of the folder's table", 2, "learning.csv, which the import rewrites"),
    ("mapping is a pipe", 1, "map.yml:\n  - a file, but this is a named pipe (FIFO)"),
    ("mapping alias bomb", 1, "at most 100,000 values and 1.0 MB of text once YAML aliases (*name) are expanded"),
    ("mapping is a folder", 1, "a file, but this is a folder"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name, code, message", EXPORT_CASES, ids=[c[0] for c in EXPORT_CASES])
def test_import_read_and_write_gates(name, code, message, district: Path, tmp_path: Path):
    spare = tmp_path / "exports"
    spare.mkdir()
    argv, export = _export_case(name, district, spare)
    before = folder_hash(district)
    export_before = _hash(export) if export.is_file() else None
    got, text = _run(["import", *argv])
    assert got == code and message in text, text[-1500:]
    assert folder_hash(district) == before
    if export_before is not None:
        assert _hash(export) == export_before


def _secret_file(name: str, data: Path, tmp: Path) -> Path:
    if name == "missing":
        return tmp / "nowhere"
    if name == "a folder":
        return tmp
    if name == "a pipe":
        os.mkfifo(tmp / "secret")
        return tmp / "secret"
    if name == "one character":
        (tmp / "secret").write_text("x\n")
        return tmp / "secret"
    if name == "fifteen bytes":
        (tmp / "secret").write_text("123456789012345\n")
        return tmp / "secret"
    if name == "empty":
        (tmp / "secret").write_text("  \n")
        return tmp / "secret"
    if name == "too large":
        (tmp / "secret").write_bytes(b"x" * 10_000)
        return tmp / "secret"
    if name == "inside the data folder":
        (data / "secret.txt").write_text(SECRET)
        return data / "secret.txt"
    if name == "a link into the data folder":
        (data / "secret.txt").write_text(SECRET)
        (tmp / "secret").symlink_to(data / "secret.txt")
        return tmp / "secret"
    raise AssertionError(name)


SECRET_CASES = [
    ("missing", 1, "--secret-file"),
    ("a folder", 1, "a file, but this is a folder"),
    ("a pipe", 1, "a file, but this is a named pipe (FIFO)"),
    ("one character", 1, "a secret of at least 16 bytes, but it holds 1: a short secret can be guessed"),
    ("fifteen bytes", 1, "a secret of at least 16 bytes, but it holds 15"),
    ("empty", 1, "a secret, but the file is empty"),
    ("too large", 1, "a file of at most 4 KB, but it holds 10 KB"),
    ("inside the data folder", 2, "this file is inside the data folder"),
    ("a link into the data folder", 2, "this file is inside the data folder"),
]


@pytest.mark.parametrize("name, code, message", SECRET_CASES, ids=[c[0] for c in SECRET_CASES])
def test_import_secret_file(name, code, message, district: Path, tmp_path: Path):
    educators = _read(district, "educators")
    educators["email"] = educators["educator_id"].map(fx.email)
    _write(district, "educators", educators.drop(columns="email"))  # no e-mails: respondents need a secret
    spare = tmp_path / "exports"
    spare.mkdir()
    export = fx.google(SAMPLE, "PL01", spare / "google.csv")
    secret = _secret_file(name, district, spare)
    before = folder_hash(district)
    got, text = _run(["import", "google", str(export), "--into", str(district), "--session", "PL01",
                      "--secret-file", str(secret)])  # fmt: skip
    assert got == code and message in text, text[-1500:]
    after = folder_hash(district)
    (district / "secret.txt").unlink(missing_ok=True)
    assert after == before


def test_a_short_secret_in_the_environment_is_refused(district: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PLEVALUATE_SECRET", "short")
    export = fx.google(SAMPLE, "PL01", tmp_path / "google.csv")
    before = folder_hash(district)
    code, text = _run(["import", "google", str(export), "--into", str(district), "--session", "PL01"])
    assert code == 1 and "$PLEVALUATE_SECRET:\n  - a secret of at least 16 bytes, but it holds 5" in text
    assert folder_hash(district) == before


@pytest.mark.slow
def test_response_ids_cannot_be_linked_to_e_mails(district: Path, tmp_path: Path, monkeypatch):
    """A Google Forms response has no ID of its own; its key was an unkeyed hash of the whole row, e-mail and
    timestamp included, so trying staff e-mails x timestamps linked responses to e-mails. Now the key holds
    no personal column, and is keyed with the district secret where there is one."""

    export = fx.google(SAMPLE, "PL01", tmp_path / "google.csv")
    raw = pd.read_csv(export, dtype=str, keep_default_na=False)
    assert _run(["import", "google", str(export), "--into", str(district), "--session", "PL01", "--anonymous"])[0] == 0
    ids = set(_read(district, "reactions")["response_id"])
    rows = raw.astype(str).agg("\x1f".join, axis=1)
    for content in rows:  # the old key, and any plain hash of the whole row, finds nothing
        for key in (hashlib.sha256(f"PL01|google|{content}".encode()).hexdigest(),):
            assert "r-" + key[:12] not in ids and "r-" + key[:16] not in ids
    email = raw.columns[1]
    assert "mail" in email.lower()
    # what the key is made of: the answers and the time, never the e-mail: other e-mails, the same keys
    swapped = tmp_path / "swapped.csv"
    raw.assign(**{email: [f"someone{i}@elsewhere.example" for i in range(len(raw))]}).to_csv(swapped, index=False)
    twin = tmp_path / "twin"
    shutil.copytree(SAMPLE, twin, ignore=shutil.ignore_patterns("truth.json", "reactions.csv"))
    assert _run(["import", "google", str(swapped), "--into", str(twin), "--session", "PL01", "--anonymous"])[0] == 0
    assert set(_read(twin, "reactions")["response_id"]) == ids
    # with a secret, the same rows get other keys that cannot be recomputed without it
    other = tmp_path / "other"
    shutil.copytree(SAMPLE, other, ignore=shutil.ignore_patterns("truth.json", "reactions.csv"))
    monkeypatch.setenv("PLEVALUATE_SECRET", SECRET)
    assert _run(["import", "google", str(export), "--into", str(other), "--session", "PL01", "--anonymous"])[0] == 0
    assert not set(_read(other, "reactions")["response_id"]) & ids
    # and re-importing still adds nothing
    before = folder_hash(other)
    assert _run(["import", "google", str(export), "--into", str(other), "--session", "PL01", "--anonymous"])[0] == 0
    assert folder_hash(other) == before


# ---------------------------------------------------------------------------------------------------------------
# report: refused before any work
# ---------------------------------------------------------------------------------------------------------------


def _plant(name: str, out: Path) -> None:
    out.mkdir(exist_ok=True)
    if name.endswith("/"):
        (out / name).mkdir()
        (out / name / "notes.txt").write_text("mine")
    else:
        (out / name).write_text("<p>mine</p>")


REPORT_CASES = [
    ("index.html", "index.html is not plevaluate's (or changed since it wrote them)"),
    ("district-report.html", "district-report.html is not plevaluate's"),
    ("board-summary.pdf", "board-summary.pdf is not plevaluate's"),
    ("school-s01-lincoln-elementary.html", "school-s01-lincoln-elementary.html is not plevaluate's"),
    ("results/", "results/ is not plevaluate's"),
]


@pytest.mark.parametrize("name, message", REPORT_CASES, ids=[c[0] for c in REPORT_CASES])
def test_report_never_replaces_a_users_file(name, message, tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    out = tmp_path / "out"
    _plant(name, out)
    before, out_before = folder_hash(data), folder_hash(out)
    code, text = _run(["report", str(data), "--out", str(out), "--format", "html", "--quiet"])
    assert code == 2 and message in text, text[-1500:]
    assert folder_hash(data) == before and folder_hash(out) == out_before  # nothing written, nothing left


@pytest.mark.parametrize(
    "formats, message",
    [
        ("", "--format '' names no format"),
        (" , ", "--format ' , ' names no format"),
        ("odt", "unknown format(s) odt"),
    ],
    ids=["empty", "commas", "unknown"],
)
def test_report_formats(formats, message, tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    code, text = _run(["report", str(data), "--out", str(tmp_path / "out"), "--format", formats, "--quiet"])
    assert code == 2 and message in text
    assert not (tmp_path / "out").exists()


def test_portfolio_checks_every_program_folder_before_rendering(tmp_path: Path):
    programs = tmp_path / "programs"
    write_tiny(programs / "alpha")
    write_tiny(programs / "beta")
    out = tmp_path / "out"
    (out / "beta").mkdir(parents=True)
    (out / "beta" / "index.html").write_text("mine")
    before = folder_hash(out)
    code, text = _run(["portfolio", str(programs), "--out", str(out), "--format", "html"])
    assert code == 2 and "program folder" in text and "index.html is not plevaluate's" in text, text[-1500:]
    assert folder_hash(out) == before and not (out / "alpha").exists()


def test_portfolio_out_inside_the_programs_is_refused(tmp_path: Path):
    programs = tmp_path / "programs"
    write_tiny(programs / "alpha")
    before = folder_hash(programs)
    code, text = _run(["portfolio", str(programs), "--out", str(programs / "alpha" / "out"), "--format", "html"])
    assert code == 2 and "inside the data folder" in text
    assert folder_hash(programs) == before


# ---------------------------------------------------------------------------------------------------------------
# audit: arguments, and a planted leak of every kind
# ---------------------------------------------------------------------------------------------------------------


def test_audit_refuses_what_it_cannot_vouch_for(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "page.html").write_text("<p>hello</p>")
    for argv, message in (
        ([str(tmp_path / "nowhere"), "--data", str(SAMPLE)], "does not exist: give the folder a report run wrote"),
        ([str(out / "page.html"), "--data", str(SAMPLE)], "is a file: give the folder a report run wrote"),
        ([str(out), "--data", str(tmp_path / "nowhere")], "--data " + str(tmp_path / "nowhere") + " does not exist"),
        ([str(out), "--data", str(out)], "holds no people to look for"),
    ):
        code, text = _run(["audit", *argv])
        assert code == 2 and message in text, text


def _people() -> tuple[str, str, str]:
    educators = _read(SAMPLE, "educators")
    students = _read(SAMPLE, "students")
    return educators["name"].iloc[5], educators["educator_id"].iloc[7], students["student_id"].iloc[17]


def _leak(kind: str) -> tuple[str, str, str]:
    """(file name, content, what the finding says) for a planted leak of each kind."""
    name, educator, student = _people()
    first, last = name.split(" ", 1)
    return {
        "name with markup inside": ("a.html", f"<p>{first[:2]}<b>{first[2:]}</b> {last}</p>", name),
        "name in upper case": ("a.html", f"<p>{name.upper()}</p>", name),
        "name with entities": ("a.html", f"<p>{first}&nbsp;{last}</p>", name),
        "name last, first": ("a.html", f"<p>{last}, {first}</p>", name),
        "name in a .txt file": ("notes.txt", f"see {name}", name),
        "name in a .md file": ("notes.md", f"**{name}**", name),
        "name in an .svg": ("chart.svg", f"<svg><text>{name}</text></svg>", name),
        "name in a hidden folder": (".cache/x.json", f'{{"who": "{name}"}}', name),
        "student ID lower case": ("a.html", f"<p>{student.lower()}</p>", student),
        "educator ID in a file name": (f"report-{educator}.html", "<p>nothing</p>", educator),
        "student ID in a CSV": ("t.csv", f"id\n{student}\n", student),
        "count in digits": ("a.html", "<p>only 7 educators answered</p>", "7 educators"),
        "count in words": ("a.html", "<p>only seven teachers answered</p>", "seven teachers"),
        "count capitalised word": ("a.html", "<p>Three respondents said so</p>", "Three respondents"),
        "count as label: n": ("a.html", "<p>Respondents: 7</p>", "Respondents: 7"),
        "count as n =": ("a.html", "<p>Lincoln (n = 3)</p>", "n = 3"),
        "count in a .txt": ("notes.txt", "4 students left", "4 students"),
        "count with inline markup": ("a.html", "<p>only <b>7</b> educators</p>", "7 educators"),
        "e-mail address": ("a.html", "<p>write to jane.doe@example.org</p>", "jane.doe@example.org"),
    }[kind]


LEAKS = [
    "name with markup inside",
    "name in upper case",
    "name with entities",
    "name last, first",
    "name in a .txt file",
    "name in a .md file",
    "name in an .svg",
    "name in a hidden folder",
    "student ID lower case",
    "educator ID in a file name",
    "student ID in a CSV",
    "count in digits",
    "count in words",
    "count capitalised word",
    "count as label: n",
    "count as n =",
    "count in a .txt",
    "count with inline markup",
    "e-mail address",
]


@pytest.mark.parametrize("kind", LEAKS)
def test_audit_catches_a_planted_leak(kind: str, tmp_path: Path):
    file, content, detail = _leak(kind)
    out = tmp_path / "out"
    (out / file).parent.mkdir(parents=True, exist_ok=True)
    (out / file).write_text(content, encoding="utf-8")
    code, text = _run(["audit", str(out), "--data", str(SAMPLE), "--min-n", "10"])
    assert code == 1 and "1 finding(s)" in text and detail in text, text


@pytest.mark.parametrize(
    "content",
    [
        "<p>A construct needs 2 items and 2 respondents before alpha is estimated.</p>",
        "<p>Shown only where at least 3 teachers answered.</p>",
        "<p>Groups of fewer than 10 people are hidden.</p>",
        "<p>12 educators answered; 2,431 students.</p>",
        "<p>Grade 3 students</p>",
        "<table><tr><td>2024-25</td><td>3</td></tr></table><p>Students' spring scores</p>",
    ],
    ids=["rule: needs", "rule: at least", "rule: fewer than", "large counts", "grade", "a cell then a caption"],
)
def test_audit_does_not_mistake_a_rule_for_a_count(content: str, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.html").write_text(content)
    code, text = _run(["audit", str(out), "--data", str(SAMPLE), "--min-n", "10"])
    assert code == 0 and "nothing found" in text, text


# ---------------------------------------------------------------------------------------------------------------
# operating-system errors, worded
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number, fix",
    [
        (errno.EACCES, "Give yourself permission"),
        (errno.ENOSPC, "The disk is full: free some space, or choose a place on another disk."),
        (errno.EROFS, "The disk is read-only"),
        (errno.EISDIR, "Name a file, not a folder."),
    ],
    ids=["permission", "disk full", "read-only", "folder"],
)
def test_os_errors_are_worded(number: int, fix: str):
    problem = os_problem(OSError(number, os.strerror(number), "/x/out.csv"), doing="write")
    assert str(problem).startswith(f"/x/out.csv: a file plevaluate can write ({os.strerror(number)}). Fix: {fix}")


def test_a_full_disk_while_writing_is_a_message_not_a_traceback(tmp_path: Path, monkeypatch):
    import plevaluate.gates as gates

    data = write_tiny(tmp_path / "district")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "design.csv"))

    monkeypatch.setattr(gates, "replace_file", full)
    code, text = _run(["design", str(data), "--csv", str(tmp_path / "design.csv")])
    assert code == 1 and "No space left on device" in text and "The disk is full" in text
    assert not (tmp_path / "design.csv").exists()


def test_a_semicolon_separated_export_is_read(district: Path, tmp_path: Path):
    """Excel set to a language that writes semicolons re-saves a Google export with them: it was read as one
    column, and the import wrote nothing and said 'imported already'."""
    export = fx.google(SAMPLE, "PL01", tmp_path / "google.csv")
    semi = tmp_path / "semicolons.csv"
    pd.read_csv(export, dtype=str, keep_default_na=False).to_csv(semi, sep=";", index=False)
    code, text = _run(["import", "google", str(semi), "--into", str(district), "--session", "PL01", "--anonymous"])
    assert code == 0 and "wrote 932 row(s) to reactions.csv" in text, text


@pytest.mark.parametrize(
    "target, expected",
    [("-0.10", "an effect of -0.10 SD (a decrease)"), ("0", "a target of 0 SD is no effect to detect")],
    ids=["negative", "zero"],
)
def test_design_understands_a_negative_or_zero_target(target: str, expected: str, tmp_path: Path):
    data = tmp_path / "district"
    shutil.copytree(SAMPLE, data)
    _plan("target: 0.10", f"target: {target}")(data)
    code, text = _run(["design", str(data)])
    assert code == 0 and expected in text, text
    assert "no number of schools is enough" not in text and "power 100% to detect an effect" not in text


@pytest.mark.slow
def test_a_portfolio_runs_again_into_its_own_output_beside_a_program_named_like_its_results_folder(tmp_path: Path):
    """Two findings, one run (each portfolio run renders every program):
    - re-running a portfolio into the same --out failed after re-rendering every program: its results folder was not
      marked as plevaluate's, so publishing refused to replace it;
    - a program folder named portfolio-results was rendered into out/portfolio-results, where the portfolio's tables
      go; the portfolio then refused to replace what it had not written, after every program was rendered."""
    from plevaluate.portfolio import program_ids

    assert program_ids([Path("portfolio-results"), Path("Portfolio Results")]) == {
        "portfolio-results": "portfolio-results-2",
        "Portfolio Results": "portfolio-results-2-2",
    }
    programs = tmp_path / "programs"
    write_tiny(programs / "portfolio-results")
    out = tmp_path / "out"
    for _ in range(2):
        code, text = _run(["portfolio", str(programs), "--out", str(out), "--format", "html"])
        assert code == 0, text[-2000:]
    assert (out / "portfolio.html").is_file()
    assert (out / "portfolio-results" / "portfolio.json").is_file()  # the portfolio's own tables
    assert (out / "portfolio-results-2" / "district-report.html").is_file()  # the program's reports, beside them
    assert "portfolio-results-2/district-report.html" in (out / "index.html").read_text(encoding="utf-8")


def _as_another_user(argv: list[str], home: Path) -> tuple[int, str]:
    """Run the command as an ordinary user would: as root (CI), file permissions do not apply, so the command runs
    without root's capabilities to override them (util-linux's setpriv); as anyone else, as that user."""
    import subprocess
    import sys

    env = {**os.environ, "HOME": str(home), "MPLCONFIGDIR": str(home / "mpl")}
    command = [sys.executable, "-m", "plevaluate.cli", *argv]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions cannot be provoked")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    return result.returncode, text


@pytest.mark.slow
def test_an_unreadable_table_is_named_with_the_fix(tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    (data / "costs.csv").chmod(0o000)
    code, text = _as_another_user(["validate", str(data)], tmp_path)
    (data / "costs.csv").chmod(0o644)
    before = folder_hash(data)
    assert (
        code == 1
        and "costs.csv:\n  - a file plevaluate can read (Permission denied). Fix: Give yourself permission" in text
    ), text
    assert folder_hash(data) == before == folder_hash(write_tiny(tmp_path / "again"))


@pytest.mark.slow
def test_init_and_design_where_they_cannot_write(tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    code, text = _as_another_user(["init", str(locked / "new")], tmp_path)
    assert code == 2 and f"a folder plevaluate can create, but {locked} cannot be written to" in text, text
    code, text = _as_another_user(["design", str(data), "--csv", str(locked / "design.csv")], tmp_path)
    assert code == 2 and f"a file in a folder plevaluate can write to, but {locked} cannot be written to" in text, text
    assert "Design check for" not in text and not list(locked.iterdir())
    locked.chmod(0o755)


# ---- found by a hostile tester of the gates ----


def test_a_planted_publishing_journal_is_never_followed(tmp_path: Path):
    """A journal left in --out is replayed by the next run: one naming a folder outside --out as its staging folder
    would have that folder deleted, and names like ../data/x.csv moved over inputs. It is refused before any work."""
    data = write_tiny(tmp_path / "district")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "important.txt").write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    for plan in (
        '{"staging": "../victim", "names": [], "remove": []}',
        '{"staging": ".staging-x", "names": ["../district/plan.yml"], "remove": []}',
        "not json",
    ):
        (out / ".plevaluate-publish.json").write_text(plan)
        before, victim_before = folder_hash(data), folder_hash(victim)
        code, text = _run(["report", str(data), "--out", str(out), "--format", "html", "--quiet"])
        assert code == 2 and "a publishing journal written by plevaluate" in text and "never followed" in text, text
        assert folder_hash(data) == before and folder_hash(victim) == victim_before


@pytest.mark.parametrize("name", [".plevaluate.lock", ".plevaluate-written.json", ".plevaluate-publish.json"])
def test_plevaluates_own_files_in_out_as_links_are_refused(name: str, tmp_path: Path):
    """The lock was opened through a link planted under its name, and truncated what it pointed to (plan.yml)."""
    data = write_tiny(tmp_path / "district")
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(data / "plan.yml")
    before = folder_hash(data)
    code, text = _run(["report", str(data), "--out", str(out), "--format", "html", "--quiet"])
    assert code == 2 and f"a folder whose {name} is plevaluate's own plain file, but it is a link" in text, text
    assert folder_hash(data) == before


def test_a_lock_link_is_never_opened_through(tmp_path: Path):
    from plevaluate._outputs import OutputLock

    target = tmp_path / "thesis.txt"
    target.write_text("mine")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".plevaluate.lock").symlink_to(target)
    with pytest.raises(ValueError, match="cannot be used as plevaluate's lock"), OutputLock(out):
        pass
    assert target.read_text() == "mine"


@pytest.mark.parametrize(
    "name, make, message",
    [
        (".plevaluate-written.json", None, "is a name plevaluate keeps for itself"),
        (".plevaluate.lock", None, "is a name plevaluate keeps for itself"),
        (
            "d.csv",
            "ledger folder",
            "a folder whose .plevaluate-written.json is plevaluate's own plain file, but it is not a file",
        ),
        (
            "d.csv",
            "ledger link",
            "a folder whose .plevaluate-written.json is plevaluate's own plain file, but it is a link",
        ),
    ],
    ids=["the ledger's name", "the lock's name", "a ledger that is a folder", "a ledger that is a link"],
)
def test_design_csv_never_writes_plevaluates_own_files(name, make, message, tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    target = tmp_path / "o" / name
    target.parent.mkdir()
    if make == "ledger folder":
        (target.parent / ".plevaluate-written.json").mkdir()
    elif make == "ledger link":
        (tmp_path / "precious.txt").write_text("mine")
        (target.parent / ".plevaluate-written.json").symlink_to(tmp_path / "precious.txt")
    before = folder_hash(target.parent)
    code, text = _run(["design", str(data), "--csv", str(target)])
    assert code == 2 and message in text and "Design check for" not in text, text
    assert folder_hash(target.parent) == before


def test_a_loop_of_links_as_out_is_a_message(tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    for argv in (
        ["report", str(data), "--out", str(tmp_path / "loop1"), "--format", "html", "--quiet"],
        ["portfolio", str(tmp_path / "district"), "--out", str(tmp_path / "loop1"), "--format", "html"],
    ):
        code, text = _run(argv)
        assert code == 2 and "a path that leads to a file or folder, but it does not" in text, text


@pytest.mark.parametrize("argv", [["validate", ""], ["design", ""], ["audit", "", "--data", "x"], ["init", ""]])
def test_an_empty_path_is_refused(argv):
    code, text = _run(argv)
    assert code == 2 and "an empty path given for" in text


@pytest.mark.parametrize(
    "plant",
    ["lock file", "zip", "gzip", "utf-16", "jpeg metadata", "linked folder", "name in a file name"],
)
def test_audit_reads_every_kind_of_file(plant: str, tmp_path: Path):
    import gzip

    name, _, student = _people()
    out = tmp_path / "out"
    out.mkdir()
    text = f"{name} {student}"
    if plant == "lock file":
        (out / "sub").mkdir()
        (out / "sub" / ".plevaluate.lock").write_text(text)
    elif plant == "zip":
        with zipfile.ZipFile(out / "x.zip", "w") as archive:
            archive.writestr("a.txt", text)
    elif plant == "gzip":
        (out / "x.csv.gz").write_bytes(gzip.compress(text.encode()))
    elif plant == "utf-16":
        (out / "u.txt").write_bytes(text.encode("utf-16"))
    elif plant == "jpeg metadata":
        (out / "x.jpg").write_bytes(b"\xff\xd8\xff\xe1Exif\x00" + text.encode() + b"\x00")
    elif plant == "linked folder":
        (tmp_path / "ext").mkdir()
        (tmp_path / "ext" / "n.txt").write_text(text)
        (out / "linked").symlink_to(tmp_path / "ext")
    else:
        (out / f"{name}.html").write_text("<p>nothing</p>")
    code, found = _run(["audit", str(out), "--data", str(SAMPLE), "--min-n", "10"])
    assert code == 1 and f"educator name or e-mail: {name}" in found, found


def test_an_audit_skips_only_the_folders_it_is_told_to(tmp_path: Path):
    """A portfolio audits its own pages against each program's people (each program's folder was audited by its
    own run): ``skip`` leaves out those folders, and nothing else (a leak at the top or in another folder, or in a
    workbook, is still found)."""
    from plevaluate.audit import audit

    name, _, student = _people()
    out = tmp_path / "out"
    for folder in ("alpha", "portfolio-results", "alphabet"):
        (out / folder).mkdir(parents=True)
    (out / "alpha" / "page.html").write_text(f"<p>{name}</p>")
    (out / "portfolio-results" / "chains.csv").write_text(f"scope\n{student}\n")
    (out / "alphabet" / "note.txt").write_text(name)
    (out / "portfolio.html").write_text(f"<p>{student}</p>")
    files = lambda findings: sorted({f.file for f in findings})  # noqa: E731
    every = ["alpha/page.html", "alphabet/note.txt", "portfolio-results/chains.csv", "portfolio.html"]
    assert files(audit(out, SAMPLE, min_n=10)) == every
    assert files(audit(out, SAMPLE, min_n=10, skip={"alpha"})) == every[1:]


def test_the_audit_reads_hidden_sheets_of_a_workbook(tmp_path: Path):
    """A workbook's hidden and very hidden sheets are read like the others (python-calamine lists every sheet): a
    count below min_n there is found, and a name in one too."""
    from openpyxl import Workbook

    from plevaluate.audit import audit

    name, _, _ = _people()
    book = Workbook()
    book.active.title = "shown"
    book.active.append(["school_id", "n_people"])
    book.active.append(["S01", 12])
    for title, state, row in (("hidden", "hidden", ["S02", 4]), ("deep", "veryHidden", [name, 11])):
        sheet = book.create_sheet(title)
        sheet.append(["school_id", "n_people"])
        sheet.append(row)
        sheet.sheet_state = state
    (tmp_path / "out").mkdir()
    book.save(tmp_path / "out" / "results.xlsx")
    found = {(f.file, f.kind) for f in audit(tmp_path / "out", SAMPLE, min_n=10)}
    assert found == {
        ("results.xlsx [hidden]", "count of people below min_n 10"),
        ("results.xlsx", "educator name or e-mail"),
    }, found


def _rewritten(book: Path, member: str, change) -> None:
    """``book`` with one member of its zip archive rewritten by ``change`` (text -> text)."""
    with zipfile.ZipFile(book) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    members[member] = change(members[member].decode()).encode()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("odd", ["count shown as a date", "two sheets of one name", "a sheet calamine refuses"])
def test_the_audit_finds_a_small_count_in_a_workbook_calamine_reads_oddly(odd: str, tmp_path: Path):
    """Found by a hostile review of the python-calamine reader: a count formatted as a date (calamine reads it as
    one), a second sheet with the first's name (calamine finds sheets by name) and a sheet with a cell calamine
    refuses (it took every other sheet's counts with it) each hid a count below min_n that openpyxl showed."""
    from openpyxl import Workbook

    from plevaluate.audit import audit

    book = Workbook()
    first = book.active
    first.title = "first"
    first.append(["school_id", "n_people"])
    first.append(["S01", 12])
    counts = book.create_sheet("counts")
    counts.append(["school_id", "n_people"])
    counts.append(["S02", 3])
    if odd == "count shown as a date":
        counts["B2"].number_format = "dd"
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "results.xlsx"
    book.save(path)
    if odd == "two sheets of one name":
        _rewritten(path, "xl/workbook.xml", lambda xml: xml.replace('name="counts"', 'name="first"'))
    elif odd == "a sheet calamine refuses":
        _rewritten(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace('<c r="B2" t="n">', '<c r="B2" t="x">'))
    found = [(f.file, f.kind, f.detail) for f in audit(tmp_path / "out", SAMPLE, min_n=10)]
    sheet = "first" if odd == "two sheets of one name" else "counts"
    assert found == [(f"results.xlsx [{sheet}]", "count of people below min_n 10", "column 'n_people', row 2: 3")]


def test_skip_is_a_collection_of_folder_names_not_a_string(tmp_path: Path):
    from plevaluate.audit import audit

    (tmp_path / "out" / "alpha").mkdir(parents=True)
    with pytest.raises(TypeError, match="write {'alphabet'}"):
        audit(tmp_path / "out", SAMPLE, skip="alphabet")


def test_a_commands_warning_is_its_words_not_the_code_that_raised_it():
    """A hostile review: a lost Dask worker's warning printed "/.../plevaluate/years.py:465: LostProcessWarning: ..."
    and then a line of plevaluate's source. A command prints "plevaluate: LostProcessWarning: ..." alone, and leaves
    Python's own format as it found it (a separate process: pytest records warnings instead of printing them)."""
    import subprocess
    import sys

    script = """
import argparse, warnings
from plevaluate import cli
from plevaluate.errors import LostProcessWarning
def warns(args):
    warnings.warn("2024-25 was evaluated in this process instead", LostProcessWarning, stacklevel=1)
    return 0
class Parsed:
    def parse_args(self, argv):
        return argparse.Namespace(run=warns)
before = warnings.formatwarning
cli._parser = Parsed
assert cli.main([]) == 0
assert warnings.formatwarning is before
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "plevaluate: LostProcessWarning: 2024-25 was evaluated in this process instead\n", done.stderr


def test_dasks_log_lines_are_written_above_the_progress_bar_not_into_it(tmp_path, monkeypatch):
    """A hostile review: with a frozen scheduler, Dask's "Failed to reconnect to scheduler" was written into the
    report bar's line. While the bar is drawn, Dask's log records go through tqdm, above it; afterwards its own handlers
    are back."""
    import logging

    import distributed  # noqa: F401 - its logger's handlers are set up as it is imported
    from tqdm.contrib.logging import _TqdmLoggingHandler

    from plevaluate import cli
    from plevaluate.render import RenderSummary

    during = []

    def render(data, out, **options):
        during.append([type(h) for h in logging.getLogger("distributed").handlers])
        logging.getLogger("distributed.client").warning("Failed to reconnect to scheduler after 30.00 seconds")
        return RenderSummary(Path(out))

    before = list(logging.getLogger("distributed").handlers)
    monkeypatch.setattr(cli, "render", render)
    assert cli.main(["report", str(tmp_path), "--out", str(tmp_path / "out"), "--scheduler", "local"]) == 0
    assert during == [[_TqdmLoggingHandler]]
    assert logging.getLogger("distributed").handlers == before
    during.clear()
    assert cli.main(["report", str(tmp_path), "--out", str(tmp_path / "out"), "--quiet", "--scheduler", "local"]) == 0
    assert during == [[type(h) for h in before]]  # no bar, nothing redirected
