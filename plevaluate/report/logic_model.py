"""The logic model page (``notebooks/logic_model.ipynb``): the sections that present a `plevaluate.logic_model.LogicModel`.

The diagram is text: an ordered list of the five columns (resources to student outcomes), each a list of boxes,
laid out side by side by CSS (``assets/logic_model.css``) with arrows drawn as decoration, so a screen reader reads
the boxes in order and a reader can zoom, copy and translate them; nothing is a picture of text. Every string from
the plan or the data (the program, results, measures, citations, funding sources) is untrusted and escaped
(`plevaluate.report.toolkit.esc`); a reference's url becomes a link only when it is http or https (the plan refuses
any other, and this page checks again). Nothing is computed here: the model is `plevaluate.logic_model`'s.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from .. import logic_model as lm
from .. import registry
from ..plan import plan_model
from . import open_results
from . import setup as report_setup
from . import toolkit as tk

__all__ = ["diagram", "open_model", "provenance", "research", "schedule", "setup", "title"]

CSS_FILE = Path(__file__).parents[1] / "assets" / "logic_model.css"

_WEB = re.compile(r"https?://[^\s\x00-\x1f\x7f]+\Z", re.IGNORECASE)


def open_model(results: str = "", data: str = "") -> lm.LogicModel:
    """The logic model to present: the one saved with the results (``results``, a folder `plevaluate.render` wrote),
    else drawn from the data folder ``data`` (`plevaluate.logic_model.from_folder`: its plan alone when it holds
    nothing else yet)."""
    if results and (Path(results) / "manifest.json").exists():
        ev = open_results(results)
        model = lm.from_evaluation(ev)
        if model is not None:
            return model
        plan = plan_model(registry.levels()).model_validate(ev.plan)  # a bundle saved without a logic model
        return lm.logic_model(plan, provenance={"data_folder": str(ev.provenance.get("data_folder", ""))})
    if not data:
        raise ValueError("the logic model needs saved results (results=...) or a data folder (data=...)")
    return lm.from_folder(data)


def setup() -> tk.Section:
    """The report look (`plevaluate.report.setup`) and the logic model's own styles."""
    return report_setup().show_html(f"<style>{CSS_FILE.read_text(encoding='utf-8')}</style>")


def _text(value) -> str:
    return "" if tk.missing(value) else str(value)


def _arrows(text: str) -> str:
    """Escaped text with each ``->`` drawn as an arrow (``coaching cycles -> classroom use``)."""
    return tk.esc(text).replace("-&gt;", "\u2192")


def title(model: lm.LogicModel) -> tk.Section:
    """Under the title (the notebook's Markdown): the years, the program in a sentence, and why it should work."""
    about = model.about.iloc[0]
    out = tk.Section()
    out = out.show_html(
        f'<p class="pl-subtitle">{tk.esc(_text(about["years"]))} &middot; the program\'s logic model and rationale</p>'
    )
    if _text(about["description"]):
        out = out.show_html(f'<p class="lm-description">{tk.esc(_text(about["description"]))}</p>')
    why = _text(about["summary"])
    said = tk.esc(why) if why else "The plan states no rationale yet: write it under <code>rationale: summary:</code>."
    return out.show_html(f'<p class="lm-why"><strong>Why it should work.</strong> {said}</p>')


def _line(row) -> str:
    """One line of a box after its first: a funding source with its amount, a PL format with its sessions."""
    if _text(row.funding_source):
        return f"{tk.esc(row.funding_source)}: {tk.esc(tk.fmt(row.cost, 'dollars'))}"
    if _text(row.format):
        return f"{tk.esc(_text(row.detail)[:1].upper() + _text(row.detail)[1:])}: {_sessions(row)}"
    return tk.esc(_text(row.detail))


def _sessions(row) -> str:
    count = "" if tk.missing(row.sessions) else f"{int(row.sessions)} session{'s' * (int(row.sessions) != 1)}"
    hours = "" if tk.missing(row.hours) else f"{float(row.hours):g} hours"
    return tk.esc(", ".join(part for part in (count, hours) if part))


