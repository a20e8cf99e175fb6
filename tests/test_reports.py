"""Reports: evaluate once, render every notebook with papermill, check what users receive.

One render of the whole sample district (every report, every format: what the README's first command
does) is shared by the tests through the session fixture ``rendered`` in conftest.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

import plevaluate
from plevaluate import registry
from plevaluate.chain import STATUSES, chain_sentence
from plevaluate.cli import main
from plevaluate.evaluate import Evaluation, evaluate
from plevaluate.gates import Ledger
from plevaluate.render import find_browser, slug
from tests.conftest import ROOT, SAMPLE, write_tiny

BROWSER = find_browser()
# Without Chromium the PDF and browser tests skip on a developer's machine, but never in CI (.ci/run installs it).
needs_browser = pytest.mark.skipif(BROWSER is None and not os.environ.get("CI"), reason="no Chromium")


@pytest.fixture(scope="module")
def evaluation(published):
    return published


def test_every_report_is_rendered(rendered):
    assert rendered.ok, rendered.failures
    names = {p.name for p in rendered.written}
    expected = {
        "district-report",
        "board-summary",
        "technical-appendix",
        "school-s03-pena-oneill-middle-school",
        "school-s08-maple-ridge-high-school",
    }
    for name in expected:
        for suffix in (".html", ".ipynb") + ((".pdf",) if BROWSER else ()):
            assert name + suffix in names
            assert (rendered.out / (name + suffix)).stat().st_size > 20_000
    assert "board-summary.slides.html" in names and "index.html" in names
    assert not list(rendered.out.glob(".staging-*"))  # no half-written leftovers


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.browser
def test_html_is_self_contained_and_has_its_sections(rendered):
    school = _soup(rendered.out / "school-s03-pena-oneill-middle-school.html")
    text = school.get_text(" ")
    for section in (
        "Chain of evidence",
        "What to do next",
        "Level 1. Reactions",
        "Level 2. Learning",
        "Level 3. Organization support",
        "Level 4. Use of the practice",
        "Level 5. Student outcomes",
        "Provenance",
    ):
        assert section in text, section
    assert "Peña & O'Neill Middle School" in text  # the name, escaped in HTML, reads correctly
    images = [img["src"] for img in school.find_all("img")]
    assert len(images) >= 3 and all(src.startswith("data:image/png;base64,") for src in images)
    for path in rendered.out.glob("*.html"):
        soup = _soup(path)
        external = [
            t.get("src") or t.get("href")
            for t in soup.find_all(["script", "link", "img"])
            if re.match(r"https?://", t.get("src") or t.get("href") or "")
        ]
        assert not external, (path.name, external)
        assert not soup.find_all(attrs={"data-mime-type": "application/vnd.jupyter.stderr"}), path.name
        assert "Traceback" not in soup.get_text(), path.name
    district = _soup(rendered.out / "district-report.html").get_text(" ")
    for section in ("Every school at a glance", "Level 5. Student outcomes", "Notes on the data"):
        assert section in district
    provenance = json.loads((rendered.out / "results" / "manifest.json").read_text())["provenance"]
    for name, digest in provenance["file_hashes"].items():
        assert digest in district, name
    assert provenance["plevaluate_version"] in district
    # the plan's settings: those set in every report, every one (the empty ones too) in the technical appendix
    settings = {name: _plan_settings(rendered.out / name) for name in ("technical-appendix.html", "board-summary.html")}
    empty = {key for key, value in settings["technical-appendix.html"].items() if value in ("", "none")}
    assert empty and not empty & set(settings["board-summary.html"])
    assert set(settings["board-summary.html"]) == set(settings["technical-appendix.html"]) - empty
    assert "left empty are not listed (the technical appendix lists every setting)" in _soup(
        rendered.out / "board-summary.html"
    ).get_text(" ")


def _plan_settings(page) -> dict[str, str]:
    """The plan's settings a report's provenance lists: setting -> value."""
    table = next(t for t in _soup(page).find_all("table") if "Plan setting" in t.get_text())
    cells = [[c.get_text(" ", strip=True) for c in row.find_all("td")] for row in table.find_all("tr")]
    return {row[0]: row[1] for row in cells if len(row) == 2}


@pytest.mark.browser
def test_no_code_in_reports(rendered):
    for path in rendered.out.glob("*.html"):
        soup = _soup(path)
        assert not soup.select(".jp-CodeCell .jp-InputArea"), path.name
        assert "report.open_results" not in soup.get_text()


def test_slides_are_offline_reveal(rendered):
    slides = (rendered.out / "board-summary.slides.html").read_text(encoding="utf-8")
    assert "Reveal.initialize" in slides and "unpkg.com" not in slides and "cdnjs" not in slides
    soup = BeautifulSoup(slides, "html.parser")
    assert len(soup.find_all("section")) >= 6


@pytest.mark.slow
@needs_browser
def test_pdf_has_pages_and_the_school_name(rendered):
    assert BROWSER, "Chromium is missing: .ci/run installs Debian's chromium"
    from pypdf import PdfReader

    reader = PdfReader(rendered.out / "school-s03-pena-oneill-middle-school.pdf")
    assert len(reader.pages) >= 2
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Peña & O'Neill Middle School" in text or "O'Neill Middle School" in text


@pytest.mark.slow
@needs_browser
def test_printed_tables_keep_their_last_columns(rendered):
    """A reader's review: on paper the district report's "Every school at a glance" lost its level 4 and 5 columns past
    the page's edge, with a scroll bar printed under it, and the board summary's cost table lost its total."""
    import pypdfium2

    def page_with(pdf: str, words: str) -> str:
        document = pypdfium2.PdfDocument(rendered.out / pdf)
        texts = [document[i].get_textpage().get_text_range() for i in range(len(document))]
        return " ".join(next(t for t in texts if words in t).split())

    glance = page_with("district-report.pdf", "Every school at a glance")
    assert "4. Use of the practice" in glance and "5. Student outcomes" in glance, glance[:600]
    cost = page_with("board-summary.pdf", "What it cost")
    assert "total" in cost and cost.count("$254,800") >= 2, cost[:800]  # Title I's line and its total


def test_no_student_id_or_educator_name_in_any_output(rendered):
    students = pd.read_csv(SAMPLE / "students.csv", dtype=str)["student_id"]
    names = pd.read_csv(SAMPLE / "educators.csv", dtype=str)["name"]
    texts = {
        p.name: p.read_text(encoding="utf-8", errors="ignore")
        for p in rendered.out.glob("*")
        if p.suffix in (".html", ".ipynb")
    }
    if BROWSER:
        from pypdf import PdfReader

        for pdf in rendered.out.glob("*.pdf"):
            texts[pdf.name] = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    for results in (rendered.out / "results").glob("*.csv"):
        texts[results.name] = results.read_text(encoding="utf-8")
    ids = set(students)
    for name, text in texts.items():
        assert not (set(re.findall(r"ST\d{6}", text)) & ids), name
        leaked = [n for n in names if n in text]
        assert not leaked, (name, leaked[:3])


def test_small_school_report_shows_no_small_counts(rendered):
    text = _soup(rendered.out / "school-s08-maple-ridge-high-school.html").get_text(" ")
    assert "too few" in text.lower()
    # its 7 educators / 5 matched pairs are never printed as numbers beside a result
    assert "<10" in text


@pytest.mark.slow
@needs_browser
def test_report_in_a_real_browser(rendered, tmp_path):
    assert BROWSER, "Chromium is missing: .ci/run installs Debian's chromium"
    from PIL import Image

    shot = tmp_path / "shot.png"
    page = rendered.out / "school-s03-pena-oneill-middle-school.html"
    subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10  # not blank
    assert (pixels < 128).mean() > 0.01  # text and charts drawn
    assert "Traceback" not in page.read_text(encoding="utf-8")


@pytest.mark.render
def test_failing_notebook_for_one_school(tmp_path, capsys, extra=()):
    """(tests/test_cluster.py runs this on a Dask cluster too, with ``extra=["--scheduler", "local"]``.)"""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    book = nbformat.read(notebooks / "school_report.ipynb", as_version=4)
    book.cells.insert(
        4, nbformat.v4.new_code_cell('if school_id == "S03":\n    raise RuntimeError("broken for this school")')
    )
    nbformat.write(book, notebooks / "school_report.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    (out / "school-s03-pena-oneill-middle-school.html").write_text("an old report")
    Ledger(out).record(["school-s03-pena-oneill-middle-school.html"])  # written by an earlier run
    code = main(
        [
            "report",
            str(SAMPLE),
            "--out",
            str(out),
            "--schools",
            "S02,S03",
            "--format",
            "html",
            "--notebooks",
            str(notebooks),
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "reports: 100%" in err and "6/6" in err  # the progress bar: 2 schools, 3 district reports, the logic model
    assert "school S03" in err and "broken for this school" in err and "cell" in err
    assert (out / "school-s02-jefferson-elementary.html").stat().st_size > 20_000
    assert not (out / "school-s03-pena-oneill-middle-school.html").exists()  # the stale report is gone
    assert "not rendered" in (out / "index.html").read_text()


def test_bad_data_stops_before_rendering(tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(SAMPLE, bad)
    (bad / "schools.csv").write_text("school_id,school_name\nS01,Lincoln\n")
    assert main(["report", str(bad), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    assert "group" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.render
def test_unknown_school_and_format(tmp_path, capsys):
    assert main(["report", str(SAMPLE), "--out", str(tmp_path / "o"), "--schools", "S99", "--quiet"]) == 2
    assert "unknown school(s): S99" in capsys.readouterr().err
    assert main(["report", str(SAMPLE), "--out", str(tmp_path / "o"), "--format", "odt", "--quiet"]) == 2


def test_stored_notebooks_have_no_outputs_and_one_parameters_cell():
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        book = nbformat.read(path, as_version=4)
        code = [c for c in book.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1, path.name
        assert all(len(c.source.splitlines()) <= 4 for c in code), path.name  # thin templates


def test_evaluation_round_trip(evaluation, tmp_path):
    evaluation.save(tmp_path / "r")
    again = Evaluation.load(tmp_path / "r")
    for level, result in evaluation.levels.items():
        for name, table in result.tables.items():
            pd.testing.assert_frame_equal(table, again.levels[level].tables[name], check_exact=False)
    pd.testing.assert_frame_equal(evaluation.chain, again.chain)
    assert again.provenance == json.loads(json.dumps(evaluation.provenance))
    evaluation.save(tmp_path / "r")  # replacing an existing folder works and leaves nothing behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_chain_of_evidence(evaluation):
    chain = evaluation.chain
    assert set(chain["status"]) <= set(STATUSES)
    assert len(chain) == 6 * (1 + len(evaluation.schools))  # level 0 (resources) and levels 1-5
    district = chain[chain["scope"] == "district"].set_index("level")
    # level 1: 71% [66%, 77%] against 70%, level 4: 55% [47%, 63%] against 60%: neither can be judged
    assert district.loc[1, "status"] == "not conclusive" and district.loc[4, "status"] == "not conclusive"
    assert district.loc[2, "status"] == "met" and district.loc[3, "status"] == "not met"
    assert "includes zero" in district.loc[5, "status_detail"]
    sentence = evaluation.sentences.set_index("scope").loc["district", "sentence"]
    assert sentence == (
        "The assessment showed the intended learning, but at level 3 support lagged (88% against a target of 100%). "
        "Levels 1, 4 and 5 are not conclusive: their intervals include the target (participants' ratings 71% against "
        "70%, interval 66% to 77%; classroom use 55% against 60%, interval 47% to 63%; the adjusted difference in "
        "students' scores 0.11 SD against 0.10 SD, interval -0.02 SD to 0.23 SD, which also includes zero)."
    )
    small = chain[(chain["scope"] == "S08") & (chain["level"] == 1)].iloc[0]
    assert small["status"] == "too few people to report" and np.isnan(small["estimate"])
    comparison = chain[chain["scope"] == "S09"]
    assert (comparison["status"] == "not applicable").all()


def test_chain_sentence_wording():
    rows = pd.DataFrame(
        {
            "level": [1, 2, 3],
            "level_name": ["Reactions", "Learning", "Organization support"],
            "status": ["met", "met", "not met"],
            "status_detail": ["met", "met", "not met"],
            "unit": ["share", "sd", "share"],
            "estimate": [0.8, 0.6, 0.25],
            "target": [0.7, 0.5, 1.0],
        }
    )
    text = chain_sentence(rows, registry.levels())
    assert text == (
        "Participants valued the sessions and the assessment showed the intended learning, but at level 3 support lagged "
        "(25% against a target of 100%)."
    )


def test_slug():
    assert slug("Peña & O'Neill Middle School") == "pena-oneill-middle-school"
    assert slug("0042") == "0042"


def test_no_table_shows_an_estimate_about_fewer_than_min_n_people(evaluation):
    # Every result table with a count of people: rows below min_n carry no estimate, count or share.
    shown = ("estimate", "ci_low", "ci_high", "count", "share", "mean", "raw", "respondents", "cost_per_participant")
    checked = 0
    for level, result in evaluation.levels.items():
        for name, table in result.tables.items():
            people = next((c for c in ("n_people", "participants") if c in table), None)
            if people is None and "suppressed" in table and "n" in table:
                people = "n"
            if people is None:
                continue
            small = table[people].astype(float) < evaluation.min_n
            for column in (c for c in shown if c in table):
                values = table.loc[small, column]
                assert values.isna().all(), (level, name, column)
            checked += 1
    assert checked >= 15


def _no_comparison(folder: Path) -> None:
    schools = pd.read_csv(folder / "schools.csv", dtype=str)
    schools["group"] = "participant"
    schools.to_csv(folder / "schools.csv", index=False)


def _post_only(folder: Path) -> None:
    students = pd.read_csv(folder / "students.csv", dtype=str)
    students[students["period"] == "post"].drop(columns=["period"]).to_csv(folder / "students.csv", index=False)


def _sparse(folder: Path) -> None:
    for name in ("learning", "observations", "conditions", "costs"):
        (folder / f"{name}.csv").unlink()


def _tiny(folder: Path) -> None:
    shutil.rmtree(folder)
    write_tiny(folder)  # three schools, 60 answers, 40 observations: nearly everything suppressed


@pytest.mark.render
@pytest.mark.parametrize(
    "edit",
    [_no_comparison, _post_only, _sparse, lambda folder: (folder / "plan.yml").unlink(), _tiny],
    ids=["no comparison schools", "outcomes without periods", "levels 2-4 and costs missing", "no plan.yml", "tiny"],
)
def test_every_section_renders_for_partial_districts(edit, tmp_path):
    # What real districts send: some levels missing, no comparison group, no plan. Every section of every
    # notebook must still render (saying "no evidence collected" where that is the case), never raise.
    from plevaluate import report

    shown: list = []
    folder = tmp_path / "district"
    shutil.copytree(SAMPLE, folder)
    edit(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate(plevaluate.load(folder)).publish()
    district_sections = [
        report.district_title,
        report.district_schools,
        lambda ev: report.level_sections(ev, "district"),
        report.notes,
        report.provenance,
        report.board_title,
        report.board_chain,
        report.board_findings,
        lambda ev: report.level_sections(ev, "board"),
        report.technical_title,
        report.technical_data,
        lambda ev: report.level_sections(ev, "technical"),
    ]
    for section in district_sections:
        shown.append(section(ev))
    school_sections = [
        report.school_title,
        report.chain_table,
        report.school_next_steps,
        lambda ev, school_id: report.level_sections(ev, "school", school_id),
    ]
    for school_id in ("S01", "S08", "S09"):
        for section in school_sections:
            shown.append(section(ev, school_id))
    assert all(isinstance(s, report.Section) for s in shown)  # sections return what they show
    text = " ".join(s.html for s in shown)
    assert "Chain of evidence" in text and "Provenance" in text
    if edit is _sparse:
        assert "No evidence collected for level 2 (learning)" in text
    if edit is _no_comparison:
        assert "no comparison group" in text.lower() or "No comparison group" in text


@pytest.mark.render
def test_fast_path_report_has_the_sections_and_numbers_of_the_naive_papermill_path(rendered, tmp_path):
    """The naive way (papermill's command, the notebook computing from the data, then nbconvert's command,
    in a fresh kernel each) and plevaluate's fast path (evaluate once, warm kernels, own template) give a
    school's principal the same report: same headings, same numbers, same charts, in the same order."""
    import sys

    executed, page = tmp_path / "school.ipynb", tmp_path / "school.html"
    bin_dir = Path(sys.executable).parent
    papermill = [str(bin_dir / "papermill"), str(ROOT / "notebooks" / "school_report.ipynb"), str(executed)]
    params = [
        "-p",
        "results",
        "",
        "-p",
        "data",
        str(SAMPLE),
        "-r",
        "school_id",
        "S03",
        "--cwd",
        str(ROOT / "notebooks"),
    ]
    subprocess.run([*papermill, *params, "--no-progress-bar"], check=True, capture_output=True, timeout=600)
    nbconvert = [str(bin_dir / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)]
    subprocess.run([*nbconvert, "--output", page.name], check=True, capture_output=True, timeout=300)

    def what_it_says(path: Path) -> tuple[list[str], list[str], int]:
        soup = _soup(path)
        for hidden in soup.find_all(["style", "script"]):
            hidden.decompose()
        outputs = [  # warnings printed to stderr: the fast path leaves them out (they are in the notes)
            o for o in soup.select(".jp-OutputArea-output") if "stderr" not in str(o.get("data-mime-type"))
        ]
        text = " ".join(o.get_text(" ", strip=True) for o in outputs)
        text = re.sub(r"Evaluated \S+ with", "", text)  # when each evaluation ran
        headings = [h.get_text(" ", strip=True) for o in outputs for h in o.find_all(re.compile("^h[1-6]$"))]
        numbers = re.findall(r"[-+−]?\d[\d,]*(?:\.\d+)?%?", text)
        return headings, numbers, sum(len(o.find_all("img")) for o in outputs)

    naive = what_it_says(page)
    fast = what_it_says(rendered.out / "school-s03-pena-oneill-middle-school.html")
    assert naive[0] == fast[0] and len(fast[0]) >= 8  # the sections
    assert naive[1] == fast[1] and len(fast[1]) >= 50  # every number, in order
    assert naive[2] == fast[2] >= 3  # the charts


