"""The logic model (#31, ESSA Tier 4 "demonstrates a rationale"): the plan's ``rationale:``, the model drawn from the
plan and the data (`plevaluate.logic_model`), its page (``notebooks/logic_model.ipynb``) and its one-page PDF.

The boxes and targets are checked against the sample's plan.yml, the schedule against the sample's own records
(sessions.csv, learning.csv, conditions.csv, observations.csv, students.csv), and hostile plan text against the
rendered page."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import plevaluate
from plevaluate import PlanError, read_plan, registry
from plevaluate import logic_model as lm
from plevaluate.cli import main
from plevaluate.evaluate import Evaluation
from plevaluate.plan import Rationale, Reference
from plevaluate.render import find_browser, render
from plevaluate.report import logic_model as page
from plevaluate.schema import check
from plevaluate.starter import write_starter
from tests.conftest import SAMPLE

SAMPLE_YEARS = SAMPLE.parent / "sample-years"
BROWSER = find_browser()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium")

HOSTILE = "<script>alert('x')</script>"


def _quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def years_district() -> plevaluate.District:
    return _quietly(plevaluate.load, SAMPLE_YEARS)


@pytest.fixture(scope="module")
def model(sample_district) -> lm.LogicModel:
    return lm.logic_model(sample_district.plan, sample_district)


def _plan_alone(folder: Path, text: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.yml").write_text(text or (SAMPLE / "plan.yml").read_text(encoding="utf-8"), encoding="utf-8")
    return folder


# ---- the plan's rationale ----


def test_the_sample_plans_cite_research_with_the_links_they_support():
    for folder in (SAMPLE, SAMPLE_YEARS):
        rationale = read_plan(folder / "plan.yml").rationale
        assert "coaching" in rationale.summary and "Guskey" in rationale.summary
        cited = {r.citation.split(",")[0]: r for r in rationale.references}
        assert {"Guskey", "Desimone", "Garet", "Vescio", "Kraft", "Howe"} <= set(cited)
        kraft = cited["Kraft"]
        assert kraft.citation.startswith("Kraft, M. A., Blazar, D., & Hogan, D. (2018). The effect of teacher coaching")
        assert "Review of Educational Research, 88(4), 547-588." in kraft.citation
        assert kraft.url == "https://doi.org/10.3102/0034654318759268"
        assert "coaching cycles -> classroom use" in kraft.supports
        assert all(r.supports for r in rationale.references)
        assert all(r.url == "" or r.url.startswith("https://doi.org/10.") for r in rationale.references)


def test_a_plan_without_a_rationale_has_an_empty_one(tmp_path):
    plan = read_plan(_plan_alone(tmp_path, "program: X\nschool_year: 2025-26\n") / "plan.yml")
    assert plan.rationale == Rationale() and plan.rationale.summary == "" and plan.rationale.references == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("javascript:alert(1)", "'javascript:alert(1)' is not a web link: a url starts with http:// or https://"),
        ("JaVaScRiPt://x.org/%0Aalert(1)", "is not a web link"),
        ("data:text/html,<script>alert(1)</script>", "is not a web link"),
        ("file:///etc/passwd", "is not a web link"),
        ("https://", "is not a web link"),
        ("https://doi.org/10.1/a b", "is not a web link"),
        ("doi.org/10.3102/0034654318759268", "is not a web link"),
    ],
)
def test_a_url_that_is_not_a_web_link_is_refused_with_where_and_how(tmp_path, url, message):
    text = f'program: X\nschool_year: 2025-26\nrationale:\n  references:\n    - citation: A study\n      url: "{url}"\n'
    with pytest.raises(PlanError) as caught:
        read_plan(_plan_alone(tmp_path, text) / "plan.yml")
    said = str(caught.value)
    assert "entry 'rationale.references.0.url'" in said and message in said
    assert "(a DOI as https://doi.org/10...); leave it empty when there is none" in said


def test_a_reference_needs_a_citation_and_its_keys_are_checked(tmp_path):
    text = (
        "program: X\nschool_year: 2025-26\nrationale:\n  references:\n    - citation: '  '\n"
        "    - supports: a -> b\n    - citation: B\n      link: https://x.org\n"
    )
    with pytest.raises(PlanError) as caught:
        read_plan(_plan_alone(tmp_path, text) / "plan.yml")
    said = str(caught.value)
    assert "3 problems in 1 file" in said
    assert "entry 'rationale.references.0.citation'" in said and "a citation is required" in said
    assert "entry 'rationale.references.1.citation': Field required" in said
    # a typo inside a list entry is named with the keys allowed there, not the list's owner's
    assert "entry 'rationale.references.2.link'" in said and "Allowed here: citation, supports, url." in said
    ok = Reference(citation=" Guskey (2000) ", url=" https://example.org/a?b=c ")
    assert ok.citation == "Guskey (2000)" and ok.url == "https://example.org/a?b=c"


def test_every_rationale_key_is_described_and_in_the_starter_plan(tmp_path):
    for model in (Rationale, Reference):
        assert all(field.description for field in model.model_fields.values()), model.__name__
    write_starter(tmp_path / "kit")
    starter = (tmp_path / "kit" / "plan.yml").read_text(encoding="utf-8")
    assert "rationale:" in starter and "references: []" in starter and "summary: ''" in starter
    assert read_plan(tmp_path / "kit" / "plan.yml").rationale == Rationale()
    documented = (Path(__file__).resolve().parents[1] / "docs" / "plan.md").read_text(encoding="utf-8")
    for key in ("rationale", "summary", "references", "citation", "supports", "url"):
        assert f"`{key}`" in documented, key


# ---- the model ----


def test_the_boxes_carry_the_plans_results_measures_and_targets(sample_district, model):
    boxes = model.boxes
    assert list(dict.fromkeys(boxes["stage"])) == list(lm.STAGES)  # resources, activities, ... student outcomes
    plan = sample_district.plan
    shown = boxes.dropna(subset=["level"]).set_index("level")
    expected = {1: "70%", 2: "0.50 SD", 3: "100%", 4: "60% by May 2026", 5: "0.10 SD"}
    for level in registry.levels():
        if level.number < 1:
            continue
        goal = getattr(plan.levels, level.key)
        row = shown.loc[level.number]
        assert row["result"] == goal.result and row["measure"] == goal.measure, level.key
        assert row["target"] == pytest.approx(goal.target) and row["unit"] == level.unit
        assert row["target_text"] == expected[level.number]
        assert row["box"] == f"Level {level.number}. {level.name}"
    assert list(shown["stage"]) == ["participants", "participants", "schools", "schools", "students"]
    assert shown.loc[4, "detail"] == plan.observable_practice


def test_the_resources_and_activities_come_from_costs_and_sessions(sample_district, model):
    boxes = model.boxes
    costs = sample_district.costs
    budget = boxes[(boxes["stage"] == "resources") & (boxes["box"] == "Budget")]
    total = budget[budget["funding_source"].isna()]
    assert total["cost"].iloc[0] == pytest.approx(costs["amount"].sum())  # 392,140.65 in the sample
    by_source = costs.groupby("funding_source")["amount"].sum()
    lines = budget.dropna(subset=["funding_source"]).set_index("funding_source")["cost"]
    assert dict(lines.items()) == pytest.approx(dict(by_source.items()))
    assert list(lines.index[:2]) == ["Title I", "Title II"]  # largest first
    time = boxes[boxes["box"] == "Educators' time"]["detail"].iloc[0]
    assert "$48.50 an hour" in time
    sessions = boxes[boxes["stage"] == "activities"]
    assert sessions["sessions"].iloc[0] == 10 and sessions["hours"].iloc[0] == pytest.approx(25.5)
    formats = sessions.dropna(subset=["format"]).set_index("format")
    assert list(formats.index) == ["workshop", "plc", "coaching", "virtual", "learning_walk"]  # first held first
    assert formats.loc["workshop", "sessions"] == 2 and formats.loc["workshop", "hours"] == pytest.approx(12)
    assert formats.loc["plc", "detail"] == "PLC" and formats.loc["learning_walk", "detail"] == "learning walk"


def test_the_references_travel_with_their_links(model):
    refs = model.references
    assert len(refs) == 6 and list(refs.columns) == ["citation", "supports", "url"]
    assert refs.set_index("url").loc["https://doi.org/10.3102/0034654318759268", "citation"].startswith("Kraft")
    html = page.research(model).as_html()
    soup = BeautifulSoup(html, "html.parser")
    links = {a["href"]: a.get_text() for a in soup.find_all("a")}
    assert links == {url: url for url in refs["url"] if url}
    text = page.research(model).as_text()
    assert "Supports: coaching cycles \u2192 classroom use \u2192 student outcomes." in text
    assert "Guskey, T. R. (2000). Evaluating professional development. Thousand Oaks, CA: Corwin Press." in text


def test_the_schedule_is_read_from_the_samples_records(model):
    schedule = model.schedule.set_index("level")
    # sessions.csv: the ten surveyed sessions run from 2025-08-20 to 2026-04-08; observations.csv from 2025-09-03
    # to 2026-05-26; conditions.csv rates in October, January and April; students.csv: spring 2025 pre, 2026 post
    assert schedule.loc[1, ["first_collected", "last_collected"]].tolist() == ["2025-08", "2026-04"]
    assert schedule.loc[1, "when"] == "after each session: 10 surveyed, August 2025 to April 2026"
    assert schedule.loc[2, "when"] == "pre August 2025; post April 2026"
    assert schedule.loc[3, "when"] == "each term: fall, winter and spring 2025-26"
    assert schedule.loc[3, ["first_collected", "last_collected"]].tolist() == ["2025-10", "2026-04"]
    assert schedule.loc[4, "when"] == "walkthroughs, September 2025 to May 2026"
    assert schedule.loc[4, ["first_collected", "last_collected"]].tolist() == ["2025-09", "2026-05"]
    assert schedule.loc[5, "when"] == "spring 2025 tests (before) and spring 2026 tests (after)"
    assert schedule.loc[5, ["first_collected", "last_collected"]].tolist() == ["2025", "2026"]
    assert schedule["source"].tolist() == [
        "reactions.csv and sessions.csv",
        "learning.csv",
        "conditions.csv",
        "observations.csv",
        "students.csv",
    ]
    assert model.provenance["evidence"] == "data"


def test_a_multi_year_programs_model_spans_its_years(years_district):
    model = lm.logic_model(years_district.plan, years_district)
    assert model.years == "2023-24 to 2025-26"
    practice = model.boxes.dropna(subset=["level"]).set_index("level").loc[4]
    assert practice["target_text"] == "40% in 2023-24, 55% in 2024-25, 60% in 2025-26, each by May"
    assert practice["target"] == pytest.approx(0.60)  # the latest year's
    schedule = model.schedule.set_index("level")
    assert schedule.loc[3, "when"] == "each term: 2023-24 fall to 2025-26 spring, 9 terms"
    assert schedule.loc[4, ["first_collected", "last_collected"]].tolist() == ["2023-09", "2026-05"]
    assert schedule.loc[5, "when"] == "spring tests, 2023 to 2026, each against the spring before"
    # the budget is every year's together, and says so: beside the reports' cost of the latest year it read as this
    # year's (a reader's review)
    budget = model.boxes[(model.boxes["box"] == "Budget") & model.boxes["funding_source"].isna()].iloc[0]
    assert budget["cost"] == pytest.approx(years_district.costs["amount"].sum())
    assert budget["detail"] == (
        "costs.csv, all funding sources, 2023-24 to 2025-26 together (each year's reports count that year's)"
    )


def test_a_plan_alone_gives_a_logic_model_with_the_plans_schedule(tmp_path):
    model = lm.from_folder(_plan_alone(tmp_path / "planned"))
    assert model.provenance["evidence"] == "plan" and len(model.provenance["plan_sha256"]) == 64
    boxes = model.boxes
    assert boxes.loc[boxes["stage"] == "resources", "detail"].iloc[0] == "not yet recorded (costs.csv)"
    activities = boxes[boxes["stage"] == "activities"].iloc[0]
    assert activities["box"] == "Planned activities" and activities["detail"].startswith("A two-year professional")
    schedule = model.schedule.set_index("level")
    assert set(schedule["source"]) == {"plan.yml"}
    assert (schedule[["first_collected", "last_collected"]] == "").all().all()
    assert schedule.loc[1, "when"] == "after each session (an end-of-session survey)"
    assert schedule.loc[2, "when"].startswith("pre and post")
    assert schedule.loc[4, "when"] == "walkthroughs through the year, the target by May 2026"
    assert schedule.loc[5, "when"] == "spring 2026 tests, against spring 2025 (before)"
    # the same plan with no targets: the boxes say so
    bare = lm.from_folder(_plan_alone(tmp_path / "bare", "program: X\nschool_year: 2027-28\n"))
    assert set(bare.boxes["target_text"].dropna()) == {"no target set"}
    assert bare.references.empty and bare.about["summary"].iloc[0] == ""


def test_a_starter_folder_gives_a_logic_model_too(tmp_path):
    # plevaluate init: plan.yml and empty tables (schools.csv with its header only): nothing recorded yet
    write_starter(tmp_path / "kit")
    shutil.copy(SAMPLE / "plan.yml", tmp_path / "kit" / "plan.yml")
    model = lm.from_folder(tmp_path / "kit")
    assert model.provenance["evidence"] == "plan"
    assert model.schedule["source"].str.startswith("plan.yml").all()
    assert model.boxes.dropna(subset=["level"])["target_text"].tolist()[0] == "70%"


def test_the_published_tables_match_their_declarations(model, years_district, tmp_path):
    alone = lm.from_folder(_plan_alone(tmp_path / "planned"))
    for built in (model, lm.logic_model(years_district.plan, years_district), alone):
        for name, table in built.tables().items():
            assert check(table, lm.TABLES[name]) == [], name
            assert list(table.columns) == list(lm.TABLES[name].columns), name
    assert set(model.tables()) == set(lm.TABLES)
    assert {spec.built_by for spec in lm.TABLES.values()} == {"plevaluate.logic_model"}


def test_the_model_round_trips_through_the_results_bundle(published, model, tmp_path):
    from dataclasses import replace

    saved = replace(published, extras={**published.extras, **model.tables()}).save(tmp_path / "results")
    again = lm.from_evaluation(Evaluation.load(saved))
    assert again is not None and lm.from_evaluation(published) is None
    assert page.diagram(again).as_text() == page.diagram(model).as_text()
    assert page.schedule(again).as_text() == page.schedule(model).as_text()
    assert page.research(again).as_text() == page.research(model).as_text()
    assert again.provenance["plan_sha256"] == published.provenance["file_hashes"]["plan.yml"]


def test_the_diagram_is_text_in_reading_order(model):
    section = page.diagram(model)
    soup = BeautifulSoup(section.as_html(), "html.parser")
    flow = soup.find("ol", class_="lm-flow")
    assert flow is not None and flow.get("aria-label")
    assert [h.get_text() for h in flow.find_all("h3")] == list(lm.STAGES.values())
    assert not soup.find_all(["img", "svg", "canvas"])  # no picture of text
    text = section.as_text()
    for line in ("Budget: $392,141", "Title I: $254,800", "PL sessions: 10 sessions, 25.5 hours",
                 "Workshop: 2 sessions, 12 hours", "Target: 60% by May 2026",
                 "Looked for: Students explain their reasoning to a partner or the class"):  # fmt: skip
        assert line in text, line


def test_hostile_plan_text_is_escaped_everywhere(tmp_path):
    text = (
        f'program: "{HOSTILE}"\nschool_year: 2025-26\ndescription: "<img src=x onerror=alert(1)>"\n'
        f'observable_practice: "<b>talk</b>"\nlevels:\n  practice:\n    result: "{HOSTILE}"\n    target: 0.5\n'
        'rationale:\n  summary: "<iframe src=evil></iframe>"\n  references:\n'
        f'    - citation: "{HOSTILE} et al."\n      supports: "<a href=javascript:x>a</a> -> b"\n'
        '      url: "https://example.org/?q=\\"><script>alert(2)</script>"\n'
    )
    model = lm.from_folder(_plan_alone(tmp_path / "hostile", text))
    html = "".join(
        part.as_html() for part in (page.title(model), page.diagram(model), page.research(model), page.schedule(model))
    )
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find_all(["script", "img", "iframe", "b"])
    assert [a["href"] for a in soup.find_all("a")] == ['https://example.org/?q="><script>alert(2)</script>']
    assert "&lt;script&gt;alert('x')&lt;/script&gt; et al." in html.replace("&#x27;", "'")
    assert "<a href=javascript" not in html and "&lt;a href=javascript:x&gt;a&lt;/a&gt; \u2192 b" in html


# ---- the page, rendered ----


def _page(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _pages(pdf: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(pdf).pages)


@pytest.mark.render
def test_the_samples_logic_model_is_rendered_listed_and_one_page(rendered):
    out = rendered.out
    assert (out / "logic-model.html").stat().st_size > 20_000
    index = _page(out / "index.html")
    assert {a["href"] for a in index.find_all("a")} >= {"logic-model.html", "logic-model.ipynb"}
    soup = _page(out / "logic-model.html")
    assert soup.find("html").get("lang") == "en" and soup.find("title").get_text() == "Logic model"
    assert [h.get_text(" ", strip=True) for h in soup.find_all("h1")] == [
        "Math Talk: students explain their reasoning: logic model"
    ]
    text = soup.get_text(" ")
    for said in ("From resources to student outcomes", "The research it rests on", "When each level is measured",
                 "Target: 60% by May 2026", "walkthroughs, September 2025 to May 2026", "from the plan and the data in 'sample'"):  # fmt: skip
        assert said in " ".join(text.split()), said
    assert "https://doi.org/10.3102/0034654318759268" in {a.get("href") for a in soup.find_all("a")}
    for name in ("extra_logic_model.csv", "extra_logic_model_schedule.csv", "extra_logic_model_references.csv"):
        assert (out / "results" / name).is_file()
    if BROWSER:
        assert _pages(out / "logic-model.pdf") == 1


@pytest.mark.render
@pytest.mark.browser
@needs_browser
def test_the_multi_year_samples_report_run_renders_its_logic_model_on_one_page(tmp_path):
    summary = _quietly(render, SAMPLE_YEARS, tmp_path / "out", schools=["S01"], formats=("html", "pdf"))
    assert summary.ok, (summary.failures, summary.findings)
    assert (tmp_path / "out" / "logic-model.html").is_file()
    assert _pages(tmp_path / "out" / "logic-model.pdf") == 1
    _a4(tmp_path / "out" / "logic-model.html", tmp_path / "a4.pdf")
    assert _pages(tmp_path / "a4.pdf") == 1
    text = " ".join(_page(tmp_path / "out" / "logic-model.html").get_text(" ").split())
    assert "40% in 2023-24, 55% in 2024-25, 60% in 2025-26, each by May" in text
    assert "2023-24 to 2025-26" in text


def _a4(html: Path, pdf: Path) -> None:
    """Print ``html`` on A4 (the reports print on US Letter): Chromium's print call with A4 paper."""
    import base64

    from plevaluate._pdf import Printer

    with Printer(BROWSER) as printer:
        target = printer._send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        session = printer._send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        printer._send("Page.enable", session=session)
        printer._send("Page.navigate", {"url": html.resolve().as_uri()}, session=session)
        printer._wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session)
        paper = {"printBackground": True, "paperWidth": 8.27, "paperHeight": 11.69}
        pdf.write_bytes(base64.b64decode(printer._send("Page.printToPDF", paper, session=session)["result"]["data"]))


