"""Snapshot tests of report sections: each section returns a `report.Section`; its HTML, normalized, and its
text (`Section.as_text`) must match the stored snapshots in tests/snapshots/ (the sample district, published).

A change to a section's wording or numbers shows up here as a diff to read. When the change is meant,
regenerate the snapshots with ``PLEVALUATE_UPDATE_SNAPSHOTS=1 pytest tests/test_sections.py`` and commit
them with the change.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pytest

from plevaluate import registry, report
from plevaluate.contract import load
from plevaluate.years import evaluate_for_reports

SNAPSHOTS = Path(__file__).parent / "snapshots"
SAMPLE_YEARS = Path(__file__).resolve().parents[1] / "data" / "sample-years"

#: Every section the report notebooks show (provenance aside: it holds the date and package versions), for the
#: one-year sample (``published``) and the multi-year sample (``published_years``): what a reader reads.
SECTIONS = {
    "chain_district": lambda ev: report.chain_table(ev, "district"),
    "chain_S03": lambda ev: report.chain_table(ev, "S03"),
    "next_steps_S03": lambda ev: report.school_next_steps(ev, "S03"),
    "notes_S03": lambda ev: report.notes(ev, "S03"),
    "schools_at_a_glance": report.district_schools,
    "findings_board": report.board_findings,
    "cost_district": lambda ev: report.section_of(registry.get(0), "district")(ev),
    "level_sections_S07": lambda ev: report.level_sections(ev, "school", "S07"),
    # the district report
    "district_title": report.district_title,
    "district_years": report.district_years,
    "level_sections_district": lambda ev: report.level_sections(ev, "district"),
    "notes_district": report.notes,
    # the school report
    "school_title_S03": lambda ev: report.school_title(ev, "S03"),
    "school_years_S03": lambda ev: report.school_years(ev, "S03"),
    "level_sections_S03": lambda ev: report.level_sections(ev, "school", "S03"),
    # the board summary
    "board_title": report.board_title,
    "board_chain": report.board_chain,
    "level_sections_board": lambda ev: report.level_sections(ev, "board"),
    "board_years": report.board_years,
    # the technical appendix
    "technical_title": report.technical_title,
    "technical_data": report.technical_data,
    "level_sections_technical": lambda ev: report.level_sections(ev, "technical"),
    "technical_years": report.technical_years,
}

#: The sections that differ for a program over several years (the multi-year sample).
YEARS_SECTIONS = {
    "chain_district": lambda ev: report.chain_table(ev, "district"),
    "district_years": report.district_years,
    "school_years_S03": lambda ev: report.school_years(ev, "S03"),
    "board_years": report.board_years,
    "technical_years": report.technical_years,
    "level_sections_district": lambda ev: report.level_sections(ev, "district"),
    "level_sections_S03": lambda ev: report.level_sections(ev, "school", "S03"),
    "findings_board": report.board_findings,
}


def normalized(section: report.Section) -> str:
    """The section's HTML without what does not carry meaning here: style blocks, and every attribute but
    plevaluate's own classes (ids are numbered per report; great_tables' markup is great_tables' business);
    one row, paragraph or item per line so that a diff reads."""
    text = re.sub(r"<style>.*?</style>", "", section.html, flags=re.S)
    text = re.sub(r"<(\w+)([^>]*)>", _own_classes, text)
    text = re.sub(r">\s+<", "><", text)
    text = re.sub(r"(<(?:tr|p|li|h\d|table|ul)\b)", r"\n\1", text)
    return text.strip() + f"\n<!-- {len(section.figures)} figure(s) -->\n"


def _own_classes(tag: re.Match) -> str:
    classes = re.search(r'class="([^"]*)"', tag.group(2))
    ours = [c for c in (classes.group(1).split() if classes else []) if c.startswith("pl-")]
    return f"<{tag.group(1)}" + (f' class="{" ".join(ours)}"' if ours else "") + ">"


@pytest.fixture(scope="module")
def published_years():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate_for_reports(load(SAMPLE_YEARS))


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_section_matches_its_snapshot(name, published):
    _matches(SECTIONS[name](published), SNAPSHOTS / f"{name}.html")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(YEARS_SECTIONS))
def test_multi_year_section_matches_its_snapshot(name, published_years):
    _matches(YEARS_SECTIONS[name](published_years), SNAPSHOTS / "years" / f"{name}.html")


def _matches(section: report.Section, path: Path) -> None:
    """The section's markup (``.html``, normalized) and its text as a reader reads it (``.txt``,
    `Section.as_text`: one block a line, each chart as its text alternative) match their snapshots."""
    assert isinstance(section, report.Section)
    path.parent.mkdir(exist_ok=True)
    for got, stored in ((normalized(section), path), (section.as_text(), path.with_suffix(".txt"))):
        if os.environ.get("PLEVALUATE_UPDATE_SNAPSHOTS") or not stored.exists():
            stored.write_text(got, encoding="utf-8")
            if not os.environ.get("PLEVALUATE_UPDATE_SNAPSHOTS"):
                pytest.fail(f"no snapshot for {stored.stem}: one was written to {stored}; read it, then commit it")
        assert got == stored.read_text(encoding="utf-8")


def test_a_comparison_schools_report_asks_it_for_nothing(published):
    """A reader's review: comparison schools' reports told their principals to protect time for the program and to
    attend its sessions, which would blur the comparison the evaluation rests on."""
    steps = report.school_next_steps(published, "S09").as_text()
    assert "one of the comparison schools" in steps and "would blur the comparison" in steps
    assert "Strengthen" not in steps and "principal" not in steps.lower()
    assert "Strengthen" in report.school_next_steps(published, "S03").as_text()  # a program school is still advised
    # its survey section says why it has no answers: not "too few respondents" (the same reader's review, later)
    from plevaluate.levels.reactions.sections import school as reactions_school

    text = reactions_school(published, "S09").as_text()
    assert "A comparison school: its staff took no part in the program's sessions" in text
    assert "Too few respondents" not in text
