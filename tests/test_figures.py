"""Figures: they draw from the tidy tables, title with a takeaway, and never draw suppressed groups."""

from __future__ import annotations

import pytest

from plevaluate.figures import (
    conditions_heatmap,
    dose_response_chart,
    funnel_chart,
    implementation_chart,
    likert_chart,
    theme,
)
from plevaluate.survey import item_distribution, score_reactions
from tests.conftest import ROOT


def test_likert_chart(sample_district, tmp_path):
    theme()
    scored = score_reactions(sample_district.reactions, sample_district.survey_items)
    dist = item_distribution(scored[scored["level"] == 1])
    fig = likert_chart(
        dist, texts=dict(zip(sample_district.survey_items["item_id"], sample_district.survey_items["text"]))
    )
    ax = fig.axes[0]
    assert ax.get_title(loc="left").startswith("Most agreement:")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 10 and "The content is relevant to my classroom." in labels
    fig.savefig(tmp_path / "likert.png")
    assert (tmp_path / "likert.png").stat().st_size > 10_000


def test_likert_chart_leaves_out_suppressed_items(sample_district):
    scored = score_reactions(sample_district.reactions, sample_district.survey_items)
    small = scored[scored["school_id"] == "S08"]
    dist = item_distribution(small[small["level"] == 1], min_n=1_000)
    dist.loc[dist["item_id"] != "C1", "suppressed"] = False  # only C1 hidden
    fig = likert_chart(dist.fillna({"share": 0.1}))
    assert "C1" not in [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any("Not shown" in t.get_text() and "C1" in t.get_text() for t in fig.texts)


@pytest.fixture(scope="module")
def levels_3_4(published):
    return published.levels[3], published.levels[4]


def test_conditions_heatmap_and_untrusted_names(levels_3_4, sample_district, tmp_path):
    organization, _ = levels_3_4
    matrix = organization["matrix"]
    matrix = matrix[matrix["group"] == "participant"]
    names = dict(zip(sample_district.schools["school_id"], sample_district.schools["school_name"]))
    names["S01"] = "Costs $5 $$ School"  # '$' would start matplotlib mathtext if not escaped
    fig = conditions_heatmap(matrix, organization["change"], names=names)
    ax = fig.axes[0]
    assert ax.get_title(loc="left").startswith("Weakest conditions: " + names["S03"])
    assert any("(+" in t.get_text() for t in ax.texts)
    assert "Costs \\$5 \\$\\$ School" in [t.get_text() for t in ax.get_yticklabels()]
    fig.savefig(tmp_path / "heat.png")


def test_implementation_chart(levels_3_4):
    _, practice = levels_3_4
    fig = implementation_chart(practice["rates"], target=0.6)
    assert fig._suptitle.get_text().startswith("Across participant schools the practice was seen in")
    small = [ax for ax in fig.axes if ax.get_title(loc="left") == "S08"][0]
    assert any("too few educators" in t.get_text() for t in small.texts) and not small.collections
    # a school hidden to protect S08 is labelled so, and its series is not drawn at all (tables hide it too)
    protecting = [ax for ax in fig.axes if ax.get_title(loc="left") == "S07"][0]
    assert any("protects" in t.get_text() for t in protecting.texts) and not protecting.collections
    assert len(protecting.lines) == 2  # the district line and the target only


def test_funnel_chart_hides_suppressed_schools(levels_3_4):
    _, practice = levels_3_4
    table = practice["funnel"]
    # S08 (5 educators) is hidden, and with it the schools hidden at level 4 to protect it, so that S08 cannot
    # be recovered from the district rate by subtraction
    assert table["suppressed"].sum() >= 2 and table.loc[table["school_id"] == "S08", "suppressed"].all()
    fig = funnel_chart(table, practice["funnel_curve"])
    ax = fig.axes[0]
    assert sum(len(c.get_offsets()) for c in ax.collections) == (~table["suppressed"]).sum()
    assert any("S08" in t.get_text() for t in fig.texts)
    assert "S03" in ax.get_title(loc="left")
    # in a school's report only that school is named: the others are anonymous dots
    fig = funnel_chart(table, practice["funnel_curve"], names={"S01": "Lincoln"}, highlight="S01")
    ax = fig.axes[0]
    assert sum(len(c.get_offsets()) for c in ax.collections) == (~table["suppressed"]).sum() + 1  # + the ring
    words = " ".join([ax.get_title(loc="left"), *(t.get_text() for t in ax.texts), *(t.get_text() for t in fig.texts)])
    assert "Lincoln" in words and not any(s in words for s in ("S03", "S08", "S07", "S06"))


def test_dose_response_chart(levels_3_4):
    _, practice = levels_3_4
    fig = dose_response_chart(practice["dose_bands"], practice["dose_model"])
    assert any("per 10 more hours" in t.get_text() for t in fig.texts)
    assert fig.axes[0].get_title(loc="left").startswith("Teachers with more PL hours")


def _district_of(schools: int, seed: int = 5):
    """Published-shape level 3, 4 and 5 tables for a district of ``schools`` schools (synthetic values), some
    hidden, so charts can be checked at 12, 200 and 2,000 schools without evaluating such a district."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    ids = [f"S{i:04d}" for i in range(schools)]
    group = np.where(np.arange(schools) % 3 == 2, "comparison", "participant")
    months = [f"2025-{m:02d}" for m in (9, 10, 11, 12)] + [f"2026-{m:02d}" for m in (1, 2, 3, 4, 5)]
    rows = []
    for school, g, level in zip(ids, group, rng.uniform(0.15, 0.8, schools)):
        hidden = rng.random() < 0.02
        for k, month in enumerate(months):
            p = float(np.clip(level * (0.5 + k / 16) + rng.normal(0, 0.08), 0, 1))
            rows.append(("school_id+month", g, school, month, p, p - 0.1, p + 0.1, hidden, hidden))
    for g in ("participant", "comparison"):
        for k, month in enumerate(months):
            rows.append(("group+month", g, None, month, 0.2 + k * 0.05, 0.18 + k * 0.05, 0.22 + k * 0.05, False, False))
    columns = [
        "breakdown",
        "group",
        "school_id",
        "month",
        "estimate",
        "ci_low",
        "ci_high",
        "suppressed",
        "complementary",
    ]
    rates = pd.DataFrame(rows, columns=columns)
    n = rng.integers(20, 120, schools)
    estimate = rng.beta(5, 4, schools)
    z = (estimate - 0.55) / np.sqrt(0.55 * 0.45 / n)
    position = np.select(
        [z > 3.09, z > 1.96, z < -3.09, z < -1.96], ["above 99.8%", "above 95%", "below 99.8%", "below 95%"], "within"
    )
    funnel = pd.DataFrame({"school_id": ids, "n": n, "estimate": estimate, "z": z, "position": position,
                           "suppressed": rng.random(schools) < 0.02})  # fmt: skip
    grid = np.arange(1, 130)
    half = 1.96 * np.sqrt(0.55 * 0.45 / grid)
    curve = pd.DataFrame({"n": grid, "p0": 0.55, "low_95": 0.55 - half, "high_95": 0.55 + half,
                          "low_998": 0.55 - 1.6 * half, "high_998": 0.55 + 1.6 * half})  # fmt: skip
    matrix = pd.DataFrame(
        [
            (s, st, i, float(rng.integers(1, 5)))
            for s in ids
            for st, i in (("time", "planning"), ("feedback", "cycles"))
        ],
        columns=["school_id", "structure", "indicator_id", "rating"],
    )
    ranking = pd.DataFrame({"label": ids, "estimate": rng.normal(0, 4, schools)})
    ranking = ranking.assign(ci_low=ranking["estimate"] - 2, ci_high=ranking["estimate"] + 2)
    return rates, funnel, curve, matrix, ranking


@pytest.mark.scale
@pytest.mark.parametrize("schools", [12, 200, 2000])
def test_district_charts_stay_readable_at_any_number_of_schools(schools):
    """Issue #19: at 2,000 schools the funnel's title listed 288 schools and the small multiples ran to a
    thousand panels. Every district chart now has a bounded size and names at most `NAMED` schools; the
    numbers behind it keep every school."""
    from plevaluate.figures import MANY, NAMED, chart_data, interval_chart
    from plevaluate.report.toolkit import Chart

    rates, funnel, curve, matrix, ranking = _district_of(schools)
    names = {s: f"{s} Elementary" for s in funnel["school_id"]}
    below = funnel[funnel["position"].str.startswith("below")].sort_values("z")["school_id"].tolist()
    charts = {
        "implementation": implementation_chart(rates, target=0.6, names=names, highlight=below),
        "funnel": funnel_chart(funnel, curve, names=names),
        "heatmap": conditions_heatmap(matrix, names=names),
        "ranking": interval_chart(ranking.assign(label=ranking["label"].map(names)), unit="points", title="Schools"),
    }
    for what, fig in charts.items():
        words = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
        words += [fig._suptitle.get_text()] if fig._suptitle else []
        named = {s for s in names.values() if any(s in w for w in words)}
        numbers = chart_data(fig)
        chart = Chart(fig)
        width, height = int.from_bytes(chart.png[16:20], "big"), int.from_bytes(chart.png[20:24], "big")
        assert width <= 1300 and height <= 1800, (what, width, height)
        # the funnel names at most NAMED schools outside its limits and at most NAMED hidden ones (then a count)
        limit = {"implementation": NAMED if schools > MANY else schools, "funnel": 2 * NAMED}.get(what, MANY)
        assert len(named) <= limit, (what, len(named))
        listed = " ".join(numbers.astype(str).agg(" ".join, axis=1))
        everyone = funnel["school_id"] if what != "funnel" else funnel.loc[~funnel["suppressed"], "school_id"]
        assert all(names[s] in listed for s in everyone), what  # the table keeps every school
        if schools > MANY and what != "funnel":
            assert any(str(schools) in w or "table below" in w for w in words), what  # the chart says what it left out


@pytest.mark.parametrize("schools", [12, 200])
def test_board_charts_list_the_schools_they_draw_and_say_where_the_rest_are(schools):
    """The board summary printed 127 pages at 2,000 schools: its funnel and heat map listed every school under
    the chart (a printed page opens every table). With ``elsewhere`` their tables keep the schools the chart
    draws or names and send the reader to the district report for the rest; a district of `MANY` schools or
    fewer keeps every row."""
    import re

    from plevaluate.figures import MANY, NAMED, chart_data, drawn_text

    _, funnel, curve, matrix, _ = _district_of(schools)
    names = {s: f"{s} Elementary" for s in funnel["school_id"]}
    full = chart_data(funnel_chart(funnel, curve, names=names))
    brief_fig = funnel_chart(funnel, curve, names=names, elsewhere="the district report")
    brief = chart_data(brief_fig)
    heat_full = chart_data(conditions_heatmap(matrix, names=names))
    heat_fig = conditions_heatmap(matrix, names=names, elsewhere="the district report")
    heat = chart_data(heat_fig)
    if schools <= MANY:
        assert brief.equals(full) and heat.equals(heat_full)
        return
    shown = funnel[~funnel["suppressed"]]
    named_on_chart = {s for s in names.values() if any(s in w for w in drawn_text(brief_fig))}
    listed = set(brief["school"])
    assert named_on_chart and named_on_chart <= listed and len(named_on_chart) <= 2 * NAMED  # outside, hidden
    # the other schools as one row per position, whose counts add up with the named ones to every school drawn
    counted = [
        int(m.group(1).replace(",", ""))
        for m in map(re.compile(r"^([\d,]+) more schools?$").match, brief["school"])
        if m
    ]
    drawn_named = {s for s in shown["school_id"] if names[s] in listed}
    assert len(drawn_named) + sum(counted) == len(shown)
    assert (
        len(brief) <= 2 * NAMED + 5 + 1 and brief["school"].iloc[-1] == "Every school's row is in the district report"
    )
    words = " ".join(drawn_text(brief_fig))
    assert "the district report" in words and "table below" not in words
    assert len(full) == len(funnel)  # the district report's table keeps every school
    # the heat map: the MANY schools it draws, then where the others are
    assert heat.iloc[:MANY].equals(heat_full.iloc[:MANY]) and len(heat) == MANY + 1
    assert heat["school"].iloc[-1] == f"{len(heat_full) - MANY} more schools: their ratings are in the district report"
    assert "in the district report" in " ".join(drawn_text(heat_fig))


@pytest.mark.parametrize(("inches", "fits"), [(5.0, False), (9.5, True), (16.0, False)])
def test_a_chart_a_little_taller_than_a_page_is_marked_to_print_on_one(inches, fits):
    """The board summary's heat map of 30 schools printed 10 in tall: its heading alone at the foot of a page, the
    chart on the next. Such a chart is marked to shrink onto a page with its heading (report.css); a chart much
    taller keeps its size (shrunk, its labels would not read) and a short one is left alone."""
    import matplotlib.pyplot as plt

    from plevaluate.report.toolkit import PRINT_FIT, Chart

    fig, ax = plt.subplots(figsize=(7, inches))
    ax.plot([0, 1], [0, 1])
    chart = Chart(fig)
    assert ("pl-fits-page" in chart.html()) is fits
    assert (PRINT_FIT[0] < inches / 7 <= PRINT_FIT[1]) is fits
    assert "img.pl-chart-image.pl-fits-page" in (ROOT / "plevaluate" / "assets" / "report.css").read_text()
