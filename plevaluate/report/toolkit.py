"""The report toolkit: what every report section is made of, shared by the shared sections
(`plevaluate.report`) and each level's own (``plevaluate/levels/<key>/sections.py``).

A section is a function that builds a `Section` explicitly (``out = Section()``, ``out = out.heading(...)``,
``out = out.figure(...)``, ``out = out.show_html(html_table(...))``, ..., ``return out``): a Section is never
changed, each method returns a new one. Numbers are written by
`fmt` and `interval` (one home, shared with the charts' tables, `plevaluate.figures.number`). Text that comes
from the data is escaped (`esc`); counts below the plan's ``min_n`` show as ``<10`` (`count_words`).
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import figures, registry
from ..evaluate import Evaluation
from ..privacy import coded_share, format_n

CSS_FILE = Path(__file__).parents[1] / "assets" / "report.css"
#: Where the board summary sends a reader for every school's row: its charts' tables list only the schools drawn
#: (`figures.brief_rows`), so its printed pages do not grow with the number of schools.
EVERY_SCHOOL = "the district report"
#: The charts shrunk to fit a printed page with their heading (``pl-fits-page`` in report.css), by height over width:
#: printed 7 in wide on Letter, taller than 8 in and at most 10.5 in (shrunk by a quarter at most, so labels still
#: read); a taller chart runs on over pages at its own size.
PRINT_FIT = (8 / 7, 10.5 / 7)


class Section:
    """What one report section shows, in order: HTML blocks (`IPython.display.HTML`) and charts (`Chart`).

    Built explicitly and never changed: each method returns a new Section with one more part, so a section
    function reads ``out = Section()``, ``out = out.heading(...)``, ..., ``return out`` (after great_tables'
    ``GT`` and statsmodels' ``Summary``). Displaying it (a notebook cell's last expression) displays each part,
    so the rendered report has one output per part. `as_html` joins the HTML parts; `as_text` is what a reader
    reads (the text, each chart as its text alternative), one block a line, for snapshots and tests.
    """

    __slots__ = ("parts",)

    def __init__(self, parts: Iterable[object] = ()) -> None:
        object.__setattr__(self, "parts", tuple(parts))

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError("a Section is not changed: its methods return a new one")

    def add(self, *objects) -> Section:
        """This section with ``objects`` after its parts (a Section's parts, or any displayable object)."""
        more = [part for obj in objects for part in (obj.parts if isinstance(obj, Section) else [obj])]
        return Section((*self.parts, *more))

    def display(self, *objects) -> Section:
        """This section with ``objects`` (another section, or anything a notebook displays) after its parts."""
        return self.add(*objects)

    def show_html(self, text: str) -> Section:
        """This section with an HTML block (already escaped) after its parts."""
        from IPython.display import HTML

        return self.add(HTML(text))

    def heading(self, text: str, level: int = 2) -> Section:
        return self.show_html(f"<h{level}>{esc(text)}</h{level}>")

    def sentence(self, text: str) -> Section:
        return self.show_html(f'<p class="pl-sentence">{esc(text)}</p>')

    def paragraph(self, text: str, note: bool = False) -> Section:
        return self.show_html(f'<p class="{"pl-note" if note else ""}">{esc(text)}</p>')

    def bullets(self, items: Iterable[str]) -> Section:
        items = list(items)
        return self.show_html(list_html(items)) if items else self

    def figure(self, fig) -> Section:
        """This section with a matplotlib figure drawn as a `Chart` (the figure is closed)."""
        return self.add(Chart(fig))

    def fold(self, summary: str, inner: str) -> Section:
        """A long listing (every school's row) closed under a one-line summary: open on a click, and on paper."""
        return self.show_html(f'<details class="pl-every-school"><summary>{esc(summary)}</summary>{inner}</details>')

    def coded_note(self, rows: pd.DataFrame, min_n: int) -> Section:
        """Under a table with a share shown only as a range (`plevaluate.privacy.code_shares`): what it means."""
        if "coded" in rows and rows["coded"].isin(["below", "above"]).any():
            return self.paragraph(
                f'"under" or "over" a share: fewer than {min_n} people are on one side of it, so only the side of '
                "the bound is shown (no count of fewer than the reporting minimum can be worked out from a share).",
                note=True,
            )
        return self

    def as_html(self) -> str:
        """The HTML parts joined, each chart as its figure (image source left empty) and its numbers."""
        return "".join(
            part.html() if isinstance(part, Chart) else getattr(part, "data", "") or ""
            for part in self.parts
            if isinstance(part, Chart) or hasattr(part, "data")
        )

    @property
    def html(self) -> str:
        return self.as_html()

    def as_text(self) -> str:
        """What a reader reads, one block (heading, paragraph, list item, table row) a line; a chart as
        ``[chart: <its text alternative>]``."""
        lines: list[str] = []
        for part in self.parts:
            if isinstance(part, Chart):
                lines.append(f"[chart: {part.alt}]")
            elif hasattr(part, "data"):
                reader = _Text()
                reader.feed(part.data or "")
                reader.close()
                lines += reader.lines()
        return "\n".join(lines) + ("\n" if lines else "")

    @property
    def figures(self) -> list:
        return [part for part in self.parts if isinstance(part, Chart)]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for part in self.parts:
            display(part)

    def __repr__(self) -> str:
        return f"Section({len(self.parts)} parts, {len(self.figures)} figures)"


class _Text(HTMLParser):
    """The text of an HTML block, a line per block element; style and script left out."""

    _BLOCKS = frozenset({"p", "li", "tr", "h1", "h2", "h3", "h4", "summary", "caption", "figcaption", "div", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self._out.append("\n")
        elif tag in ("td", "th"):
            self._out.append(" | ")

    def handle_endtag(self, tag) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag in self._BLOCKS:
            self._out.append("\n")

    def handle_data(self, data) -> None:
        if not self._skip:
            self._out.append(data)

    def lines(self) -> list[str]:
        text = "".join(self._out)
        return [" ".join(line.split()).strip(" |") for line in text.split("\n") if line.strip(" |\t")]


def esc(value) -> str:
    """Untrusted text for HTML: escaped, its invisible characters shown as [U+XXXX] (`figures.visible`)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(figures.visible(value))


class Chart:
    """A chart as the report shows it: the PNG with a real text alternative (`figures.alt_text`: its one-line
    takeaway and caption) and, under it, the numbers behind it as a table in a disclosure widget
    (`figures.chart_data`), so a screen-reader user gets everything the image shows (WCAG 2.1, 1.1.1).
    The figure is drawn once, when the chart is made, and closed."""

    def __init__(self, fig) -> None:
        import base64
        import io

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight", dpi=fig.dpi)
        self.png = buffer.getvalue()
        self.alt = figures.alt_text(fig)
        self.title = figures.takeaway(fig)
        self.words = figures.drawn_text(fig)
        self.numbers = figures.chart_data(fig)
        self._encoded = base64.b64encode(self.png).decode("ascii")
        plt.close(fig)

    def _repr_html_(self) -> str:
        return self.html(self._encoded)

    def __repr__(self) -> str:  # the notebook's text/plain output: the text alternative, the same on every run
        return f"Chart: {self.alt}"

    def html(self, image: str = "") -> str:
        """The chart's HTML; without ``image`` (base64 PNG) the image's source is left empty (for reading
        the text, as `Section.html` does)."""
        width, height = int.from_bytes(self.png[16:20], "big"), int.from_bytes(self.png[20:24], "big")
        source = f"data:image/png;base64,{image}" if image else ""
        fits = " pl-fits-page" if PRINT_FIT[0] < height / width <= PRINT_FIT[1] else ""
        tag = (
            f'<img class="pl-chart-image{fits}" src="{source}" alt="{html.escape(self.alt)}" width="{width}" '
            f'height="{height}">'
        )
        table = ""
        if self.numbers is not None and len(self.numbers):
            columns = {column: str(column) for column in self.numbers.columns}
            table = (
                '<details class="pl-chart-data"><summary>The numbers behind this chart</summary>'
                + html_table(self.numbers.astype(str), columns)
                + "</details>"
            )
        return f'<figure class="pl-chart">{tag}{table}</figure>'


fmt = figures.number  # one home for how a value is written, shared with the charts' tables


interval = figures.interval


BADGE = {"met": "pl-met", "not met": "pl-not-met", "not conclusive": "pl-not-conclusive"}


def status_badge(status: str, detail: str = "") -> str:
    """A status badge (its text says it all; the colour only repeats it), with the meaning in small type."""
    badge = f'<span class="pl-status {BADGE.get(status, "pl-other")}">{esc(status)}</span>'
    return badge + (f'<br><span class="pl-detail">{esc(detail)}</span>' if detail else "")


def ci_words(ev: Evaluation) -> str:
    """The plan's interval level in words: ``"95%"``."""
    return f"{float(ev.plan.get('ci', 0.95)):.0%}"


def rating_words(ev: Evaluation) -> str:
    """The level-1 threshold in words from the plan and the survey scale: ``"Rated 4 or higher"``."""
    at_least = float(ev.plan.get("levels", {}).get("reactions", {}).get("rating_at_least", 4))
    return f"Rated {at_least:g} or higher"


TABLE_IDS = itertools.count(1)


def html_table(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    numeric: Iterable[str] = (),
    raw: Iterable[str] = (),
    table_id: str | None = None,
) -> str:
    """An HTML table of ``frame`` with the given columns (column -> heading), rendered by great_tables.

    Cells are text as the report shows it (a missing value is blank); great_tables escapes every cell
    and heading except the ``raw`` columns (HTML built here, such as status badges, whose own text is
    escaped by `esc`); ``numeric`` columns are right-aligned. Headers are ``<th scope="col">`` with ids
    and each cell names its header. The table id is ``table_id`` or the next of a per-report counter
    (`setup` restarts it), so a report renders the same ids every time.
    """
    from great_tables import GT

    numeric, raw = set(numeric), set(raw)
    data = pd.DataFrame(
        {
            f"c{i}": [
                ("" if missing(value) else str(value) if column in raw else figures.visible(value))
                for value in (frame[column] if column in frame else [""] * len(frame))
            ]
            for i, column in enumerate(columns)
        },
        dtype=object,
    )
    keys = {column: f"c{i}" for i, column in enumerate(columns)}
    table_id = table_id or f"pl-table-{next(TABLE_IDS)}"
    table = GT(data, id=table_id).cols_label(cases={keys[column]: label for column, label in columns.items()})
    if raw:
        table = table.fmt(str, columns=[keys[c] for c in columns if c in raw])  # formatted cells are kept as HTML
    aligned = [keys[c] for c in columns if c in numeric]
    if aligned:
        table = table.cols_align("right", columns=aligned)
    table = table.cols_align("left", columns=[keys[c] for c in columns if c not in numeric]).tab_options(
        table_margin_left="0px",
        table_font_size="0.9em",
        table_font_names=["inherit"],
        table_border_top_style="none",
        table_border_bottom_style="none",
        column_labels_font_weight="bold",
        column_labels_border_top_style="none",
        column_labels_border_bottom_color="#444444",
        table_body_hlines_color="#dddddd",
        table_body_border_bottom_color="#dddddd",
        data_row_padding="4px",
        container_padding_y="0px",
    )
    # great_tables wraps the table in a box that scrolls sideways when the table is wider than the page:
    # a keyboard user must be able to reach it to scroll it (WCAG 2.1.1), so it takes focus and is a named region
    return table.as_raw_html(inline_css=False).replace(
        f'<div id="{table_id}" ', f'<div id="{table_id}" tabindex="0" role="region" aria-label="table" ', 1
    )


def missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def rows_with_display(frame: pd.DataFrame, unit: str, min_n: int, n: str = "n") -> pd.DataFrame:
    out = frame.copy()
    hidden = out["suppressed"].astype(bool) if "suppressed" in out else pd.Series(False, index=out.index)
    protecting = out["complementary"].fillna(False).astype(bool) if "complementary" in out else hidden & False
    coded = out["coded"] if "coded" in out else pd.Series(pd.NA, index=out.index, dtype="string")
    bound = out["bound"] if "bound" in out else pd.Series(np.nan, index=out.index)
    out["shown_estimate"] = [
        (
            "not shown (protects a smaller group)"
            if p
            else "too few to report"
            if h
            else coded_share(c, b)
            if isinstance(c, str)
            else fmt(v, unit)
        )
        for v, h, p, c, b in zip(out["estimate"], hidden, protecting, coded.astype(object), bound)
    ]
    out["shown_interval"] = [
        "" if h else interval(lo, hi, unit) for lo, hi, h in zip(out["ci_low"], out["ci_high"], hidden)
    ]
    if n in out:
        out["shown_n"] = [count_words(v, p, min_n) for v, p in zip(out[n], protecting)]
    return out


def count_words(n, protecting: bool, min_n: int) -> str:
    """A published count of people for display. Publishing blanks counts below ``min_n`` (``<10``) and
    every count of a hidden row; a row hidden to protect a smaller one reads ``not shown``."""
    if protecting:
        return "not shown"
    if n is None or pd.isna(n):
        return f"<{min_n}"
    return "0" if n == 0 else format_n(n, min_n)


def group_labels(ev: Evaluation, frame: pd.DataFrame, columns: list[str], default: str) -> list[str]:
    """The group each breakdown row is about, in words: a school's name for school rows, ``default`` for the
    district, and "role not known" (or "format not known", ...) for the answers whose group is missing (an
    anonymous answer has no role)."""
    group = frame[columns].bfill(axis=1).iloc[:, 0]
    labels = []
    for g, b in zip(group, frame["breakdown"]):
        if b == "district":
            labels.append(default)
        elif missing(g):
            labels.append(f"{BREAKDOWN_WORDS.get(b, figures.words(b))} not known")
        else:
            labels.append(ev.school_name(g) if b == "school_id" else figures.words(g))
    return labels


#: A breakdown's name as a reader reads it.
BREAKDOWN_WORDS = {"district": "district", "school_id": "school", "format": "session format", "role": "role"}


def constructs(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``construct_shown``: each survey construct's key in words (``organizational support``)."""
    return frame.assign(construct_shown=[figures.words(c) for c in frame["construct"]])


def with_ci(frame: pd.DataFrame, digits: int = 2) -> list[str]:
    """``"0.77 (0.74 to 0.80)"`` for each row's estimate and interval."""
    return [
        f"{e:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})" if pd.notna(e) else "not shown (too few people)"
        for e, lo, hi in zip(frame["estimate"], frame["ci_low"], frame["ci_high"])
    ]


def measure_rows(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The rows of a level-5 model table on one scale (``points``, ``hedges_g``, ``improvement_index``)."""
    return table[table["measure"] == measure].reset_index(drop=True)


def list_html(items: Iterable[str]) -> str:
    """A bulleted list of untrusted text (each item escaped)."""
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def level_heading(number: int, question: bool = False) -> str:
    """A level's heading in the registry's words (one home for them): ``Level 4. Use of the practice``, with
    ``question`` its question too (``...: are educators using the practice in classrooms?``)."""
    level = registry.get(number)
    head = f"Level {number}. {level.name}"
    return f"{head}: {level.question[:1].lower()}{level.question[1:]}" if question else head


def no_evidence(ev: Evaluation, level: int) -> str | None:
    """Why level ``level`` has nothing to show (it could not be computed, or no evidence was collected), as the
    note a section shows instead of its tables; None when it has evidence."""
    result = ev.levels.get(level)
    if result is not None and result.meta.get("error"):
        return (
            f"Level {level} ({registry.get(level).name.lower()}) could not be computed from the data: "
            f"{result.meta['error']}"
        )
    if result is None or not result.evidence:
        return f"No evidence collected for level {level} ({registry.get(level).name.lower()})."
    return None


def item_texts(distribution: pd.DataFrame) -> dict[str, str] | None:
    """item_id -> the statement respondents rated, for chart labels."""
    if "text" not in distribution:
        return None
    known = distribution.dropna(subset=["text"]).drop_duplicates("item_id")
    return dict(zip(known["item_id"], known["text"]))


def school_vs_district(table: pd.DataFrame, school_id: str, key: str) -> pd.DataFrame:
    district = table[table["breakdown"] == "district"].assign(where="District")
    school = table[(table["breakdown"] == key) & (table["school_id"] == school_id)].assign(where="This school")
    return pd.concat([school, district], ignore_index=True)


def restart_table_ids() -> None:
    """Number the next report's tables from 1 again: the same ids on every render."""
    global TABLE_IDS
    TABLE_IDS = itertools.count(1)
