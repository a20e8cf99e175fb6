"""The presentation layer: sections of the report notebooks, drawn from an `Evaluation`.

Notebooks stay thin: a parameters cell, then one call per section. Each section returns a
`plevaluate.report.toolkit.Section` (its HTML and charts, in order, built explicitly), which the notebook
displays; a level's own sections are in its package and found through `plevaluate.registry`
(`level_sections`). Every function here only formats and
arranges what `plevaluate.evaluate` computed: no statistic is computed here. Text
that comes from the data (school names, item wording, notes) is HTML-escaped; counts below the
plan's ``min_n`` show as ``<10``; no student ID or educator name is ever shown.
"""

from __future__ import annotations

import hashlib
import html
import importlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from .. import figures, registry
from ..chain import STATUSES
from ..contract import load
from ..evaluate import Evaluation
from ..portfolio import Portfolio, build_portfolio
from ..privacy import META_PEOPLE
from ..version import __version__
from ..years import evaluate_for_reports
from . import toolkit as tk
from .toolkit import Section, html_table

__all__ = [
    "Section",
    "level_sections",
    "board_chain",
    "board_charts",
    "board_findings",
    "board_title",
    "district_schools",
    "district_title",
    "chain_table",
    "html_table",
    "notes",
    "open_results",
    "provenance",
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


def setup() -> tk.Section:
    """The report look: chart theme, PNG figures at a readable size, the table styles."""
    out = tk.Section()
    figures.theme()
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # outside a kernel
        pass
    plt.rcParams["figure.dpi"] = 96
    tk.restart_table_ids()  # each report numbers its tables from 1: the same ids on every render
    out = out.show_html(f"<style>{tk.CSS_FILE.read_text(encoding='utf-8')}</style>")
    return out


def warm_up() -> None:
    """Draw one small chart and one small table, the way a report does, and show neither: a worker's kernel
    runs this as it starts (`plevaluate.render.WARM_UP`), so matplotlib's fonts and great_tables' templates
    are loaded before the first report instead of during it."""
    figures.theme()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.bar(["a", "b"], [1, 2])
    ax.set_title("warm-up")
    tk.Chart(fig)
    tk.html_table(pd.DataFrame({"a": ["1"], "b": ["x"]}), {"a": "A", "b": "B"}, numeric=["a"], table_id="pl-warm-up")


def section_of(level, report: str) -> Callable | None:
    """The level's entry for ``report`` in its ``sections`` (``"module:function"``), imported, or None."""
    target = level.sections.get(report)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def ordered(levels: Iterable) -> list:
    """Levels in the order reports show them: 1, 2, ... then cost (0)."""
    return sorted(levels, key=lambda level: (level.number == 0, level.number))


def guskey_levels() -> list:
    """The levels of evidence a chain of evidence judges (every registered level but cost), by number."""
    return [level for level in registry.levels() if level.number >= 1]


def level_sections(ev: Evaluation, report: str, *args) -> tk.Section:
    """Every level's section of one report, from `plevaluate.registry`: levels 1, 2, ... in order, then cost.
    ``report`` is ``district`` (``level_sections(ev, "district")``), ``school`` (``level_sections(ev, "school",
    school_id)``), ``board`` or ``technical``. A level added by a plugin appears here without any edit to the
    notebooks."""
    parts: list = []
    for level in ordered(registry.levels()):
        function = section_of(level, report)
        if function is not None:
            shown = function(ev, *args)
            parts.extend(shown.parts if isinstance(shown, tk.Section) else [shown])
    return tk.Section(parts)


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


# ---- shared sections ----


def chain_table(ev: Evaluation, scope: str = "district") -> tk.Section:
    """The chain of evidence: one row per Guskey level with the estimate, interval, target and status."""
    out = tk.Section()
    rows = ev.chain[ev.chain["scope"] == scope].copy()
    rows["level_label"] = [f"{lv}. {name}" for lv, name in zip(rows["level"], rows["level_name"])]
    rows["shown_estimate"] = [
        ""
        if s in ("too few people to report", "hidden to protect a smaller group", "not yet measured", "not applicable")
        else tk.fmt(v, u)
        for v, u, s in zip(rows["estimate"], rows["unit"], rows["status"])
    ]
    rows["shown_interval"] = [
        tk.interval(lo, hi, u) for lo, hi, u in zip(rows["ci_low"], rows["ci_high"], rows["unit"])
    ]
    rows["shown_target"] = [tk.fmt(t, "rating" if u == "rating" else u) for t, u in zip(rows["target"], rows["unit"])]
    rows["badge"] = [
        tk.status_badge(
            s, d if s in ("met", "not met", "not conclusive") or (s == "reported" and lv >= 1 and d != s) else ""
        )
        for s, d, lv in zip(rows["status"], rows["status_detail"], rows["level"])
    ]  # a level reported without a target (level 3 from its staff survey) says what its evidence shows
    out = out.heading("Chain of evidence")
    out = out.show_html(
        tk.html_table(
            rows,
            {
                "level_label": "Level",
                "measure": "Measure",
                "shown_estimate": "Result",
                "shown_interval": f"{tk.ci_words(ev)} interval",
                "shown_target": "Target",
                "badge": "Status",
                "evidence": "Evidence",
            },
            numeric=("shown_estimate", "shown_target"),
            raw=("badge",),
        )
    )
    return out


def notes(ev: Evaluation, scope: str = "district", levels: Iterable[int] | None = None) -> tk.Section:
    """The caveats for ``scope``: district-wide ones and, in a school's report, the school's own (never
    another school's); the district report names the school of each school note."""
    out = tk.Section()
    out = out.heading("Notes on the data")
    table = ev.notes(scope, levels)
    items = [f"{'Cost' if lv == 0 else f'Level {lv}'}: {text}" for lv, text in zip(table["level"], table["text"])]
    about_schools = (table["scope"] != "district").to_numpy()
    if scope != "district" or table.loc[about_schools, "scope"].nunique() <= figures.MANY:
        out = out.bullets(items or ["No caveats were recorded."])
        return out
    # many schools: the district-wide notes, then every note about one school folded under a count
    out = out.bullets([item for item, own in zip(items, about_schools) if not own])
    schools = table.loc[about_schools, "scope"].nunique()
    listed = tk.list_html(item for item, own in zip(items, about_schools) if own)
    out = out.fold(f"Notes about single schools ({int(about_schools.sum()):,} notes on {schools:,} schools)", listed)
    return out


def provenance(ev: Evaluation, *, every_setting: bool = False) -> tk.Section:
    """plevaluate version, the SHA-256 of every input file, the package versions, the date and the plan's settings:
    those set, or with ``every_setting`` (the technical appendix) every one, those left empty too (a board summary
    listed dozens of settings reading "none", a reader's review)."""
    out = tk.Section()
    p = ev.provenance
    out = out.heading("Provenance")
    out = out.paragraph(
        f"Evaluated {p.get('evaluated_at', '')} with plevaluate {p.get('plevaluate_version', '')} "
        f"from the data folder '{p.get('data_folder', '')}'; no step is random: the same data and plan give "
        "the same results. "
        f"Small groups: statistics about fewer than {ev.min_n} people are not shown."
    )
    hashes = pd.DataFrame(sorted(p.get("file_hashes", {}).items()), columns=["file", "sha256"])
    out = out.show_html(tk.html_table(hashes, {"file": "Input file", "sha256": "SHA-256"}))
    versions = pd.DataFrame(sorted(p.get("python_packages", {}).items()), columns=["package", "version"])
    out = out.show_html(tk.html_table(versions, {"package": "Package", "version": "Version"}))
    plan = pd.DataFrame(_settings(ev.plan), columns=["setting", "value"])
    if not every_setting:
        empty = plan["value"].isin(["", "none"])
        plan = plan[~empty]
        if empty.any():
            out = out.paragraph(
                f"The plan's settings as evaluated; {int(empty.sum())} left empty are not listed (the technical "
                "appendix lists every setting).",
                note=True,
            )
    out = out.show_html(tk.html_table(plan, {"setting": "Plan setting", "value": "Value"}))
    return out


def _settings(value, key: str = "") -> list[tuple[str, str]]:
    """Every setting of the plan as (dotted key, value in words): nested settings one row each (``cost.discount_rate``,
    ``rationale.references.0.citation``), never a printed dict; an empty setting reads "none"."""
    if isinstance(value, dict):
        rows = [row for name, inner in value.items() for row in _settings(inner, f"{key}.{name}" if key else name)]
        return rows or [(key, "none")]
    if isinstance(value, list | tuple):
        rows = [row for i, inner in enumerate(value) for row in _settings(inner, f"{key}.{i}")]
        return rows or [(key, "none")]
    return [(key, "" if value is None else str(value))]


# ---- the school report ----


def school_title(ev: Evaluation, school_id: str) -> tk.Section:
    """The school report's lead: where the school's chain of evidence holds and breaks. The title above it is the
    notebook's Markdown (its placeholders filled by the papermill engine, `plevaluate._engine.fill_placeholders`)."""
    return tk.Section().sentence(ev.sentences.set_index("scope")["sentence"].get(school_id, ""))


def school_next_steps(ev: Evaluation, school_id: str) -> tk.Section:
    """What to do next: each level's own steps (its ``next_steps`` entry: level 3's lowest-rated conditions
    and principal participation), then the gaps to the plan's targets of every other level. A comparison school is
    told what it is, and asked for nothing."""
    out = tk.Section()
    out = out.heading("What to do next")
    group = ev.schools.set_index("school_id")["group"].get(school_id) if "group" in ev.schools else None
    if group == "comparison":  # a reader's review: comparison schools were told to protect time for the program and
        # to have their principal attend its sessions, which would blur the comparison the evaluation rests on
        return out.paragraph(
            "This school was not in the program this year: it is one of the comparison schools the program's schools "
            "are measured against. Its results describe the school, not the program, and nothing here asks it to "
            "take up the program's practices: doing so would blur the comparison."
        )
    steps = []
    own = set()
    for level in ordered(registry.levels()):
        hook = section_of(level, "next_steps")
        if hook is not None:
            steps += hook(ev, school_id)
            own.add(level.number)
    chain = ev.chain[(ev.chain["scope"] == school_id) & ev.chain["status"].isin(["not met", "not conclusive"])]
    for row in chain.itertuples():
        if row.level in own:
            continue
        if row.status == "not met":
            steps.append(
                f"Level {row.level} ({row.level_name.lower()}): {tk.fmt(row.estimate, row.unit)} against the "
                f"plan's target of {tk.fmt(row.target, row.unit)}: not met."
            )
        else:
            steps.append(
                f"Level {row.level} ({row.level_name.lower()}): {tk.fmt(row.estimate, row.unit)} against the "
                f"plan's target of {tk.fmt(row.target, row.unit)}: not conclusive (the {tk.ci_words(ev)} interval, "
                f"{tk.interval(row.ci_low, row.ci_high, row.unit)}, includes the target); "
                f"{registry.get(row.level).more_evidence}."
            )
    out = out.bullets(
        steps or ["This school met every target that could be measured; keep the conditions that got it there."]
    )
    return out


# ---- the district report ----


def district_title(ev: Evaluation) -> tk.Section:
    """The district report's lead (the title above it is the notebook's Markdown)."""
    return tk.Section().sentence(ev.sentences.set_index("scope")["sentence"].get("district", ""))


def district_schools(ev: Evaluation) -> tk.Section:
    """A school x level grid of statuses: the pattern across schools no single principal sees."""
    out = tk.Section()
    out = out.heading("Every school at a glance")
    chain = ev.chain[(ev.chain["scope"] != "district") & (ev.chain["level"] >= 1)]
    grid = chain.pivot(index="scope", columns="level", values="status")
    grid = grid.reset_index().rename(columns={"scope": "school_id"})
    grid["name"] = grid["school_id"].map(ev.school_name)
    columns = {"name": "School"}
    for level in guskey_levels():
        if level.number in grid:
            grid[f"b{level.number}"] = [tk.status_badge(s) for s in grid[level.number]]
            columns[f"b{level.number}"] = f"{level.number}. {level.name}"
    table = tk.html_table(grid, columns, raw=[c for c in columns if c != "name"])
    sentences = ev.sentences[ev.sentences["scope"] != "district"]
    items = [f"{ev.school_name(s)}: {t}" for s, t in zip(sentences["scope"], sentences["sentence"])]
    if len(grid) <= figures.MANY:
        out = out.show_html(table)
        out = out.bullets(items)
        return out
    # many schools: how many schools stand where at each level, with every school's row folded below it
    counts = chain.groupby(["level", "status"]).size().unstack(fill_value=0)
    counts = counts[[s for s in STATUSES if s in counts] + [s for s in counts if s not in STATUSES]]
    summary = counts.reset_index()
    summary["level"] = [f"{number}. {registry.get(number).name}" for number in summary["level"]]
    named = {"level": "Level", **{str(s): str(s) for s in counts.columns}}
    summary.columns = [str(c) for c in summary.columns]
    out = out.paragraph(
        f"How many of the {len(grid):,} schools stand where at each level (each school's row is below)."
    )
    out = out.show_html(tk.html_table(summary, named, numeric=[c for c in named if c != "level"]))
    out = out.fold(
        f"Every school's status and where its chain breaks ({len(grid):,} schools)", table + tk.list_html(items)
    )
    return out


# ---- the board summary ----


def board_title(ev: Evaluation) -> tk.Section:
    """The board summary's lead, on its title slide (the title is the notebook's Markdown)."""
    return tk.Section().sentence(ev.sentences.set_index("scope")["sentence"].get("district", ""))


def board_chain(ev: Evaluation) -> tk.Section:
    out = tk.Section()
    out = out.display(chain_table(ev, "district"))
    return out


def board_findings(ev: Evaluation) -> tk.Section:
    out = tk.Section()
    out = out.heading("What we found")
    items = []
    for level in guskey_levels():
        row = ev.chain[(ev.chain["scope"] == "district") & (ev.chain["level"] == level.number)]
        if len(row) and pd.notna(row.iloc[0]["estimate"]):
            r = row.iloc[0]
            if pd.isna(r["target"]):  # no target to judge against (level 3 from its staff survey): said, not judged
                judgement = "reported without a target" if r["status"] == "reported" else str(r["status"])
            else:
                judgement = f"target {tk.fmt(r['target'], r['unit'])}: {r['status']}"
            text = (
                f"{level.name}: {tk.fmt(r['estimate'], r['unit'])} ({r['measure']}; {tk.ci_words(ev)} interval "
                f"{tk.interval(r['ci_low'], r['ci_high'], r['unit'])}); {judgement}"
            )
            if r["status"] in ("met", "not met", "not conclusive"):
                text += f" ({r['status_detail']})"
            items.append(text + ".")
    for level in ordered(registry.levels()):
        hook = section_of(level, "findings")
        if hook is not None:
            items += hook(ev)
    out = out.bullets(items)
    return out


# ---- the technical appendix ----


def technical_title(ev: Evaluation) -> tk.Section:
    """The technical appendix's lead (the title above it is the notebook's Markdown)."""
    return tk.Section().sentence(ev.sentences.set_index("scope")["sentence"].get("district", ""))


#: A level's ``meta`` keys as the technical appendix names them: a survey's "respondents" count its responses (one
#: for each session an educator answered about), which a reader took for educators (785 against the chain's 185).
_META_WORDS = {"respondents": "responses"}


def technical_data(ev: Evaluation) -> tk.Section:
    """How each level's result was made (its ``meta``: the plan values used, methods, counts of rows read)."""
    out = tk.Section()
    out = out.heading("Data")
    for level in guskey_levels():
        result = ev.levels.get(level.number)
        if result is not None:
            meta = {k: v for k, v in result.meta.items() if not isinstance(v, dict | list)}
            shown = {k: (f"<{ev.min_n}" if v is None and k in META_PEOPLE else v) for k, v in meta.items()}
            shown = {k: ("not set" if v is None else v) for k, v in shown.items() if v is not None or k != "answers"}
            said = "; ".join(f"{_META_WORDS.get(k, k)} = {v}" for k, v in shown.items()) or (
                "no evidence collected" if not result.evidence else "nothing recorded"
            )
            out = out.paragraph(f"Level {level.number} ({result.name}): {said}", note=True)
    return out


# ---- cost (all reports) ----


# ---- a program over several school years (plevaluate.years) ----


def _years(ev: Evaluation) -> dict[str, pd.DataFrame] | None:
    """The year-by-year tables of a multi-year evaluation, or None for one school year."""
    return ev.extras if "years_trend" in ev.extras else None


def _trend_cells(trend: pd.DataFrame) -> pd.DataFrame:
    """One row per level, one column per year: the headline, its interval and that year's status."""
    cells = trend.assign(
        shown=[
            (f"{tk.esc(tk.fmt(e, u))} ({tk.esc(tk.interval(lo, hi, u))})<br>" if pd.notna(e) and pd.notna(lo) else
             f"{tk.esc(tk.fmt(e, u))}<br>" if pd.notna(e) else "") + tk.status_badge(str(s))
            for e, lo, hi, u, s in zip(trend["estimate"], trend["ci_low"], trend["ci_high"], trend["unit"], trend["status"])
        ]
    )  # fmt: skip
    wide = cells.pivot(index=["level", "level_name"], columns="year", values="shown").reset_index()
    return wide.sort_values("level", kind="stable")


def district_years(ev: Evaluation) -> tk.Section:
    """Year by year: each level's headline by year, the change in words, level 4 in months since joining
    (cohorts overlaid), and the staggered effect on students. Nothing for a single school year."""
    out = tk.Section()
    extras = _years(ev)
    if extras is None:
        return out
    trend = extras["years_trend"]
    about = extras["years_about"].iloc[0]
    years = [y for y in str(about["years"]).split(", ") if y]
    out = out.heading("Year by year")
    out = out.paragraph(
        f"The program has run {len(years)} school years ({', '.join(years)}). This report is about "
        f"{ev.plan.get('school_year', '')}; each level's result in every year is below, each judged against that "
        "year's target."
    )
    out = out.bullets(extras["years_sentences"]["sentence"])
    wide = _trend_cells(trend[trend["level"] > 0])
    out = out.show_html(tk.html_table(wide, {"level_name": "Level", **{y: y for y in years}}, raw=years))
    out = out.paragraph(
        "Each year's student-outcome result is that year's growth from the spring before, program schools against "
        "comparison schools; the chart further down adds the years up: the difference since each school joined.",
        note=True,
    )
    for level in ordered(registry.levels()):
        part = section_of(level, "years_district")
        if part is not None:
            out = out.display(part(ev))
    return out


def school_years(ev: Evaluation, school_id: str) -> tk.Section:
    """This school's chain of evidence in every year the program has run (its own published rows), with the
    changes in words. Nothing for a single school year."""
    out = tk.Section()
    extras = _years(ev)
    if extras is None or "years_trend_schools" not in extras:
        return out
    trend = extras["years_trend_schools"]
    mine = trend[(trend["scope"] == school_id) & (trend["level"] > 0)]
    if mine.empty:
        return out
    years = sorted(mine["year"].unique())
    out = out.heading("This school, year by year")
    sentences = extras.get("years_sentences_schools")
    if sentences is not None and len(sentences):
        out = out.bullets(sentences.loc[sentences["scope"] == school_id, "sentence"])
    wide = _trend_cells(mine)
    out = out.show_html(tk.html_table(wide, {"level_name": "Level", **{y: y for y in years}}, raw=years))
    out = out.paragraph(
        "Each year is judged against that year's target; the district's results are in the district report.", note=True
    )
    return out


def board_years(ev: Evaluation) -> tk.Section:
    """The board's view of the years: what changed, in words, and the effect on students by years in the program."""
    out = tk.Section()
    extras = _years(ev)
    if extras is None:
        return out
    out = out.heading("Over the years")
    out = out.bullets(extras["years_sentences"]["sentence"])
    for level in ordered(registry.levels()):
        part = section_of(level, "years_board")
        if part is not None:
            out = out.display(part(ev))
    return out


def technical_years(ev: Evaluation) -> tk.Section:
    """For research partners: each level's part over several school years (level 5's staggered-adoption
    estimator, every group-time effect and the aggregations). Nothing for a single school year."""
    out = tk.Section()
    if _years(ev) is None:
        return out
    for level in ordered(registry.levels()):
        part = section_of(level, "years_technical")
        if part is not None:
            out = out.display(part(ev))
    return out


# ---- the district portfolio (plevaluate.portfolio) ----


def open_portfolio(results: str = "", programs: str = ""):
    """The portfolio's tables, as `plevaluate.render.render_portfolio` saved them (``results``), or built now
    from ``programs``, a folder holding one data folder per program."""

    return Portfolio.load(results) if results else build_portfolio(programs)


def _program_link(program_id: str, program: str) -> str:
    return f'<a href="{html.escape(program_id)}/district-report.html">{tk.esc(program)}</a>'


def portfolio_title(pf) -> tk.Section:
    out = tk.Section()
    programs = pf.programs
    years = sorted({y for text in programs["years"] for y in str(text).split(", ") if y})
    span = f"{years[0]} to {years[-1]}" if len(years) > 1 else (years[0] if years else "")
    out = out.show_html(
        f"<h1>Professional learning portfolio</h1><p class='pl-subtitle'>{len(programs)} programs, {tk.esc(span)}: "
        "what each achieved at each of Guskey's five levels, what it cost and who paid</p>"
    )
    out = out.bullets(pf.notes["note"])
    return out


def portfolio_chains(pf) -> tk.Section:
    """Every program's chain of evidence, one row per program and year."""
    out = tk.Section()
    out = out.heading("Chains of evidence, program by program and year by year")
    names = dict(zip(pf.programs["program_id"], pf.programs["program"]))
    chains = pf.chains[pf.chains["level"] > 0]
    cells = chains.assign(
        shown=[
            (f"{tk.esc(tk.fmt(e, u))}<br>" if pd.notna(e) else "") + tk.status_badge(str(s))
            for e, u, s in zip(chains["estimate"], chains["unit"], chains["status"])
        ]
    )
    wide = cells.pivot(index=["program_id", "year"], columns="level", values="shown").reset_index()
    wide["program"] = [_program_link(p, names.get(p, p)) for p in wide["program_id"]]
    labels = chains.drop_duplicates("level").set_index("level")["level_name"]
    columns = {"program": "Program", "year": "Year", **{lv: f"{lv}. {labels[lv]}" for lv in sorted(labels.index)}}
    out = out.show_html(tk.html_table(wide, columns, raw=["program", *sorted(labels.index)]))
    out = out.paragraph(
        "Each cell: the level's headline result that year and whether its target was met (the whole interval above "
        "it), not met (the whole interval below) or not conclusive. A program's name opens its own district report.",
        note=True,
    )
    return out


def portfolio_costs(pf) -> tk.Section:
    """Cost per participant and per student, and cost-effectiveness where an effect is estimable."""
    out = tk.Section()
    out = out.heading("What each program cost")
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
    out = out.show_html(
        tk.html_table(
            pd.DataFrame(rows),
            {"program": "Program", "year": "Year", "participant": "Cost per participant",
             "student": "Cost per student", "effect": "Cost per student for each 0.1 SD of effect"},
            raw=["program"],
        )
    )  # fmt: skip
    out = out.paragraph(
        "Costs follow the ingredients method: every resource, whoever paid for it, including participants' time. "
        "Cost per 0.1 SD is shown only where the effect on students is distinguishable from zero.",
        note=True,
    )
    return out


def _cost_value(by: pd.DataFrame, measure: str) -> str:
    if measure not in by.index:
        return "not recorded"
    row = by.loc[measure]
    return tk.fmt(row["estimate"], "dollars") if str(row["status"]) == "estimable" else str(row["status"])


def portfolio_funding(pf) -> tk.Section:
    """Funding sources across programs."""
    out = tk.Section()
    out = out.heading("Who paid: funding sources across programs")
    funding = pf.funding
    if funding.empty:
        out = out.paragraph("No program recorded its costs.", note=True)
        return out
    names = dict(zip(pf.programs["program_id"], pf.programs["program"]))
    shown = funding.assign(category=funding["program_id"].map(names))
    out = out.figure(figures.cost_chart(shown[["funding_source", "category", "cost"]]))
    wide = funding.pivot_table(index="funding_source", columns="program_id", values="cost", aggfunc="sum", fill_value=0)
    wide["total"] = wide.sum(axis=1)
    table = wide.reset_index()
    columns = {"funding_source": "Funding source", **{p: names.get(p, p) for p in wide.columns if p != "total"}}
    for column in [*columns][1:] + ["total"]:
        table[column] = [tk.fmt(v, "dollars") for v in table[column]]
    out = out.show_html(tk.html_table(table, {**columns, "total": "All programs"}, numeric=[*columns][1:] + ["total"]))
    return out


def portfolio_provenance(pf) -> tk.Section:

    out = tk.Section()
    folders = ", ".join(f"{r.folder} ({r.years})" for r in pf.programs.itertuples())
    out = out.paragraph(
        f"Made by plevaluate {__version__} from the program folders {folders}. Every number comes from each "
        "program's published evaluation (small groups suppressed as in its own reports); each program's reports "
        "end with its data files' hashes.",
        note=True,
    )
    return out