@pytest.mark.slow
def test_saved_results_are_read_once_per_kernel_and_each_report_gets_its_own_copy(published, tmp_path):
    from plevaluate import report

    folder = published.save(tmp_path / "results")
    first = report.open_results(str(folder))
    first.levels[4].tables["rates"].loc[:, "estimate"] = -1.0  # a careless custom notebook
    first.plan["min_n"] = 0
    second = report.open_results(str(folder))
    assert second is not first and not second.levels[4].tables["rates"]["estimate"].lt(0).any()
    assert second.plan["min_n"] == published.plan["min_n"]
    pd.testing.assert_frame_equal(second.chain, published.chain, check_dtype=False)
    # a new evaluation saved into the same folder is read anew, not served from the cache
    changed = Evaluation(**{**published.__dict__, "plan": {**published.plan, "program": "Renamed"}})
    changed.save(folder)
    assert report.open_results(str(folder)).plan["program"] == "Renamed"


def test_every_heading_a_cell_shows_starts_a_slide():
    """The board's level sections come from one cell and the years follow the findings in a continuing cell:
    each heading still gets a slide of its own (one message per slide), and a cell showing nothing adds none."""
    import nbformat

    from plevaluate.render import one_slide_per_heading

    def cell(kind, *outputs):
        shown = [nbformat.v4.new_output("display_data", data={"text/html": html}) for html in outputs]
        return nbformat.v4.new_code_cell("", outputs=shown, metadata={"slideshow": {"slide_type": kind}})

    notebook = nbformat.v4.new_notebook(
        cells=[
            cell("slide", "<h2>Conditions</h2>", "<p>a</p>", "<h2>Practice</h2>", "<p>b</p>"),
            cell("-", "<h2>Over the years</h2>", "<p>c</p>"),
            cell("-"),
        ]
    )
    split = one_slide_per_heading(notebook).cells
    shown = [([o["data"]["text/html"] for o in c.outputs], c.metadata["slideshow"]["slide_type"]) for c in split]
    assert shown == [
        (["<h2>Conditions</h2>", "<p>a</p>"], "slide"),
        (["<h2>Practice</h2>", "<p>b</p>"], "slide"),
        (["<h2>Over the years</h2>", "<p>c</p>"], "slide"),
        ([], "-"),
    ]
    assert len({c.id for c in split}) == len(split)


