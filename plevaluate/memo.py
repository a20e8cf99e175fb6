"""The board memo and the technical appendix as Word documents (``--format docx``), for the people who edit them.

Built with python-docx from the same sections the board summary and the technical appendix notebooks show
(`plevaluate.report`), so each document says what its HTML says: real heading styles (Word's navigation pane shows
the outline), paragraphs and bulleted lists, every table a real table whose header row is marked and repeats on each
page, every chart its picture with the HTML's alt text and, under it, the numbers behind it as a table. The document's
title and language are set. ``template`` builds them on the district's letterhead (its styles and its first page).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from . import report
from .gates import open_template
from .report import toolkit as tk

if TYPE_CHECKING:
    from .evaluate import Evaluation

__all__ = ["appendix_document", "blocks", "board_memo"]


class _Blocks(HTMLParser):
    """An HTML block's headings, paragraphs, list items and tables, in order (scripts and styles left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[tuple] = []
        self._text: list[str] | None = None
        self._kind = ""
        self._table: list[list[str]] | None = None
        self._header_rows = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        # a tag inside a cell or a paragraph separates words ("not conclusive" badge, then its meaning)
        for buffer in (self._cell, self._text):
            if buffer is not None and tag in ("span", "br", "div", "small", "p", "em", "strong", "b"):
                # a line break in a cell stays one ("not conclusive" / its meaning ran together in Word: a review)
                buffer.append("\n" if tag == "br" and buffer is self._cell else " ")
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self._table, self._header_rows = [], 0
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif self._table is None and tag in ("h1", "h2", "h3", "h4", "p", "li", "summary"):
            self._text, self._kind = [], tag

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            lines = ("".join(self._cell)).split("\n")
            self._row.append("\n".join(" ".join(line.split()) for line in lines if line.strip()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if any(self._row):
                self._table.append(self._row)
                self._header_rows += self._in_head
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._table is not None:
            if self._table:
                self.out.append(("table", self._table, max(1, self._header_rows)))
            self._table = None
        elif self._text is not None and tag == self._kind:
            text = " ".join("".join(self._text).split())
            if text:
                self.out.append((self._kind, text))
            self._text = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._text is not None:
            self._text.append(data)


def blocks(sections: Iterable[tk.Section]) -> Iterator[tuple]:
    """Each part of ``sections`` as document blocks: ``("h2", text)``, ``("p", text)``, ``("li", text)``,
    ``("table", rows, header_rows)`` and ``("chart", Chart)``."""
    for section in sections:
        for part in section.parts:
            if isinstance(part, tk.Chart):
                yield ("chart", part)
                continue
            parser = _Blocks()
            parser.feed(getattr(part, "data", "") or "")
            parser.close()
            yield from parser.out


def _repeat_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _kept_whole(row) -> None:
    """A row never split across two pages (``w:cantSplit``): a level's row of the chain of evidence began on one page
    and ended on the next (a reader's review)."""
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


#: The tables' type size (points; a seven-column chain of evidence at the body's 11 points broke its words), the
#: inches one of its characters takes (digits of a wide serif such as LibreOffice's fallback for Calibri), and a
#: cell's left and right margins together (0.05 inch each, set on the table: Word's 0.08 left too little room).
TABLE_POINTS, CHARACTER, CELL_MARGINS = 9, 0.078, 0.1


def column_widths(rows: list[list[str]], total: float) -> list[float]:
    """Each column's width in inches, the columns filling ``total``: first each column's longest word, so that no
    word is broken across lines where the page allows (equal columns broke "$254,800" and "conclusive" in a
    review), then the room left shared by how much longer each column's lines are, up to 30 characters (a long
    text wraps; a short column stays short). Words too long for the page together share it by their lengths.

    >>> [round(w, 2) for w in column_widths([["Level", "Status"], ["1. Reactions", "not conclusive"]], 3.0)]
    [1.37, 1.63]
    """
    width = max(len(r) for r in rows)
    least, wanted = [], []
    for j in range(width):
        texts = [r[j] for r in rows if j < len(r)]
        word = max([len(w) for t in texts for w in t.split()] or [1])
        line = max([len(line) for t in texts for line in t.split("\n")] or [1])
        least.append(word * CHARACTER + CELL_MARGINS)
        wanted.append(max(min(line, 30), word) * CHARACTER + CELL_MARGINS)
    room, more = total - sum(least), [w - m for w, m in zip(wanted, least)]
    if room <= 0 or not sum(more):
        return [total * m / sum(least) for m in least]
    return [m + room * x / sum(more) for m, x in zip(least, more)]


def _table(document, rows: list[list[str]], header_rows: int) -> None:
    width = max(len(r) for r in rows)
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid" if "Table Grid" in [s.name for s in document.styles] else None
    section = document.sections[-1]
    usable = (section.page_width - section.left_margin - section.right_margin) / Inches(1)
    table.autofit = False
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(round(CELL_MARGINS / 2 * 1440)))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    look = table._tbl.tblPr.find(qn("w:tblLook"))  # the schema's order: the cell margins before tblLook
    if look is not None:
        look.addprevious(margins)
    else:
        table._tbl.tblPr.append(margins)
    widths = [Inches(w) for w in column_widths(rows, usable)]
    for column, size in zip(table.columns, widths):
        column.width = size
    for i, row in enumerate(rows):
        _kept_whole(table.rows[i])
        for j in range(width):
            table.cell(i, j).width = widths[j]  # Word reads the cells' widths, LibreOffice the columns'
            cell = table.cell(i, j)
            cell.text = row[j] if j < len(row) else ""
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(TABLE_POINTS)
        if i < header_rows:
            _repeat_header(table.rows[i])  # a marked header row: repeated on each page, read as headers
            for paragraph in table.rows[i].cells[0].paragraphs:
                for run in paragraph.runs:
                    run.bold = True


def _chart(document, chart: tk.Chart) -> None:
    document.add_picture(io.BytesIO(chart.png), width=Inches(6))
    drawing = document.paragraphs[-1]._p.xpath(".//wp:docPr")
    for properties in drawing:
        properties.set("descr", chart.alt)  # the HTML's text alternative
        properties.set("title", chart.alt[:120])
    if chart.numbers is not None and len(chart.numbers):
        rows = [[str(c) for c in chart.numbers.columns]] + chart.numbers.astype(str).values.tolist()
        document.add_paragraph("The numbers behind this chart:")
        _table(document, rows, 1)


def _write(document, parts: Iterable[tuple]) -> None:
    for block in parts:
        kind = block[0]
        if kind in ("h1", "h2", "h3", "h4"):  # the reports' h2 is the document's first level under its title
            document.add_heading(block[1], level=max(1, min(int(kind[1]) - 1, 3)))
        elif kind == "li":
            document.add_paragraph(block[1], style="List Bullet")
        elif kind in ("p", "summary"):
            document.add_paragraph(block[1])
        elif kind == "table":
            _table(document, block[1], block[2])
        elif kind == "chart":
            _chart(document, block[1])


def _document(ev: Evaluation, title: str, template: str | Path | None):
    if not ev.published:
        raise ValueError("only a published evaluation (Evaluation.publish) is written as a document")
    document, _ = open_template(
        template, Document, label="--docx-template", what="a Word document python-docx can open"
    )
    document.core_properties.title = title
    document.core_properties.language = "en-US"
    document.add_heading(title, level=0)
    return document


def _save(ev: Evaluation, path: str | Path, what: str, sections, template, lead: str = "") -> Path:
    """Write ``sections`` as a Word document titled "<program>: <what>" at ``path``."""
    program = str(ev.plan.get("program", "") or "Professional learning")
    document = _document(ev, f"{program}: {what}", template)
    if lead:
        document.add_paragraph(lead)
    _write(document, blocks(sections))
    path = Path(path)
    document.save(str(path))
    return path


def board_memo(ev: Evaluation, path: str | Path, *, template: str | Path | None = None) -> Path:
    """The board summary's story as a Word memo: its lead, the chain of evidence, each level's part, the findings
    and the years (`plevaluate.report`'s board sections), at ``path``."""
    sections = [
        report.board_title(ev),
        report.board_chain(ev),
        report.level_sections(ev, "board"),
        report.board_findings(ev),
        report.board_years(ev),
    ]
    lead = f"What the district's professional learning achieved, {ev.plan.get('school_year', '')}"
    return _save(ev, path, "board memo", sections, template, lead)


def appendix_document(ev: Evaluation, path: str | Path, *, template: str | Path | None = None) -> Path:
    """The technical appendix as a Word document (the appendix notebook's sections), at ``path``."""
    sections = [
        report.technical_title(ev),
        report.technical_data(ev),
        report.level_sections(ev, "technical"),
        report.technical_years(ev),
        report.chain_table(ev, "district"),
        report.notes(ev),
        report.provenance(ev),
    ]
    return _save(ev, path, "technical appendix", sections, template)