def _box(rows: pd.DataFrame) -> str:
    """One box: its first row names it, the rows after it are its lines."""
    head = rows.iloc[0]
    parts = []
    if not tk.missing(head.level):
        parts.append(f'<p class="lm-box-title">{tk.esc(head.box)}</p>')
        if _text(head.result):
            parts.append(f"<p>{tk.esc(head.result)}</p>")
        if _text(head.measure):
            parts.append(f'<p><span class="lm-label">Measure:</span> {tk.esc(head.measure)}</p>')
        parts.append(f'<p><span class="lm-label">Target:</span> {tk.esc(_text(head.target_text))}</p>')
        if _text(head.detail):
            parts.append(f'<p><span class="lm-label">Looked for:</span> {tk.esc(head.detail)}</p>')
    else:
        amount = f": {tk.esc(tk.fmt(head.cost, 'dollars'))}" if not tk.missing(head.cost) else ""
        amount = amount or (f": {_sessions(head)}" if not tk.missing(head.sessions) else "")
        parts.append(f'<p class="lm-box-title">{tk.esc(head.box)}{amount}</p>')
        if _text(head.detail):
            parts.append(f"<p>{tk.esc(head.detail)}</p>")
        lines = [f"<li>{_line(row)}</li>" for row in rows.iloc[1:].itertuples()]
        if lines:
            parts.append(f'<ul class="lm-lines">{"".join(lines)}</ul>')
    return f'<div class="lm-box">{"".join(parts)}</div>'


def diagram(model: lm.LogicModel) -> tk.Section:
    """The logic model: five columns of boxes, resources to student outcomes, as an ordered list of text."""
    boxes = model.boxes
    stages = []
    for stage, heading in lm.STAGES.items():
        rows = boxes[boxes["stage"] == stage]
        box = rows["box"].astype(object).fillna("")
        starts = box.ne(box.shift(fill_value=None)).cumsum()  # a box is a run of rows with its heading
        inner = [_box(part) for _, part in rows.groupby(starts, sort=False, dropna=False)]
        inner = inner or ['<div class="lm-box"><p>not yet in the plan</p></div>']
        stages.append(f'<li class="lm-stage lm-{stage}"><h3>{tk.esc(heading)}</h3>{"".join(inner)}</li>')
    flow = (
        '<ol class="lm-flow" aria-label="The logic model, read from resources to student outcomes">'
        + "".join(stages)
        + "</ol>"
    )
    return tk.Section().heading("From resources to student outcomes").show_html(flow)


def _link(url: str) -> str:
    """A reference's link: shown and clickable when it is http or https, else nothing (never javascript:)."""
    url = url.strip()
    if not _WEB.match(url):
        return ""
    return f' <a href="{html.escape(url, quote=True)}">{tk.esc(url)}</a>'


def research(model: lm.LogicModel) -> tk.Section:
    """The research the plan cites, each with the link of the logic model it supports."""
    out = tk.Section().heading("The research it rests on")
    refs = model.references
    if not len(refs):
        return out.paragraph(
            "The plan cites no research yet: list it under rationale: references: in plan.yml (citation, the link "
            "it supports, and a url when there is one).",
            note=True,
        )
    items = []
    for row in refs.itertuples():
        supports = _text(row.supports)
        said = f' <span class="lm-supports">Supports: {_arrows(supports)}.</span>' if supports else ""
        items.append(f"<li>{tk.esc(row.citation)}{_link(_text(row.url))}{said}</li>")
    return out.show_html(f'<ol class="lm-references">{"".join(items)}</ol>')


def schedule(model: lm.LogicModel) -> tk.Section:
    """When each level is measured: from the dated records, or as the plan implies."""
    rows = model.schedule.assign(
        shown_level=[f"{int(n)}. {name}" for n, name in zip(model.schedule["level"], model.schedule["level_name"])],
        shown_source=[_text(s) for s in model.schedule["source"]],
    )
    table = tk.html_table(
        rows,
        {"shown_level": "Level", "when": "When it is measured", "shown_source": "Read from"},
        table_id="lm-schedule",
    )
    out = tk.Section().heading("When each level is measured")
    return out.show_html(f'<div class="lm-schedule">{table}</div>')


def provenance(model: lm.LogicModel) -> tk.Section:
    """One line: when and with which plevaluate the model was drawn, and from what (the plan's SHA-256)."""
    p = model.provenance
    when = f"Evaluated {p['evaluated_at']}" if p.get("evaluated_at") else f"Drawn {p.get('drawn_at', '')}"
    source = "the plan alone" if p.get("evidence") == "plan" else "the plan and the data"
    folder = f" in '{p['data_folder']}'" if p.get("data_folder") else ""
    digest = f" (plan.yml SHA-256 {p['plan_sha256']})" if p.get("plan_sha256") else ""
    text = f"{when} with plevaluate {p.get('plevaluate_version', '')}, from {source}{folder}{digest}."
    return tk.Section().show_html(f'<p class="lm-provenance">{tk.esc(text)}</p>')
