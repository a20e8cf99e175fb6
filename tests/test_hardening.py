"""A catalogue of bad input and faults, as a careless or hostile user would bring them.

Every case starts from a small valid district (``write_tiny``), breaks one thing, runs what a user
runs (``plevaluate validate``, the evaluation, or ``plevaluate report``) and asserts the exact message
the user reads, the exit code, and that the input folder is byte for byte unchanged.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import plevaluate
from plevaluate import figures
from plevaluate._outputs import MARKER, OutputLock
from plevaluate.cli import main
from plevaluate.evaluate import Evaluation
from tests.conftest import folder_hash, write_tiny


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def _write(folder: Path, table: str, frame: pd.DataFrame, **kwargs) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False, **kwargs)


def _cell(table: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """An edit setting one cell (``row`` as in the CSV: the header is row 1)."""

    def edit(folder: Path) -> None:
        frame = _read(folder, table)
        frame.loc[row - 2, column] = value
        _write(folder, table, frame)

    return edit


def _text(table: str, text: str | bytes) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / f"{table}.csv"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))

    return edit


def _plan(old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "plan.yml"
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _dates(order: str, day_max: int | None = None) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        frame = _read(folder, "sessions")
        dates = pd.to_datetime(frame["date"])
        if day_max is not None:
            dates = dates.map(lambda d: d.replace(day=min(d.day, day_max)))
        frame["date"] = dates.dt.strftime(order)
        _write(folder, "sessions", frame)

    return edit


def _bomb(folder: Path) -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    (folder / "plan.yml").write_text("program: X\nschool_year: 2025-26\n" + "\n".join(lines) + "\n")


def _semicolons(folder: Path) -> None:
    _write(folder, "schools", _read(folder, "schools"), sep=";")


def _tabs(folder: Path) -> None:
    _write(folder, "educators", _read(folder, "educators"), sep="\t")


def _folder_for(table: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / f"{table}.csv").unlink()
        (folder / f"{table}.csv").mkdir()

    return edit


def _header_only(table: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        header = (folder / f"{table}.csv").read_text(encoding="utf-8").splitlines()[0]
        (folder / f"{table}.csv").write_text(header + "\n", encoding="utf-8")

    return edit


def _unclosed_quote(folder: Path) -> None:
    lines = (folder / "sessions.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",", ',"', 1)
    (folder / "sessions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _nul(folder: Path) -> None:
    raw = (folder / "schools.csv").read_bytes()
    (folder / "schools.csv").write_bytes(raw.replace(b"Lincoln", b"Lin\x00coln", 1))


def _cp1252(folder: Path) -> None:
    frame = _read(folder, "schools")
    frame.loc[0, "school_name"] = "Peña Elementary"
    (folder / "schools.csv").write_bytes(frame.to_csv(index=False).encode("cp1252"))


def _bom(folder: Path) -> None:
    path = folder / "schools.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def _utf16(folder: Path) -> None:
    path = folder / "schools.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))


def _ragged(folder: Path) -> None:
    lines = (folder / "sessions.csv").read_text(encoding="utf-8").splitlines()
    lines[2] += ",extra"
    (folder / "sessions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _header(old: str, new: str, table: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        lines = (folder / f"{table}.csv").read_text(encoding="utf-8").splitlines()
        lines[0] = lines[0].replace(old, new, 1)
        (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    return edit


def _repeat_row(folder: Path) -> None:
    frame = _read(folder, "attendance")
    _write(folder, "attendance", pd.concat([frame, frame.iloc[[0]]], ignore_index=True))


def _duplicate_key(folder: Path) -> None:
    frame = _read(folder, "schools")
    extra = frame.iloc[[0]].assign(school_name="Another Lincoln")
    _write(folder, "schools", pd.concat([frame, extra], ignore_index=True))


def _treatment_column(folder: Path) -> None:
    frame = _read(folder, "students")
    frame["treatment"] = "0"
    _write(folder, "students", frame)


def _lookalike(folder: Path) -> None:
    frame = _read(folder, "schools")
    extra = frame.iloc[[2]].assign(school_id="s-01", school_name="Lincoln Annex")
    _write(folder, "schools", pd.concat([frame, extra], ignore_index=True))


def _rename(old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / old).rename(folder / new)

    return edit


def _no_plan(folder: Path) -> None:
    (folder / "plan.yml").unlink()


def _large_plan(folder: Path) -> None:
    (folder / "plan.yml").write_text("program: X\nschool_year: 2025-26\ndescription: " + "x" * 300_000 + "\n")


@dataclass(frozen=True)
class Case:
    id: str
    edit: Callable[[Path], None]
    message: str
    code: int = 1


#: Bad input read by ``plevaluate validate``: exit 1 with one list of every problem, or 0 with warnings.
VALIDATE = [
    Case("semicolon-delimited", _semicolons, "values separated by commas, but the header is separated by semicolons"),
    Case("tab-delimited", _tabs, "values separated by commas, but the header is separated by tabs"),
    Case(
        "required table header only",
        _header_only("educators"),
        "attendance.csv:\n  - column 'educator_id': educators.csv to list the",
    ),
    Case(
        "optional table header only",
        _header_only("observations"),
        "observations.csv: no rows yet (a header and no rows): no evidence collected yet",
        0,
    ),
    Case("empty file", _text("schools", ""), "expected a header row and data rows, but the file is empty"),
    Case("folder for an optional table", _folder_for("sessions"), "sessions.csv:\n  - a file, but this is a folder"),
    Case("folder for a required table", _folder_for("educators"), "educators.csv:\n  - a file, but this is a folder"),
    Case(
        "unclosed quote",
        _unclosed_quote,
        "row 4: a readable CSV file (unexpected end of data): the row starting at line 4 never ends",
    ),
    Case(
        "NUL byte",
        _nul,
        "row 2: expected text, but the file contains 1 NUL character(s) (byte 0), the first at "
        "line 2: a damaged or truncated export",
    ),
    Case(
        "xlsx named .csv",
        _text("sessions", b"PK\x03\x04\x14\x00binary"),
        "expected a CSV text file, but it is an Excel workbook (.xlsx or .xls) saved with a .csv name",
    ),
    Case("UTF-16 export", _utf16, "expected UTF-8 text, but the file is UTF-16 (Excel's 'Unicode Text' export)"),
    Case("Windows-1252 export", _cp1252, "the file is Windows-1252 (Excel's plain 'CSV' export)", 0),
    Case("byte-order mark", _bom, "meets the data contract", 0),
    Case("dash as missing (optional)", _cell("educators", 2, "years_experience", "-"), "meets the data contract", 0),
    Case(
        "dash as missing (required)",
        _cell("learning", 2, "score", "-"),
        "row 2, column 'score': expected a value (a number at least 0), but the cell is blank",
    ),
    Case("ragged row", _ragged, "row 3: expected 6 fields like the header, found 7"),
    Case("duplicate column", _header("format", "date", "sessions"), "each column name once; 'date' appears twice"),
    Case(
        "blank column name",
        _header("format", "", "sessions"),
        "a name for every column; column 3 of the header is blank",
    ),
    Case(
        "misspelled required column",
        _header("school_id", "school", "observations"),
        "required column 'school_id' is missing",
    ),
    Case(
        "unknown school ID",
        _cell("educators", 3, "school_id", "S0l"),
        "row 3, column 'school_id', value 'S0l': expected a school_id listed in schools.csv",
    ),
    Case("duplicate key", _duplicate_key, "schools.csv"),
    Case("repeated row", _repeat_row, "session_id=PL01 is also in row 2. Fix: Delete the repeated row"),
    Case("Likert out of range", _cell("reactions", 2, "response", "6"), "expected a whole number from 1 to 5"),
    Case("units in a number", _cell("learning", 3, "score", "12 pts"), "row 3, column 'score', value '12 pts'"),
    Case(
        "unparseable date",
        _cell("sessions", 2, "date", "someday"),
        "row 2, column 'date', value 'someday': expected a date such as 2025-09-15",
    ),
    Case("day-first dates", _dates("%d/%m/%Y"), "meets the data contract", 0),
    Case(
        "ambiguous dates",
        _dates("%d/%m/%Y", day_max=12),
        "could be month/day or day/month (no number above 12), and were read as MM/DD/YYYY",
        0,
    ),
    Case("ambiguous dates fall outside the year", _dates("%d/%m/%Y", day_max=12), "fall outside it", 0),
    Case(
        "declared day-first dates",
        lambda f: (_dates("%d/%m/%Y", day_max=12)(f), _plan("min_n: 10\n", "min_n: 10\ndate_format: DD/MM/YYYY\n")(f)),
        "meets the data contract",
        0,
    ),
    Case(
        "mixed date orders",
        lambda f: (_dates("%d/%m/%Y")(f), _cell("sessions", 3, "date", "12/31/2025")(f)),
        "row 3, column 'date', value '12/31/2025'",
    ),
    Case("group not a choice", _cell("schools", 2, "group", "treatment"), "expected one of participant, comparison"),
    Case("unknown role", _cell("educators", 2, "role", "janitor"), "column 'role', value 'janitor'"),
    Case("flag not a boolean", _cell("educators", 2, "participant", "maybe"), "column 'participant', value 'maybe'"),
    Case("level of use out of range", _cell("observations", 2, "level_of_use", "9"), "column 'level_of_use'"),
    Case("rating label unknown", _cell("conditions", 2, "rating", "great"), "column 'rating', value 'great'"),
    Case(
        "treatment column ignored",
        _treatment_column,
        "the 'treatment' column of students.csv is not used; it disagrees with the school's group",
        0,
    ),
    Case(
        "right-to-left override",
        _cell("schools", 2, "school_name", "Lincoln \u202eloohcS"),
        "1 value(s) contain them (first in row 2: U+202E)",
        0,
    ),
    Case("zero-width space in a name", _cell("schools", 3, "school_name", "Jeff\u200berson"), "U+200B", 0),
    Case("look-alike school IDs", _lookalike, "'S01', 's-01' are distinct IDs that read alike", 0),
    Case(
        "misspelled file name",
        _rename("observations.csv", "observation.csv"),
        "Did you mean observations.csv? Rename it.",
        0,
    ),
    Case("plan unknown key", _plan("min_n: 10", "min_n: 10\nmni_n: 5"), "Did you mean 'min_n'?"),
    Case("plan min_n not a number", _plan("min_n: 10", "min_n: ten"), "entry 'min_n'"),
    Case("plan YAML bomb", _bomb, "at most 100,000 values and 1.0 MB of text once YAML aliases (*name) are expanded"),
    Case("plan too large", _large_plan, "a file of at most 256 KB, but it holds"),
    Case("plan not YAML", _plan("min_n: 10", "min_n: [10"), "plan.yml"),
    Case("plan ci out of range", _plan("min_n: 10", "min_n: 10\nci: 1.5"), "entry 'ci'"),
    Case("plan date_format unknown", _plan("min_n: 10", "min_n: 10\ndate_format: YYYY"), "entry 'date_format'"),
    Case("no plan", _no_plan, "none was found, so defaults are used", 0),
    Case("spaces around IDs", _cell("educators", 2, "educator_id", " E0001 "), "spaces were removed", 0),
    Case("negative hours", _cell("sessions", 2, "hours", "-3"), "column 'hours', value '-3'"),
    Case(
        "formula in a name",
        _cell("schools", 2, "school_name", '=HYPERLINK("http://x","Lincoln")'),
        "meets the data contract",
        0,
    ),
]


def _run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("case", VALIDATE, ids=[c.id for c in VALIDATE])
def test_validate_catalogue(case: Case, tmp_path: Path):
    folder = write_tiny(tmp_path / "district")
    case.edit(folder)
    before = folder_hash(folder)
    code, text = _run(["validate", str(folder)])
    assert case.message in text, text[-1500:]
    assert code == case.code, text[-1500:]
    assert "Traceback" not in text
    assert folder_hash(folder) == before


def test_a_missing_folder_is_named(tmp_path: Path):
    code, text = _run(["validate", str(tmp_path / "nowhere")])
    assert (
        code == 1
        and "expected a folder of CSV tables, or an .xlsx workbook; nothing is there. Fix: Check the path." in text
    )


# ---- data that validate accepts but that used to crash or mislead an analysis ----


def _students(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        _write(folder, "students", change(_read(folder, "students")))

    return edit


def _math_item(folder: Path) -> None:
    items, answers = _read(folder, "survey_items"), _read(folder, "reactions")
    items.loc[items["item_id"] == "C1", "item_id"] = "$x^2$"
    answers.loc[answers["item_id"] == "C1", "item_id"] = "$x^2$"
    _write(folder, "survey_items", items)
    _write(folder, "reactions", answers)


def _blank_pre(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[frame.index[frame["period"] == "pre"][0], "outcome"] = ""
    return frame


EVALUATE = [
    Case(
        "all outcomes equal",
        _students(lambda f: f.assign(outcome="500")),
        "could not be computed: the outcome does not vary: every student has the same score (500)",
    ),
    Case(
        "all outcomes blank",
        _students(lambda f: f.assign(outcome="")),
        "could not be computed: no student has a value of 'outcome'",
    ),
    Case("one student row", _students(lambda f: f.iloc[[0]]), "no student has a post-period outcome in students.csv"),
    Case(
        "comparison schools without outcomes",
        _students(lambda f: f[~f["school_id"].isin(["S09", "S10", "S11", "S12"])]),
        "the 4 comparison schools in schools.csv have no students with an outcome",
    ),
    Case("blank outcome in a pre row (did)", _students(_blank_pre), "student(s) left out of the main model"),
]


@pytest.fixture(scope="module")
def sample_copy(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sample")


@pytest.mark.parametrize("case", EVALUATE, ids=[c.id for c in EVALUATE])
def test_evaluate_catalogue(case: Case, tmp_path: Path):
    from tests.conftest import SAMPLE

    folder = tmp_path / "district"
    shutil.copytree(SAMPLE, folder)
    case.edit(folder)
    before = folder_hash(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = plevaluate.evaluate(plevaluate.load(folder)).publish()
    notes = " ".join(ev[5].notes)
    assert case.message in notes, notes
    assert set(ev.levels) == {0, 1, 2, 3, 4, 5}  # the other levels are computed all the same
    assert all(ev[level].evidence for level in (1, 2, 3, 4))
    assert folder_hash(folder) == before


@pytest.mark.slow
def test_math_delimiters_in_an_item_id_draw_as_text(tmp_path: Path):
    folder = write_tiny(tmp_path / "district")
    _math_item(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = plevaluate.evaluate(plevaluate.load(folder))  # internal: the tiny district is too small to publish
    distribution = ev[1]["distribution"]
    district = distribution[distribution["breakdown"] == "district"]
    fig = figures.likert_chart(district)  # item codes as labels: '$' must not start mathtext
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert r"\$x^2\$" in labels


def test_invisible_characters_are_shown_in_reports():
    from plevaluate.report.toolkit import esc

    assert esc("Lincoln \u202eloohcS<b>") == "Lincoln [U+202E]loohcS&lt;b&gt;"
    assert figures.plain("A\u200bB $5") == r"A[U+200B]B \$5"


# ---- faults of the report command: outputs never touch inputs ----


def _report(data: Path, out: Path, *more: str) -> tuple[int, str]:
    return _run(["report", str(data), "--out", str(out), "--format", "html", "--quiet", *more])


def test_data_folder_inside_the_output_folder_is_refused(tmp_path: Path):
    out = tmp_path / "out"
    data = write_tiny(out / "results")  # the folder a run would replace
    before = folder_hash(data)
    code, text = _report(data, out)
    assert code == 2 and f"the data folder {data} is inside --out {out}" in text
    assert folder_hash(data) == before
    code, text = _report(data, data.parent.parent)  # --out two levels up
    assert code == 2 and "is inside --out" in text
    assert folder_hash(data) == before


def test_data_folder_named_results_with_out_as_its_parent(tmp_path: Path, monkeypatch):
    data = write_tiny(tmp_path / "results")
    before = folder_hash(data)
    monkeypatch.chdir(tmp_path)
    code, text = _run(["report", "results", "--out", ".", "--format", "html", "--quiet"])
    assert code == 2 and "is inside --out ." in text
    assert folder_hash(data) == before


def test_output_inside_the_data_folder_is_refused(tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    before = folder_hash(data)
    code, text = _report(data, data / "reports")
    assert code == 2 and "is inside the data folder" in text
    assert folder_hash(data) == before and not (data / "reports").exists()


def test_overlap_through_a_symlink_is_refused(tmp_path: Path):
    out = tmp_path / "out"
    data = write_tiny(out / "mine")
    link = tmp_path / "link"
    link.symlink_to(data)
    before = folder_hash(data)
    code, text = _report(link, out)
    assert code == 2 and "is inside --out" in text
    assert folder_hash(data) == before


def test_a_file_as_out_and_an_unwritable_out(tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    target = tmp_path / "file.txt"
    target.write_text("mine")
    code, text = _report(data, target)
    assert code == 2 and "is a file, not a folder" in text and target.read_text() == "mine"
    code, text = _report(data, target / "sub")
    assert code == 2 and "cannot write to --out" in text


def test_a_second_run_on_the_same_output_folder_is_refused(tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out):
        code, text = _report(data, out)
    assert code == 2 and "another plevaluate report run (pid" in text and f"is writing to {out}" in text


def test_a_results_folder_plevaluate_did_not_write_is_never_replaced(tmp_path: Path, published):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "my-notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="exists and was not written by plevaluate"):
        published.save(folder)
    assert (folder / "my-notes.txt").read_text() == "keep me"
    mine = published.save(tmp_path / "ours")
    assert (mine / MARKER).is_file()
    published.save(mine)  # plevaluate's own folder is replaced


def test_formula_cells_are_neutralized_in_the_bundle(tmp_path: Path, published):
    ev = Evaluation(
        published.levels,
        published.chain,
        published.sentences,
        published.schools.assign(
            school_name=[
                '=HYPERLINK("x")',
                "+cmd|' /C calc'!A0",
                "@SUM(1)",
                "-2+3",
                "\tTab",
                *published.schools["school_name"][5:],
            ]
        ),
        published.plan,
        published.provenance,
        True,
    )
    folder = ev.save(tmp_path / "results")
    cells = pd.read_csv(folder / "schools.csv", dtype=str)["school_name"].tolist()
    assert cells[:5] == ['\'=HYPERLINK("x")', "'+cmd|' /C calc'!A0", "'@SUM(1)", "'-2+3", "'\tTab"]
    again = Evaluation.load(folder)
    assert again.schools["school_name"].tolist()[:5] == ev.schools["school_name"].tolist()[:5]


@pytest.mark.slow
def test_unknown_school_does_not_replace_results(tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    (out / "results" / MARKER).write_text("")
    (out / "results" / "manifest.json").write_text("{}")
    before = folder_hash(out / "results")
    code, text = _report(data, out, "--schools", "S99")
    assert code == 2 and "unknown school(s): S99" in text
    assert folder_hash(out / "results") == before
    assert sorted(p.name for p in out.iterdir()) == [".plevaluate.lock", "results"]  # no staging left behind


def test_leftovers_of_a_killed_run_are_cleaned_and_nothing_else(tmp_path: Path):
    from plevaluate._outputs import clean_leftovers

    out = tmp_path / "out"
    ours = out / ".staging-abc123"
    ours.mkdir(parents=True)
    (ours / MARKER).write_text("")
    (ours / "half.html").write_text("half")
    theirs = out / ".staging-notes"
    theirs.mkdir()
    (theirs / "mine.txt").write_text("keep")
    assert clean_leftovers(out) == [ours]
    assert not ours.exists() and (theirs / "mine.txt").read_text() == "keep"


@pytest.mark.render
def test_long_names_and_lookalike_ids_render_every_report(tmp_path: Path):
    data = write_tiny(tmp_path / "district")
    schools = _read(data, "schools")
    schools.loc[0, "school_name"] = "Lincoln " + "very " * 2000 + "long name"
    extra = schools.iloc[[1]].assign(school_id="s-02", school_name="Jefferson Annex")
    _write(data, "schools", pd.concat([schools, extra], ignore_index=True))
    before = folder_hash(data)
    out = tmp_path / "out"
    code, text = _report(data, out)
    assert code == 0, text[-3000:]
    names = sorted(p.name for p in out.glob("school-*.html"))
    assert len(names) == 4 and all(len(n) < 140 for n in names)
    assert any(n.startswith("school-s-02-jefferson-annex") for n in names)
    assert any(n.startswith("school-s02-") for n in names)
    assert folder_hash(data) == before


# ---- the privacy audit ----


@pytest.mark.slow
def test_audit_passes_on_the_sample_and_catches_what_is_planted(rendered, tmp_path: Path):
    from tests.conftest import SAMPLE

    assert rendered.findings == []  # every report run audits itself
    code, text = _run(["audit", str(rendered.out), "--data", str(SAMPLE)])
    assert code == 0 and "nothing found" in text
    out = tmp_path / "out"  # the pages planted in, with the results (every other page was just audited: clean)
    shutil.copytree(rendered.out / "results", out / "results")
    for page in [rendered.out / "district-report.html", *rendered.out.glob("school-s01-*.html")]:
        shutil.copy(page, out / page.name)
    student = _read(SAMPLE, "students")["student_id"].iloc[17]
    name = _read(SAMPLE, "educators")["name"].iloc[5]
    page = out / "district-report.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", f"<p>{student}</p></body>"), encoding="utf-8")
    school = next(out.glob("school-s01-*.html"))
    school.write_text(
        school.read_text(encoding="utf-8").replace("</body>", "<p>only 7 educators</p></body>"), encoding="utf-8"
    )
    table = out / "results" / "schools.csv"
    table.write_text(table.read_text(encoding="utf-8") + f"X1,{name},participant\n", encoding="utf-8")
    code, text = _run(["audit", str(out), "--data", str(SAMPLE)])
    assert code == 1 and "3 finding(s)" in text
    assert f"district-report.html: student or educator ID: {student}" in text
    assert f"{school.name}: count of people below min_n 10: 7 educators" in text
    assert f"results/schools.csv: educator name or e-mail: {name}" in text


@pytest.mark.slow
def test_the_audit_reads_in_a_pdf_the_ids_and_words_pypdf_reads(rendered):
    """The audit reads PDFs with PDFium (pypdfium2, 14 times as fast); pypdf, the reader it replaced, is the reference:
    from reports with hyphens at line ends (standard-deviation, covariate-adjusted), ligatures (fi, ff) and charts'
    numbers, both give the same tokens an ID is looked for in and the same words a name or a count is read from."""
    from plevaluate.audit import _normal, _pdf_text, _pypdf_text, _tokens, _words

    names = (
        "technical-appendix.pdf",
        "logic-model.pdf",
        "district-report.pdf",
        "school-s05-cedar-grove-elementary.pdf",
    )
    pdfs = [rendered.out / name for name in names if (rendered.out / name).is_file()]
    if len(pdfs) < len(names):
        pytest.skip("no Chromium: the reports have no PDFs to read")
    for pdf in pdfs:
        ours, reference = _pdf_text(pdf), _pypdf_text(pdf)
        assert not reference.startswith("\x00unreadable"), (pdf.name, reference)
        assert "-\n" in ours or pdf.name != "technical-appendix.pdf"  # a hyphen that ends a line, as pypdf gives it
        assert _tokens(ours) == _tokens(reference), (pdf.name, sorted(_tokens(ours) ^ _tokens(reference))[:10])
        assert _words(_normal(ours)) == _words(_normal(reference)), pdf.name


@pytest.mark.slow
def test_the_audit_finds_an_id_and_a_count_on_a_line_of_arabic_or_hebrew_in_a_pdf(rendered, tmp_path: Path):
    """PDFium turns a mostly right-to-left line around, its left-to-right words too ("E0016" -> "0016E", "7
    educators" -> "educators 7"); a school named in Arabic or Hebrew beside an ID or a small count must not hide them
    (found by a review of the change to PDFium: 5 findings with pypdf, none with PDFium alone)."""
    from plevaluate.audit import audit
    from plevaluate.render import print_pdf
    from tests.conftest import SAMPLE
    from tests.test_reports import BROWSER

    if not BROWSER:
        pytest.skip("no Chromium to print the page")
    student = _read(SAMPLE, "students")["student_id"].iloc[17]
    educator = _read(SAMPLE, "educators")["educator_id"].iloc[5]
    arabic, hebrew = "مدرسة النور الابتدائية للبنين والبنات", "בית הספר היסודי על שם יצחק רבין"
    rows = (
        f"<tr><td>{arabic}</td><td>7 educators</td><td>{student}</td></tr><tr><td>{hebrew}</td><td>{educator}</td></tr>"
    )
    out = tmp_path / "out"
    shutil.copytree(rendered.out / "results", out / "results")  # the plan's min_n, for the audit
    page = tmp_path / "page.html"
    school = next(rendered.out.glob("school-s01-*.html")).read_text(encoding="utf-8")
    page.write_text(school.replace("</body>", f"<table>{rows}</table></body>"), encoding="utf-8")
    assert print_pdf(BROWSER, page, out / "planted.pdf") is None
    found = {(f.kind, f.detail) for f in audit(out, SAMPLE)}
    ids = {detail for kind, detail in found if kind == "student or educator ID"}
    assert ids == {", ".join(sorted([student, educator]))}, found
    assert ("count of people below min_n 10", "7 educators") in found, found


def test_a_pdf_pdfium_refuses_is_read_by_pypdf_and_one_neither_reads_is_unreadable(tmp_path: Path):
    """PDFium refuses a PDF without pages, which pypdf reads as empty (before PDFium, no finding): pypdf tries it.
    A file neither reads stays unreadable, itself a finding."""
    from pypdf import PdfWriter

    from plevaluate.audit import _pdf_text

    PdfWriter().write(tmp_path / "no-pages.pdf")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    assert _pdf_text(tmp_path / "no-pages.pdf") == ""
    assert _pdf_text(tmp_path / "broken.pdf").startswith("\x00unreadable: Failed to load document (PDFium")


@pytest.mark.slow
def test_the_audit_reads_pdfs_in_several_processes_and_finds_the_same(rendered, tmp_path: Path):
    """At 2,000 school reports reading the PDFs' text took a quarter of an hour in one process: the audit reads them
    in ``workers`` processes, and must read exactly what one process reads, an unreadable PDF included."""
    from plevaluate.audit import _texts, audit
    from tests.conftest import SAMPLE

    out = tmp_path / "out"
    pdfs = sorted(rendered.out.glob("*.pdf"))
    if len(pdfs) < 8:
        pytest.skip("no Chromium: the reports have no PDFs to read")
    shutil.copytree(rendered.out / "results", out / "results")  # the plan's min_n, for the audit
    for pdf in pdfs[:4]:  # four PDFs and a broken one are enough to share out (each is read three times)
        shutil.copy(pdf, out / pdf.name)
    pdfs = pdfs[:4]
    (out / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    alone, together = _texts(out, 1), _texts(out, 2)
    assert together == alone
    read = [name for name, (text, words) in together.items() if name.endswith(".pdf") and words.strip()]
    assert sorted(read) == sorted(p.name for p in pdfs)  # every report's text, and nothing from the broken one
    found = audit(out, SAMPLE, workers=2)  # the findings come from the texts, equal above
    assert [(f.file, f.kind) for f in found] == [("broken.pdf", "unreadable PDF")]


def test_a_browser_that_hangs_without_exiting_times_out(tmp_path: Path):
    """A Chromium that stops answering but stays alive hung the run in a blocking read (the timeout was checked
    only between replies). The printer now waits for a reply only until its deadline."""
    import time

    from plevaluate._pdf import Printer

    silent = tmp_path / "silent-browser"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    page = tmp_path / "page.html"
    page.write_text("<p>hello</p>")
    started = time.monotonic()
    printer = Printer(str(silent), timeout=1.0)
    try:
        with pytest.raises(TimeoutError, match="did not answer in time"):
            printer.print_pdf(page, tmp_path / "page.pdf")
    finally:
        printer.close()
    assert time.monotonic() - started < 15
    assert printer._process.poll() is not None  # closed: the silent browser does not outlive its printer
    assert not (tmp_path / "page.pdf").exists()


def test_a_browser_gone_before_a_page_prints_is_replaced_and_the_page_printed(tmp_path: Path):
    """A CI run's logic model failed with "PDF: [Errno 32] Broken pipe": its Chromium had died before the first
    command. A browser found gone is replaced and the page printed in the new one; a second loss is reported. (This
    test process may already hold a browser, another test's: a different browser asked for is started.)"""
    from plevaluate import render
    from tests.test_reports import BROWSER

    if not BROWSER:
        pytest.skip("no Chromium to print the page")

    def script(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(f"#!/bin/sh\n{text}\n")
        path.chmod(0o755)
        return str(path)

    dies_once = script(
        "dies-once", f'if [ ! -e "{tmp_path}/died" ]; then touch "{tmp_path}/died"; exit 1; fi\nexec "{BROWSER}" "$@"'
    )
    dies_always = script("dies-always", "exit 1")
    page = tmp_path / "page.html"
    page.write_text("<p>hello</p>")
    try:
        assert render.print_pdf(dies_once, page, tmp_path / "page.pdf") is None
        assert (tmp_path / "died").exists() and (tmp_path / "page.pdf").read_bytes().startswith(b"%PDF")
        assert render.print_pdf(dies_always, page, tmp_path / "never.pdf") == "Chromium exited (in a new browser too)"
        assert not (tmp_path / "never.pdf").exists()
    finally:
        printer = render._state().pop("printer", None)
        if printer is not None:
            printer.close()
