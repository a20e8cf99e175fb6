"""Accessibility of what a district posts: WCAG 2.0 / 2.1 level A and AA, checked as a web coordinator would.

- axe-core (vendored in tests/vendor/axe-core, never fetched) runs in headless Chromium on every rendered
  HTML report, the board summary's slides and the index, with the wcag2a, wcag2aa, wcag21a and wcag21aa rules;
- every chart image has a real text alternative (its takeaway with its main number), never nbconvert's
  placeholder, and its numbers as a table (criterion 1.1.1: nothing conveyed by the image alone);
- headings never skip a level, and each slide has a heading;
- every PDF is tagged (a structure tree), has a title and a language.

All on the session's one render of the sample (``rendered`` in conftest.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from plevaluate._pdf import Printer
from plevaluate.report import toolkit
from tests.test_reports import BROWSER, needs_browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PLACEHOLDERS = {"", "no description has been provided for this image", "image", "chart", "figure", "plot"}


class Checker(Printer):
    """The report printer's Chromium, asked to run axe-core on a page instead of printing it."""

    def axe(self, page: Path) -> list[dict]:
        target = self._send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        try:
            self._send("Page.enable", session=session)
            self._send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
            self._wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session)
            self._send("Runtime.evaluate", {"expression": AXE.read_text(encoding="utf-8")}, session=session)
            script = (
                f"axe.run(document, {{runOnly: {{type: 'tag', values: {json.dumps(RULES)}}}}})"
                ".then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
                "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))"
            )
            reply = self._send(
                "Runtime.evaluate", {"expression": script, "awaitPromise": True, "returnByValue": True}, session=session
            )
            result = reply["result"]
            if "exceptionDetails" in result:
                raise RuntimeError(f"axe-core failed on {page.name}: {result['exceptionDetails']}")
            return json.loads(result["result"]["value"])
        finally:
            self._send("Target.closeTarget", {"targetId": target})

    def slides(self, page: Path, width: int = 1280, height: int = 800) -> list[dict]:
        """Each slide of reveal.js slides shown in a ``width`` x ``height`` window: its title, the bottom of its
        content on the screen, and whether it scrolls."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        try:
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
            self._send("Emulation.setDeviceMetricsOverride", metrics, session=session)
            self._send("Page.enable", session=session)
            self._send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
            self._wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session)
            script = """