def test_the_notebooks_markdown_placeholders_are_filled_and_escaped(published, tmp_path):
    """Fixed prose lives in the notebooks' Markdown; the engine fills its placeholders from the results rendered.
    The values are untrusted: escaped for HTML, and on a line that is not HTML their Markdown marks too."""
    from dataclasses import replace

    import nbformat

    from plevaluate._engine import fill_placeholders

    hostile = "<script>x</script> *Math* {program}"
    results = replace(published, plan={**published.plan, "program": hostile}).save(tmp_path / "results")
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "<h1>{program}</h1>\nFor {school_name}, {school_year}: {program}; under {min_n}; {ci}; {unknown}"
            )
        ]
    )
    notebook.metadata["papermill"] = {"parameters": {"results": str(results), "school_id": "S03"}}
    fill_placeholders(notebook)
    heading, line = notebook.cells[0].source.split("\n")
    assert heading == "<h1>&lt;script&gt;x&lt;/script&gt; *Math* {program}</h1>"
    assert line == (
        "For Peña &amp; O'Neill Middle School, 2025\\-26: &lt;script&gt;x&lt;/script&gt; \\*Math\\* \\{program\\}; "
        "under 10; 95%; {unknown}"
    )
    unfilled = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("<h1>{program}</h1>")])
    fill_placeholders(unfilled)  # no saved results named: the template is left as it is
    assert unfilled.cells[0].source == "<h1>{program}</h1>"


