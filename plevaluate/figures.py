"""The report charts: one theme, a colour-blind-safe palette, a one-line takeaway as each title.

Figures take the tidy result tables (never raw rows) and return a matplotlib Figure; they compute
no statistic beyond arranging what the levels computed.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

__all__ = ["PALETTE", "likert_chart", "prepost_chart", "theme"]

#: Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}
# Disagree (warm) to agree (cool), neutral grey in the middle: a diverging scale from the palette.
_LIKERT = ["#D55E00", "#E69F00", "#BBBBBB", "#56B4E9", "#0072B2"]


def theme() -> None:
    """Apply the plevaluate look to every chart that follows (seaborn's whitegrid, readable sizes)."""
    sns.set_theme(style="whitegrid", context="notebook", palette=list(PALETTE.values()), font_scale=0.95)


def likert_chart(distribution: pd.DataFrame, *, texts: dict[str, str] | None = None, title: str = "") -> Figure:
    """Diverging stacked bars of answer categories per item, sorted by agreement.

    Parameters
    ----------
    distribution : DataFrame
        From `plevaluate.reactions.item_distribution` for one group: item_id, category, share,
        reverse_coded, suppressed. Suppressed items are left out and named in the caption.
    texts : dict, optional
        item_id -> item wording for the axis labels.
    title : str
        The one-line takeaway; by default the most and least agreed items are named.
    """
    shown = distribution[~distribution["suppressed"]]
    hidden = sorted(set(distribution["item_id"]) - set(shown["item_id"]))
    wide = shown.pivot_table(index="item_id", columns="category", values="share", fill_value=0.0)
    categories = sorted(wide.columns)
    k = len(categories)
    mid = (categories[0] + categories[-1]) / 2
    agree = wide[[c for c in categories if c > mid]].sum(axis=1)
    wide = wide.loc[agree.sort_values().index]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(wide) + 1.6))
    left = -wide[[c for c in categories if c < mid]].sum(axis=1) - wide.get(mid, 0) / 2
    colours = _LIKERT if k == 5 else sns.color_palette("RdBu", k).as_hex()
    for colour, category in zip(colours, categories):
        ax.barh(wide.index.map(lambda i: (texts or {}).get(i, i)), wide[category], left=left, color=colour,
                label=f"{category:g}", edgecolor="white", linewidth=0.5)  # fmt: skip
        left = left + wide[category]
    ax.axvline(0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{abs(v):.0%}"))
    ax.set_xlim(-1, 1)
    ax.legend(title="answer", ncols=k, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    best, worst = agree.idxmax(), agree.idxmin()
    ax.set_title(
        title or f"Most agreement: {best} ({agree[best]:.0%}); least: {worst} ({agree[worst]:.0%})", loc="left"
    )
    if hidden:
        fig.text(
            0.01, 0.01, f"Not shown (fewer respondents than the reporting minimum): {', '.join(hidden)}", fontsize=8
        )
    fig.tight_layout()
    return fig


def prepost_chart(pairs: pd.DataFrame, gains: pd.DataFrame, *, title: str = "") -> Figure:
    """Pre and post score distributions of matched educators, with g_av and its interval in the caption.

    Parameters
    ----------
    pairs : DataFrame
        From `plevaluate.learning.match_pairs` for one assessment (only ``matched`` rows are drawn).
    gains : DataFrame
        From `plevaluate.learning.learning_gains` for the same assessment and group.
    """
    matched = pairs[pairs["status"] == "matched"]
    long = pd.concat(
        [
            pd.DataFrame({"occasion": "before", "score": matched["pre"]}),
            pd.DataFrame({"occasion": "after", "score": matched["post"]}),
        ]  # fmt: skip
    )
    row = gains.set_index("measure").loc["g_av"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if bool(row.get("suppressed", False)):
        # Too few educators: draw no scores at all, not only no effect size.
        ax.set_axis_off()
        ax.set_title(title or "Scores before and after: too few educators to show", loc="left")
        return fig
    sns.boxplot(long, x="score", y="occasion", hue="occasion", palette=[PALETTE["grey"], PALETTE["blue"]], ax=ax,
                width=0.5, legend=False)  # fmt: skip
    ax.set_ylabel("")
    if np.isnan(row["estimate"]):
        caption = "Effect size not estimable (fewer than two educators with both scores, or no variation)."
        heading = "Scores before and after"
    else:
        caption = (f"Gain in SD units (g_av) = {row['estimate']:.2f}, 95% CI {row['ci_low']:.2f} to "
                   f"{row['ci_high']:.2f}; {int(row['n'])} educators with both scores, {int(row['n_missing'])} without.")  # fmt: skip
        heading = (
            f"Scores rose by {row['estimate']:.2f} standard deviations"
            if row["estimate"] > 0
            else "Scores did not rise"
        )
    ax.set_title(title or heading, loc="left")
    fig.text(0.01, 0.01, caption, fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
