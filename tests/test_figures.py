"""Figures: they draw from the tidy tables, title with a takeaway, and never draw suppressed groups."""

from __future__ import annotations

import matplotlib.pyplot as plt

from plevaluate.figures import likert_chart, prepost_chart, theme
from plevaluate.learning import learning_gains, match_pairs
from plevaluate.reactions import item_distribution, score_reactions


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