(async () => {
  const wait = (ms) => new Promise((done) => setTimeout(done, ms));
  while (!(window.Reveal && Reveal.isReady())) await wait(50);
  Reveal.configure({transition: "none"});
  const seen = [];
  const slides = Reveal.getSlides();
  for (let i = 0; i < slides.length; i++) {
    const slide = slides[i];
    Reveal.slide(i);
    await wait(50);
    for (const open of [false, true]) {  // as shown, then with every chart's numbers opened
      slide.querySelectorAll("details").forEach((d) => { d.open = open; });
      await wait(100);
      const box = slide.getBoundingClientRect();
      seen.push({title: ((slide.querySelector("h1, h2") || {}).textContent || "") + (open ? " (opened)" : ""),
                 bottom: box.bottom,
                 scrolls: slide.classList.contains("pl-scroll") && slide.scrollHeight > slide.clientHeight});
    }
  }
  return JSON.stringify(seen);
})()"""
            reply = self._send(
                "Runtime.evaluate", {"expression": script, "awaitPromise": True, "returnByValue": True}, session=session
            )
            return json.loads(reply["result"]["result"]["value"])
        finally:
            self._send("Target.closeTarget", {"targetId": target})


def _pages(rendered) -> list[Path]:
    return sorted(p for p in rendered.written if p.suffix == ".html")


@pytest.mark.browser
@needs_browser
def test_axe_core_finds_no_wcag_a_or_aa_violation_in_any_report_or_the_slides(rendered):
    pages = _pages(rendered)
    assert any(p.name.endswith(".slides.html") for p in pages) and any(p.name == "index.html" for p in pages)
    found = {}
    with Checker(BROWSER, timeout=120) as checker:
        for page in pages:
            violations = checker.axe(page)
            if violations:
                found[page.name] = violations
    assert not found, json.dumps(found, indent=1)[:4000]


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_every_chart_has_a_text_alternative_with_its_main_number_and_its_numbers_as_a_table(rendered):
    charts = 0
    for page in _pages(rendered):
        soup = _soup(page)
        for image in soup.find_all("img"):
            alt = " ".join(str(image.get("alt", "")).split())
            assert alt.lower().strip(".") not in PLACEHOLDERS, (page.name, str(image)[:200])
            assert len(alt) >= 25, (page.name, alt)
            figure = image.find_parent("figure", class_="pl-chart")
            assert figure is not None, (page.name, alt)  # every image is a chart made by the report code
            table = figure.select_one("details.pl-chart-data table")
            says_why = re.search(r"too few|no classroom observations|nothing to show|not shown", alt, re.I)
            assert table is not None or says_why, (page.name, alt)
            assert re.search(r"\d", alt) or says_why, (page.name, alt)  # its main number
            if table is not None:
                assert table.find("th", attrs={"scope": "col"}) is not None
                assert figure.select_one("details > summary").get_text(strip=True)
            charts += 1
    assert charts >= 15 * 3  # every report has charts


def test_a_chart_table_describes_hidden_groups_and_names_no_other_school_in_a_school_report(rendered):
    page = rendered.out / "school-s03-pena-oneill-middle-school.html"
    soup = _soup(page)
    tables = [t.get_text(" ", strip=True) for t in soup.select("details.pl-chart-data table")]
    assert tables
    funnel = next(t for t in tables if "other school" in t)  # the other schools by position, never by name
    for other in ("Lincoln", "Jefferson", "Riverside", "Cedar Grove", "Oak Park"):
        assert other not in funnel
    district = _soup(rendered.out / "district-report.html")
    texts = " ".join(t.get_text(" ", strip=True) for t in district.select("details.pl-chart-data table"))
    assert "not shown" in texts  # suppressed groups are described, never given values


@pytest.mark.browser
def test_headings_never_skip_a_level_and_every_slide_has_one(rendered):
    for page in _pages(rendered):
        soup = _soup(page)
        levels = [int(h.name[1]) for h in soup.find_all(re.compile(r"^h[1-6]$"))]
        assert levels and levels[0] == 1, page.name
        jumps = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
        assert not jumps, (page.name, jumps)
    slides = _soup(rendered.out / "board-summary.slides.html")
    sections = slides.select(".reveal .slides > section")
    assert len(sections) >= 8
    for number, section in enumerate(sections, 1):
        assert section.find(re.compile(r"^h[12]$")) is not None, f"slide {number} has no heading"


@pytest.mark.browser
@needs_browser
def test_every_slide_fits_a_laptop_screen_or_scrolls(rendered):
    """A reader's review at 1280 x 800: the chain of evidence, "What it cost" and "What we found" ran off the bottom of
    the screen, their last rows unseen. A slide a little too tall is shrunk to fit; the provenance's tables, far too
    tall to shrink, scroll."""
    with Checker(BROWSER, timeout=120) as checker:
        slides = checker.slides(rendered.out / "board-summary.slides.html")
    assert len(slides) >= 16
    for slide in slides:
        assert slide["bottom"] <= 800 or slide["scrolls"], slide
    assert [s["title"] for s in slides if s["scrolls"] and "(opened)" not in s["title"]] == ["Provenance"]


@needs_browser
def test_every_pdf_is_tagged_with_a_title_and_a_language(rendered):
    pdfs = sorted(p for p in rendered.written if p.suffix == ".pdf")
    assert len(pdfs) == 16  # 15 reports and the logic model
    for pdf in pdfs:
        reader = PdfReader(pdf)
        root = reader.trailer["/Root"]
        assert "/StructTreeRoot" in root, pdf.name  # tagged: a structure tree for screen readers
        assert root.get("/MarkInfo", {}).get("/Marked"), pdf.name
        assert str(root.get("/Lang", "")).startswith("en"), pdf.name
        assert reader.metadata and reader.metadata.title and len(reader.metadata.title) > 5, pdf.name


@pytest.mark.browser
@pytest.mark.parametrize("chart", ["likert", "funnel"])
def test_chart_numbers_stay_out_of_the_image_only(chart, published):
    """The figure functions attach their numbers (`figures.describe`); the report shows them (`report.toolkit.Chart`)."""
    from plevaluate import figures

    if chart == "likert":
        items = published.table(1, "distribution")
        fig = figures.likert_chart(items[items["breakdown"] == "district"])
    else:
        fig = figures.funnel_chart(published.table(4, "funnel"), published.table(4, "funnel_curve"), highlight="S03")
    shown = toolkit.Chart(fig)
    assert shown.numbers is not None and len(shown.numbers) >= 3
    assert re.search(r"\d", shown.alt)
    html = shown.html()
    assert 'alt="' in html and "The numbers behind this chart" in html and "<table" in html
