"""What the reports say is exactly what the evidence supports (issue: report truth).

Every judgement carries its uncertainty, a school's report shows that school's own evidence, the
statistics are computed once on the full data, and what is published is suppressed in one place:
tables, sentences, chart data and the results bundle alike. Checked on the rendered sample district
(the session fixture ``rendered``: every report, every format) and against the raw CSVs.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

import plevaluate
from plevaluate import figures, registry, report
from plevaluate.evaluate import Evaluation, evaluate
from plevaluate.levels.cost import sections as cost_sections
from plevaluate.levels.organization import sections as organization_sections
from plevaluate.levels.outcomes import evaluate_outcomes
from plevaluate.levels.practice import evaluate_practice
from plevaluate.render import render, slug
from plevaluate.results import judge
from plevaluate.schema import conform
from tests.conftest import SAMPLE

JUDGEMENTS = ("met", "not met", "not conclusive")


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _text(path: Path) -> str:
    soup = _soup(path)
    for tag in soup.find_all(["style", "script", "img"]):
        tag.decompose()
    return soup.get_text(" ")


def _number(text: str) -> float:
    """A displayed number back to a value: '71%' -> 0.71, '-0.02 SD' -> -0.02, '+2.2' -> 2.2."""
    text = text.strip().replace("SD", "").replace(",", "").strip()
    if text.endswith("%"):
        return float(text[:-1]) / 100
    return float(text.replace("+", ""))


def _chain_rows(path: Path) -> list[dict]:
    """The chain-of-evidence table of an HTML report, one dict per row (text of each cell, status badge)."""
    soup = _soup(path)
    heading = soup.find(lambda t: t.name == "h2" and t.get_text(strip=True) == "Chain of evidence")
    if heading is None:
        return []
    table = heading.find_next("table")
    headers = [th.get_text(strip=True) for th in table.thead.find_all("th")]
    rows = []
    for tr in table.tbody.find_all("tr"):
        cells = dict(zip(headers, tr.find_all("td")))
        row = {h: c.get_text(" ", strip=True) for h, c in cells.items()}
        row["badge"] = cells["Status"].find("span", class_="pl-status").get_text(strip=True)
        row["level"] = int(row["Level"].split(".")[0])
        rows.append(row)
    return rows


def _scope(path: Path, ev: Evaluation) -> str:
    if not path.name.startswith("school-"):
        return "district"
    for school_id, name in zip(ev.schools["school_id"], ev.schools["school_name"]):
        if path.stem == f"school-{slug(school_id)}-{slug(name)}":
            return school_id
    raise AssertionError(path.name)


@pytest.fixture(scope="module")
def shown(rendered) -> Evaluation:
    """The evaluation as published in the rendered folder (what every report was drawn from)."""
    return Evaluation.load(rendered.out / "results")


# ---- statuses carry their uncertainty ----


@pytest.mark.slow
def test_every_chain_row_in_every_report_is_not_conclusive_exactly_when_its_interval_includes_the_target(
    rendered, shown
):
    checked = 0
    for path in sorted(rendered.out.glob("*.html")):
        scope = _scope(path, shown)
        chain = shown.chain[shown.chain["scope"] == scope].set_index("level")
        for row in _chain_rows(path):
            interval, target = row.get("95% interval", ""), row.get("Target", "")
            stored = chain.loc[row["level"]]
            assert row["badge"] == stored["status"], (path.name, row)
            if not (interval and target and row["Result"]):
                assert row["badge"] not in ("met", "not met", "not conclusive") or row["level"] == 3, (path.name, row)
                continue
            # exact: the published numbers, judged again here
            assert row["badge"] == judge(stored["estimate"], stored["ci_low"], stored["ci_high"], stored["target"])
            # as the reader sees it: rounding is monotone, so these hold for the displayed numbers too
            low, high = (_number(part) for part in interval.split(" to "))
            goal = _number(target)
            includes = low <= goal <= high
            if row["badge"] == "not conclusive":
                assert includes, (path.name, row)
            elif row["badge"] == "met":
                assert low >= goal, (path.name, row)
            else:
                assert row["badge"] == "not met" and high <= goal, (path.name, row)
            checked += 1
    # the district chain (district report, board summary) and every program school's judged levels
    assert checked >= 20


def test_no_sentence_calls_a_not_conclusive_level_met_or_not_met(shown):
    district = shown.chain[shown.chain["scope"] == "district"].set_index("level")
    assert district.loc[1, "status"] == "not conclusive"  # 71% [66%, 77%] against 70%
    assert district.loc[4, "status"] == "not conclusive"  # 55% [47%, 63%] against 60%, was "not met"
    assert district.loc[5, "status"] == "not conclusive" and "includes zero" in district.loc[5, "status_detail"]
    sentence = shown.sentences.set_index("scope").loc["district", "sentence"]
    assert "Levels 1, 4 and 5 are not conclusive" in sentence and "also includes zero" in sentence
    assert "students benefited" not in sentence and "did not reach" not in sentence
    s03 = shown.chain[(shown.chain["scope"] == "S03") & (shown.chain["level"] == 2)].iloc[0]
    assert s03["status"] == "not conclusive"  # 0.49 SD [0.26, 0.72] against 0.50, was "not met"


def test_board_summary_words_match_the_chain(rendered):
    text = _text(rendered.out / "board-summary.html")
    assert "Student outcomes: 0.11 SD" in text and "target 0.10 SD: not conclusive" in text
    assert "target 0.10 SD: met" not in text
    badges = [row["badge"] for row in _chain_rows(rendered.out / "board-summary.html")]
    assert badges.count("not conclusive") == 3


# ---- each school's own evidence ----


def _may_visits(school: str) -> int:
    """A school's classroom visits in May 2026 that say whether the practice was seen (the plan's target month)."""
    observations = pd.read_csv(SAMPLE / "observations.csv", dtype=str)
    may = observations["date"].str.startswith("2026-05") & observations["practice_observed"].notna()
    return int((may & observations["school_id"].eq(school)).sum())


def _raw_counts() -> dict[str, dict[int, tuple[int, int]]]:
    """Per school and level: (records, people) recomputed from the raw CSVs with plain pandas."""
    educators = pd.read_csv(SAMPLE / "educators.csv", dtype=str)
    schools = pd.read_csv(SAMPLE / "schools.csv", dtype=str)
    items = pd.read_csv(SAMPLE / "survey_items.csv", dtype=str)
    reactions = pd.read_csv(SAMPLE / "reactions.csv", dtype=str)
    level1 = reactions[reactions["item_id"].isin(items.loc[items["level"].fillna("1") == "1", "item_id"])]
    learning = pd.read_csv(SAMPLE / "learning.csv", dtype={"educator_id": str}).dropna(subset=["score"])
    program = educators["participant"].str.lower().map({"true": True, "false": False})
    in_school = educators["school_id"].map(schools.set_index("school_id")["group"]).eq("participant")
    members = set(educators.loc[program.fillna(in_school).astype(bool), "educator_id"])
    both = learning.groupby(["educator_id", "assessment_id"])["occasion"].agg(set)
    matched = {e for (e, _), occasions in both.items() if {"pre", "post"} <= occasions and e in members}
    home = educators.set_index("educator_id")["school_id"]
    observations = pd.read_csv(SAMPLE / "observations.csv", dtype=str)
    students = pd.read_csv(SAMPLE / "students.csv", dtype=str)
    post = students[(students["period"] == "post") & students["outcome"].notna()]
    counts: dict[str, dict[int, tuple[int, int]]] = {}
    for school in schools["school_id"]:
        answers = level1[level1["school_id"] == school]
        visits = observations[observations["school_id"] == school]
        counts[school] = {
            1: (answers["response_id"].nunique(), answers["educator_id"].nunique()),
            2: (0, sum(home.get(e) == school for e in matched)),
            4: (visits["observation_id"].nunique(), visits["educator_id"].nunique()),
            5: (0, post.loc[post["school_id"] == school, "student_id"].nunique()),
        }
    return counts


def _coverage_hidden(shown, level: int, school: str) -> bool:
    """Whether the school's own counts at ``level`` are hidden (its headline may be hidden alone: a level-4 target
    month hidden in the rates to protect another school's month, while the school's year is shown)."""
    coverage = shown[level]["coverage"]
    row = coverage[coverage["school_id"] == school]
    return row.empty or bool(row["suppressed"].iloc[0])


def test_each_school_report_shows_its_own_evidence_counts(rendered, shown):
    counts = _raw_counts()
    compared = 0
    for path in sorted(rendered.out.glob("school-*.html")):
        school = _scope(path, shown)
        rows = {row["level"]: row for row in _chain_rows(path)}
        for level, (records, people) in counts[school].items():
            evidence, status = rows[level]["Evidence"], rows[level]["badge"]
            if people == 0:
                assert evidence == "no evidence collected at this school", (school, level, evidence)
            elif status == "hidden to protect a smaller group" and _coverage_hidden(shown, level, school):
                assert "not shown" in evidence and not re.search(r"\d", evidence), (school, level, evidence)
            elif people < 10:
                assert "<10" in evidence and str(people) not in evidence.replace("<10", ""), (school, level)
            else:
                numbers = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", evidence)]
                expected = [records, people] if records else [people]
                if level == 4 and " visits in May 2026, of " in evidence:  # the visits the result rests on first
                    assert numbers[:2] == [_may_visits(school), 2026], (school, evidence)
                    numbers = numbers[2:]
                assert numbers == expected, (school, level, evidence, expected)
                compared += 1
    assert compared >= 20
    # the district's own counts are not what a school shows
    s01 = {row["level"]: row["Evidence"] for row in _chain_rows(rendered.out / "school-s01-lincoln-elementary.html")}
    assert "782" not in s01[1] and "2,028" not in s01[4]


def test_school_notes_are_the_schools_own(rendered, shown):
    s01 = _text(rendered.out / "school-s01-lincoln-elementary.html")
    s03 = _text(rendered.out / "school-s03-pena-oneill-middle-school.html")
    assert "flagged for support: latest mean rating 1.5" in s03
    assert "flagged for support" not in s01 and "latest mean rating" not in s01
    district = _text(rendered.out / "district-report.html")
    assert "Peña & O'Neill Middle School: flagged for support" in district
    s07 = _text(rendered.out / "school-s07-hillcrest-middle-school.html")
    s08 = _text(rendered.out / "school-s08-maple-ridge-high-school.html")
    # primary and complementary suppression are told apart, truthfully
    own = "this school's results at this level are not shown: fewer than 10 respondents"
    assert own in s08 and own not in s07
    assert "has at least 10 respondents" in s07 and "worked out from the district total" in s07
    for text in (s01, s03, s07):
        assert "Maple Ridge" not in text  # the small school is never named in another school's report


# ---- one publishing pass: nothing hidden can be read back ----

_PEOPLE = (
    "n_people",
    "participants",
    "respondents",
    "n_treatment",
    "n_comparison",
    "n_missing_post",
    "n_matched",
    "baseline_treatment",
    "baseline_comparison",
    "analytic_treatment",
    "analytic_comparison",
)


def test_results_bundle_hides_every_suppressed_value_and_small_count(rendered, sample_evaluation, shown):
    min_n = shown.min_n
    hidden_rows = 0
    for level, rules in ((registered.number, registered.privacy) for registered in registry.levels()):
        for rule in rules:
            if rule.table not in shown.levels.get(level, plevaluate.LevelResult(level, "")).tables:
                continue
            published = shown[level][rule.table]
            internal = sample_evaluation[level][rule.table]
            assert len(published) == len(internal), (level, rule.table)
            hidden = published["suppressed"].astype(bool).to_numpy()
            # what stays: the row's keys, its flags and status, and the table's declared constants (what n counts,
            # the interval level: `plevaluate.schema.conform`), which say nothing about the row's people
            kept = (*rule.keep, "suppressed", "complementary", "status", "ci_level", "n_unit", "unit")
            blanked = [c for c in published.columns if c not in kept]
            assert published.loc[hidden, blanked].isna().all().all(), (level, rule.table)
            # the internal store had those values: they were hidden, not missing
            if not rule.people:  # a table hidden only with the one it follows (level 5's findings and evidence)
                hidden_rows += int(hidden.sum())
                continue
            people = internal[list(rule.people)].astype(float).min(axis=1).to_numpy()
            # the one exception: the principals' mean participation, which the per-school principals table
            # publishes school by school (principals are the lever); their number is blanked below min_n
            principals = (
                internal["role"].eq("principal").fillna(False).to_numpy(dtype=bool)
                if rule.table == "roles"
                else np.zeros(len(internal), bool)
            )
            assert (hidden | (people >= min_n) | principals).all(), (level, rule.table)
            hidden_rows += int(hidden.sum())
    assert hidden_rows > 100
    for path in (rendered.out / "results").glob("*.csv"):
        table = pd.read_csv(path)
        for column in [c for c in table.columns if c in _PEOPLE or c == "n" and "suppressed" in table]:
            values = pd.to_numeric(table[column], errors="coerce")
            assert not ((values > 0) & (values < min_n)).any(), (path.name, column)
        for column in [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]:
            assert not table[column].astype(str).str.contains(r"\(\d of \d+\)").any(), (path.name, column)
    chain = pd.read_csv(rendered.out / "results" / "chain.csv")
    about_people = chain[chain["level"].isin([1, 2, 4, 5])]  # level 3 counts schools, level 0 dollars
    assert not ((about_people["n"] > 0) & (about_people["n"] < min_n)).any()


def _hidden_intervals(sample_evaluation, shown) -> set[str]:
    """Every interval a report would print for a row that publishing hid, formatted as the reports do."""
    formats = {"share": "{:.0%}", "sd": "{:.2f} SD", "points": "{:+.1f}"}
    found = set()
    for level, table, unit_of in (
        (1, "constructs", lambda m: "share" if m == "share_at_least" else None),
        (1, "target", lambda m: "share"),
        (2, "target", lambda m: "sd"),
        (2, "gains", {"g_av": "sd", "mean_gain": "points"}.get),
        (4, "target", lambda m: "share"),
        (4, "rates", lambda m: "share"),
    ):
        published, internal = shown[level][table], sample_evaluation[level][table]
        for index in published.index[published["suppressed"].astype(bool)]:
            row = internal.loc[index]
            unit = unit_of(row["measure"])
            if unit is None or pd.isna(row["ci_low"]) or row.get("breakdown") not in ("school_id", None, np.nan):
                continue
            fmt = formats[unit]
            found.add(f"{fmt.format(row['ci_low'])} to {fmt.format(row['ci_high'])}")
    return found


@pytest.mark.slow
def test_no_report_prints_a_hidden_value_or_a_small_count(rendered, sample_evaluation, shown):
    hidden = _hidden_intervals(sample_evaluation, shown)
    assert len(hidden) >= 5
    shown_anywhere = set()
    texts = {p.name: _text(p) for p in rendered.out.glob("*.html")}
    for name, text in texts.items():
        for interval in hidden:
            if interval in text:
                shown_anywhere.add((name, interval))
        # no count of people below min_n, in any wording
        for number, noun in re.findall(
            r"(?<![\d.,<])(\d+) (?:participating )?(educators?|respondents?|students?|"
            r"teachers?|participants?|people)\b",
            text,
        ):
            assert not 0 < int(number) < shown.min_n, (name, number, noun)
    # an interval string can coincide with a shown one of another group; only such coincidences may remain
    visible = {f"{lo} to {hi}" for text in texts.values() for lo, hi in re.findall(r"(\S+) to (\S+)", text)}
    for name, interval in shown_anywhere:
        assert interval in visible and _is_shown_elsewhere(interval, shown), (name, interval)


def _is_shown_elsewhere(interval: str, shown) -> bool:
    """Whether a published (not hidden) row carries the same displayed interval."""
    for level in (1, 2, 4):
        for table in shown.levels[level].tables.values():
            if not {"ci_low", "ci_high"} <= set(table.columns):
                continue
            lows = table["ci_low"].astype(float).dropna()
            highs = table.loc[lows.index, "ci_high"].astype(float)
            for fmt in ("{:.0%}", "{:.2f} SD", "{:+.1f}"):
                if any(f"{fmt.format(lo)} to {fmt.format(hi)}" == interval for lo, hi in zip(lows, highs)):
                    return True
    return False


@pytest.mark.render
def test_chart_data_show_exactly_what_the_tables_show(shown, monkeypatch):
    # Record every table handed to a plotting function while every section of every report is drawn.
    handed: list[tuple[str, pd.DataFrame]] = []
    for name in (
        "likert_chart",
        "implementation_chart",
        "funnel_chart",
        "dose_response_chart",
        "interval_chart",
        "conditions_heatmap",
        "cost_chart",
    ):
        original = getattr(figures, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            handed.extend((_name, a) for a in args if isinstance(a, pd.DataFrame))
            return _original(*args, **kwargs)

        monkeypatch.setattr(figures, name, spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.level_sections(shown, "district")
        report.level_sections(shown, "board")
        for school in shown.schools["school_id"]:
            report.level_sections(shown, "school", school)
    assert len(handed) >= 20
    # the schools level 4 hides (a school's target month alone may be hidden too: S05's May, hidden in the rates)
    rates = shown[4]["rates"]
    year = rates[rates["breakdown"] == "school_id"]
    level4_hidden = set(year.loc[year["suppressed"].astype(bool), "school_id"])
    assert {"S06", "S07", "S08"} <= level4_hidden
    for name, table in handed:
        if "suppressed" not in table:
            continue
        hidden = table["suppressed"].astype(bool)
        for column in ("estimate", "ci_low", "ci_high", "share", "count", "observed", "z", "n_people"):
            if column in table:
                assert table.loc[hidden, column].isna().all(), (name, column)
        if name in ("implementation_chart", "funnel_chart") and "school_id" in table:
            # a school hidden at level 4 has no value in any breakdown a chart is given (months, terms, funnel)
            mine = table[table["school_id"].isin(level4_hidden)]
            assert mine["estimate"].isna().all(), (name, sorted(set(mine.loc[mine["estimate"].notna(), "school_id"])))


# ---- one input, one answer ----


def test_evaluate_and_evaluate_outcomes_agree(sample_district, sample_evaluation):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rates = evaluate_practice(sample_district).handoff["latest_rates"]  # level 4 hands level 5 its rates
        direct = evaluate_outcomes(sample_district, implementation=rates)
    through = sample_evaluation[5]
    assert set(direct.tables) == set(through.tables)
    declared = registry.get(5).tables  # evaluate adds the declared constants (ci_level, n_unit) to measure tables
    for name, table in direct.tables.items():
        table = conform(table, declared[name], sample_district.plan.ci).reset_index(drop=True)
        pd.testing.assert_frame_equal(table, through.tables[name], check_dtype=False, obj=name)
    dose = through["dose"].iloc[0]
    assert int(dose["n_clusters"]) == 8  # every program school, the small one too: suppression is for publishing


# ---- wording from the plan ----


@pytest.mark.render
def test_plan_wording_reaches_every_report(tmp_path):
    folder = tmp_path / "district"
    shutil.copytree(SAMPLE, folder)
    plan = (folder / "plan.yml").read_text(encoding="utf-8")
    plan = plan.replace("    rating_at_least: 4\n", "    rating_at_least: 3\n").replace(
        "min_n: 10\n", "min_n: 10\nci: 0.90\n"
    )
    plan = plan.replace("is 4 or higher (of 5)", "is 3 or higher (of 5)")
    (folder / "plan.yml").write_text(plan, encoding="utf-8")
    out = tmp_path / "out"
    summary = render(folder, out, schools=["S01"], workers=2, formats=("html",))
    assert summary.ok, summary.failures
    # the logic model states the plan's targets, not estimates: it has no interval to word
    texts = {p.name: _text(p) for p in out.glob("*.html") if p.name not in ("index.html", "logic-model.html")}
    assert len(texts) == 4
    for name, text in texts.items():
        assert not re.search(r"95% (?:interval|CI)|Feldt 95%", text), name
        assert re.search(r"90% (?:interval|CI)", text), name
    school, district = texts["school-s01-lincoln-elementary.html"], texts["district-report.html"]
    assert "Rated 3 or higher" in school and "Rated 4" not in school
    assert "rating 'content' 3 or higher" in district and "90% interval" in district
    ev = Evaluation.load(out / "results")
    assert ev[1].meta["ci"] == 0.9 and ev[1].meta["rating_at_least"] == 3
    # a 90% interval is narrower than the 95% one of the same estimate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = evaluate(plevaluate.load(SAMPLE))
    wide = default[2]["target"].iloc[0]
    narrow = ev[2]["target"].iloc[0]
    assert narrow["estimate"] == pytest.approx(wide["estimate"])
    assert wide["ci_low"] < narrow["ci_low"] < narrow["ci_high"] < wide["ci_high"]


def test_one_rule_for_a_missing_participant_flag(sample_district):
    from plevaluate.contract import in_program

    educators = sample_district.educators.copy()
    educators["participant"] = pd.array([pd.NA] * len(educators), dtype="boolean")
    member = in_program(educators, sample_district.schools)
    group = educators["school_id"].map(sample_district.schools.set_index("school_id")["group"])
    assert (member == (group == "participant")).all()
    without = in_program(educators.drop(columns="participant"), sample_district.schools)
    assert (without == member).all()


def test_no_small_count_beside_the_total_it_could_be_taken_from(shown):
    # "24 have no post score and <10 no pre score; gains use the 149 with both" gave the <10 as a difference
    notes = " ".join(shown[2].notes)
    assert "<10" not in notes and "are missing a pre or a post score; gains use the 149 with both" in notes


def test_with_many_schools_the_district_report_counts_statuses_and_folds_every_schools_row(published, monkeypatch):
    # At 2,000 schools the school-by-level grid and a sentence per school filled thousands of lines before level 1.
    # Beyond figures.MANY schools the report shows how many schools stand where at each level, and every school's
    # row and sentence in a folded <details>; the counts add up to the grid they summarize.
    from bs4 import BeautifulSoup

    from plevaluate import figures, report

    monkeypatch.setattr(figures, "MANY", 5)  # the sample's 12 schools count as many here
    soup = BeautifulSoup(report.district_schools(published).html, "html.parser")
    counts, grid = soup.find_all("table")[0], soup.find("details").find("table")
    header = [th.get_text(strip=True) for th in counts.find("tr").find_all("th")]
    statuses = [[td.get_text(strip=True) for td in tr.find_all(["td", "th"])] for tr in grid.find_all("tr")[1:]]
    for k, row in enumerate(counts.find_all("tr")[1:], start=1):
        cells = [c.get_text(strip=True) for c in row.find_all(["td", "th"])]
        assert sum(int(v) for v in cells[1:]) == len(statuses) == 12
        for status, count in zip(header[1:], cells[1:]):
            assert sum(1 for school in statuses if school[k] == status) == int(count), (k, status)
    assert "12 schools" in soup.find("details").find("summary").get_text()
    assert len(soup.find("details").find_all("li")) == 12


def test_with_many_schools_long_listings_are_folded_and_keep_every_row(published, monkeypatch):
    # At 2,000 schools the district report ran to 63,000 pixels: the notes about single schools (16,000), every
    # school's cost and every principal's participation. Beyond figures.MANY schools each such listing is folded
    # under a one-line count, shown after what a reader needs first, and keeps every row.
    from bs4 import BeautifulSoup

    from plevaluate import figures, report

    monkeypatch.setattr(figures, "MANY", 2)  # the sample's schools count as many here
    every = published.notes("district")
    soup = BeautifulSoup(report.notes(published).html, "html.parser")
    folded = soup.find("details")
    single = every[every["scope"] != "district"]
    assert single["scope"].nunique() > 2, "the sample should have notes on several schools"
    assert f"{len(single):,} notes on {single['scope'].nunique():,} schools" in folded.find("summary").get_text()
    assert len(folded.find_all("li")) == len(single)
    assert len(soup.find_all("li")) == len(every)  # nothing dropped: district-wide notes stay in view
    for section, what in (
        (cost_sections.district, "Every school's cost"),
        (organization_sections.district, "principal"),
    ):
        soup = BeautifulSoup(section(published).html, "html.parser")
        folds = [d for d in soup.find_all("details", class_="pl-every-school") if what in d.find("summary").get_text()]
        assert len(folds) == 1, what
        assert len(folds[0].find("table").find_all("tr")[1:]) >= 3, what  # every school's row
        if section is cost_sections.district:  # above the fold: the costliest schools per participant, at most MANY
            costliest = folds[0].find_previous("table")
            assert "Per participant" in costliest.get_text() and len(costliest.find_all("tr")[1:]) == 2
