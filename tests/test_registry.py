"""The level registry, the declared result schema, and the recipe for a new level in docs/architecture.md (#13, #30)."""

from __future__ import annotations

import ast
import importlib
import shutil
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import plevaluate
from plevaluate import registry
from plevaluate.design import check_design
from plevaluate.evaluate import evaluate
from plevaluate.schema import GLOSSARY, MEASURE_COLUMNS, check
from tests.conftest import SAMPLE
from tests.test_reports import _no_comparison, _post_only, _sparse, _tiny

LEVEL_MODULES = {level.run.__module__ for level in registry.BUILTIN}


def test_builtin_levels_are_in_the_registry_in_run_order():
    assert [level.number for level in registry.levels()] == [0, 1, 2, 3, 4, 5]
    order = [level.number for level in registry.run_order()]
    assert order.index(3) < order.index(4) < order.index(5) < order.index(0)  # each after what it needs
    assert len({level.key for level in registry.levels()}) == 6


def test_no_level_module_imports_another_level_module():
    # cross-level inputs pass only through `upstream` (evaluate hands each level the results it needs)
    for module in LEVEL_MODULES:
        tree = ast.parse(Path(importlib.import_module(module).__file__).read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = ("plevaluate." if node.level else "") + (node.module or "")
                imported.add(base)
                imported.update(f"{base}.{alias.name}" if base.endswith("plevaluate") else base for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        others = (LEVEL_MODULES - {module}) & imported
        assert not others, f"{module} imports {sorted(others)}"


def _check_all(ev) -> list[str]:
    problems = []
    declared = {level.number: level.tables for level in registry.levels()}
    for number, result in ev.levels.items():
        for name, table in result.tables.items():
            spec = declared[number].get(name)
            if spec is None:
                problems.append(f"level {number} table {name}: not declared")
                continue
            problems += [f"level {number} table {name}: {p}" for p in check(table, spec)]
    return problems


def test_every_table_of_the_sample_matches_its_declaration(sample_evaluation):
    assert _check_all(sample_evaluation) == []
    assert _check_all(sample_evaluation.publish()) == []
    target = sample_evaluation[4]["target"]
    assert set(MEASURE_COLUMNS) <= set(target.columns)
    assert set(target["n_unit"]) == {"observations"} and set(target["ci_level"]) == {0.95}
    # every declared column has one meaning in the glossary
    for level in registry.levels():
        for spec in level.tables.values():
            assert set(spec.columns) <= set(GLOSSARY)


@pytest.mark.slow
@pytest.mark.parametrize(
    "edit", [_no_comparison, _post_only, _sparse, _tiny], ids=["no comparison", "post only", "sparse", "tiny"]
)
def test_partial_districts_match_the_declarations(edit, tmp_path):
    folder = tmp_path / "district"
    shutil.copytree(SAMPLE, folder)
    edit(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate(plevaluate.load(folder))
    assert _check_all(ev) == [] and _check_all(ev.publish()) == []


# ---- the recipe for a new level (docs/architecture.md), followed by a plugin package ----

TOY = '''
"""A sixth level, added from outside plevaluate by following the recipe of docs/architecture.md: PL reach, the
share of each school's educators who attended at least one session."""

import pandas as pd
from IPython.display import HTML
from pydantic import BaseModel, ConfigDict, Field

from plevaluate.chain import from_target
from plevaluate.power import not_checked, pct
from plevaluate.privacy import Rule
from plevaluate.results import Level, LevelResult, target_status
from plevaluate.schema import TableSpec
from statsmodels.stats.proportion import proportion_confint


class ReachTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    target: float | None = Field(None, ge=0, le=1)


def run(district, upstream):
    if district.attendance is None:
        return LevelResult(6, "reach", evidence=False, notes=("no attendance was recorded",))
    people = district.educators.drop_duplicates("educator_id")
    attended = people["educator_id"].isin(district.attendance["educator_id"])
    rows = []
    for breakdown, school, part in [("district", None, attended)] + [
        ("school_id", s, attended[people["school_id"] == s]) for s in sorted(people["school_id"].unique())
    ]:
        low, high = proportion_confint(int(part.sum()), len(part), alpha=1 - district.plan.ci, method="wilson")
        rows.append({"level": 6, "breakdown": breakdown, "school_id": school, "measure": "reach",
                     "estimate": part.mean(), "ci_low": low, "ci_high": high, "n": len(part),
                     "n_people": len(part), "method": "attended / listed; Wilson interval"})
    table = target_status(pd.DataFrame(rows), district.plan.levels.reach.target)
    coverage = table[["level", "breakdown", "school_id"]].assign(records=table["n"], n_people=table["n"])
    return LevelResult(6, "reach", {"target": table, "coverage": coverage})


def district_section(ev):
    row = ev.table(6, "target").iloc[0]
    return HTML(f"<h2>Level 6. PL reach</h2><p>{row['estimate']:.0%} of educators attended a session.</p>")


def school_section(ev, school_id):
    rows = ev.table(6, "target")
    mine = rows[rows["school_id"] == school_id]
    shown = "not shown" if mine.empty or mine.iloc[0]["suppressed"] else f"{mine.iloc[0]['estimate']:.0%}"
    return HTML(f"<h2>Level 6. PL reach</h2><p>Educators of this school who attended: {shown}.</p>")


def board_section(ev):
    return HTML("<h2>Who the PL reached</h2><p>Reach is the share of listed educators who attended.</p>")


def technical_section(ev):
    return HTML(f"<h2>PL reach: method</h2><p>{ev.table(6, 'target').iloc[0]['method']}.</p>")


def design(ctx):
    target = ctx.plan.levels.reach.target
    if target is None:
        return not_checked(6, "PL reach", target, ctx.participants)
    return {"level": 6, "name": "PL reach", "target": target, "target_text": f"{pct(target)} of educators attend",
            "evidence": f"the attendance of all {ctx.participants} participating educators", "detectable": float("nan"),
            "power": float("nan"), "verdict": "a census: no sampling error",
            "finding": "every listed educator is counted", "change": ""}


LEVEL = Level(
    number=6, key="reach", name="PL reach", question="Did the PL reach every educator?", run=run,
    headline=from_target, measure=lambda plan: "share of educators who attended a session",
    evidence="attendance of {people} educators", met="the PL reached educators",
    not_met="the PL reached too few educators ({value} against {target})", unsure="reach",
    tables={
        "target": TableSpec("measure", "level breakdown school_id measure unit estimate ci_low ci_high ci_level n "
                            "n_unit n_people method target met status", "share of educators who attended",
                            unit="share", n_unit="educators"),
        "coverage": TableSpec("diagnostic", "level breakdown school_id records n_people", "what reach rests on"),
    },
    sections={"district": "toy_reach:district_section", "school": "toy_reach:school_section",
              "board": "toy_reach:board_section", "technical": "toy_reach:technical_section"},
    design=design,
    target_model=ReachTarget,
    privacy=(Rule("target", ("n_people",), ("level", "breakdown", "school_id", "measure", "method", "target"),
                  within=("breakdown",), unit="educators", school_totals=True),
             Rule("coverage", ("n_people",), ("level", "breakdown", "school_id"), within=("breakdown",),
                  unit="educators")),
)
'''


@pytest.fixture
def toy_plugin(tmp_path, monkeypatch):
    """A package installed the way pip installs one: a module and a dist-info with an entry point."""
    site = tmp_path / "site"
    (site / "toy_reach-0.1.dist-info").mkdir(parents=True)
    (site / "toy_reach.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    (site / "toy_reach-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-reach\nVersion: 0.1\n")
    (site / "toy_reach-0.1.dist-info" / "entry_points.txt").write_text("[plevaluate.levels]\nreach = toy_reach:LEVEL\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))  # the report kernels find it too
    monkeypatch.setattr(registry, "_plugins", None)
    yield site
    registry._plugins = None
    sys.modules.pop("toy_reach", None)


@pytest.mark.render
def test_a_plugin_level_reaches_the_plan_the_chain_every_report_and_the_design_check(toy_plugin, tmp_path):
    """Acceptance of #30: a level added by a plugin package, with no edit to plevaluate, appears in every report
    (district, school, board, technical), the at-a-glance grid, the board findings and the design check."""
    assert [level.number for level in registry.levels()] == [0, 1, 2, 3, 4, 5, 6]
    data = tmp_path / "district"
    shutil.copytree(SAMPLE, data)
    plan = data / "plan.yml"
    plan.write_text(plan.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    text = plan.read_text(encoding="utf-8").replace("levels:\n", "levels:\n  reach:\n    target: 0.5\n", 1)
    plan.write_text(text, encoding="utf-8")
    assert plevaluate.read_plan(plan).levels.reach.target == 0.5
    bad = plan.read_text(encoding="utf-8").replace("  reach:\n", "  raech:\n", 1)
    (tmp_path / "bad.yml").write_text(bad, encoding="utf-8")
    with pytest.raises(plevaluate.PlanError, match="(?i)did you mean 'reach'"):
        plevaluate.read_plan(tmp_path / "bad.yml")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate(plevaluate.load(data)).publish()
    row = ev.chain[(ev.chain["scope"] == "district") & (ev.chain["level"] == 6)].iloc[0]
    assert row["level_name"] == "PL reach" and row["status"] in ("met", "not met", "not conclusive")
    assert _check_all(ev) == []

    from plevaluate.render import render

    summary = render(data, tmp_path / "out", schools=["S01"], workers=1, formats=("html",))
    assert not summary.failures and not summary.findings

    def page(name):
        return BeautifulSoup((tmp_path / "out" / name).read_text(encoding="utf-8"), "html.parser")

    district = page("district-report.html")
    headings = [h.get_text(" ", strip=True) for h in district.find_all("h2")]
    assert "Level 6. PL reach" in headings
    assert headings.index("Level 6. PL reach") > max(i for i, h in enumerate(headings) if h.startswith("Level 5"))
    assert "6. PL reach" in district.get_text(" ")  # its chain-of-evidence row
    glance = next(h for h in district.find_all("h2") if h.get_text(strip=True) == "Every school at a glance")
    grid = glance.find_next("table")
    assert "6. PL reach" in [th.get_text(" ", strip=True) for th in grid.find("thead").find_all("th")]
    school = page(next(p.name for p in (tmp_path / "out").glob("school-s01-*.html")))
    assert "Level 6. PL reach" in [h.get_text(" ", strip=True) for h in school.find_all("h2")]
    assert "6. PL reach" in school.get_text(" ")  # the school's chain row
    board = page("board-summary.html")
    assert "Who the PL reached" in [h.get_text(" ", strip=True) for h in board.find_all("h2")]
    found = next(h for h in board.find_all("h2") if h.get_text(strip=True) == "What we found").find_next("ul")
    assert any(li.get_text(" ", strip=True).startswith("PL reach:") for li in found.find_all("li"))
    technical = page("technical-appendix.html")
    assert "PL reach: method" in [h.get_text(" ", strip=True) for h in technical.find_all("h2")]
    assert "Level 6 (reach)" in technical.get_text(" ")  # how its result was made, in the appendix's data

    check = check_design(plevaluate.load(data), registry.levels()).levels.set_index("level")
    assert check.loc[6, "name"] == "PL reach" and check.loc[6, "verdict"] == "a census: no sampling error"
    assert list(check.index) == [1, 2, 3, 4, 5, 6]
