"""A program over several school years: the multi-year sample, year views, the trend, level 4 in event time,
and truth recovery (the committed sample, and seeded simulations with coverage)."""

from __future__ import annotations

import filecmp
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plevaluate import load, registry
from plevaluate.cli import main
from plevaluate.errors import ContractError, StatisticalWarning
from plevaluate.levels.practice import implementation_rates
from plevaluate.sample import draw_schools
from plevaluate.sample_years import _observations_years, _students_years
from plevaluate.staggered import school_panel, staggered_effects
from plevaluate.years import evaluate_years, school_years, trend_sentences, year_view

SAMPLE_YEARS = Path(__file__).resolve().parents[1] / "data" / "sample-years"


@pytest.fixture(scope="module")
def district():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(SAMPLE_YEARS)


@pytest.fixture(scope="module")
def truth():
    return json.loads((SAMPLE_YEARS / "truth.json").read_text())


@pytest.fixture(scope="module")
def years(district):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return evaluate_years(district, registry.levels())


def test_the_committed_multi_year_sample_is_what_the_command_writes(tmp_path):
    assert main(["sample", str(tmp_path / "s"), "--years", "3", "--cohorts", "2"]) == 0
    names = sorted(p.name for p in SAMPLE_YEARS.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "s").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(SAMPLE_YEARS, tmp_path / "s", names, shallow=False)
    assert mismatch == [] and errors == []


def test_sample_command_refuses_cohorts_without_years(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "s"), "--cohorts", "2"]) == 2
    assert "--cohorts needs --years 2 or more" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "t"), "--years", "2", "--cohorts", "3"]) == 2


def test_school_years_and_a_years_view(district, truth):
    assert school_years(district) == truth["years"] == ["2023-24", "2024-25", "2025-26"]
    first = year_view(district, "2023-24")
    late = [s for s, c in truth["cohorts"].items() if c == 2024]
    groups = first.schools.set_index("school_id")["group"]
    assert (groups[late] == "comparison").all()  # not yet in the program in their first year's previous year
    assert first.plan.school_year == "2023-24"
    assert first.plan.levels.practice.target == pytest.approx(0.40)  # plan.yml: targets: 2023-24: 0.40
    assert year_view(district, "2025-26").plan.levels.practice.target == pytest.approx(0.60)
    assert pd.to_datetime(first.sessions["date"]).between("2023-08-01", "2024-07-31").all()
    assert set(first.attendance["session_id"]) <= set(first.sessions["session_id"])
    assert set(first.students["year"]) == {2023, 2024}
    assert (first.students["period"] == np.where(first.students["year"] == 2023, "pre", "post")).all()
    educators = first.educators.set_index("educator_id")
    assert not educators.loc[educators["school_id"].isin(late), "participant"].any()
    with pytest.raises(ValueError, match="like 2024-25"):
        year_view(district, "2024")


@pytest.mark.slow
def test_year_by_year_level_4_rates_cover_their_true_values(years, truth):
    """Each year's district level-4 headline (May walkthroughs at the schools in the program that year): its
    interval covers the true expected share (truth.json practice_by_year)."""
    rows = years.trend[years.trend["level"] == 4].set_index("year")
    for year, true in truth["practice_by_year"].items():
        assert rows.loc[year, "ci_low"] <= true <= rows.loc[year, "ci_high"], (year, true, rows.loc[year])
    assert rows.loc["2023-24", "target"] == pytest.approx(0.40)
    assert rows.loc["2024-25", "target"] == pytest.approx(0.55)
    sentence = years.sentences.set_index("level").loc[4, "sentence"]
    assert sentence.startswith("Use of the practice rose from")


def test_the_staggered_effect_covers_its_true_value(years, truth):
    event = years.tables["years_effects_event"].set_index("event_time")
    for e, true in truth["staggered"]["effect_sd_by_event_time"].items():
        assert event.loc[int(e), "ci_low"] <= true <= event.loc[int(e), "ci_high"], (e, true)
    assert event.loc[-1, "ci_low"] <= 0 <= event.loc[-1, "ci_high"]  # the placebo year before joining
    assert years.tables["years_effects_about"]["control"].iloc[0] == "nevertreated"


