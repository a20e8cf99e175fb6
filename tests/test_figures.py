"""Figures: they draw from the tidy tables, title with a takeaway, and never draw suppressed groups."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from plevaluate.figures import (
    conditions_heatmap,
    dose_response_chart,
    funnel_chart,
    implementation_chart,
    likert_chart,
    prepost_chart,
    theme,
)
from plevaluate.learning import learning_gains, match_pairs
from plevaluate.survey import item_distribution, score_reactions


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


def test_prepost_chart(sample_district):
    pairs = match_pairs(sample_district.learning, sample_district.educators)
    part = pairs[pairs["participant"].astype(bool)]
    fig = prepost_chart(part, learning_gains(part))
    assert "standard deviations" in fig.axes[0].get_title(loc="left")
    assert any("g_av" in t.get_text() and "95% CI" in t.get_text() for t in fig.texts)


def test_prepost_chart_draws_nothing_for_a_suppressed_group(sample_district):
    pairs = match_pairs(sample_district.learning, sample_district.educators)
    small = pairs[pairs["school_id"] == "S08"]
    fig = prepost_chart(small, learning_gains(small, min_n=sample_district.plan.min_n))
    assert not fig.axes[0].axison and not fig.axes[0].patches
    assert "too few educators" in fig.axes[0].get_title(loc="left")
    plt.close(fig)


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
