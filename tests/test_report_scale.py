"""Issue #19: the district report and the board summary read the same at 12 and 200 schools (and at 2,000,
run by the benchmark: ``PLEVALUATE_SCALE_SIZES=12,200,2000``).

Each report is rendered as a user gets it (the notebook in a warm kernel, exported to HTML), photographed
whole in headless Chromium at 1,200 CSS pixels wide, and measured there: the page does not scroll sideways,
every chart fits the page and has a bounded size, and the page does not grow with the number of schools
(long listings are folded). The same notebooks run in this process give each chart's drawn text: every
chart names at most `plevaluate.figures.MANY` schools and carries a bounded number of labels. With
``PLEVALUATE_SCREENSHOTS=DIR`` the pictures are kept there, to be looked at.
"""

from __future__ import annotations

import ast
import os
import warnings
from pathlib import Path

import nbformat
import pytest

from plevaluate import evaluate, load
from plevaluate.figures import MANY
from plevaluate.render import find_browser, notebooks_dir
from plevaluate.sample import write_sample

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SIZES = [int(s) for s in os.environ.get("PLEVALUATE_SCALE_SIZES", "12,200").split(",") if s.strip()]
BROWSER = find_browser()
WIDTH = 1200
PAGES = ("district-report", "board-summary")


def _in_process(notebook: Path, results: Path) -> list:
    """The Sections a report notebook shows, run in this process (each code cell's last expression)."""
    from plevaluate.report import Section

    namespace = {"results": str(results), "data": ""}
    shown = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, str(notebook), "exec"), namespace)  # noqa: S102 - our own report notebooks
        if last is not None:
            value = eval(compile(ast.Expression(last.value), str(notebook), "eval"), namespace)  # noqa: S307
            if isinstance(value, Section):
                shown.append(value)
    return shown


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}-schools")
def rendered(request, tmp_path_factory):
    from plevaluate import render as r
    from plevaluate._pdf import Printer

    schools = request.param
    tmp = tmp_path_factory.mktemp(f"scale-{schools}")
    data = SAMPLE if schools == 12 else write_sample(tmp / "data", n_schools=schools, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate(load(data)).publish()
    results = tmp / "results"
    ev.save(results)
    jobs = [job for job in r.jobs_for(ev, results, []) if job.name in PAGES]
    try:
        r._warm(None)
        for job in jobs:
            _, failure = r._execute(job, tmp, ("html",), None)
            assert failure is None, failure
    finally:
        r.shutdown_workers()
    keep = Path(os.environ.get("PLEVALUATE_SCREENSHOTS", tmp))
    keep.mkdir(parents=True, exist_ok=True)
    with Printer(BROWSER) as printer:
        pages = {n: printer.screenshot(tmp / f"{n}.html", keep / f"{n}-{schools}.png", WIDTH) for n in PAGES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        charts = {
            n: [c for s in _in_process(notebooks_dir() / f"{n.replace('-', '_')}.ipynb", results) for c in s.figures]
            for n in PAGES
        }
    names = set(ev.schools["school_name"])
    return schools, pages, charts, names


@pytest.mark.scale
@pytest.mark.skipif(BROWSER is None, reason="needs Chromium (.ci/run installs it)")
def test_district_report_and_board_summary_read_at_any_number_of_schools(rendered):
    schools, pages, charts, names = rendered
    for page, measured in pages.items():  # shown with pytest -s (the benchmark keeps it)
        most = max((len(c.words) for c in charts[page]), default=0)
        print(f"{schools} schools, {page}: {measured['height']:,} px tall, {len(measured['charts'])} charts, "
              f"at most {most} labels on a chart")  # fmt: skip
    for page, measured in pages.items():
        assert measured["width"] <= WIDTH, (page, "scrolls sideways", measured["width"])
        # long listings (every school's row) are folded: the page is about as long at 2,000 schools as at 200
        assert measured["height"] <= 32_000, (page, measured["height"])
        assert measured["charts"], page
        for chart in measured["charts"]:
            assert chart["width"] <= 1300 and chart["height"] <= 1800, (page, chart["alt"][:60], chart)
            assert chart["right"] <= WIDTH and chart["shown_width"] <= WIDTH, (page, chart["alt"][:60])
        drawn = charts[page]
        assert len(drawn) == len(measured["charts"]), page  # the same report, in process and in the browser
        for chart in drawn:
            named = {name for name in names if any(name in word for word in chart.words)}
            assert len(named) <= MANY, (page, chart.alt[:60], len(named))
            # the most text on a chart: the conditions heat map at its 30-row cap (120 of its 160 are cell ratings)
            assert len(chart.words) <= 170, (page, chart.alt[:60], len(chart.words))
            if page == "board-summary":  # printed, every chart's table is open: the board's keep to what is drawn
                assert chart.numbers is None or len(chart.numbers) <= MANY + 1, (chart.alt[:60], len(chart.numbers))
