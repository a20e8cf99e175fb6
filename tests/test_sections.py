"""Snapshot tests of report sections: each section returns a `report.Section`; its HTML, normalized, must
match the stored snapshot in tests/snapshots/ (the sample district, published).

A change to a section's wording or numbers shows up here as a diff to read. When the change is meant,
regenerate the snapshots with ``PLEVALUATE_UPDATE_SNAPSHOTS=1 pytest tests/test_sections.py`` and commit
them with the change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from plevaluate import report

SNAPSHOTS = Path(__file__).parent / "snapshots"

SECTIONS = {
    "chain_district": lambda ev: report.chain_table(ev, "district"),
    "chain_S03": lambda ev: report.chain_table(ev, "S03"),
    "next_steps_S03": lambda ev: report.school_next_steps(ev, "S03"),
    "notes_S03": lambda ev: report.notes(ev, "S03"),
    "schools_at_a_glance": report.district_schools,
    "findings_board": report.board_findings,
    "sensitivity": report.technical_sensitivity,
    "cost_district": report.district_cost,
    "level_sections_S07": lambda ev: report.level_sections(ev, "school", "S07"),
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


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_section_matches_its_snapshot(name, published):
    section = SECTIONS[name](published)
    assert isinstance(section, report.Section)
    got = normalized(section)
    path = SNAPSHOTS / f"{name}.html"
    if os.environ.get("PLEVALUATE_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(got, encoding="utf-8")
        if not os.environ.get("PLEVALUATE_UPDATE_SNAPSHOTS"):
            pytest.fail(f"no snapshot for {name}: one was written to {path}; read it, then commit it")
    assert got == path.read_text(encoding="utf-8")