@pytest.mark.render
@pytest.mark.browser
@needs_browser
def test_a_plan_alone_renders_a_one_page_logic_model_on_letter_and_a4(tmp_path, capsys):
    data = _plan_alone(tmp_path / "planned")
    before = (data / "plan.yml").read_bytes()
    assert main(["logic-model", str(data), "--out", str(tmp_path / "out")]) == 0
    assert "Wrote logic-model.html, logic-model.pdf" in capsys.readouterr().out
    assert (data / "plan.yml").read_bytes() == before and sorted(p.name for p in data.iterdir()) == ["plan.yml"]
    html = tmp_path / "out" / "logic-model.html"
    assert _pages(tmp_path / "out" / "logic-model.pdf") == 1  # US Letter, as every report is printed
    soup = _page(html)
    assert soup.find("h1").get_text(strip=True) == "Math Talk: students explain their reasoning: logic model"
    assert "after each session (an end-of-session survey)" in soup.get_text(" ")
    _a4(html, tmp_path / "a4.pdf")  # A4 is narrower: the boxes wrap more, the page still holds them
    assert _pages(tmp_path / "a4.pdf") == 1
    # a plan that does not read is refused before anything is written
    (data / "plan.yml").write_text("program: X\nschool_year: 2025-26\nrationale:\n  references:\n    - url: x\n")
    assert main(["logic-model", str(data), "--out", str(tmp_path / "again")]) == 1
    assert "rationale.references.0.citation" in capsys.readouterr().err
    assert not (tmp_path / "again").exists()


@pytest.mark.render
def test_hostile_plan_text_is_escaped_in_the_rendered_page(tmp_path):
    text = (SAMPLE / "plan.yml").read_text(encoding="utf-8")
    text = text.replace('program: "Math Talk: students explain their reasoning"', f'program: "{HOSTILE}"')
    text = text.replace('    - citation: "Guskey', f'    - citation: "{HOSTILE} Guskey', 1)
    data = _plan_alone(tmp_path / "hostile", text)
    assert main(["logic-model", str(data), "--out", str(tmp_path / "out"), "--format", "html"]) == 0
    raw = (tmp_path / "out" / "logic-model.html").read_text(encoding="utf-8")
    assert "<script>alert(" not in raw
    soup = BeautifulSoup(raw, "html.parser")
    assert soup.find("h1").get_text(strip=True) == f"{HOSTILE}: logic model"  # the title's placeholder, escaped
    assert f"{HOSTILE} Guskey, T. R. (2000)" in soup.get_text()
