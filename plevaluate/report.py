"""The presentation layer: sections of the report notebooks, drawn from an `Evaluation`.

Notebooks stay thin: a parameters cell, then one call per section. Each section returns a
`Section` (its HTML and figures, in order), which the notebook displays; a level's own sections
are found through `plevaluate.registry` (`level_sections`). Every function here only formats and
arranges what `plevaluate.evaluate` computed: no statistic is computed here. Text
that comes from the data (school names, item wording, notes) is HTML-escaped; counts below the
plan's ``min_n`` show as ``<10``; no student ID or educator name is ever shown.
"""

from __future__ import annotations

import functools
import hashlib
import html
import importlib
import itertools
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import __version__, figures, registry
from .chain import STATUSES
from .contract import RATING_WORDS, load
from .evaluate import Evaluation
from .portfolio import Portfolio, build_portfolio
from .privacy import META_PEOPLE, coded_share, format_n
from .years import evaluate_for_reports

__all__ = [
    "Section",
    "level_sections",
    "board_chain",
    "board_charts",
    "board_findings",
    "board_title",
    "district_level1",
    "district_level2",
    "district_level3",
    "district_level4",
    "district_level5",
    "district_schools",
    "district_title",
    "chain_table",
    "district_cost",
    "school_cost",
    "board_cost",
    "html_table",
    "notes",
    "open_results",
    "provenance",
    "school_level1",
    "school_level2",
    "school_level3",
    "school_level4",
    "school_level5",
    "school_next_steps",
    "school_title",
    "setup",
    "warm_up",
    "technical_data",
    "technical_title",
    "technical_diagnostics",
    "technical_models",
    "technical_sensitivity",
]

_CSS_FILE = Path(__file__).parent / "assets" / "report.css"


class Section:
    """What one report section shows, in order: HTML blocks (`IPython.display.HTML`) and figures.

    Displaying it (a notebook cell's last expression) displays each part, so the rendered report has
    one output per part. ``html`` joins the HTML parts (for tests and for reading the text).
    """

    def __init__(self, parts: Iterable[object] = ()) -> None:
        self.parts = list(parts)

    @property
    def html(self) -> str:
        return "".join(
            part.html() if isinstance(part, Chart) else getattr(part, "data", "") or ""
            for part in self.parts
            if isinstance(part, Chart) or hasattr(part, "data")
        )

    @property
    def figures(self) -> list:
        return [part for part in self.parts if isinstance(part, Chart)]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for part in self.parts:
            display(part)

    def __repr__(self) -> str:
        return f"Section({len(self.parts)} parts, {len(self.figures)} figures)"


_collecting: ContextVar[list | None] = ContextVar("plevaluate_report_section", default=None)


def section(function: Callable[..., None]) -> Callable[..., Section]:
    """Make a function that shows its parts (`_html`, `_figure`) one that returns them as a `Section`."""

    @functools.wraps(function)
    def build(*args, **kwargs) -> Section:
        parts: list = []
        token = _collecting.set(parts)
        try:
            function(*args, **kwargs)
        finally:
            _collecting.reset(token)
        return Section(parts)

    return build


def _display(*objects) -> None:
    parts = _collecting.get()
    if parts is not None:
        parts.extend(part for obj in objects for part in (obj.parts if isinstance(obj, Section) else [obj]))
        return
    from IPython.display import display

    display(*objects)


def _html(text: str) -> None:
    from IPython.display import HTML

    _display(HTML(text))


def _esc(value) -> str:
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
        tag = (
            f'<img class="pl-chart-image" src="{source}" alt="{html.escape(self.alt)}" width="{width}" '
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


def _figure(fig) -> None:
    _display(Chart(fig))


@section
def setup() -> Section:
    """The report look: chart theme, PNG figures at a readable size, the table styles."""
    figures.theme()
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # outside a kernel
        pass
    plt.rcParams["figure.dpi"] = 96
    global _TABLE_IDS
    _TABLE_IDS = itertools.count(1)  # each report numbers its tables from 1: the same ids on every render
    _html(f"<style>{_CSS_FILE.read_text(encoding='utf-8')}</style>")


def warm_up() -> None:
    """Draw one small chart and one small table, the way a report does, and show neither: a worker's kernel
    runs this as it starts (`plevaluate.render.WARM_UP`), so matplotlib's fonts and great_tables' templates
    are loaded before the first report instead of during it."""
    figures.theme()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.bar(["a", "b"], [1, 2])
    ax.set_title("warm-up")
    Chart(fig)
    html_table(pd.DataFrame({"a": ["1"], "b": ["x"]}), {"a": "A", "b": "B"}, numeric=["a"], table_id="pl-warm-up")


def _section_of(level, report: str) -> Callable[..., Section] | None:
    target = level.sections.get(report)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def level_sections(ev: Evaluation, report: str, *args) -> Section:
    """Every level's section of one report (``district``: ``level_sections(ev, "district")``; ``school``:
    ``level_sections(ev, "school", school_id)``), from `plevaluate.registry`: levels 1, 2, ... in
    order, then cost. A level added by a plugin appears here without any edit to the notebooks."""
    parts: list = []
    for level in sorted(registry.levels(), key=lambda level: (level.number == 0, level.number)):
        function = _section_of(level, report)
        if function is not None:
            shown = function(ev, *args)
            parts.extend(shown.parts if isinstance(shown, Section) else [shown])
    return Section(parts)


#: The saved results last opened in this kernel (`open_results`).
_OPENED: dict = {}

#: pandas 3 copies on write: a shallow copy of a table is then as safe as a deep one, and free.
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def _own_copy(ev: Evaluation) -> Evaluation:
    """A copy of ``ev`` that a report may change without changing what the next report sees."""
    import copy

    def tables(frames):
        return {name: frame.copy(deep=not _COPY_ON_WRITE) for name, frame in frames.items()}

    levels = {
        number: replace(result, tables=tables(result.tables), meta=copy.deepcopy(result.meta))
        for number, result in ev.levels.items()
    }
    copied = tables({"chain": ev.chain, "sentences": ev.sentences, "schools": ev.schools})
    return replace(
        ev,
        levels=levels,
        **copied,
        plan=copy.deepcopy(ev.plan),
        provenance=copy.deepcopy(ev.provenance),
        extras=tables(ev.extras),
    )


def open_results(results: str = "", data: str = "") -> Evaluation:
    """The evaluation to present, as published (suppressed): saved results (``results``), or evaluate
    ``data`` now when none are saved.

    Saved results are read once per kernel: a warm kernel rendering report after report (`plevaluate.render`)
    reads the bundle for its first report and hands every later report its own copy (reading it took
    0.7 s of a school report's 1.8 s on the sample). The cache is keyed by the manifest's bytes, which
    name the evaluation time and every table's file, so a new evaluation saved to the same folder is read anew.
    """
    if results and (Path(results) / "manifest.json").exists():
        key = (str(Path(results).resolve()), hashlib.sha256((Path(results) / "manifest.json").read_bytes()).digest())
        if _OPENED.get("key") != key:
            _OPENED.clear()
            _OPENED.update(key=key, evaluation=Evaluation.load(results).publish())
        return _own_copy(_OPENED["evaluation"])

    return evaluate_for_reports(load(data))


# ---- formatting ----


_fmt = figures.number  # one home for how a value is written, shared with the charts' tables
_interval = figures.interval


_BADGE = {"met": "pl-met", "not met": "pl-not-met", "not conclusive": "pl-not-conclusive"}


def _status(status: str, detail: str = "") -> str:
    """A status badge (its text says it all; the colour only repeats it), with the meaning in small type."""
    badge = f'<span class="pl-status {_BADGE.get(status, "pl-other")}">{_esc(status)}</span>'
    return badge + (f'<br><span class="pl-detail">{_esc(detail)}</span>' if detail else "")


def _ci(ev: Evaluation) -> str:
    """The plan's interval level in words: ``"95%"``."""
    return f"{float(ev.plan.get('ci', 0.95)):.0%}"


def _rating_words(ev: Evaluation) -> str:
    """The level-1 threshold in words from the plan and the survey scale: ``"Rated 4 or higher"``."""
    at_least = float(ev.plan.get("levels", {}).get("reactions", {}).get("rating_at_least", 4))
    return f"Rated {at_least:g} or higher"


_TABLE_IDS = itertools.count(1)


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
    escaped by `_esc`); ``numeric`` columns are right-aligned. Headers are ``<th scope="col">`` with ids
    and each cell names its header. The table id is ``table_id`` or the next of a per-report counter
    (`setup` restarts it), so a report renders the same ids every time.
    """
    from great_tables import GT

    numeric, raw = set(numeric), set(raw)
    data = pd.DataFrame(
        {
            f"c{i}": [
                ("" if _missing(value) else str(value) if column in raw else figures.visible(value))
                for value in (frame[column] if column in frame else [""] * len(frame))
            ]
            for i, column in enumerate(columns)
        },
        dtype=object,
    )
    keys = {column: f"c{i}" for i, column in enumerate(columns)}
    table_id = table_id or f"pl-table-{next(_TABLE_IDS)}"
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


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _rows_with_display(frame: pd.DataFrame, unit: str, min_n: int, n: str = "n") -> pd.DataFrame:
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
            else _fmt(v, unit)
        )
        for v, h, p, c, b in zip(out["estimate"], hidden, protecting, coded.astype(object), bound)
    ]
    out["shown_interval"] = [
        "" if h else _interval(lo, hi, unit) for lo, hi, h in zip(out["ci_low"], out["ci_high"], hidden)
    ]
    if n in out:
        out["shown_n"] = [_count(v, p, min_n) for v, p in zip(out[n], protecting)]
    return out


def _coded_note(rows: pd.DataFrame, min_n: int) -> None:
    """Under a table with a share shown only as a range (`plevaluate.privacy.code_shares`): what the range means."""
    if "coded" in rows and rows["coded"].isin(["below", "above"]).any():
        _paragraph(
            f'"under" or "over" a share: fewer than {min_n} people are on one side of it, so only the side of '
            "the bound is shown (no count of fewer than the reporting minimum can be worked out from a share).",
            note=True,
        )


def _count(n, protecting: bool, min_n: int) -> str:
    """A published count of people for display. Publishing blanks counts below ``min_n`` (``<10``) and
    every count of a hidden row; a row hidden to protect a smaller one reads ``not shown``."""
    if protecting:
        return "not shown"
    if n is None or pd.isna(n):
        return f"<{min_n}"
    return "0" if n == 0 else format_n(n, min_n)


def _group_labels(ev: Evaluation, frame: pd.DataFrame, columns: list[str], default: str) -> list[str]:
    """The group each breakdown row is about, in words: a school's name for school rows, ``default`` for the
    district, and "role not known" (or "format not known", ...) for the answers whose group is missing (an
    anonymous answer has no role)."""
    group = frame[columns].bfill(axis=1).iloc[:, 0]
    labels = []
    for g, b in zip(group, frame["breakdown"]):
        if b == "district":
            labels.append(default)
        elif _missing(g):
            labels.append(f"{_BY.get(b, figures.words(b))} not known")
        else:
            labels.append(ev.school_name(g) if b == "school_id" else figures.words(g))
    return labels


#: A breakdown's name as a reader reads it.
_BY = {"district": "district", "school_id": "school", "format": "session format", "role": "role"}


def _constructs(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``construct_shown``: each survey construct's key in words (``organizational support``)."""
    return frame.assign(construct_shown=[figures.words(c) for c in frame["construct"]])


