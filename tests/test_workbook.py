"""The results workbook (``--format xlsx``, issue #32 part): every published table as a sheet, a data dictionary from
the declared schema, a notes sheet, suppressed cells marked, text neutralized against formulas, frozen headers,
number formats from each column's unit, and Excel's sheet-name limits. The audit reads the workbook's cells."""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from plevaluate.cli import main
from plevaluate.schema import GLOSSARY
from plevaluate.workbook import SUPPRESSED, results_workbook, sheet_names
from tests.conftest import SAMPLE

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def book(published, tmp_path_factory):
    path = results_workbook(published, tmp_path_factory.mktemp("xlsx") / "results.xlsx")
    return load_workbook(path)


def _frame(sheet) -> pd.DataFrame:
    rows = list(sheet.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_every_published_table_is_a_sheet_after_the_notes_and_the_dictionary(book, published):
    tables = 3 + sum(len(r.tables) for r in published.levels.values()) + len(published.extras)
    assert book.sheetnames[:2] == ["Notes", "Data dictionary"] and len(book.sheetnames) == 2 + tables
    evidence = _frame(book["L5 evidence"])
    assert evidence["criterion"].tolist() == published.table(5, "evidence")["criterion"].tolist()
    notes = _frame(book["Notes"]).set_index("item")["note"]
    assert f"fewer than {published.min_n} people" in notes["privacy"]


def test_the_data_dictionary_covers_every_column_of_every_sheet(book):
    dictionary = _frame(book["Data dictionary"])
    for name in book.sheetnames[2:]:
        columns = [c.value for c in book[name][1]]
        listed = dictionary.loc[dictionary["sheet"] == name, "column"].tolist()
        assert listed == columns, name
    assert dictionary["meaning"].notna().all() and (dictionary["meaning"] != "").all()
    assert set(dictionary["column"]) <= set(GLOSSARY)
    shares = dictionary[(dictionary["sheet"] == "chain") & (dictionary["column"] == "estimate")]["unit"].iloc[0]
    assert "share" in shares and "sd" in shares  # the chain's estimates are in each row's unit, listed


def test_no_cell_starts_with_a_formula_character_and_suppressed_cells_are_marked(book, published):
    suppressed = 0
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and all(c.font.bold for c in sheet[1])
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                assert not (isinstance(cell.value, str) and cell.value.startswith(_FORMULA)), (sheet.title, cell.value)
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
                suppressed += cell.value == SUPPRESSED
    assert suppressed > 100
    hidden = published.table(1, "constructs")
    hidden = hidden[hidden["suppressed"].astype(bool)]
    sheet = _frame(book["L1 constructs"])
    assert (sheet.loc[hidden.index, "estimate"] == SUPPRESSED).all()  # never a blank that looks like a missing number


def test_numbers_are_formatted_from_their_unit(book):
    chain = book["chain"]
    header = [c.value for c in chain[1]]
    unit, estimate = header.index("unit") + 1, header.index("estimate") + 1
    formats = {}
    for r in range(2, chain.max_row + 1):
        if isinstance(chain.cell(r, estimate).value, float):
            formats[chain.cell(r, unit).value] = chain.cell(r, estimate).number_format
    assert formats["share"] == "0.0%" and formats["dollars"] == '"$"#,##0' and formats["sd"] == "0.00"


def test_sheet_names_keep_within_excels_limits():
    names = sheet_names(["a" * 40, "a" * 40, "A" * 40, "x[1]:y*?/\\'", "Notes"])
    assert all(len(n) <= 31 for n in names) and len({n.lower() for n in names}) == 5
    assert not any(set(n) & set("[]:*?/\\'") for n in names)


def test_hostile_school_names_are_neutralized_and_control_characters_dropped(published, tmp_path):
    schools = published.schools.copy()
    schools.loc[schools.index[0], "school_name"] = '=HYPERLINK("http://x","click")\x07'
    path = results_workbook(replace(published, schools=schools), tmp_path / "r.xlsx")
    cell = load_workbook(path)["schools"]["B2"]
    assert cell.value == '\'=HYPERLINK("http://x","click")' and cell.data_type == "s"


def test_only_a_published_evaluation_is_written(sample_evaluation, tmp_path):
    with pytest.raises(ValueError, match="only a published evaluation"):
        results_workbook(sample_evaluation, tmp_path / "r.xlsx")


def test_the_report_run_writes_the_workbook_and_links_it(rendered):
    assert (rendered.out / "results.xlsx").is_file()
    # the other office formats of the same run, read by the same audit
    for name in ("board-summary.pptx", "board-memo.docx", "technical-appendix.docx"):
        assert (rendered.out / name).is_file() and (rendered.out / name) in rendered.written, name
    index = (rendered.out / "index.html").read_text()
    # the index links every office file (a reader's review: a board member could not find the deck or the memo)
    for name in ("results.xlsx", "board-summary.pptx", "board-memo.docx", "technical-appendix.docx"):
        assert f"href='{name}'" in index, name
    assert "Board summary (PowerPoint)" in index and "Board memo (Word)" in index
    assert not rendered.findings  # the audit read its cells too


@pytest.mark.parametrize("plant", ["student ID", "educator name", "small count in words", "small count in a column"])
def test_the_audit_finds_what_is_planted_in_a_workbook_cell(rendered, plant, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(rendered.out / "results.xlsx", out / "results.xlsx")
    educators = pd.read_csv(SAMPLE / "educators.csv", dtype=str)
    students = pd.read_csv(SAMPLE / "students.csv", dtype=str)
    book = load_workbook(out / "results.xlsx")
    sheet = book["sentences"]
    expected = {
        "student ID": students["student_id"].iloc[17],
        "educator name": educators["name"].iloc[5],
        "small count in words": "7 educators",
        "small count in a column": "column 'n_treatment', row 2: 3",
    }[plant]
    if plant == "small count in a column":
        header = [c.value for c in book["L5 evidence"][1]]
        book["L5 evidence"].cell(2, header.index("n_treatment") + 1).value = 3
    else:
        sheet["B2"].value = (
            f"said by {expected} in a comment" if plant != "small count in words" else "only 7 educators"
        )
    book.save(out / "results.xlsx")
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        code = main(["audit", str(out), "--data", str(SAMPLE), "--min-n", "10"])
    assert code == 1 and expected in stream.getvalue(), stream.getvalue()


def test_the_format_is_named_in_the_cli_help():
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream), pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "xlsx" in stream.getvalue()


def test_an_unknown_format_names_xlsx_among_the_choices(tmp_path: Path):
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        code = main(["report", str(SAMPLE), "--out", str(tmp_path / "o"), "--format", "docs", "--quiet"])
    assert code == 2 and "xlsx" in stream.getvalue()


@pytest.mark.office
def test_libreoffice_opens_and_converts_the_workbook(published, tmp_path):
    from pypdf import PdfReader

    from tests.office import convert

    path = results_workbook(published, tmp_path / "results.xlsx")
    text = ""
    for page in PdfReader(convert(path, tmp_path)).pages:  # read until both are found (every page takes long)
        text += page.extract_text()
        if "data dictionary" in text.lower() and "Washington" in text:
            break
    assert (
        "data dictionary" in text.lower() and "Washington" in text
    )  # the notes and a school's row, as Calc lays them out


def test_counts_stored_as_floats_read_as_counts_and_fractions_keep_their_decimals():
    """A count left blank where a row is suppressed is a float column: its cells read "35", not "35.000" (a reader's
    review of the funnel's sheet); a column with a fraction keeps three decimals."""
    from openpyxl import Workbook

    from plevaluate.workbook import _write_table

    sheet = Workbook().active
    frame = pd.DataFrame({"visits": [35.0, None, 1204.0], "overdispersion": [1.6, None, 2.0]})
    _write_table(sheet, frame)
    assert [sheet.cell(r, 1).number_format for r in (2, 4)] == ["#,##0", "#,##0"]
    assert [sheet.cell(r, 2).number_format for r in (2, 4)] == ["0.000", "0.000"]
