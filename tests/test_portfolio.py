"""The district portfolio (`plevaluate portfolio DIR --out OUT`): three programs, one of them over two years and
one with no student outcomes; every section present, every program's reports linked, the same privacy rules."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from plevaluate import ContractError
from plevaluate import render as render_module
from plevaluate.cli import main
from plevaluate.portfolio import build_portfolio
from tests.conftest import folder_hash


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """math-talk: the single-year process, 3 schools; rollout: 4 schools over two years, joining in two cohorts;
    literacy: 3 schools and no students.csv (no level-5 evidence). As few schools as a sample has: the portfolio's
    sections and rules do not depend on how many."""
    root = tmp_path_factory.mktemp("programs")
    assert main(["sample", str(root / "math-talk"), "--schools", "3", "--seed", "3"]) == 0
    assert main(["sample", str(root / "rollout"), "--schools", "4", "--years", "2", "--cohorts", "2"]) == 0
    assert main(["sample", str(root / "literacy"), "--schools", "3", "--seed", "5"]) == 0
    (root / "literacy" / "students.csv").unlink()
    plan = (root / "literacy" / "plan.yml").read_text()
    plan = re.sub(r'program: ".*"', 'program: "Literacy <b>coaching</b> & co"', plan)
    (root / "literacy" / "plan.yml").write_text(plan)
    (root / "notes").mkdir()  # a folder with no plan.yml is not a program
    return root


@pytest.fixture(scope="module")
def portfolio(programs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_portfolio(programs)


@pytest.mark.slow
def test_portfolio_tables_cover_every_program_and_year(portfolio):
    programs = portfolio.programs.set_index("program_id")
    assert sorted(programs.index) == ["literacy", "math-talk", "rollout"]
    assert programs.loc["rollout", "years"] == "2024-25, 2025-26"
    chains = portfolio.chains
    assert set(chains.loc[chains["program_id"] == "rollout", "year"]) == {"2024-25", "2025-26"}
    assert set(chains["level"]) == {0, 1, 2, 3, 4, 5}
    literacy = chains[(chains["program_id"] == "literacy") & (chains["level"] == 5)]
    assert literacy["status"].iloc[0] not in ("met", "not met", "not conclusive")
    notes = portfolio.notes.set_index("program_id")["note"]
    assert "cost-effectiveness cannot be judged" in notes["literacy"]
    assert set(portfolio.funding["program_id"]) == {"literacy", "math-talk", "rollout"}
    assert (portfolio.costs["measure"] == "cost_per_student").any()


def test_linked_program_folders_are_refused_and_other_folders_named(programs, tmp_path):
    from plevaluate.portfolio import find_programs, other_folders

    assert other_folders(programs) == ["notes"]
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "math-talk").symlink_to(programs / "math-talk", target_is_directory=True)
    with pytest.raises(ValueError, match="math-talk in .* are links: copy each program's folder"):
        find_programs(linked)


def test_a_broken_program_stops_the_portfolio_with_every_problem_named(programs, tmp_path):
    broken = tmp_path / "p"
    shutil.copytree(programs, broken)
    path = broken / "literacy" / "schools.csv"
    path.write_text(path.read_text().replace("participant", "participating", 1))
    with pytest.raises(ContractError, match=r"literacy/schools\.csv"):
        build_portfolio(broken)


@pytest.mark.render
def test_the_portfolio_renders_every_section_with_the_same_privacy_rules(programs, tmp_path, monkeypatch):
    before = folder_hash(programs)
    out = tmp_path / "out"
    # the workbook finance opens, for every program and the portfolio (each program's deck and Word documents come
    # from the same render as a program's own run: tests/test_deck.py and tests/test_memo.py)
    formats = "html,xlsx"
    pools = []  # the programs and the portfolio's page share one pool of report workers (a pool each, before)
    monkeypatch.setattr(render_module, "report_workers", _counted(render_module.report_workers, pools))
    assert main(["portfolio", str(programs), "--out", str(out), "--format", formats, "--workers", "2"]) == 0
    assert len(pools) == 1
    assert folder_hash(programs) == before  # the programs' folders are never written to
    page = BeautifulSoup((out / "portfolio.html").read_text(encoding="utf-8"), "html.parser")
    headings = [h.get_text(" ", strip=True) for h in page.find_all(["h1", "h2"])]
    assert headings[0] == "Professional learning portfolio"
    for wanted in ("Chains of evidence", "What each program cost", "Who paid"):
        assert any(h.startswith(wanted) for h in headings), (wanted, headings)
    text = page.get_text(" ", strip=True)
    assert "Literacy <b>coaching</b> & co" in text  # untrusted text is shown as text, never as markup
    assert page.find("b", string="coaching") is None
    office = ("results.xlsx",)
    for program in ("math-talk", "rollout", "literacy"):
        for name in ("district-report.html", "index.html", *office):
            assert (out / program / name).is_file(), (program, name)
    from openpyxl import load_workbook

    book = load_workbook(out / "portfolio.xlsx")
    assert book.sheetnames == ["Notes", "Data dictionary", "programs", "chains", "costs", "funding", "program notes"]
    assert {row[0].value for row in book["programs"].iter_rows(min_row=2)} == {"math-talk", "rollout", "literacy"}
    index = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    links = {a["href"] for a in index.find_all("a")}
    assert {"portfolio.html", "portfolio.xlsx", "rollout/district-report.html"} <= links
    for link in links:
        assert (out / link).exists(), link
    # every student ID and educator name of every program stays out of the portfolio's pages and tables
    from plevaluate.audit import audit

    for program in ("math-talk", "rollout", "literacy"):
        assert audit(out, programs / program) == []
    # the portfolio shows each program's own published results: the same numbers as the program's reports
    from plevaluate import Evaluation
    from plevaluate.portfolio import Portfolio

    shown = Portfolio.load(out / "portfolio-results").chains.set_index(["program_id", "year", "level"])
    own = Evaluation.load(out / "rollout" / "results").extras["years_trend"].set_index(["year", "level"])
    assert list(shown.loc["rollout", "estimate"].fillna(-1)) == list(own["estimate"].fillna(-1))
    rollout = BeautifulSoup((out / "rollout" / "district-report.html").read_text(encoding="utf-8"), "html.parser")
    assert any(h.get_text(strip=True) == "Year by year" for h in rollout.find_all("h2"))


def _counted(function, calls: list):
    def counted(*args, **kwargs):
        calls.append(args)
        return function(*args, **kwargs)

    return counted


@pytest.mark.render
def test_a_shared_pool_whose_worker_died_while_it_waited_still_renders_the_program(tmp_path):
    """A hostile review: a portfolio's shared report worker killed while the pool waited (during a program's
    evaluation) broke the pool, and the next report submitted ended the run with a BrokenProcessPool traceback. The
    program gets new workers; the portfolio replaces its own before the next program."""
    import os
    import signal
    import time

    from tests.conftest import write_tiny

    data = write_tiny(tmp_path / "district")
    pool = render_module.report_workers(1, None)
    try:
        worker = next(iter(pool._processes.values()))
        os.kill(worker.pid, signal.SIGKILL)
        waited = time.monotonic()
        while not pool._broken and time.monotonic() - waited < 30:  # its manager notices the death
            time.sleep(0.1)
        assert pool._broken
        summary = render_module.render(data, tmp_path / "out", workers=1, formats=("html",), pool=pool)
        assert not summary.failures, summary.failures
        assert (tmp_path / "out" / "district-report.html").is_file()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def test_a_portfolio_stopped_after_a_program_says_that_programs_reports_were_published(programs, tmp_path, monkeypatch):
    """A hostile review: a portfolio stopped (Ctrl-C) after its first program was published said "nothing was
    published". It names the programs whose reports were published, each complete, and says nothing else was."""
    import contextlib
    import io

    rendered = []

    def render_then_stop(path, out, **kwargs):
        if rendered:
            raise KeyboardInterrupt
        rendered.append(out)
        return render_module.RenderSummary(Path(out))

    monkeypatch.setattr(render_module, "render", render_then_stop)
    monkeypatch.setattr(render_module, "report_workers", lambda *args, **kwargs: _NoPool())
    said = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(said):
        warnings.simplefilter("ignore")
        code = main(["portfolio", str(programs), "--out", str(tmp_path / "out"), "--format", "html"])
    assert code == 130
    assert f"these programs' reports were published before it, each complete: {rendered[0]}" in said.getvalue()
    assert "nothing was published" not in said.getvalue()


class _NoPool:
    """A pool of report workers that never runs anything (the programs' runs are replaced)."""

    _broken = False
    _processes: dict = {}

    def shutdown(self, wait=True, cancel_futures=False):
        pass