def _with_ci(frame: pd.DataFrame, digits: int = 2) -> list[str]:
    """``"0.77 (0.74 to 0.80)"`` for each row's estimate and interval."""
    return [
        f"{e:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})" if pd.notna(e) else "not shown (too few people)"
        for e, lo, hi in zip(frame["estimate"], frame["ci_low"], frame["ci_high"])
    ]


def _measure_rows(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The rows of a level-5 model table on one scale (``points``, ``hedges_g``, ``improvement_index``)."""
    return table[table["measure"] == measure].reset_index(drop=True)


def _heading(text: str, level: int = 2) -> None:
    _html(f"<h{level}>{_esc(text)}</h{level}>")


def _sentence(text: str) -> None:
    _html(f'<p class="pl-sentence">{_esc(text)}</p>')


def _paragraph(text: str, note: bool = False) -> None:
    _html(f'<p class="{"pl-note" if note else ""}">{_esc(text)}</p>')


def _bullets(items: Iterable[str]) -> None:
    items = list(items)
    if items:
        _html(_list_html(items))


def _list_html(items: Iterable[str]) -> str:
    """A bulleted list of untrusted text (each item escaped)."""
    return "<ul>" + "".join(f"<li>{_esc(i)}</li>" for i in items) + "</ul>"


def _no_evidence(ev: Evaluation, level: int) -> bool:
    result = ev.levels.get(level)
    if result is not None and result.meta.get("error"):
        _paragraph(
            f"Level {level} ({registry.get(level).name.lower()}) could not be computed from the data: "
            f"{result.meta['error']}",
            note=True,
        )
        return True
    if result is None or not result.evidence:
        _paragraph(f"No evidence collected for level {level} ({registry.get(level).name.lower()}).", note=True)
        return True
    return False


# ---- shared sections ----


@section
def chain_table(ev: Evaluation, scope: str = "district") -> Section:
    """The chain of evidence: one row per Guskey level with the estimate, interval, target and status."""
    rows = ev.chain[ev.chain["scope"] == scope].copy()
    rows["level_label"] = [f"{lv}. {name}" for lv, name in zip(rows["level"], rows["level_name"])]
    rows["shown_estimate"] = [
        ""
        if s in ("too few people to report", "hidden to protect a smaller group", "not yet measured", "not applicable")
        else _fmt(v, u)
        for v, u, s in zip(rows["estimate"], rows["unit"], rows["status"])
    ]
    rows["shown_interval"] = [_interval(lo, hi, u) for lo, hi, u in zip(rows["ci_low"], rows["ci_high"], rows["unit"])]
    rows["shown_target"] = [_fmt(t, "rating" if u == "rating" else u) for t, u in zip(rows["target"], rows["unit"])]
    rows["badge"] = [
        _status(s, d if s in ("met", "not met", "not conclusive") or (s == "reported" and lv >= 1 and d != s) else "")
        for s, d, lv in zip(rows["status"], rows["status_detail"], rows["level"])
    ]  # a level reported without a target (level 3 from its staff survey) says what its evidence shows
    _heading("Chain of evidence")
    _html(
        html_table(
            rows,
            {
                "level_label": "Level",
                "measure": "Measure",
                "shown_estimate": "Result",
                "shown_interval": f"{_ci(ev)} interval",
                "shown_target": "Target",
                "badge": "Status",
                "evidence": "Evidence",
            },
            numeric=("shown_estimate", "shown_target"),
            raw=("badge",),
        )
    )


@section
def notes(ev: Evaluation, scope: str = "district", levels: Iterable[int] = (0, 1, 2, 3, 4, 5)) -> Section:
    """The caveats for ``scope``: district-wide ones and, in a school's report, the school's own (never
    another school's); the district report names the school of each school note."""
    _heading("Notes on the data")
    table = ev.notes(scope, levels)
    items = [f"{'Cost' if lv == 0 else f'Level {lv}'}: {text}" for lv, text in zip(table["level"], table["text"])]
    about_schools = (table["scope"] != "district").to_numpy()
    if scope != "district" or table.loc[about_schools, "scope"].nunique() <= figures.MANY:
        _bullets(items or ["No caveats were recorded."])
        return
    # many schools: the district-wide notes, then every note about one school folded under a count
    _bullets([item for item, own in zip(items, about_schools) if not own])
    schools = table.loc[about_schools, "scope"].nunique()
    listed = _list_html(item for item, own in zip(items, about_schools) if own)
    _fold(f"Notes about single schools ({int(about_schools.sum()):,} notes on {schools:,} schools)", listed)


@section
def provenance(ev: Evaluation) -> Section:
    """plevaluate version, the SHA-256 of every input file, the package versions and the date."""
    p = ev.provenance
    _heading("Provenance")
    _paragraph(
        f"Evaluated {p.get('evaluated_at', '')} with plevaluate {p.get('plevaluate_version', '')} "
        f"from the data folder '{p.get('data_folder', '')}'; no step is random: the same data and plan give "
        "the same results. "
        f"Small groups: statistics about fewer than {ev.min_n} people are not shown."
    )
    hashes = pd.DataFrame(sorted(p.get("file_hashes", {}).items()), columns=["file", "sha256"])
    _html(html_table(hashes, {"file": "Input file", "sha256": "SHA-256"}))
    versions = pd.DataFrame(sorted(p.get("python_packages", {}).items()), columns=["package", "version"])
    _html(html_table(versions, {"package": "Package", "version": "Version"}))
    plan = pd.DataFrame(
        [(k, v) for k, v in ev.plan.items() if k != "levels"]
        + [(f"levels.{lv}.{k}", v) for lv, goal in ev.plan.get("levels", {}).items() for k, v in goal.items()],
        columns=["setting", "value"],
    )
    _html(html_table(plan, {"setting": "Plan setting", "value": "Value"}))


# ---- the school report ----


@section
def school_title(ev: Evaluation, school_id: str) -> Section:
    name = ev.school_name(school_id)
    program = ev.plan.get("program", "")
    _html(
        f"<h1>{_esc(name)}: professional learning evaluation</h1>"
        f"<p>{_esc(program)} &middot; {_esc(ev.plan.get('school_year', ''))} &middot; school report</p>"
    )
    sentence = ev.sentences.set_index("scope")["sentence"].get(school_id, "")
    _sentence(sentence)


@section
def school_next_steps(ev: Evaluation, school_id: str) -> Section:
    """What to do next: the lowest-rated conditions indicators and the gaps to the plan's targets."""
    _heading("What to do next")
    steps = []
    change = ev.table(3, "change")
    if change is not None:
        mine = change[change["school_id"] == school_id].sort_values(["latest_rating", "change"])
        for row in mine.head(2).itertuples():
            if row.latest_rating < 4:
                label = RATING_WORDS.get(int(row.latest_rating), "")
                steps.append(
                    f"Strengthen {str(row.indicator_id).replace('_', ' ')} ({str(row.structure).replace('_', ' ')}): "
                    f"rated {row.latest_rating:g} ({label}) in {row.latest_term}, "
                    f"{'up' if row.change > 0 else 'down' if row.change < 0 else 'no change'} from {row.first_term}."
                )
    principals = ev.table(3, "principals")
    if principals is not None and school_id in set(principals["school_id"]):
        share = principals.set_index("school_id").loc[school_id, "estimate"]
        if share < 0.75:
            steps.append(
                f"The principal attended {share:.0%} of the PL sessions; principals' participation is the "
                "strongest lever the district has."
            )
    chain = ev.chain[(ev.chain["scope"] == school_id) & ev.chain["status"].isin(["not met", "not conclusive"])]
    for row in chain.itertuples():
        if row.level == 3:
            continue
        if row.status == "not met":
            steps.append(
                f"Level {row.level} ({row.level_name.lower()}): {_fmt(row.estimate, row.unit)} against the "
                f"plan's target of {_fmt(row.target, row.unit)}: not met."
            )
        else:
            steps.append(
                f"Level {row.level} ({row.level_name.lower()}): {_fmt(row.estimate, row.unit)} against the "
                f"plan's target of {_fmt(row.target, row.unit)}: not conclusive (the {_ci(ev)} interval, "
                f"{_interval(row.ci_low, row.ci_high, row.unit)}, includes the target); "
                f"{registry.get(row.level).more_evidence}."
            )
    _bullets(steps or ["This school met every target that could be measured; keep the conditions that got it there."])


def _item_texts(distribution: pd.DataFrame) -> dict[str, str] | None:
    """item_id -> the statement respondents rated, for chart labels."""
    if "text" not in distribution:
        return None
    known = distribution.dropna(subset=["text"]).drop_duplicates("item_id")
    return dict(zip(known["item_id"], known["text"]))


def _school_vs_district(table: pd.DataFrame, school_id: str, key: str) -> pd.DataFrame:
    district = table[table["breakdown"] == "district"].assign(where="District")
    school = table[(table["breakdown"] == key) & (table["school_id"] == school_id)].assign(where="This school")
    return pd.concat([school, district], ignore_index=True)


@section
def school_level1(ev: Evaluation, school_id: str) -> Section:
    _heading("Level 1. Reactions: did participants find the learning useful?")
    if _no_evidence(ev, 1):
        return
    constructs = ev.table(1, "constructs")
    rows = _school_vs_district(constructs, school_id, "school_id")
    rows = rows[rows["measure"] == "share_at_least"]
    rows = _constructs(_rows_with_display(rows, "share", ev.min_n, n="n_people"))
    _html(
        html_table(
            rows,
            {
                "where": "",
                "construct_shown": "Construct",
                "shown_estimate": _rating_words(ev),
                "shown_interval": f"{_ci(ev)} interval",
                "shown_n": "Respondents",
            },
            numeric=("shown_estimate", "shown_n"),
        )
    )
    _coded_note(rows, ev.min_n)
    distribution = ev.table(1, "distribution")
    mine = distribution[distribution["school_id"] == school_id]
    if len(mine) and not mine["suppressed"].all():
        _figure(figures.likert_chart(mine, texts=_item_texts(mine)))
    else:
        _paragraph("Too few respondents at this school to show answers item by item.", note=True)


@section
def school_level2(ev: Evaluation, school_id: str) -> Section:
    _heading("Level 2. Learning: did participants gain the intended knowledge?")
    if _no_evidence(ev, 2):
        return
    gains = ev.table(2, "gains")
    rows = _school_vs_district(gains, school_id, "school_id")
    rows = rows[rows["measure"].isin(["mean_gain", "g_av", "mastery_post"])]
    if rows.empty:
        _paragraph("No learning assessment results for this school or the district.", note=True)
        return
    units = {"mean_gain": "points", "g_av": "sd", "mastery_post": "share"}
    labels = {"mean_gain": "Average gain (points)", "g_av": "Gain in SD units", "mastery_post": "At mastery after"}
    shown = pd.concat([_rows_with_display(part, units[m], ev.min_n) for m, part in rows.groupby("measure", sort=False)])
    shown["measure_label"] = shown["measure"].map(labels)
    _html(
        html_table(
            shown,
            {
                "where": "",
                "assessment_id": "Assessment",
                "measure_label": "Measure",
                "shown_estimate": "Result",
                "shown_interval": f"{_ci(ev)} interval",
                "shown_n": "Educators",
            },
            numeric=("shown_estimate", "shown_n"),
        )
    )
    _coded_note(shown, ev.min_n)


@section
def school_level3(ev: Evaluation, school_id: str) -> Section:
    _heading("Level 3. Organization support: did the school support the change?")
    if _no_evidence(ev, 3):
        return
    ratings = ev.table(3, "ratings")
    if ratings is not None:
        mine = ratings[ratings["school_id"] == school_id]
        wide = mine.pivot_table(index=["structure", "indicator_id"], columns="term", values="rating").reset_index()
        order = mine.drop_duplicates("term").sort_values("term_order")["term"].tolist()
        wide["structure"] = wide["structure"].str.replace("_", " ")
        wide["indicator_id"] = wide["indicator_id"].str.replace("_", " ")
        columns = {"structure": "Structure", "indicator_id": "Indicator", **{t: t for t in order}}
        _html(html_table(wide, columns, numeric=order))
        _paragraph("Ratings: 1 not yet, 2 emerging, 3 developing, 4 deepening.", note=True)
    principals = ev.table(3, "principals")
    if principals is not None and school_id in set(principals["school_id"]):
        row = principals.set_index("school_id").loc[school_id]
        _paragraph(
            f"The principal attended {int(row['sessions_attended'])} of {int(row['n'])} PL sessions "
            f"({row['estimate']:.0%})."
        )
    staff = ev.table(3, "staff_survey")
    if staff is not None:
        rated = ratings is not None and school_id in set(ratings["school_id"])
        if not rated:  # the staff survey is this school's level-3 evidence: say what it shows, in words
            _staff_sentence(ev, school_id)
        rows = _school_vs_district(staff, school_id, "school_id")
        rows = _rows_with_display(rows[rows["measure"] == "mean"], "rating", ev.min_n, n="n_people")
        rows = _constructs(rows)
        _html(
            html_table(
                rows,
                {
                    "where": "",
                    "construct_shown": "Staff survey",
                    "shown_estimate": "Mean (1-5)",
                    "shown_interval": f"{_ci(ev)} interval",
                    "shown_n": "Respondents",
                },
                numeric=("shown_estimate", "shown_n"),
            )
        )


def _agree(ev: Evaluation) -> str:
    """The staff survey's "agree" threshold in words, from its table: ``4 (agree)``."""
    staff = ev.table(3, "staff_survey")
    threshold = staff["threshold"].dropna() if staff is not None and "threshold" in staff else pd.Series(dtype=float)
    at = float(threshold.iloc[0]) if len(threshold) else 4.0
    return f"{at:g} (agree)" if at == 4 else f"{at:g}"


def _staff_sentence(ev: Evaluation, scope: str) -> None:
    """Level 3 without conditions ratings: what the staff survey says (the chain's row for ``scope``), and why it
    is not judged against the plan's target."""
    row = ev.chain[(ev.chain["scope"] == scope) & (ev.chain["level"] == 3)]
    if row.empty or row.iloc[0]["status"] != "reported":
        return
    where = "the district" if scope == "district" else "this school"
    detail = str(row.iloc[0]["status_detail"])
    _paragraph(
        f"No conditions ratings were collected for {where}, so level 3 rests on the staff survey: {detail}. A member "
        f"of staff agrees when the mean of their answers on the support items is {_agree(ev)} or higher. The plan's "
        "level-3 target is a share of schools at a conditions rating, so the staff survey is reported without a "
        "target."
    )


@section
def school_level4(ev: Evaluation, school_id: str) -> Section:
    _heading("Level 4. Use of the practice in classrooms")
    if _no_evidence(ev, 4):
        return
    practice = ev.plan.get("observable_practice", "")
    if practice:
        _paragraph(f"The practice observed in every classroom: {practice}.")
    rates = ev.table(4, "rates")
    if school_id not in set(rates["school_id"].dropna()):
        _paragraph("No classroom observations were recorded at this school.", note=True)
        return
    mine = rates[
        ((rates["breakdown"] == "school_id+month") & (rates["school_id"] == school_id))
        | (rates["breakdown"] == "group+month")
    ]
    target = ev.plan.get("levels", {}).get("practice", {}).get("target")
    _figure(figures.implementation_chart(mine, target=target, names={school_id: ev.school_name(school_id)}, ci=_ci(ev)))
    funnel = ev.table(4, "funnel")
    if funnel is not None and school_id in set(funnel["school_id"]):
        names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
        own = {school_id: names.get(school_id, school_id)}  # other schools stay anonymous in a school's report
        _figure(figures.funnel_chart(funnel, ev.table(4, "funnel_curve"), names=own, highlight=school_id))
        _paragraph(
            "The funnel compares schools fairly: a school outside the dashed lines differs from the district by "
            "more than chance would easily produce with its number of visits; inside them, the visits show no "
            "clear difference, which is not evidence that there is none.",
            note=True,
        )


@section
def school_level5(ev: Evaluation, school_id: str) -> Section:
    _heading("Level 5. Student outcomes")
    if _no_evidence(ev, 5):
        return
    schools = ev.table(5, "schools")
    if schools is None or school_id not in set(schools["school_id"]):
        _paragraph("No school-level student result: this school is not among the program's schools.", note=True)
    else:
        row = schools.set_index("school_id").loc[school_id]
        if bool(row["suppressed"]):
            _paragraph("Too few students with scores to report a school result.", note=True)
        else:
            _paragraph(
                f"Students here scored {row['estimate']:+.1f} points ({_ci(ev)} interval {row['ci_low']:+.1f} to "
                f"{row['ci_high']:+.1f}) compared with what their prior scores predict, after pulling small "
                "and noisy school results toward the district average. This describes the school; it is not "
                "an effect of the program."
            )
    effect = ev.table(5, "findings")
    if effect is not None:
        _paragraph("District result: " + " ".join(effect["finding"]))


# ---- the district report ----


@section
def district_title(ev: Evaluation) -> Section:
    _html(
        f"<h1>{_esc(ev.plan.get('program', ''))}: district evaluation</h1>"
        f"<p>{_esc(ev.plan.get('school_year', ''))} &middot; {_esc(ev.plan.get('description', ''))}</p>"
    )
    _sentence(ev.sentences.set_index("scope")["sentence"].get("district", ""))


@section
def district_level1(ev: Evaluation) -> Section:
    _heading("Level 1. Reactions")
    if _no_evidence(ev, 1):
        return
    constructs = ev.table(1, "constructs")
    share = constructs[constructs["measure"] == "share_at_least"].copy()
    share["group"] = _group_labels(ev, share, ["school_id", "format", "role"], "all respondents")
    rows = _rows_with_display(
        share[share["breakdown"].isin(["district", "format", "role"])], "share", ev.min_n, n="n_people"
    )
    rows = _constructs(rows).assign(by=[_BY.get(b, figures.words(b)) for b in rows["breakdown"]])
    _html(
        html_table(
            rows,
            {
                "by": "By",
                "group": "Group",
                "construct_shown": "Construct",
                "shown_estimate": _rating_words(ev),
                "shown_interval": f"{_ci(ev)} interval",
                "shown_n": "Respondents",
            },
            numeric=("shown_estimate", "shown_n"),
        )
    )
    _coded_note(rows, ev.min_n)
    if "role" in rows and (rows["breakdown"].eq("role") & rows["role"].isna()).any():
        _paragraph(
            '"role not known": answers given without an educator ID (anonymous), so their role is not known.',
            note=True,
        )
    distribution = ev.table(1, "distribution")
    district = distribution[distribution["breakdown"] == "district"]
    _figure(figures.likert_chart(district, texts=_item_texts(district)))
    reliability = ev.table(1, "reliability")
    if reliability is not None:
        rel = _constructs(reliability).assign(shown=_with_ci(reliability))
        _html(
            html_table(rel, {"construct_shown": "Construct", "k": "Items", "shown": f"Cronbach's alpha ({_ci(ev)} CI)"})
        )
    rates = ev.table(1, "response_rates")
    if rates is not None:
        overall = rates[rates["breakdown"] == "district"].iloc[0]
        if pd.notna(overall["estimate"]):
            _paragraph(
                f"{overall['estimate']:.0%} of attendees answered the end-of-session survey; reaction surveys "
                "describe those who answered.",
                note=True,
            )


@section
def district_level2(ev: Evaluation) -> Section:
    _heading("Level 2. Learning")
    if _no_evidence(ev, 2):
        return
    gains = ev.table(2, "gains")
    g = gains[gains["measure"] == "g_av"].copy()
    g["group"] = _group_labels(ev, g, ["school_id", "role", "experience_band"], "all participants")
    target = ev.plan.get("levels", {}).get("learning", {}).get("target")
    _figure(
        figures.interval_chart(
            g.assign(label=g["group"]),
            unit="sd",
            reference=target,
            title="Gains from pre to post in SD units, by group",
            caption="g_av: the mean gain divided by the average of the pre and post SDs "
            f"(Lakens 2013), with {_ci(ev)} intervals.",
            always=g["breakdown"] != "school_id",  # with many schools: every role and band, the extreme schools
        )
    )
    effect = ev.table(2, "program_effect")
    if effect is not None and len(effect):
        row = effect.iloc[0]
        if bool(row.get("suppressed", False)):
            _paragraph(
                f"The comparison with comparison-school teachers is not shown: fewer than {ev.min_n} teachers "
                "in one of the groups.",
                note=True,
            )
        else:
            more = "more" if row["estimate"] >= 0 else "less"
            _paragraph(
                f"Participants gained {abs(row['estimate']):.2f} SD {more} than comparison-school teachers who "
                f"took the same assessment ({_ci(ev)} CI {row['ci_low']:.2f} to {row['ci_high']:.2f}; "
                f"{format_n(row['n_treatment'], ev.min_n)} and {format_n(row['n_comparison'], ev.min_n)} "
                "teachers)."
            )


@section
def district_level3(ev: Evaluation) -> Section:
    _heading("Level 3. Organization support")
    if _no_evidence(ev, 3):
        return
    matrix = ev.table(3, "matrix")
    if matrix is not None:
        names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
        _figure(
            figures.conditions_heatmap(matrix[matrix["group"] == "participant"], ev.table(3, "change"), names=names)
        )
    flags = ev.table(3, "flags")
    if flags is not None and flags["flagged"].any():
        flagged = flags[flags["flagged"]].assign(name=lambda f: f["school_id"].map(ev.school_name))
        columns = {"name": "School needing support", "reason": "Why"}
        if len(flagged) <= figures.MANY:
            _html(html_table(flagged, columns))
        else:  # many schools: the weakest conditions first, with every flagged school folded below
            weakest = flagged.sort_values(["latest_mean", "name"]).head(figures.MANY)
            _paragraph(f"{len(flagged):,} schools need support; the {figures.MANY} with the weakest conditions:")
            _html(html_table(weakest, columns))
            _fold(f"Every school needing support ({len(flagged):,} schools)", html_table(flagged, columns))
    if matrix is None and ev.table(3, "staff_survey") is not None:
        _district_staff_survey(ev)
    principals = ev.table(3, "principals")
    if principals is not None:
        program = set(ev.schools.loc[ev.schools["group"] == "participant", "school_id"])
        p = principals[principals["school_id"].isin(program)]  # comparison schools are offered no sessions
        p = p.assign(name=p["school_id"].map(ev.school_name), shown=[f"{v:.0%}" for v in p["estimate"]])
        columns = {"name": "School", "shown": "Principal's share of PL sessions attended"}
        table = html_table(p, columns, numeric=("shown",))
        if len(p) <= figures.MANY:
            _html(table)
            return
        # many schools: the principals to reach first, with every school's row folded below
        low = p[p["estimate"] < 0.5].sort_values(["estimate", "name"])
        _paragraph(
            f"Principals of the {len(p):,} program schools attended a median {p['estimate'].median():.0%} of the "
            f"PL sessions (from {p['estimate'].min():.0%} to {p['estimate'].max():.0%}); "
            + (
                f"{len(low):,} attended fewer than half, the lowest first:"
                if len(low)
                else "none attended fewer than half."
            )
        )
        if len(low):
            _html(html_table(low.head(figures.MANY), columns, numeric=("shown",)))
        _fold(f"Every program school's principal participation ({len(p):,} schools)", table)


def _district_staff_survey(ev: Evaluation) -> None:
    """The staff survey on support, district and by school: the share of staff who agree and their mean answer."""
    _staff_sentence(ev, "district")
    staff = ev.table(3, "staff_survey")
    program = set(ev.schools.loc[ev.schools["group"] == "participant", "school_id"])
    staff = staff[(staff["breakdown"] == "district") | staff["school_id"].isin(program)]
    keys = ["breakdown", "school_id", "construct"]
    share = _rows_with_display(staff[staff["measure"] == "share_at_least"], "share", ev.min_n, n="n_people")
    mean = _rows_with_display(staff[staff["measure"] == "mean"], "rating", ev.min_n)
    mean = mean[keys + ["shown_estimate", "shown_interval"]].rename(
        columns={"shown_estimate": "mean_shown", "shown_interval": "mean_interval"}
    )
    rows = _constructs(share.merge(mean, on=keys, how="left"))
    rows["where"] = [
        "District" if b == "district" else ev.school_name(s) for b, s in zip(rows["breakdown"], rows["school_id"])
    ]
    columns = {
        "where": "",
        "construct_shown": "Staff survey",
        "shown_estimate": f"Agree (mean {_agree(ev).split()[0]} or higher)",
        "shown_interval": f"{_ci(ev)} interval",
        "mean_shown": "Mean answer (1-5)",
        "mean_interval": f"{_ci(ev)} interval of the mean",
        "shown_n": "Respondents",
    }
    numeric = ("shown_estimate", "mean_shown", "shown_n")
    schools = rows["breakdown"] != "district"
    if schools.sum() <= figures.MANY:
        _html(html_table(rows, columns, numeric=numeric))
    else:  # many schools: the district, with every school's row folded below
        _html(html_table(rows[~schools], columns, numeric=numeric))
        _fold(
            f"Every program school's staff survey ({int(schools.sum()):,} schools)",
            html_table(rows[schools], columns, numeric=numeric),
        )
    _coded_note(rows, ev.min_n)


@section
def district_level4(ev: Evaluation) -> Section:
    _heading("Level 4. Use of the practice")
    if _no_evidence(ev, 4):
        return
    rates = ev.table(4, "rates")
    target = ev.plan.get("levels", {}).get("practice", {}).get("target")
    names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
    funnel = ev.table(4, "funnel")
    below = (
        funnel[funnel["position"].astype(str).str.startswith("below")].sort_values("z", kind="stable")["school_id"]
        if funnel is not None
        else pd.Series(dtype=object)
    )
    _figure(figures.implementation_chart(rates, target=target, names=names, ci=_ci(ev), highlight=list(below)))
    if funnel is not None:
        _figure(figures.funnel_chart(funnel, ev.table(4, "funnel_curve"), names=names))
        phi = funnel["phi"].dropna()
        if len(phi) and phi.iloc[0] > 1.5:
            _paragraph(
                f"Schools vary more than chance alone would make them (overdispersion {phi.iloc[0]:.1f}, over the "
                "schools shown); part of it is repeat observation of the same teachers, part real differences "
                "between schools.",
                note=True,
            )
    trend = ev.table(4, "trend")
    if trend is not None:
        t = trend.assign(
            shown=[("x" if pd.notna(e) else "") + text for e, text in zip(trend["estimate"], _with_ci(trend))]
        )
        _html(
            html_table(
                t, {"group": "Schools", "shown": f"Odds of seeing the practice, change per month ({_ci(ev)} CI)"}
            )
        )
    if ev.table(4, "dose_bands") is not None:
        _figure(figures.dose_response_chart(ev.table(4, "dose_bands"), ev.table(4, "dose_model"), ci=_ci(ev)))
    link = ev.table(4, "link")
    if link is not None:
        shown = link.assign(
            shown=[
                _interval(lo, hi, "") and f"r = {r:.2f} ({lo:.2f} to {hi:.2f})" if pd.notna(r) else "not estimable"
                for r, lo, hi in zip(link["estimate"], link["ci_low"], link["ci_high"])
            ]
        )
        _html(
            html_table(
                shown, {"predictor": "Level-3 measure", "shown": "Correlation with implementation", "n": "Schools"}
            )
        )
        _paragraph(
            "Correlations across schools are associations, not proof that conditions caused classroom use.", note=True
        )


@section
def district_level5(ev: Evaluation) -> Section:
    _heading("Level 5. Student outcomes")
    if _no_evidence(ev, 5):
        return
    found = ev.table(5, "findings")
    if found is not None:
        for sentence in found["finding"]:
            _sentence(sentence)
    sensitivity = ev.table(5, "sensitivity")
    if sensitivity is not None:
        target = ev.plan.get("levels", {}).get("outcomes", {}).get("target")
        g = _measure_rows(sensitivity, "hedges_g")
        rows = g.assign(label=g["specification"])
        _figure(
            figures.interval_chart(
                rows,
                unit="sd",
                reference=target,
                title="The effect on students under each analysis (Hedges' g)",
                caption="Every analysis adjusts for clustering of students in schools except "
                "HC1, shown only to make the point.",
            )
        )
    subgroups = ev.table(5, "subgroups")
    if subgroups is not None and len(subgroups):
        g = _measure_rows(subgroups, "hedges_g")
        rows = g.assign(label=g["subgroup"].str.replace("_", " ") + ": " + g["value"].astype(str))
        _figure(
            figures.interval_chart(
                rows,
                unit="sd",
                reference=0.0,
                reference_label="no difference",
                title="Effects for groups of students (Hedges' g)",
                caption="Benjamini-Hochberg adjusted p-values control false discoveries across "
                "these groups; see the technical appendix.",
            )
        )
    schools = ev.table(5, "schools")
    if schools is not None:
        rows = schools.assign(label=schools["school_id"].map(ev.school_name))
        _figure(
            figures.interval_chart(
                rows,
                unit="points",
                reference=0.0,
                reference_label="as predicted",
                title="Each program school's students against what their prior scores predict",
                caption="Shrunk toward the district so that small schools do not top or bottom "
                "the list by chance; these describe schools, not effects of the program.",
            )
        )


@section
def district_schools(ev: Evaluation) -> Section:
    """A school x level grid of statuses: the pattern across schools no single principal sees."""
    _heading("Every school at a glance")
    chain = ev.chain[(ev.chain["scope"] != "district") & (ev.chain["level"] >= 1)]
    grid = chain.pivot(index="scope", columns="level", values="status")
    grid = grid.reset_index().rename(columns={"scope": "school_id"})
    grid["name"] = grid["school_id"].map(ev.school_name)
    columns = {"name": "School"}
    for level in range(1, 6):
        grid[f"b{level}"] = [_status(s) for s in grid[level]]
        columns[f"b{level}"] = f"{level}. {registry.get(level).name}"
    table = html_table(grid, columns, raw=[f"b{level}" for level in range(1, 6)])
    sentences = ev.sentences[ev.sentences["scope"] != "district"]
    items = [f"{ev.school_name(s)}: {t}" for s, t in zip(sentences["scope"], sentences["sentence"])]
    if len(grid) <= figures.MANY:
        _html(table)
        _bullets(items)
        return
    # many schools: how many schools stand where at each level, with every school's row folded below it
    counts = chain.groupby(["level", "status"]).size().unstack(fill_value=0)
    counts = counts[[s for s in STATUSES if s in counts] + [s for s in counts if s not in STATUSES]]
    summary = counts.reset_index()
    summary["level"] = [f"{level}. {registry.get(level).name}" for level in summary["level"]]
    named = {"level": "Level", **{str(s): str(s) for s in counts.columns}}
    summary.columns = [str(c) for c in summary.columns]
    _paragraph(f"How many of the {len(grid):,} schools stand where at each level (each school's row is below).")
    _html(html_table(summary, named, numeric=[c for c in named if c != "level"]))
    _fold(f"Every school's status and where its chain breaks ({len(grid):,} schools)", table + _list_html(items))


def _fold(summary: str, inner: str) -> None:
    """A long listing (every school's row) closed under a one-line summary: open on a click, and on paper."""
    _html(f'<details class="pl-every-school"><summary>{_esc(summary)}</summary>{inner}</details>')


# ---- the board summary ----


@section
def board_title(ev: Evaluation) -> Section:
    _html(
        f'<h1>{_esc(ev.plan.get("program", ""))}</h1><p class="pl-subtitle">What the district\'s professional '
        f"learning achieved, {_esc(ev.plan.get('school_year', ''))}</p>"
    )
    _sentence(ev.sentences.set_index("scope")["sentence"].get("district", ""))


@section
def board_chain(ev: Evaluation) -> Section:
    _display(chain_table(ev, "district"))


@section
def board_charts(ev: Evaluation, which: str) -> Section:
    """One headline chart: ``implementation``, ``conditions``, ``funnel`` or ``effect``, under its slide's heading."""
    names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
    headings = {
        "implementation": "Classroom practice through the year",
        "conditions": "Conditions for using it, school by school",
        "funnel": "Schools compared, allowing for chance",
        "effect": "Student outcomes",
    }
    _heading(headings.get(which, which))
    if which == "implementation" and ev.table(4, "rates") is not None:
        rates = ev.table(4, "rates")
        district = rates[rates["breakdown"] == "group+month"].copy()
        fig, ax = plt.subplots(figsize=(8, 4))
        for group, colour in (("participant", figures.PALETTE["blue"]), ("comparison", figures.PALETTE["grey"])):
            part = district[district["group"] == group].sort_values("month")
            ax.fill_between(part["month"], part["ci_low"], part["ci_high"], color=colour, alpha=0.2, linewidth=0)
            ax.plot(part["month"], part["estimate"], marker="o", color=colour, label=f"{group} schools")
        target = ev.plan.get("levels", {}).get("practice", {}).get("target")
        if target is not None:
            ax.axhline(target, color=figures.PALETTE["orange"], linestyle="--", label="target")
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.legend(frameon=False)
        ax.tick_params(axis="x", rotation=30)
        last = district[district["group"] == "participant"].sort_values("month").iloc[-1]
        ax.set_title(
            f"The practice was seen in {last['estimate']:.0%} of visits to program classrooms by {last['month']}",
            loc="left",
        )
        fig.tight_layout()
        numbers = district.assign(seen=[_fmt(v, "share") for v in district["estimate"]])
        numbers = numbers.pivot_table(index="month", columns="group", values="seen", aggfunc="first").reset_index()
        _figure(figures.describe(fig, numbers.rename(columns=lambda c: f"{c} schools" if c != "month" else c)))
    elif which == "conditions" and ev.table(3, "matrix") is not None:
        matrix = ev.table(3, "matrix")
        _figure(
            figures.conditions_heatmap(matrix[matrix["group"] == "participant"], ev.table(3, "change"), names=names)
        )
    elif which == "funnel" and ev.table(4, "funnel") is not None:
        _figure(figures.funnel_chart(ev.table(4, "funnel"), ev.table(4, "funnel_curve"), names=names))
    elif which == "effect" and ev.table(5, "sensitivity") is not None:
        main = _measure_rows(ev.table(5, "sensitivity"), "hedges_g").iloc[[0]]
        rows = main.assign(label="Students in program schools")
        target = ev.plan.get("levels", {}).get("outcomes", {}).get("target")
        g = rows.iloc[0]
        title = f"Difference in student scores, in standard deviations ({_ci(ev)} interval)"
        if pd.notna(g["estimate"]) and not bool(g.get("suppressed", False)):
            title = (
                f"Students in program schools scored {g['estimate']:+.2f} SD against similar students "
                f"({_ci(ev)} interval {g['ci_low']:+.2f} to {g['ci_high']:+.2f})"
            )
        _figure(figures.interval_chart(rows, unit="sd", reference=target, title=title))


@section
def board_findings(ev: Evaluation) -> Section:
    _heading("What we found")
    items = []
    for level in (1, 2, 3, 4, 5):
        row = ev.chain[(ev.chain["scope"] == "district") & (ev.chain["level"] == level)]
        if len(row) and pd.notna(row.iloc[0]["estimate"]):
            r = row.iloc[0]
            if pd.isna(r["target"]):  # no target to judge against (level 3 from its staff survey): said, not judged
                judgement = "reported without a target" if r["status"] == "reported" else str(r["status"])
            else:
                judgement = f"target {_fmt(r['target'], r['unit'])}: {r['status']}"
            text = (
                f"{registry.get(level).name}: {_fmt(r['estimate'], r['unit'])} ({r['measure']}; {_ci(ev)} interval "
                f"{_interval(r['ci_low'], r['ci_high'], r['unit'])}); {judgement}"
            )
            if r["status"] in ("met", "not met", "not conclusive"):
                text += f" ({r['status_detail']})"
            items.append(text + ".")
    found = ev.table(5, "findings")
    if found is not None:
        items += list(found["finding"])
    _bullets(items)


# ---- the technical appendix ----


@section
def technical_title(ev: Evaluation) -> Section:
    _html(
        f"<h1>{_esc(ev.plan.get('program', ''))}: technical appendix</h1>"
        f"<p>{_esc(ev.plan.get('school_year', ''))} &middot; for research partners: data, models, diagnostics, "
        "sensitivity and provenance</p>"
    )
    _sentence(ev.sentences.set_index("scope")["sentence"].get("district", ""))


@section
def technical_data(ev: Evaluation) -> Section:
    _heading("Data and attrition")
    attrition = ev.table(5, "attrition")
    if attrition is not None and bool(attrition.iloc[0].get("suppressed", False)):
        _paragraph(f"Attrition is not shown: fewer than {ev.min_n} students with an outcome in one group.", note=True)
    elif attrition is not None:
        a = attrition.iloc[0]

        def people(column: str) -> str:
            return _count(a[column], False, ev.min_n)

        _paragraph(
            f"Baseline students: {people('baseline_treatment')} in program schools, {people('baseline_comparison')} "
            f"in comparison schools; with an outcome: {people('analytic_treatment')} and {people('analytic_comparison')}. "
            f"Overall attrition {a['overall']:.1%}, differential {a['differential'] * 100:.1f} points: "
            f"{a['cautious']} under the WWC cautious boundary, {a['optimistic']} under the optimistic one "
            f"(Standards Handbook v4.1 Table II.1). {people('new_students')} students joined after baseline."
        )
    for level in (1, 2, 3, 4, 5):
        result = ev.levels.get(level)
        if result is not None:
            meta = {k: v for k, v in result.meta.items() if not isinstance(v, dict | list)}
            shown = {k: (f"<{ev.min_n}" if v is None and k in META_PEOPLE else v) for k, v in meta.items()}
            shown = {k: v for k, v in shown.items() if v is not None or k not in ("answers",)}
            _paragraph(
                f"Level {level} ({result.name}): " + "; ".join(f"{k} = {v}" for k, v in shown.items()), note=True
            )


@section
def technical_models(ev: Evaluation) -> Section:
    _heading("Models and assumptions")
    effect = ev.table(5, "effect")
    if effect is not None and effect["suppressed"].astype(bool).any():
        _paragraph(f"The student-outcome model is not shown: fewer than {ev.min_n} students in one group.", note=True)
    elif effect is not None:
        effect = _measure_rows(effect, "points")
        rows = effect.assign(
            shown=[f"{e:.3f}" for e in effect["estimate"]],
            se_shown=[f"{s:.3f}" for s in effect["se"]],
            ci=[f"{lo:.3f} to {hi:.3f}" for lo, hi in zip(effect["ci_low"], effect["ci_high"])],
            df_shown=[f"{d:.1f}" for d in effect["df"]],
            p=[f"{p:.3g}" for p in effect["p_value"]],
        )
        _html(
            html_table(
                rows,
                {
                    "model_term": "Term",
                    "shown": "Estimate",
                    "se_shown": "SE",
                    "ci": f"{_ci(ev)} CI",
                    "df_shown": "df",
                    "p": "p",
                },
                numeric=("shown", "se_shown", "df_shown", "p"),
            )
        )
        first = effect.iloc[0]
        _paragraph(
            f"{first['model']}; standard errors: {first['se_type']}; n = {int(first['n']):,} students in "
            f"{int(first['n_clusters'])} schools ({int(first['n_missing']):,} left out: no outcome or no prior score). "
            "Hedges' g divides the adjusted difference by the unadjusted pooled SD, with the small-sample "
            "correction (WWC Procedures Handbook v5.0). The design is "
            f"'{ev.plan.get('comparison_design', '')}': without random assignment the estimate is an association "
            "adjusted for prior scores and student characteristics, not proof of cause."
        )
    trend = ev.table(4, "trend")
    if trend is not None:
        shown = trend["working_correlation"].dropna()
        correlation = f"; working correlation {shown.iloc[0]:.3f}" if len(shown) else ""
        _paragraph(f"Level 4 trend: {trend.iloc[0]['method']}{correlation}. GEE coefficients are population-averaged.")


@section
def technical_diagnostics(ev: Evaluation) -> Section:
    _heading("Diagnostics")
    baseline = ev.table(5, "baseline")
    if baseline is not None:
        b = baseline.assign(
            g_shown=[
                f"{g:.3f}"
                if pd.notna(g)
                else f"not shown (fewer than {ev.min_n} students with or without it in a group)"
                for g in baseline["g"]
            ]
        )
        _html(
            html_table(
                b,
                {"covariate": "Baseline characteristic", "g_shown": "Difference (g)", "verdict": "WWC verdict"},
                numeric=("g_shown",),
            )
        )
    icc = ev.table(5, "icc")
    if icc is not None:
        _paragraph(
            f"Intraclass correlation of the outcome across schools: {icc.iloc[0]['icc']:.3f} by REML (school "
            f"variance {icc.iloc[0]['tau00']:.2f}, student variance {icc.iloc[0]['sigma2']:.2f}; "
            f"{int(icc.iloc[0]['n_clusters'])} schools); the one-way ANOVA estimator gives "
            f"{icc.iloc[0]['icc_anova']:.3f}."
        )
    clustering = ev.table(5, "clustering")
    if clustering is not None:
        c = clustering.assign(
            shown=[
                f"t = {t:.2f} (df {d:.0f}), p = {p:.3g}"
                for t, d, p in zip(clustering["t_corrected"], clustering["df_corrected"], clustering["p_corrected"])
            ]
        )
        _html(
            html_table(
                c,
                {
                    "assumption": "Hedges (2007) clustering correction of the analysis that ignores schools",
                    "shown": "Corrected test",
                },
            )
        )
        _paragraph(
            "What this is: the WWC's correction for a study that reports only an analysis ignoring schools. It "
            "recovers a t statistic from Hedges' g of the HC1 analysis (covariate-adjusted, ignoring schools) as if "
            "it came from a simple two-group t-test, and deflates it for the intraclass correlation. It is a "
            "cross-check, not this evaluation's test: the main analysis already accounts for schools (its standard "
            "errors are cluster-robust), so its p-value, in the models table above, is the one to report. The two "
            "differ because the correction ignores the covariates' gain in precision and assumes equal schools.",
            note=True,
        )
    reliability = ev.table(1, "reliability")
    if reliability is not None:
        r = _constructs(reliability).assign(shown=_with_ci(reliability, 3))
        _html(
            html_table(
                r,
                {
                    "construct_shown": "Survey construct",
                    "k": "Items",
                    "n": "Responses",
                    "shown": f"Cronbach's alpha (Feldt {_ci(ev)} CI)",
                },
            )
        )


@section
def technical_sensitivity(ev: Evaluation) -> Section:
    _heading("Sensitivity of the student-outcome estimate")
    sensitivity = ev.table(5, "sensitivity")
    if sensitivity is None:
        _paragraph("No comparison group: no estimate to test.", note=True)
        return
    points = _measure_rows(sensitivity, "points")
    g = _measure_rows(sensitivity, "hedges_g").set_index("specification")["estimate"]
    rows = points.assign(
        shown=[
            f"{e:.2f} ({lo:.2f} to {hi:.2f})"
            for e, lo, hi in zip(points["estimate"], points["ci_low"], points["ci_high"])
        ],
        g=[f"{g.get(spec, float('nan')):.3f}" for spec in points["specification"]],
    )
    _html(
        html_table(
            rows,
            {
                "specification": "Analysis",
                "shown": f"Difference in points ({_ci(ev)} CI)",
                "g": "Hedges' g",
                "se_type": "Standard errors",
            },
        )
    )
    subgroups = ev.table(5, "subgroups")
    if subgroups is not None and len(subgroups):
        subgroups = _measure_rows(subgroups, "points")
        s = subgroups.assign(
            shown=[
                ("suppressed" if h else f"{e:.2f} ({lo:.2f} to {hi:.2f})")
                for e, lo, hi, h in zip(
                    subgroups["estimate"], subgroups["ci_low"], subgroups["ci_high"], subgroups["suppressed"]
                )
            ],
            p=[f"{p:.3f}" if pd.notna(p) else "" for p in subgroups["p_value"]],
            q=[f"{p:.3f}" if pd.notna(p) else "" for p in subgroups["p_adjusted"]],
        )
        _html(
            html_table(
                s,
                {
                    "subgroup": "Subgroup",
                    "value": "Value",
                    "shown": f"Difference ({_ci(ev)} CI)",
                    "p": "p",
                    "q": "BH-adjusted p",
                },
            )
        )
    dose = ev.table(5, "dose")
    if dose is not None:
        d = _measure_rows(dose, "points").iloc[0]
        _paragraph(
            f"Exploratory: each 10 points of school implementation went with {d['estimate']:+.1f} points of "
            f"student outcome ({_ci(ev)} CI {d['ci_low']:+.1f} to {d['ci_high']:+.1f}; {int(d['n_clusters'])} schools). "
            "Correlational."
        )


# ---- cost (all reports) ----

_RATIO_LABELS = {
    "cost_per_participant": "per participating educator",
    "cost_per_contact_hour": "per hour of PL attended",
    "cost_per_educator_using_practice": "per educator observed using the practice",
    "cost_per_student": "per student in program schools",
}


def _cost_sentences(ev: Evaluation) -> list[str]:
    cost = ev.levels.get(0)
    ratios = cost.tables["ratios"].set_index("measure")
    total = cost.meta.get("total", 0.0)
    sentences = [
        f"The program cost ${total:,.0f}: ${cost.meta.get('budget_total', 0):,.0f} in budget lines and "
        f"${cost.meta.get('time_total', 0):,.0f} of participants' time valued at "
        f"${cost.meta.get('hourly_rate', 0):,.2f} an hour."
    ]
    parts = [
        f"${row.estimate:,.0f} {_RATIO_LABELS.get(m, m)}" for m, row in ratios.iterrows() if pd.notna(row.estimate)
    ]
    if parts:
        sentences.append("That is " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + ".")
    effectiveness = cost.tables.get("effectiveness")
    if effectiveness is not None:
        row = effectiveness.iloc[0]
        if row["status"] == "estimable":
            sentences.append(
                f"Each 0.1 SD of student gain cost ${row['estimate']:,.0f} per student ({_ci(ev)} interval "
                f"${row['ci_low']:,.0f} to ${row['ci_high']:,.0f})."
            )
        else:
            sentences.append(
                "Cost per unit of student gain: not estimable, because "
                + row["status"].removeprefix("not estimable: ")
                + "."
            )
    return sentences


@section
def district_cost(ev: Evaluation) -> Section:
    """Cost by funding source and category, by school, and the cost-per-outcome sentences."""
    _heading("Cost and who paid")
    cost = ev.levels.get(0)
    if cost is None or not cost.evidence:
        _paragraph("No costs were recorded (costs.csv is absent).", note=True)
        return
    for sentence in _cost_sentences(ev):
        _sentence(sentence)
    _figure(figures.cost_chart(cost.tables["by_source_category"]))
    by_category = cost.tables["by_category"].assign(
        label=lambda f: f["category"].map(figures.CATEGORY_LABELS).fillna(f["category"]),
        shown=lambda f: [f"${v:,.0f}" for v in f["cost"]],
        pct=lambda f: [f"{v:.0%}" for v in f["share"]],
    )
    _html(html_table(by_category, {"label": "Category", "shown": "Cost", "pct": "Share"}, numeric=("shown", "pct")))
    schools = cost.tables["schools"].assign(
        name=lambda f: f["school_id"].map(ev.school_name),
        shown=lambda f: ["not shown" if h else f"${v:,.0f}" for v, h in zip(f["cost"], f["suppressed"])],
        people=lambda f: [_count(v, p, ev.min_n) for v, p in zip(f["participants"], f["complementary"].astype(bool))],
        per=lambda f: [
            "not shown" if h else f"${v:,.0f}" if pd.notna(v) else "not estimable"
            for v, h in zip(f["cost_per_participant"], f["suppressed"])
        ],
    )
    lines = cost.tables["lines"]
    pooled = lines[lines["school_id"].isna() & lines["rule"].fillna("").str.contains("not shown")]
    if len(pooled):
        together = pd.DataFrame(
            [
                {
                    "name": "Schools not shown, together",
                    "shown": f"${pooled['charged'].sum():,.0f}",
                    "people": "",
                    "per": "",
                }
            ]
        )
        schools = pd.concat([schools, together], ignore_index=True)
    columns = {
        "name": "School",
        "shown": "Cost (shared lines allocated)",
        "people": "Participants",
        "per": "Per participant",
    }
    table = html_table(schools, columns, numeric=("shown", "people", "per"))
    if len(schools) <= figures.MANY:
        _html(table)
    else:  # many schools: the range, the costliest per participant, and every school's row folded below
        shown = schools[~schools["suppressed"].fillna(True).astype(bool) & schools["cost_per_participant"].notna()]
        per = shown["cost_per_participant"]
        if len(per):
            _paragraph(
                f"Cost per participant across the {len(per):,} schools shown: median ${per.median():,.0f} "
                f"(from ${per.min():,.0f} to ${per.max():,.0f}); the {min(len(per), figures.MANY)} highest:"
            )
            costliest = shown.sort_values(["cost_per_participant", "name"], ascending=[False, True])
            _html(html_table(costliest.head(figures.MANY), columns, numeric=("shown", "people", "per")))
        _fold(f"Every school's cost ({len(schools):,} rows)", table)
    years = cost.tables["by_year"]
    if len(years) > 1:
        y = years.assign(shown=[f"${v:,.0f}" for v in years["cost"]])
        _html(html_table(y, {"school_year": "School year", "shown": "Cost charged"}, numeric=("shown",)))
    _paragraph(
        "Costs follow the ingredients method (Levin & McEwan): every resource, including participants' time. "
        "District-wide lines are shared among program schools in proportion to their participating educators.",
        note=True,
    )


@section
def school_cost(ev: Evaluation, school_id: str) -> Section:
    _heading("Cost")
    cost = ev.levels.get(0)
    if cost is None or not cost.evidence:
        _paragraph("No costs were recorded.", note=True)
        return
    schools = cost.tables["schools"]
    if school_id not in set(schools["school_id"]):
        _paragraph("A comparison school: no program costs.", note=True)
        return
    row = schools.set_index("school_id").loc[school_id]
    lines = cost.tables["lines"]
    mine = lines[lines["school_id"] == school_id].groupby("category")["charged"].sum().reset_index()
    mine = mine.assign(
        label=mine["category"].map(figures.CATEGORY_LABELS).fillna(mine["category"]),
        shown=[f"${v:,.0f}" for v in mine["charged"]],
    )
    if bool(row["suppressed"]):
        _paragraph(
            "This school's share of the program's cost, its number of participating educators and its cost "
            "per participant are not shown: district-wide costs are shared by participating educators, so "
            "they would reveal how many took part, and fewer than the reporting minimum did here (or at a "
            "school this one protects). They are pooled with other schools not shown in the district report.",
            note=True,
        )
        return
    else:
        per = (
            f"${row['cost_per_participant']:,.0f} per participating educator"
            if pd.notna(row["cost_per_participant"])
            else "no participating educators"
        )
        _paragraph(
            f"This school's share of the program: ${row['cost']:,.0f} ({per}; "
            f"{format_n(row['participants'], ev.min_n)} participants, {row['hours']:,.0f} hours of PL attended)."
        )
    _html(html_table(mine, {"label": "Category", "shown": "Cost"}, numeric=("shown",)))


@section
def board_cost(ev: Evaluation) -> Section:
    _heading("What it cost")
    cost = ev.levels.get(0)
    if cost is None or not cost.evidence:
        _paragraph("No costs were recorded.", note=True)
        return
    _figure(figures.cost_chart(cost.tables["by_source_category"]))
    _bullets(_cost_sentences(ev))


# ---- a program over several school years (plevaluate.years) ----


def _years(ev: Evaluation) -> dict[str, pd.DataFrame] | None:
    """The year-by-year tables of a multi-year evaluation, or None for one school year."""
    return ev.extras if "years_trend" in ev.extras else None


def _trend_cells(trend: pd.DataFrame) -> pd.DataFrame:
    """One row per level, one column per year: the headline, its interval and that year's status."""
    cells = trend.assign(
        shown=[
            (f"{_esc(_fmt(e, u))} ({_esc(_interval(lo, hi, u))})<br>" if pd.notna(e) and pd.notna(lo) else
             f"{_esc(_fmt(e, u))}<br>" if pd.notna(e) else "") + _status(str(s))
            for e, lo, hi, u, s in zip(trend["estimate"], trend["ci_low"], trend["ci_high"], trend["unit"], trend["status"])
        ]
    )  # fmt: skip
    wide = cells.pivot(index=["level", "level_name"], columns="year", values="shown").reset_index()
    return wide.sort_values("level", kind="stable")


@section
def district_years(ev: Evaluation) -> Section:
    """Year by year: each level's headline by year, the change in words, level 4 in months since joining
    (cohorts overlaid), and the staggered effect on students. Nothing for a single school year."""
    extras = _years(ev)
    if extras is None:
        return
    trend = extras["years_trend"]
    about = extras["years_about"].iloc[0]
    years = [y for y in str(about["years"]).split(", ") if y]
    _heading("Year by year")
    _paragraph(
        f"The program has run {len(years)} school years ({', '.join(years)}). This report is about "
        f"{ev.plan.get('school_year', '')}; each level's result in every year is below, each judged against that "
        "year's target."
    )
    _bullets(extras["years_sentences"]["sentence"])
    wide = _trend_cells(trend[trend["level"] > 0])
    _html(html_table(wide, {"level_name": "Level", **{y: y for y in years}}, raw=years))
    _paragraph(
        "Each year's student-outcome result is that year's growth from the spring before, program schools against "
        "comparison schools; the chart further down adds the years up: the difference since each school joined.",
        note=True,
    )
    practice = extras.get("years_practice")
    if practice is not None and len(practice):
        target = ev.plan.get("levels", {}).get("practice", {}).get("target")
        _figure(figures.cohort_event_chart(practice, target=target, ci=_ci(ev)))
        _paragraph(
            "Schools that joined in different years, compared at the same point of their journey. A school's months "
            "are counted only where its own rate is shown in that year's report, so no line reveals a hidden school.",
            note=True,
        )
    _staggered(extras, ev)


def _staggered(extras: Mapping[str, pd.DataFrame], ev: Evaluation) -> None:
    about = extras["years_about"].iloc[0]
    event = extras.get("years_effects_event")
    if event is None:
        if isinstance(about["note"], str) and about["note"]:
            _paragraph(f"Students, across the years: {about['note']}.", note=True)
        return
    _staggered_figure(extras, ev)
    cohorts = extras["years_effects_cohort"]
    shown = cohorts.assign(
        shown=[_fmt(e, "sd") for e in cohorts["estimate"]],
        interval=[_interval(lo, hi, "sd") for lo, hi in zip(cohorts["ci_low"], cohorts["ci_high"])],
    )
    _html(
        html_table(
            shown,
            {"cohort": "Joined", "shown": "Average difference since joining", "interval": f"{_ci(ev)} interval",
             "treated_schools": "Program schools", "control_schools": "Comparison schools"},
            numeric=("treated_schools", "control_schools"),
        )
    )  # fmt: skip
    note = f" {about['note']}." if isinstance(about["note"], str) and about["note"] else ""
    _paragraph(
        "Students' spring scores, standardized within each spring, compared between program schools and schools "
        "not (yet) in the program, for each cohort and year (Callaway & Sant'Anna group-time effects; never a "
        "two-way fixed-effects regression, which mixes early and late joiners). The years before joining check "
        f"that both groups were on the same path; this is a comparison, not a lottery.{note}",
        note=True,
    )


@section
def school_years(ev: Evaluation, school_id: str) -> Section:
    """This school's chain of evidence in every year the program has run (its own published rows), with the
    changes in words. Nothing for a single school year."""
    extras = _years(ev)
    if extras is None or "years_trend_schools" not in extras:
        return
    trend = extras["years_trend_schools"]
    mine = trend[(trend["scope"] == school_id) & (trend["level"] > 0)]
    if mine.empty:
        return
    years = sorted(mine["year"].unique())
    _heading("This school, year by year")
    sentences = extras.get("years_sentences_schools")
    if sentences is not None and len(sentences):
        _bullets(sentences.loc[sentences["scope"] == school_id, "sentence"])
    wide = _trend_cells(mine)
    _html(html_table(wide, {"level_name": "Level", **{y: y for y in years}}, raw=years))
    _paragraph(
        "Each year is judged against that year's target; the district's results are in the district report.", note=True
    )


def _staggered_figure(extras: Mapping[str, pd.DataFrame], ev: Evaluation) -> None:
    """The effect on students by years in the program, titled with the average over cohorts."""
    overall = extras["years_effects_overall"].set_index("aggregation").loc["cohort"]
    event = extras["years_effects_event"]
    _figure(figures.staggered_chart(event, overall["estimate"], overall["ci_low"], overall["ci_high"], ci=_ci(ev)))


@section
def board_years(ev: Evaluation) -> Section:
    """The board's view of the years: what changed, in words, and the effect on students by years in the program."""
    extras = _years(ev)
    if extras is None:
        return
    _heading("Over the years")
    _bullets(extras["years_sentences"]["sentence"])
    if extras.get("years_effects_event") is not None:
        _staggered_figure(extras, ev)


@section
def technical_years(ev: Evaluation) -> Section:
    """For research partners: the staggered-adoption estimator, every group-time effect and the aggregations."""
    extras = _years(ev)
    if extras is None:
        return
    _heading("Staggered adoption: group-time effects")
    about = extras["years_about"].iloc[0]
    cells = extras.get("years_effects_cell")
    if cells is None:
        _paragraph(f"Not estimated: {about['note']}." if about["note"] else "Not estimated.")
        return
    _paragraph(f"Method: {about['method']}.")
    shown = cells.assign(
        shown=[f"{e:.3f}" for e in cells["estimate"]],
        se_shown=[f"{s:.3f}" for s in cells["se"]],
        interval=[f"{lo:.3f} to {hi:.3f}" for lo, hi in zip(cells["ci_low"], cells["ci_high"])],
        when=["after joining" if p else "before (placebo)" for p in cells["post"]],
    )
    _html(
        html_table(
            shown,
            {"cohort": "Joined", "year": "Spring", "event_time": "Years since joining", "when": "Period",
             "shown": "ATT(g,t) (SD)", "se_shown": "SE", "interval": f"{_ci(ev)} interval",
             "treated_schools": "Program schools", "control_schools": "Control schools"},
            numeric=("year", "event_time", "shown", "se_shown", "treated_schools", "control_schools"),
        )
    )  # fmt: skip
    overall = extras["years_effects_overall"]
    _html(
        html_table(
            overall.assign(
                shown=[f"{e:.3f}" for e in overall["estimate"]],
                interval=[f"{lo:.3f} to {hi:.3f}" for lo, hi in zip(overall["ci_low"], overall["ci_high"])],
            ),
            {"aggregation": "Aggregation", "meaning": "What it averages", "shown": "Estimate (SD)",
             "interval": f"{_ci(ev)} interval"},
            numeric=("shown",),
        )
    )  # fmt: skip
    _paragraph(
        "Standard errors are csdid's analytic influence-function SEs clustered by school; intervals multiply them by "
        "sqrt(m/(m-1)), m the smaller of the program and control schools compared, and use a t with G-2 degrees of "
        "freedom: with six schools a group, over 120 simulated districts, the uncorrected 95% intervals covered the "
        "true effects 90% of the time and the corrected ones 95% (tests/test_years.py).",
        note=True,
    )


# ---- the district portfolio (plevaluate.portfolio) ----


def open_portfolio(results: str = "", programs: str = ""):
    """The portfolio's tables, as `plevaluate.render.render_portfolio` saved them (``results``), or built now
    from ``programs``, a folder holding one data folder per program."""

    return Portfolio.load(results) if results else build_portfolio(programs)


def _program_link(program_id: str, program: str) -> str:
    return f'<a href="{html.escape(program_id)}/district-report.html">{_esc(program)}</a>'


@section
def portfolio_title(pf) -> Section:
    programs = pf.programs
    years = sorted({y for text in programs["years"] for y in str(text).split(", ") if y})
    span = f"{years[0]} to {years[-1]}" if len(years) > 1 else (years[0] if years else "")
    _html(
        f"<h1>Professional learning portfolio</h1><p class='pl-subtitle'>{len(programs)} programs, {_esc(span)}: "
        "what each achieved at each of Guskey's five levels, what it cost and who paid</p>"
    )
    _bullets(pf.notes["note"])


@section
def portfolio_chains(pf) -> Section:
    """Every program's chain of evidence, one row per program and year."""
    _heading("Chains of evidence, program by program and year by year")
    names = dict(zip(pf.programs["program_id"], pf.programs["program"]))
    chains = pf.chains[pf.chains["level"] > 0]
    cells = chains.assign(
        shown=[
            (f"{_esc(_fmt(e, u))}<br>" if pd.notna(e) else "") + _status(str(s))
            for e, u, s in zip(chains["estimate"], chains["unit"], chains["status"])
        ]
    )
    wide = cells.pivot(index=["program_id", "year"], columns="level", values="shown").reset_index()
    wide["program"] = [_program_link(p, names.get(p, p)) for p in wide["program_id"]]
    labels = chains.drop_duplicates("level").set_index("level")["level_name"]
    columns = {"program": "Program", "year": "Year", **{lv: f"{lv}. {labels[lv]}" for lv in sorted(labels.index)}}
    _html(html_table(wide, columns, raw=["program", *sorted(labels.index)]))
    _paragraph(
        "Each cell: the level's headline result that year and whether its target was met (the whole interval above "
        "it), not met (the whole interval below) or not conclusive. A program's name opens its own district report.",
        note=True,
    )


@section
def portfolio_costs(pf) -> Section:
    """Cost per participant and per student, and cost-effectiveness where an effect is estimable."""
    _heading("What each program cost")
    names = dict(zip(pf.programs["program_id"], pf.programs["program"]))
    costs = pf.costs
    rows = []
    for program_id, part in costs.groupby("program_id", sort=False):
        by = part.set_index("measure")
        rows.append(
            {
                "program": _program_link(program_id, names.get(program_id, program_id)),
                "year": part["year"].iloc[0],
                "participant": _cost_value(by, "cost_per_participant"),
                "student": _cost_value(by, "cost_per_student"),
                "effect": _cost_value(by, "cost_per_student_per_0.1_sd"),
            }
        )
    for program_id in pf.programs["program_id"]:
        if program_id not in set(costs["program_id"]):
            rows.append({"program": _program_link(program_id, names[program_id]), "participant": "no costs recorded"})
    _html(
        html_table(
            pd.DataFrame(rows),
            {"program": "Program", "year": "Year", "participant": "Cost per participant",
             "student": "Cost per student", "effect": "Cost per student for each 0.1 SD of effect"},
            raw=["program"],
        )
    )  # fmt: skip
    _paragraph(
        "Costs follow the ingredients method: every resource, whoever paid for it, including participants' time. "
        "Cost per 0.1 SD is shown only where the effect on students is distinguishable from zero.",
        note=True,
    )


def _cost_value(by: pd.DataFrame, measure: str) -> str:
    if measure not in by.index:
        return "not recorded"
    row = by.loc[measure]
    return _fmt(row["estimate"], "dollars") if str(row["status"]) == "estimable" else str(row["status"])


@section
def portfolio_funding(pf) -> Section:
    """Funding sources across programs."""
    _heading("Who paid: funding sources across programs")
    funding = pf.funding
    if funding.empty:
        _paragraph("No program recorded its costs.", note=True)
        return
    names = dict(zip(pf.programs["program_id"], pf.programs["program"]))
    shown = funding.assign(category=funding["program_id"].map(names))
    _figure(figures.cost_chart(shown[["funding_source", "category", "cost"]]))
    wide = funding.pivot_table(index="funding_source", columns="program_id", values="cost", aggfunc="sum", fill_value=0)
    wide["total"] = wide.sum(axis=1)
    table = wide.reset_index()
    columns = {"funding_source": "Funding source", **{p: names.get(p, p) for p in wide.columns if p != "total"}}
    for column in [*columns][1:] + ["total"]:
        table[column] = [_fmt(v, "dollars") for v in table[column]]
    _html(html_table(table, {**columns, "total": "All programs"}, numeric=[*columns][1:] + ["total"]))


@section
def portfolio_provenance(pf) -> Section:

    folders = ", ".join(f"{r.folder} ({r.years})" for r in pf.programs.itertuples())
    _paragraph(
        f"Made by plevaluate {__version__} from the program folders {folders}. Every number comes from each "
        "program's published evaluation (small groups suppressed as in its own reports); each program's reports "
        "end with its data files' hashes.",
        note=True,
    )
