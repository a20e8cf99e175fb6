"""The board memo and the technical appendix as Word documents (``--format docx``, issue #32 part): real heading
styles, tables with marked header rows that repeat, alt text on every picture, title and language set, the
district's letterhead template, the audit reading them, and LibreOffice opening them."""

from __future__ import annotations

import contextlib
import io
import shutil

import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn

from plevaluate.cli import main
from plevaluate.memo import CELL_MARGINS, CHARACTER, appendix_document, blocks, board_memo
from plevaluate.report.toolkit import Section
from tests.conftest import SAMPLE
from tests.office import convert, pages_overflowing


@pytest.fixture(scope="module")
def documents(published, tmp_path_factory):
    folder = tmp_path_factory.mktemp("docx")
    return board_memo(published, folder / "board-memo.docx"), appendix_document(published, folder / "appendix.docx")


def _headings(document) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]


def test_the_memo_has_a_real_outline_title_and_language(documents):
    memo = Document(str(documents[0]))
    headings = _headings(memo)
    assert headings[0] == ("Title", "Math Talk: students explain their reasoning: board memo")
    assert ("Heading 1", "Chain of evidence") in headings and ("Heading 1", "What we found") in headings
    assert memo.core_properties.title.endswith("board memo") and memo.core_properties.language == "en-US"


def test_every_table_marks_a_header_row_that_repeats(documents):
    for path in documents:
        document = Document(str(path))
        assert document.tables
        for table in document.tables:
            first = table.rows[0]._tr
            assert first.find(qn("w:trPr")) is not None and first.trPr.find(qn("w:tblHeader")) is not None
    chain = Document(str(documents[0])).tables[0]
    assert [c.text for c in chain.rows[0].cells][:2] == ["Level", "Measure"]


def test_no_table_row_is_split_across_two_pages(documents):
    """A reader's review: a level's row of the chain of evidence began on one page and ended on the next."""
    for path in documents:
        for table in Document(str(path)).tables:
            for row in table.rows:
                assert row._tr.trPr is not None and row._tr.trPr.find(qn("w:cantSplit")) is not None


def test_every_picture_has_the_htmls_alt_text_and_its_numbers_follow(documents, published):
    memo = Document(str(documents[0]))
    pictures = memo.element.body.findall(".//" + qn("wp:docPr"))
    assert len(pictures) >= 4
    assert all(p.get("descr") for p in pictures)
    texts = [p.text for p in memo.paragraphs]
    assert texts.count("The numbers behind this chart:") == len(pictures)


def test_the_appendix_carries_the_evidence_statement_and_the_provenance(documents, published):
    appendix = Document(str(documents[1]))
    headings = [text for _, text in _headings(appendix)]
    assert "Student outcomes: ESSA evidence statement" in headings and "Provenance" in headings
    text = "\n".join(p.text for p in appendix.paragraphs)
    assert "The study supports Tier 4" in text


def test_blocks_read_headings_paragraphs_lists_and_tables_and_skip_styles():
    html = (
        "<style>p{color:red}</style><h2>A &amp; B</h2><p>One <b>two</b></p><ul><li>x</li></ul>"
        "<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"
    )
    from IPython.display import HTML

    assert list(blocks([Section([HTML(html)])])) == [
        ("h2", "A & B"), ("p", "One two"), ("li", "x"), ("table", [["h"], ["1"]], 1),
    ]  # fmt: skip
    badge = "<table><tr><th>S</th></tr><tr><td><span>not conclusive</span><small>the interval</small></td></tr></table>"
    assert list(blocks([Section([HTML(badge)])])) == [("table", [["S"], ["not conclusive the interval"]], 1)]