def test_each_report_opens_with_its_title(rendered):
    program = "Math Talk: students explain their reasoning"
    from bs4 import BeautifulSoup

    def title(name):
        page = BeautifulSoup((rendered.out / name).read_text(encoding="utf-8"), "html.parser")
        return [h.get_text(" ", strip=True) for h in page.find_all("h1")]

    assert title("district-report.html") == [f"{program}: district evaluation"]
    assert title("board-summary.html") == [program]
    assert title("technical-appendix.html") == [f"{program}: technical appendix"]
    school = next(p.name for p in rendered.out.glob("school-s03-*.html"))
    assert title(school) == ["Peña & O'Neill Middle School: professional learning evaluation"]


def test_a_line_break_in_a_name_cannot_end_the_html_heading_and_start_markdown(published, tmp_path):
    """Found by a hostile test: a school name with blank lines ended the notebook's HTML heading, and the rest
    was read as Markdown (a heading, a link). A placeholder's value is one line."""
    from dataclasses import replace

    import nbformat

    from plevaluate._engine import fill_placeholders

    hostile = "Lincoln\n\n# [Click to verify](https://evil.example/login)\n\n"
    results = replace(published, plan={**published.plan, "program": hostile}).save(tmp_path / "results")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("<h1>{program}: report</h1>")])
    notebook.metadata["papermill"] = {"parameters": {"results": str(results)}}
    fill_placeholders(notebook)
    assert notebook.cells[0].source == "<h1>Lincoln # [Click to verify](https://evil.example/login): report</h1>"
