"""The board summary as a PowerPoint deck (``--format pptx``), for the people who present it on the district's template.

Built with python-pptx from the same sections the board summary notebook shows (`plevaluate.report`), so the deck
says what the HTML says: a title slide, the lead, the chain of evidence as a real table, then one slide per heading
of the board's sections. Each chart is a **native, editable chart** whose series are the numbers of the HTML chart's
table ("The numbers behind this chart": `figures.chart_data`), parsed from the same text ("58%", "$254,800",
"0.11 SD", an interval "a to b" as two series); its alt text is the HTML's (`figures.alt_text`). Notes (the caveats
the HTML prints small) and each chart's text alternative go to the speaker notes. ``template`` builds the deck on the
district's own template (its masters, layouts, fonts and colours): it must have the layouts `LAYOUTS` names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION, XL_TICK_LABEL_POSITION
from pptx.util import Emu, Inches, Pt

from . import figures, report
from .gates import open_template
from .report import toolkit as tk

if TYPE_CHECKING:
    from .evaluate import Evaluation

__all__ = ["LAYOUTS", "TemplateError", "board_deck", "check_template", "chart_series", "parse_number"]

#: The slide layouts the deck uses, by the names PowerPoint's default template gives them.
LAYOUTS = {"title": "Title Slide", "slide": "Title Only"}

_NUMBER = re.compile(r"^\s*([+-]?)\$?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(%|SD|points?|percentage points?)?")
_INTERVAL = re.compile(r"^(.+?)\s+to\s+(.+)$")


class TemplateError(ValueError):
    """A template the deck cannot be built on (a layout it needs is missing, or it is not a PowerPoint file)."""


def parse_number(text) -> float | None:
    """A number as the reports print it: "58%" is 0.58, "$254,800" 254800, "0.11 SD" 0.11, "2 (+1)" 2, "-3.9" -3.9;
    None when the text is not a number.

    >>> parse_number("58%"), parse_number("$254,800"), parse_number("-0.02 SD"), parse_number("2 (+1)"), parse_number("within")
    (0.58, 254800.0, -0.02, 2.0, None)
    """
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    if isinstance(text, int | float):
        return float(text)
    match = _NUMBER.match(str(text).replace("\u2212", "-"))
    if not match:
        return None
    value = float(match.group(2).replace(",", "")) * (-1 if match.group(1) == "-" else 1)
    return value / 100 if match.group(3) == "%" else value


def chart_series(numbers: pd.DataFrame) -> tuple[list[str], dict[str, list[float | None]]]:
    """The categories and the numeric series of a chart's table: the first column names the categories; every other
    column whose cells are all numbers (or blank) is a series; a column of intervals ("a to b") is two series
    (its lower and upper ends); a range among single numbers is a blank. Text columns ("within", "above") are left
    out: a chart cannot draw them.

    >>> chart_series(pd.DataFrame({"school": ["Lincoln", "40 more schools"], "seen": ["58%", "40% to 90%"]}))
    (['Lincoln', '40 more schools'], {'seen': [0.58, None]})

    A column of positions against chance limits (the funnel's) is said in the categories:

    >>> chart_series(pd.DataFrame({"school": ["A", "B"], "seen": ["58%", "20%"], "position": ["within", "below 95%"]}))
    (['A', 'B (below 95% limits)'], {'seen': [0.58, 0.2]})
    """
    categories = [str(v) for v in numbers.iloc[:, 0]]
    if "position" in numbers.columns:  # the funnel's places against chance: in the category's name, not lost
        categories = [
            f"{c} ({p} limits)" if str(p).startswith(("above", "below")) else c
            for c, p in zip(categories, numbers["position"])
        ]
    shown = [any(cell.strip() not in ("", "-") for cell in row) for row in numbers.iloc[:, 1:].astype(str).to_numpy()]
    hidden = ["not shown" in " ".join(map(str, row)) for row in numbers.to_numpy()]
    categories = [  # a group the chart does not show is named so: an empty bar read as 0% (a reader's review)
        f"{c} (not shown)" if h or not s else c for c, h, s in zip(categories, hidden, shown)
    ]
    series: dict[str, list[float | None]] = {}
    for column in numbers.columns[1:]:
        cells = [None if pd.isna(v) or str(v).strip() in ("", "-") else str(v) for v in numbers[column]]
        ends = [_INTERVAL.match(c) if c else None for c in cells]
        if any(ends) and all(e or c is None for e, c in zip(ends, cells)):
            series[f"{column}: lower end"] = [parse_number(e.group(1)) if e else None for e in ends]
            series[f"{column}: upper end"] = [parse_number(e.group(2)) if e else None for e in ends]
            continue
        # a range among single numbers ("12 to 80": schools grouped by position) is no bar: blank, not its first number
        values = [parse_number(c) if c and not e else None for c, e in zip(cells, ends)]
        if any(v is not None for v in values) and all(
            v is not None or not c or e for v, c, e in zip(values, cells, ends)
        ):
            series[str(column)] = values
    # one axis, one scale: a total beside its parts, or counts beside shares, would dwarf what the chart is about
    if len(series) > 1 and "total" in series:
        series.pop("total")
    shares = [name for name, values in series.items() if all(v is None or abs(v) <= 1 for v in values)]
    if shares and len(shares) < len(series):
        series = {name: series[name] for name in shares}
    return categories, series


def _layout(presentation, name: str, path: Path | None):
    for layout in presentation.slide_layouts:
        if layout.name == name:
            return layout
    names = ", ".join(f"'{layout.name}'" for layout in presentation.slide_layouts) or "none"
    where = f"the template {path}" if path else "the default template"
    raise TemplateError(
        f"{where} has no slide layout named '{name}' (its layouts: {names}); add a layout of that name to the "
        "template's slide master (the deck needs a title slide and a title-only layout)"
    )


def _unique(title: str, used: set[str]) -> str:
    """``title``, or, for a slide continuing one of that title, "..., continued" (then "..., part 3"): every slide's
    title differs (a reader's review: "What it cost (2)" read as a leftover).

    >>> used = set()
    >>> [_unique("What it cost", used) for _ in range(3)]
    ['What it cost', 'What it cost, continued', 'What it cost, part 3']
    """
    candidate, n = title, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{title}, continued" if n == 2 else f"{title}, part {n}"
    used.add(candidate.lower())
    return candidate


def _blocks(sections: Iterable[tk.Section]) -> list[dict]:
    """The board's parts grouped into slides: each ``<h2>`` starts one (title, text lines, notes, charts)."""
    slides: list[dict] = []
    current = {"title": "", "lines": [], "notes": [], "charts": []}
    for section in sections:
        for part in section.parts:
            if isinstance(part, tk.Chart):
                current["charts"].append(part)
                continue
            source = getattr(part, "data", "") or ""
            heading = re.match(r"\s*<h2[^>]*>(.*?)</h2>", source, re.S)
            text = tk.Section((part,)).as_text().splitlines()
            if heading:
                if current["title"] or current["lines"] or current["charts"]:
                    slides.append(current)
                current = {"title": text[0] if text else "", "lines": [], "notes": [], "charts": []}
                continue
            if 'class="pl-note"' in source:
                current["notes"] += text
            elif source.lstrip().startswith(("<div", "<table")):  # a table: its rows go to the notes
                current["notes"] += text
            else:
                current["lines"] += text
    if current["title"] or current["lines"] or current["charts"]:
        slides.append(current)
    return slides


def _text_box(slide, lines: list[str], top, width, height) -> None:
    """The lines as paragraphs in a box, in the largest size from 18 down to 10 points whose wrapped lines (and the
    6-point gaps between paragraphs) fit ``height``: a box is never allowed to spill onto the chart below it."""
    if not lines:
        return
    box = slide.shapes.add_textbox(Inches(0.6), top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    room = height - Inches(0.1)
    for size in (18, 16, 14, 12, 11, 10):
        used = sum(_lines(line, width, size) for line in lines) * Pt(size * 1.2) + Pt(6) * (len(lines) - 1)
        if used <= room:
            break
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = line
        paragraph.font.size = Pt(size)
        paragraph.space_after = Pt(6)


def _chart(slide, chart: tk.Chart, left, top, width, height) -> bool:
    categories, series = chart_series(chart.numbers) if chart.numbers is not None else ([], {})
    if not categories or not series:
        return False
    data = CategoryChartData()
    data.categories = categories
    for name, values in series.items():
        data.add_series(name, values)
    first = str(chart.numbers.columns[0]).lower()
    intervals = any(name.endswith((": lower end", ": upper end")) for name in series)
    parts = "total" in [str(c).lower() for c in chart.numbers.columns] and len(series) > 1  # a total's parts: stacked
    kind = (
        XL_CHART_TYPE.LINE_MARKERS
        if first in ("month", "year", "event_time", "years in the program", "spring") or intervals
        else XL_CHART_TYPE.BAR_STACKED
        if parts
        else XL_CHART_TYPE.BAR_CLUSTERED
    )
    frame = slide.shapes.add_chart(kind, left, top, width, height, data)
    drawn = frame.chart
    drawn.font.size = Pt(12)
    if chart.title:  # the HTML chart's one-line takeaway, which names its main number
        drawn.has_title = True
        drawn.chart_title.text_frame.text = chart.title
        drawn.chart_title.text_frame.paragraphs[0].font.size = Pt(14)
    _scale(drawn, chart.numbers, series, bars=kind != XL_CHART_TYPE.LINE_MARKERS)
    drawn.has_legend = len(series) > 1
    if drawn.has_legend:
        drawn.legend.position = XL_LEGEND_POSITION.BOTTOM
        drawn.legend.include_in_layout = False
    if intervals:  # dots for each end and the estimate, no lines joining categories that are not a sequence, and a
        for plot in drawn.plots:  # line from each interval's lower end to its upper (a tiny dot of each, unjoined,
            for line in plot.series:  # read as three unrelated numbers: a reader's review)
                line.format.line.fill.background()
                line.marker.size = 9
                end = line.name.endswith(("lower end", "upper end"))
                line.marker.format.fill.solid()
                line.marker.format.fill.fore_color.rgb = RGBColor.from_string(
                    figures.PALETTE["grey" if end else "blue"].lstrip("#")
                )
            lines = _child(plot._element, "c:hiLowLines", before=("c:upDownBars", "c:marker", "c:smooth", "c:axId"))
            _line_style(lines)
    elif kind != XL_CHART_TYPE.LINE_MARKERS:  # every school's name, not every other one's, top to bottom in the HTML
        # table's order (PowerPoint draws a bar chart's first category at the bottom: a reader's review)
        _child(
            drawn.category_axis._element,
            "c:tickLblSkip",
            before=("c:tickMarkSkip", "c:noMultiLvlLbl", "c:extLst"),
            val="1",
        )
        drawn.category_axis.reverse_order = True
    frame._element.nvGraphicFramePr.cNvPr.set("descr", chart.alt)  # the HTML's text alternative
    frame._element.nvGraphicFramePr.cNvPr.set("title", chart.alt[:120])
    return True


def _scale(drawn, numbers: pd.DataFrame, series: dict[str, list[float | None]], *, bars: bool) -> None:
    """The value axis as the HTML chart reads: shares as percentages from 0% (to 100% when none is above it), a
    bar's length from zero (an axis from 0.54 made one school's bar look a fraction of another's: a reader's review),
    a rubric's mean of 4 up to 4; the axes titled with the categories' column and the one series' name."""
    values = [v for column in series.values() for v in column if v is not None]
    if not values:
        return
    axis = drawn.value_axis
    columns = {name.split(": lower end")[0].split(": upper end")[0] for name in series}
    cells = [str(v) for c in numbers.columns if str(c) in columns for v in numbers[c] if pd.notna(v) and str(v)]
    share = bool(cells) and all(cell.replace(" to ", "").rstrip().endswith("%") for cell in cells)
    formats = {  # the unit every cell is written in, as the axis writes its numbers
        "0%": share,
        '"$"#,##0': bool(cells) and all(cell.lstrip("+-").startswith("$") for cell in cells),
        '0.00" SD"': bool(cells) and all(cell.replace(" to ", "").rstrip().endswith("SD") for cell in cells),
    }
    for number_format, applies in formats.items():
        if applies:
            axis.tick_labels.number_format = number_format
            axis.tick_labels.number_format_is_linked = False
    if min(values) >= 0 and (bars or share):
        axis.minimum_scale = 0
    if share and min(values) >= 0 and max(values) <= 1:
        axis.maximum_scale = 1
    elif bars and any(str(name).endswith("of 4") for name in series) and 0 <= min(values) and max(values) <= 4:
        axis.maximum_scale = 4
    if min(values) < 0:  # the categories' names under the chart, not across it at zero
        drawn.category_axis.tick_label_position = XL_TICK_LABEL_POSITION.LOW
    titles = [(drawn.category_axis, str(numbers.columns[0]))]
    if len(columns) == 1:
        titles.append((axis, next(iter(columns))))
    for titled, text in titles:
        titled.has_title = True
        titled.axis_title.text_frame.text = text
        titled.axis_title.text_frame.paragraphs[0].font.size = Pt(11)
        titled.axis_title.text_frame.paragraphs[0].font.bold = False


def _child(element, tag: str, *, before: tuple[str, ...], **attributes):
    """An element python-pptx does not make (``c:hiLowLines``, ``c:tickLblSkip val=1``) added to a chart's XML ahead
    of the first of ``before`` present, as the schema orders them (a misplaced element makes PowerPoint repair the
    file)."""
    from pptx.oxml.ns import qn

    child = element.makeelement(qn(tag), attributes)
    following = next((found for name in before for found in element.findall(qn(name))), None)
    if following is None:
        element.append(child)
    else:
        following.addprevious(child)
    return child


def _line_style(element) -> None:
    """A dark line 1.5 points wide for ``element`` (the interval's high-low lines)."""
    from pptx.oxml import parse_xml
    from pptx.oxml.ns import nsdecls

    element.append(
        parse_xml(
            f'<c:spPr {nsdecls("c", "a")}><a:ln w="19050"><a:solidFill><a:srgbClr val="404040"/></a:solidFill>'
            "</a:ln></c:spPr>"
        )
    )


def _lines(text: str, width, size: float) -> int:
    """How many lines ``text`` takes in a table cell ``width`` (EMU) wide at ``size`` points: an average character
    is about half the font size wide (a cautious estimate for the sans-serif faces templates use), less the cell's
    0.1-inch side margins. Only a layout engine knows exactly; the converted deck's photographs check this."""
    room = max(1.0, (width - Inches(0.2)) / Pt(1) / (0.55 * size))
    return sum(max(1, -(-len(word_line) // int(room))) for word_line in text.split("\n") or [""])


def _fit(shape, text: str, sizes=(44, 40, 36, 32, 28, 24, 20)) -> int:
    """Put ``text`` in the placeholder ``shape`` at the largest size of ``sizes`` whose wrapped lines fit its height
    (a long program name as a title would otherwise spill out of its box over the subtitle)."""
    shape.text = text
    room = shape.height - Inches(0.1)
    size = next((size for size in sizes if _lines(text, shape.width, size) * Pt(size * 1.2) <= room), sizes[-1])
    for paragraph in shape.text_frame.paragraphs:
        paragraph.font.size = Pt(size)
    return size


def _chain_table(slide, ev: Evaluation, top, width, room) -> None:
    """The chain as a table whose rows are as tall as their wrapped text, in the largest font (14, 12 or 10 points)
    that fits ``room`` (EMU): PowerPoint grows a row to fit its text, so a frame drawn for one line a row would
    let the table run past the slide."""
    chain = ev.chain[ev.chain["scope"] == "district"].sort_values("level")
    rows = [
        (
            f"{int(r.level)}. {r.level_name}",
            tk.fmt(r.estimate, r.unit) if pd.notna(r.estimate) else "",
            tk.interval(r.ci_low, r.ci_high, r.unit) if pd.notna(r.ci_low) else "",
            tk.fmt(r.target, r.unit) if pd.notna(r.target) else "",
            str(r.status),
        )
        for r in chain.itertuples()
    ]
    header = ("Level", "Result", f"{tk.ci_words(ev)} interval", "Target", "Status")
    shares = (0.26, 0.14, 0.24, 0.14, 0.22)
    widths = [Emu(int(width * share)) for share in shares]
    cells = [header, *rows]
    for size in (14, 12, 10):
        heights = [
            Emu(int(Pt(size * 1.2) * max(_lines(text, w, size) for text, w in zip(row, widths)) + Inches(0.1)))
            for row in cells
        ]
        if sum(heights) <= room:
            break
    shape = slide.shapes.add_table(len(cells), len(header), Inches(0.6), top, width, Emu(sum(heights)))
    table = shape.table
    table.first_row = True  # a marked header row
    for j, w in enumerate(widths):
        table.columns[j].width = w
    for i, row in enumerate(cells):
        table.rows[i].height = heights[i]
        for j, text in enumerate(row):
            cell = table.cell(i, j)
            cell.text = text
            cell.margin_top = cell.margin_bottom = Inches(0.05)
            for paragraph in cell.text_frame.paragraphs:
                paragraph.font.size = Pt(size)
    shape._element.nvGraphicFramePr.cNvPr.set("descr", "The chain of evidence: each level's result against its target")


def _notes(slide, lines: list[str]) -> None:
    text = "\n".join(line for line in lines if line)
    if text:
        slide.notes_slide.notes_text_frame.text = text


def _open(template: str | Path | None):
    return open_template(
        template,
        Presentation,
        label="--pptx-template",
        what="a PowerPoint file python-pptx can open",
        error=TemplateError,
    )


def check_template(template: str | Path) -> None:
    """Raise `TemplateError` unless ``template`` is a PowerPoint file with the layouts `LAYOUTS` names (checked
    before a report run does any work)."""
    presentation, source = _open(template)
    for name in LAYOUTS.values():
        _layout(presentation, name, source)


def board_deck(ev: Evaluation, path: str | Path, *, template: str | Path | None = None) -> Path:
    """Write the board summary of the published evaluation ``ev`` as a PowerPoint deck at ``path``.

    Raises
    ------
    TemplateError
        When ``template`` is not a PowerPoint file or lacks a layout `LAYOUTS` names.
    ValueError
        When ``ev`` is not published.
    """
    if not ev.published:
        raise ValueError("only a published evaluation (Evaluation.publish) is written as a deck")
    presentation, source = _open(template)
    for index in range(len(presentation.slides) - 1, -1, -1):  # a template's own example slides are not the deck's
        slide_id = presentation.slides._sldIdLst[index]
        presentation.part.drop_rel(slide_id.rId)
        presentation.slides._sldIdLst.remove(slide_id)
    title_layout = _layout(presentation, LAYOUTS["title"], source)
    slide_layout = _layout(presentation, LAYOUTS["slide"], source)
    width, height = presentation.slide_width, presentation.slide_height
    body = Emu(width - Inches(1.2))
    probe = presentation.slides.add_slide(slide_layout)  # where the layout puts its title: content starts below it
    below = Emu(probe.shapes.title.top + probe.shapes.title.height + Inches(0.1))
    presentation.part.drop_rel(presentation.slides._sldIdLst[-1].rId)
    presentation.slides._sldIdLst.remove(presentation.slides._sldIdLst[-1])
    used: set[str] = set()

    program = str(ev.plan.get("program", "") or "Professional learning")
    first = presentation.slides.add_slide(title_layout)
    size = _fit(first.shapes.title, _unique(program, used))
    if len(first.placeholders) > 1:  # the subtitle smaller than the title, whatever size the title needed
        subtitle = f"What the district's professional learning achieved, {ev.plan.get('school_year', '')}"
        _fit(first.placeholders[1], subtitle, tuple(s for s in (32, 28, 24, 20, 18, 16, 14) if s <= size - 4) or (14,))
    _notes(first, report.board_title(ev).as_text().splitlines())

    chain = presentation.slides.add_slide(slide_layout)
    _fit(chain.shapes.title, _unique("Chain of evidence", used))
    lead = report.board_title(ev).as_text().splitlines()
    _text_box(chain, lead, below, body, Inches(1.4))
    _chain_table(chain, ev, Emu(below + Inches(1.5)), body, Emu(height - below - Inches(1.5) - Inches(0.3)))
    _notes(chain, [*lead, "Met: the whole interval is at or above the target. Not met: the whole interval is below "
                   "it. Not conclusive: the interval includes the target, so the data cannot tell."])  # fmt: skip

    sections = [report.level_sections(ev, "board"), report.board_findings(ev), report.board_years(ev)]
    for block in _blocks(sections):
        if block["title"] == "Chain of evidence":
            continue
        title = block["title"] or "Findings"
        slide = presentation.slides.add_slide(slide_layout)
        _fit(slide.shapes.title, _unique(title, used))
        lines, charts = block["lines"], block["charts"]
        if charts and len(lines) > 2:  # more words than fit above a chart: they get a slide, the charts the next
            _text_box(slide, lines, below, body, Emu(height - below - Inches(0.3)))  # (a reader's review: slide 9
            _notes(slide, lines)  # kept two of five bullets, the other three were in the notes only)
            slide = presentation.slides.add_slide(slide_layout)
            _fit(slide.shapes.title, _unique(title, used))
            lines = []
        text_height = Inches(0.5 + 0.35 * min(len(lines), 8)) if lines else Inches(0)
        if charts and lines:
            _text_box(slide, lines, below, body, Inches(1.2))
        else:
            _text_box(slide, lines, below, body, Emu(height - below - Inches(0.3)))
        top = Emu(below + (Inches(1.3) if charts and lines else text_height if not charts else 0))
        notes = list(block["notes"])
        for k, chart in enumerate(charts):
            space = Emu(height - top - Inches(0.4))
            each = Emu(space // len(charts))
            if _chart(slide, chart, Inches(0.6), Emu(top + each * k), body, each):
                notes.append(f"Chart: {chart.alt}")
        _notes(slide, notes)
    presentation.core_properties.title = f"{program}: board summary"
    presentation.core_properties.language = "en-US"
    path = Path(path)
    presentation.save(str(path))
    return path