def test_a_memo_on_the_districts_letterhead_keeps_its_styles(published, tmp_path):
    letterhead = Document()
    letterhead.styles["Normal"].font.name = "Georgia"
    letterhead.add_paragraph("Riverside Unified School District")
    path = tmp_path / "letterhead.docx"
    letterhead.save(str(path))
    memo = Document(str(board_memo(published, tmp_path / "memo.docx", template=path)))
    assert memo.styles["Normal"].font.name == "Georgia"
    assert memo.paragraphs[0].text == "Riverside Unified School District"  # the letterhead's first page stays on top
    (tmp_path / "bad.docx").write_text("not a document")
    with pytest.raises(ValueError, match="not a Word document"):
        board_memo(published, tmp_path / "m.docx", template=tmp_path / "bad.docx")


def test_the_audit_finds_a_small_count_planted_in_a_memo_table(documents, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    memo = Document(str(documents[0]))
    memo.tables[0].cell(1, 1).text = "only 3 teachers"
    memo.save(str(out / "board-memo.docx"))
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        code = main(["audit", str(out), "--data", str(SAMPLE), "--min-n", "10"])
    assert code == 1 and "3 teachers" in stream.getvalue()
    clean = tmp_path / "clean"
    clean.mkdir()
    for path in documents:
        shutil.copy(path, clean / path.name)
    educators = pd.read_csv(SAMPLE / "educators.csv", dtype=str)
    assert educators["name"].iloc[5] not in "\n".join(p.text for p in Document(str(documents[1])).paragraphs)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["audit", str(clean), "--data", str(SAMPLE), "--min-n", "10"]) == 0


@pytest.mark.office
def test_libreoffice_converts_both_documents_and_no_photographed_page_leaves_the_column(documents, tmp_path):
    from pypdf import PdfReader

    for path in documents:
        pdf = convert(path, tmp_path)
        pages = PdfReader(pdf).pages
        assert len(pages) >= 2 and "Chain of evidence" in "".join(p.extract_text() for p in pages)
        assert pages_overflowing(path, pdf) == {}, path.name


@pytest.mark.office
def test_the_photographs_catch_a_picture_wider_than_the_column(tmp_path):
    from docx import Document
    from docx.shared import Inches
    from PIL import Image

    Image.new("RGB", (400, 40), "navy").save(tmp_path / "wide.png")
    document = Document()
    document.add_paragraph("A chart too wide for the page.")
    document.add_picture(str(tmp_path / "wide.png"), width=Inches(7.5))  # the column is 6 inches
    document.save(tmp_path / "wide.docx")
    found = pages_overflowing(tmp_path / "wide.docx", convert(tmp_path / "wide.docx", tmp_path))
    assert list(found) == [1]


def test_table_columns_fit_their_words_and_a_status_keeps_its_line_break(documents):
    """A reader's review of the memo in LibreOffice: seven equal narrow columns broke words mid-word ("$254,/800",
    "conclusi/ve") and a status ran into its meaning ("not conclusive the interval includes..."). Columns are now
    as wide as their longest word where the page allows, and the HTML's line break stays one."""
    memo = Document(str(documents[0]))
    section = memo.sections[-1]
    usable = section.page_width - section.left_margin - section.right_margin
    chain = memo.tables[0]
    widths = [c.width for c in chain.columns]
    assert len(set(widths)) > 1 and abs(sum(widths) - usable) <= 635 * len(widths)  # each rounded to a twip
    header = [c.text for c in chain.rows[0].cells]
    status = [c.text for c in chain.columns[header.index("Status")].cells[1:] if "conclusive" in c.text]
    assert status and all(text.startswith("not conclusive\n") for text in status), status
    least = [
        max((len(w) for c in column.cells for w in c.text.split()), default=0) * CHARACTER + CELL_MARGINS
        for column in chain.columns
    ]
    fits = min(1.0, usable / 914400 / sum(least))  # the longest words, measured generously, share the page
    for column, inches in zip(chain.columns, least):  # each column as wide as its longest word, or its share
        assert inches * fits * 914400 <= column.width + 1000, (inches, column.width)