def test_level_4_in_event_time_compares_cohorts_at_the_same_month(years):
    table = years.tables["years_practice"]
    assert set(table["cohort"]) == {"2023-24", "2024-25"}
    late = table[table["cohort"] == "2024-25"]
    assert late["months_since_joining"].min() < 0  # its baseline year before joining
    both = table.pivot(index="months_since_joining", columns="cohort", values="estimate").dropna()
    assert {0, 8} <= set(both.index)  # both cohorts' first September and May
    assert (both.loc[8] > both.loc[0]).all()  # each cohort grows over its first year


def test_trend_sentences_say_rose_only_when_the_change_is_conclusive():
    table = pd.DataFrame(
        {
            "year": ["2023-24", "2024-25"] * 2,
            "level": [4, 4, 1, 1],
            "level_name": ["Use of the practice"] * 2 + ["Reactions"] * 2,
            "unit": ["share"] * 4,
            "estimate": [0.30, 0.55, 0.70, 0.72],
            "ci_low": [0.25, 0.50, 0.60, 0.62],
            "ci_high": [0.35, 0.60, 0.80, 0.82],
        }
    )
    sentences = trend_sentences(table).set_index("level")["sentence"]
    assert sentences[4].startswith(
        "Use of the practice rose from 30% in 2023-24 to 55% in 2024-25 (change +25 percentage"
    )
    assert "not conclusive" in sentences[1] and "rose" not in sentences[1]
    assert "different sets of schools" not in " ".join(sentences)
    # a reader's review: a rise from 3 schools' rate to 8 schools' read as one set of schools improving
    grown = trend_sentences(table, program_schools={"2023-24": 3, "2024-25": 8}).set_index("level")["sentence"]
    assert grown[4].endswith("(3 program schools in 2023-24, 8 in 2024-25: different sets of schools).")
    same = trend_sentences(table, program_schools={"2023-24": 8, "2024-25": 8})
    assert "different sets of schools" not in " ".join(same["sentence"])
    # a reader's review: "from 55% to 70% (change +16 percentage points)"; the change said adds up to the shares said
    rounded = table.assign(estimate=[0.546, 0.704, 0.6549, 0.6762])
    said = trend_sentences(rounded).set_index("level")["sentence"]
    assert "from 55% in 2023-24 to 70% in 2024-25 (change +15 percentage points" in said[4]
    assert (
        "from 65% in 2023-24 to 68% in 2024-25; the change is within the uncertainty (change +3 percentage" in said[1]
    )


@pytest.mark.slow
def test_coverage_of_year_by_year_and_staggered_estimates_in_seeded_simulations():
    """120 simulated districts of 18 schools (the multi-year sample's process, seeds 1-120): the 95% intervals of
    each year's May implementation rate (the report's clustered Wilson interval) and of the event-time effects
    cover their true values at close to the nominal rate."""
    hits = {"practice": [0, 0], "staggered": [0, 0]}
    for seed in range(1, 121):
        rng = np.random.default_rng(seed)
        schools = draw_schools(18, rng)
        part = schools["group"].eq("participant").to_numpy()
        cohort = np.where(part, 2023 + (np.cumsum(part) - 1) * 2 // part.sum(), 0)
        educators = _educators_for(schools, rng)
        obs, practice_truth = _observations_years(schools, educators, cohort, 2023, 3, rng)
        dates = pd.to_datetime(obs["date"])
        school_cohort = pd.Series(cohort, index=schools["school_id"])
        for k, true in enumerate(practice_truth.values()):
            start = 2023 + k
            may = obs[(dates.dt.year == start + 1) & (dates.dt.month == 5)]
            may = may[may["school_id"].map(school_cohort).between(1, start)]
            rate = implementation_rates(may.assign(observed=may["practice_observed"].astype(float)), by=(), min_n=1)
            hits["practice"][0] += bool(rate["ci_low"].item() <= true <= rate["ci_high"].item())
            hits["practice"][1] += 1
        students, truth = _students_years(schools, cohort, 2023, 3, rng)
        schools_table = schools.assign(cohort=np.where(cohort > 0, cohort.astype(str), ""))
        event = staggered_effects(school_panel(students, schools_table)).event_time.set_index("event_time")
        for e, true in truth["effect_sd_by_event_time"].items():
            hits["staggered"][0] += bool(event.loc[int(e), "ci_low"] <= true <= event.loc[int(e), "ci_high"])
            hits["staggered"][1] += 1
    coverage = {k: h / n for k, (h, n) in hits.items()}
    print(f"coverage of 95% intervals: {coverage}")
    assert 0.91 <= coverage["practice"] <= 0.99, coverage
    assert 0.91 <= coverage["staggered"] <= 0.99, coverage


def _educators_for(schools, rng):
    from plevaluate.sample import draw_educators

    return draw_educators(schools, rng)


@pytest.fixture(scope="module")
def published_years(district):
    from plevaluate.years import evaluate_for_reports

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate_for_reports(district)


@pytest.mark.render
def test_reports_of_a_multi_year_program_show_the_latest_year_and_the_years(published_years, sample_evaluation):
    from plevaluate import report

    ev = published_years
    assert ev.plan["school_year"] == "2025-26"
    district = report.district_years(ev)
    assert "<h2>Year by year</h2>" in district.html
    assert len(district.figures) == 2  # level 4 by months since joining; level 5 by years in the program
    assert "Use of the practice rose from" in district.html
    assert "Callaway &amp; Sant&#x27;Anna" in district.html or "Callaway & Sant'Anna" in district.html
    board = report.board_years(ev)
    assert "Over the years" in board.html and len(board.figures) == 1
    appendix = report.technical_years(ev)
    assert "ATT(g,t)" in appendix.html
    school = report.school_years(ev, "S01")
    assert "This school, year by year" in school.html
    others = ev.extras["years_sentences_schools"]
    assert not any(s in school.html for s in others.loc[others["scope"] != "S01", "sentence"] if s not in set(
        others.loc[others["scope"] == "S01", "sentence"]))  # fmt: skip
    # a single school year: none of these sections says anything
    assert report.district_years(sample_evaluation).parts == ()
    assert report.school_years(sample_evaluation, "S01").parts == ()


def test_the_year_by_year_tables_are_saved_and_read_back_with_the_results(published_years, tmp_path):
    from plevaluate import Evaluation

    back = Evaluation.load(published_years.save(tmp_path / "results"))
    assert sorted(back.extras) == sorted(published_years.extras)
    pd.testing.assert_frame_equal(
        back.extras["years_effects_event"], published_years.extras["years_effects_event"], check_dtype=False
    )


def test_level_4_event_time_never_reveals_a_school_the_years_hide(published_years):
    """A cohort's line counts only the school-months its year shows, so it is computable from what is shown."""
    practice = published_years.extras["years_practice"]
    assert practice["schools"].min() >= 1
    assert (practice["schools"] < 6).any()  # the small school's hidden months left out of its cohort


@pytest.mark.slow
def test_a_stray_date_never_turns_a_one_year_plan_into_several(tmp_path):
    import shutil

    from plevaluate.years import evaluate_for_reports, plan_years
    from tests.conftest import SAMPLE

    data = tmp_path / "d"
    shutil.copytree(SAMPLE, data)
    with (data / "costs.csv").open("a") as f:  # a line dated in the school year before the plan's
        f.write("Early book order,materials_licences,1200,General fund,,2025-06-15\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        district = load(data)
        assert "2024-25" in school_years(district)  # the data reach back a year...
        assert plan_years(district.plan.school_year) == ["2025-26"]
        assert evaluate_for_reports(district).extras == {}  # ...but the plan names one year: one year is evaluated


def _same_evaluation(a, b) -> None:
    """Every table of two evaluations equal (numbers to 1e-9), the chain, its sentences and the extras too."""
    assert sorted(a.levels) == sorted(b.levels)
    for number in a.levels:
        assert sorted(a[number].tables) == sorted(b[number].tables)
        assert list(a[number].notes) == list(b[number].notes)
        for name, table in a[number].tables.items():
            pd.testing.assert_frame_equal(table, b[number].tables[name], rtol=1e-9, atol=1e-12, obj=f"{number} {name}")
    for name in ("chain", "sentences", "schools"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-12, obj=name)
    assert sorted(a.extras) == sorted(b.extras)
    for name, table in a.extras.items():
        pd.testing.assert_frame_equal(table, b.extras[name], rtol=1e-9, atol=1e-12, obj=name)


def test_years_evaluated_side_by_side_give_the_same_results(district, published_years):
    """`evaluate_for_reports(workers=2)` sends the earlier years to another process (their views pickled there,
    their published evaluations back) while this one evaluates the latest: nothing may differ."""
    from plevaluate.years import evaluate_for_reports

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        side_by_side = evaluate_for_reports(district, workers=3)
    _same_evaluation(published_years, side_by_side)


def test_years_stay_in_this_process_while_a_level_exists_only_here(district, monkeypatch):
    """A level added with `registry.register` (a notebook's) does not exist in another process: the years are then
    evaluated here, so the added level is in every year."""
    from plevaluate import years as years_module

    monkeypatch.setattr(registry, "_registered", {99: object()})
    assert registry.process_local()

    def refuse(*args, **kwargs):
        raise AssertionError("a process pool was started while a level exists only in this process")

    monkeypatch.setattr(years_module, "ProcessPoolExecutor", refuse)
    monkeypatch.setattr(years_module, "evaluate", lambda view, publish=False: _Published(view))
    found = years_module.evaluate_each_year(district, ["2024-25", "2025-26"], workers=2)
    assert sorted(found) == ["2024-25", "2025-26"]


class _Published:
    def __init__(self, view):
        self.view = view

    def publish(self):
        return self


def test_a_year_whose_process_dies_is_evaluated_here(district, monkeypatch):
    """The system may end the other process (out of memory): the year is then evaluated in this one, with a
    warning, instead of the run failing."""
    from plevaluate import years as years_module

    monkeypatch.setattr(years_module, "_published_year", _die_now)  # the pool's process is forked: it sees this
    from plevaluate.errors import LostProcessWarning

    with pytest.warns(LostProcessWarning, match="ended abruptly"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            found = years_module.evaluate_each_year(district, ["2024-25", "2025-26"], workers=2)
    assert sorted(found) == ["2024-25", "2025-26"]
    assert found["2024-25"].published and found["2024-25"].plan["school_year"] == "2024-25"


def _die_now(view):
    os._exit(1)


def test_a_years_warnings_reach_the_caller_from_another_process(district):
    """A caveat raised while an earlier year is evaluated in another process is raised here too, as with one
    process (the multi-year sample's 2023-24 mixed model warns)."""
    from plevaluate.years import evaluate_each_year

    def caught(workers: int) -> list[str]:
        with warnings.catch_warnings(record=True) as found:
            warnings.simplefilter("always")
            evaluate_each_year(district, ["2023-24", "2024-25", "2025-26"], workers=workers)
        return sorted({str(w.message) for w in found if issubclass(w.category, StatisticalWarning)})

    alone = caught(1)
    assert alone, "the sample's first year should warn (its mixed model); without a warning this test proves nothing"
    assert caught(2) == alone


def test_an_error_in_another_process_reaches_the_caller_as_itself(district, monkeypatch):
    """A data problem raised while a year is evaluated in another process is the same ContractError here (it
    pickles), not a lost process evaluated twice."""
    from plevaluate import years as years_module
    from plevaluate.errors import ContractError, LostProcessWarning

    monkeypatch.setattr(years_module, "_published_year", _refuse_the_year)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LostProcessWarning)
        warnings.simplefilter("ignore", StatisticalWarning)
        with pytest.raises(ContractError, match="a year that cannot be evaluated"):
            years_module.evaluate_each_year(district, ["2024-25", "2025-26"], workers=2)
    with pytest.raises(TypeError, match="whole number"):
        years_module.evaluate_each_year(district, ["2024-25", "2025-26"], workers=2.5)


def _refuse_the_year(view, summed=None, publish=False):
    from plevaluate.errors import ContractError, Problem

    raise ContractError([Problem("students.csv", "a year that cannot be evaluated", "fix it", row=3, column="score")])


def test_a_year_and_a_part_hand_their_memory_back_when_done_or_failed(district, monkeypatch):
    """A worker's tasks (`_published_year`, `_summed`) end by handing freed memory back to the system
    (`hand_back_memory`), whether they finish or fail: a Dask worker paused at 80% of its limit by memory it no
    longer uses never unpauses."""
    import plevaluate.years as years_module
    from plevaluate._outputs import hand_back_memory

    hand_back_memory()  # runs here (glibc's malloc_trim on Linux), and nothing else happens
    calls = []
    monkeypatch.setattr(years_module, "hand_back_memory", lambda: calls.append(1))

    def refused(piece, layout):
        raise ValueError("a part a level cannot read")

    assert years_module._summed(lambda piece, layout: "sums", None, None) == "sums"
    assert isinstance(years_module._summed(refused, None, None), ValueError)
    assert len(calls) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluation, _ = years_module._published_year(year_view(district, "2024-25"))
    assert evaluation.published and len(calls) == 3
    monkeypatch.setattr(years_module, "evaluate", _refuse_the_year)
    with pytest.raises(ContractError):
        years_module._published_year(year_view(district, "2024-25"))
    assert len(calls) == 4


@pytest.mark.slow
def test_a_year_whose_schools_do_not_differ_shows_no_school_result_and_no_fall_from_it(tmp_path):
    """A reader's review of `plevaluate sample --schools 12 --years 3 --cohorts 3`: in 2024-25 REML put the school
    variance at zero, every program school's level-5 result read "+0.0 (+0.0 to +0.0)", and a school's year-to-year
    sentence said its students' results "fell from -0.0 ... to -4.5". Each such school is now "not estimable" that
    year, says why, and no change is measured from it."""
    from plevaluate import evaluate
    from plevaluate.levels.outcomes import sections
    from plevaluate.levels.outcomes.compute import NO_SCHOOL_ESTIMATE
    from plevaluate.years import evaluate_for_reports

    folder = tmp_path / "years"
    assert main(["sample", str(folder), "--schools", "12", "--years", "3", "--cohorts", "3"]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        district = load(folder)
        latest = evaluate_for_reports(district)
        reports = latest.extras
    with pytest.warns(StatisticalWarning, match="school variance is estimated at zero"):  # the case, as reviewed
        view = evaluate(year_view(district, "2024-25"), publish=True)
    schools = view.table(5, "schools")
    assert len(schools) and schools["estimate"].isna().all() and not schools["suppressed"].any()
    text = sections.school(view, schools["school_id"].iloc[0]).as_text()
    assert "cannot be told apart from the district's" in text and "+0.0" not in text
    assert "No school-level student results" in sections.district(view).as_text()
    trend = reports["years_trend_schools"]
    flat = trend[(trend["level"] == 5) & (trend["year"] == "2024-25") & trend["scope"].isin(schools["school_id"])]
    assert (flat["status"] == "not estimable").all() and flat["estimate"].isna().all()
    chain = view.chain[(view.chain["level"] == 5) & view.chain["scope"].isin(schools["school_id"])]
    assert (chain["status"] == "not estimable").all()
    assert chain["status_detail"].str.contains(NO_SCHOOL_ESTIMATE, regex=False).all()
    sentences = reports["years_sentences_schools"]
    assert not sentences["sentence"].str.contains(r"[+-]0\.0 score points in 2024-25", regex=True).any()
    # the same review: the board's chart of the staggered estimate read as contradicting the headline, and what the
    # estimator doubts (too few comparison schools) was said in the district report only
    doubt = reports["years_effects_about"]["note"].iloc[0]
    assert "fewer than the" in doubt
    board = sections.years_board(latest).as_text()
    assert "this year's growth alone, from the spring before" in board and doubt[1:] in board
    assert doubt[1:] in sections.years_technical(latest).as_text()
