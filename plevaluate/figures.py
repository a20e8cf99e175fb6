"""The report charts: one theme, a colour-blind-safe palette, a one-line takeaway as each title.

Figures take the tidy result tables (never raw rows) and return a matplotlib Figure; they compute
no statistic beyond arranging what the levels computed.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ._tidy import window_words
from .contract import INVISIBLE
from .vocabulary import RATING_WORDS, counted

__all__ = [
    "MANY",
    "NAMED",
    "PALETTE",
    "plain",
    "visible",
    "words",
    "brief_rows",
    "conditions_heatmap",
    "alt_text",
    "chart_data",
    "interval",
    "number",
    "cost_chart",
    "describe",
    "dose_response_chart",
    "funnel_chart",
    "implementation_chart",
    "interval_chart",
    "likert_chart",
    "theme",
]

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
#: Beyond this many schools (or rows), a chart stops drawing one panel, line or row each: it draws the
#: distribution and the schools that stand out, and its table ("the numbers behind this chart") keeps every row.
MANY = 30
#: At most this many schools are named on a chart (the furthest from the rest); the table names every one.
NAMED = 8
# Disagree (warm) to agree (cool), neutral grey in the middle: a diverging scale from the palette.
_LIKERT = ["#D55E00", "#E69F00", "#BBBBBB", "#56B4E9", "#0072B2"]


def visible(text: object) -> str:
    """Untrusted text with its invisible and control characters (bidirectional overrides, zero-width marks)
    shown as ``[U+202E]`` marks, so that a name cannot read differently from what it is.

    >>> visible("Oak\u202eloohcS")
    'Oak[U+202E]loohcS'
    """
    return INVISIBLE.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(text))


def words(key: object) -> str:
    """A data key (a survey construct, a structure, a role) as a reader reads it: underscores become spaces,
    invisible characters are made visible (`visible`); the data tables keep the key itself.

    >>> words("organizational_support")
    'organizational support'
    """
    return visible(key).replace("_", " ").strip()


def plain(text: object) -> str:
    """Untrusted text made safe for a matplotlib label: ``$`` would otherwise start mathtext; invisible
    characters are made visible (`visible`)."""
    return visible(text).replace("$", r"\$")


def describe(fig: Figure, data: pd.DataFrame, main: str = "") -> Figure:
    """Attach the numbers behind ``fig``, as a reader reads them (text cells, readable column names), so the
    report can show them as a table under the chart: nothing is conveyed by the image alone (WCAG 1.1.1).
    A group the chart does not show is a row that says so, never its values. ``main`` states the chart's
    main numbers in words when its title does not (`alt_text` adds it)."""
    fig.plevaluate_data = data.reset_index(drop=True)
    fig.plevaluate_main = main
    return fig


def drawn_text(fig: Figure) -> tuple[str, ...]:
    """Every piece of text drawn on a chart (titles, labels, tick labels, legend entries, annotations): what a
    reader has to read, so what a readable chart keeps bounded (issue #19: at 2,000 schools a funnel's title
    listed 288 schools)."""
    from matplotlib.text import Text

    return tuple(t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip())


def chart_data(fig: Figure) -> pd.DataFrame | None:
    """The numbers behind a chart made here (`describe`), or None for a chart that says why it is empty."""
    return getattr(fig, "plevaluate_data", None)


def takeaway(fig: Figure) -> str:
    """A chart's one-line takeaway as drawn (its title, on one line), which a chart rebuilt elsewhere (the deck's
    native charts) shows as its own title.

    >>> takeaway(_empty_figure("Answers item by item: too few respondents to show"))
    'Answers item by item: too few respondents to show'
    """
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    titles = [suptitle] if suptitle else [t for ax in fig.axes[:1] for t in (ax.get_title("left"), ax.get_title())]
    return " ".join(" ".join(t.split()) for t in titles if t and t.strip()).replace(r"\$", "$")


def alt_text(fig: Figure) -> str:
    """A chart's text alternative: its one-line takeaway (the title, which names the main number) and its
    caption, as drawn, in one line.

    >>> fig = _empty_figure("Answers item by item: too few respondents to show")
    >>> alt_text(fig)
    'Answers item by item: too few respondents to show'
    """
    texts = [t.get_text() for t in fig.texts if t is not fig._suptitle]
    main = getattr(fig, "plevaluate_main", "")
    words = " ".join(" ".join(t.split()) for t in [takeaway(fig), main, *texts] if t and t.strip())
    return words.replace(r"\$", "$")


def number(value, unit: str) -> str:
    """A value as every report shows it: ``share`` 42%, ``sd`` 0.31 SD, ``rating`` 2.5, ``points`` +1.2,
    ``odds`` x1.45, ``dollars`` $1,200; blank when missing.

    >>> number(0.416, "share"), number(0.3149, "sd"), number(None, "share")
    ('42%', '0.31 SD', '')
    """
    if value is None or pd.isna(value):
        return ""
    if unit == "share":
        return f"{value:.0%}"
    if unit == "sd":
        return f"{value:.2f} SD"
    if unit == "rating":
        return f"{value:.1f}"
    if unit == "points":
        return f"{value:+.1f}"
    if unit == "odds":
        return f"x{value:.2f}"
    if unit == "dollars":
        return f"${value:,.0f}"
    return f"{value:.2f}"


def interval(low, high, unit: str) -> str:
    """An interval in the unit's words (`number`): ``44% to 75%``; blank when either end is missing."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    return f"{number(low, unit)} to {number(high, unit)}"


def _pct(value) -> str:
    return number(value, "share")


def _empty_figure(title: str) -> Figure:
    """A small figure that says why there is nothing to draw (rather than an empty or broken chart)."""
    fig, ax = plt.subplots(figsize=(7, 1.2))
    ax.set_axis_off()
    ax.set_title(title, loc="left")
    return fig


def theme() -> None:
    """Apply the plevaluate look to every chart that follows (seaborn's whitegrid, readable sizes)."""
    sns.set_theme(style="whitegrid", context="notebook", palette=list(PALETTE.values()), font_scale=0.95)


def likert_chart(distribution: pd.DataFrame, *, texts: dict[str, str] | None = None, title: str = "") -> Figure:
    """Diverging stacked bars of answer categories per item, sorted by agreement.

    Parameters
    ----------
    distribution : DataFrame
        From `plevaluate.survey.item_distribution` for one group: item_id, category, share,
        reverse_coded, suppressed. Suppressed items are left out and named in the caption.
    texts : dict, optional
        item_id -> item wording, for the axis labels, the title and the caption (wrapped and shortened).
    title : str
        The one-line takeaway; by default the most and least agreed items are named.
    """
    shown = distribution[~distribution["suppressed"]]
    hidden = sorted(set(distribution["item_id"]) - set(shown["item_id"]))
    if shown.empty:
        return _empty_figure(title or "Answers item by item: too few respondents to show")
    wide = shown.pivot_table(index="item_id", columns="category", values="share", fill_value=0.0)
    categories = sorted(wide.columns)
    k = len(categories)
    mid = (categories[0] + categories[-1]) / 2
    agree = wide[[c for c in categories if c > mid]].sum(axis=1)
    wide = wide.loc[agree.sort_values().index]

    def label(item: str, width: int = 48) -> str:
        return textwrap.fill(textwrap.shorten(plain((texts or {}).get(item, item)), 2 * width), width)

    fig, ax = plt.subplots(figsize=(9, 0.62 * len(wide) + 1.8))
    left = -wide[[c for c in categories if c < mid]].sum(axis=1) - wide.get(mid, 0) / 2
    colours = _LIKERT if k == 5 else sns.color_palette("RdBu", k).as_hex()
    for colour, category in zip(colours, categories):
        ax.barh(
            wide.index.map(label),
            wide[category],
            left=left,
            color=colour,
            label=f"{category:g}",
            edgecolor="white",
            linewidth=0.5,
        )
        left = left + wide[category]
    ax.axvline(0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{abs(v):.0%}"))
    ax.set_xlim(-1, 1)
    ax.legend(title="answer", ncols=k, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    best, worst = agree.idxmax(), agree.idxmin()
    ax.set_title(
        textwrap.fill(
            title
            or f"Most agreement: '{label(best, 200)}' ({agree[best]:.0%}); least: '{label(worst, 200)}' "
            f"({agree[worst]:.0%})",
            100,
        ),
        loc="left",
        fontsize=10,
    )
    if hidden:
        fig.text(
            0.01,
            0.01,
            textwrap.fill(
                "Not shown (too few respondents, or protecting a smaller group): "
                + "; ".join(label(h, 200) for h in hidden),
                140,
            ),
            fontsize=8,
        )
    fig.tight_layout()
    text_of = (texts or {}).get
    rows = [
        {"item": visible(text_of(item, item)), **{f"{c:g}": _pct(wide.loc[item, c]) for c in categories},
         "agree": _pct(agree[item]), "note": ""}
        for item in wide.index[::-1]
    ] + [
        {"item": visible(text_of(item, item)), "note": "not shown: too few respondents, or protecting a smaller group"}
        for item in hidden
    ]  # fmt: skip
    return describe(fig, pd.DataFrame(rows, dtype=object).fillna(""))


def conditions_heatmap(
    matrix: pd.DataFrame,
    change: pd.DataFrame | None = None,
    *,
    names: dict | None = None,
    title: str = "",
    elsewhere: str | None = None,
) -> Figure:
    """School x indicator heat map of the latest conditions ratings, with the change since the first term.

    Parameters
    ----------
    matrix : DataFrame
        Long form from `plevaluate.levels.organization.evaluate_organization` (``matrix``): school_id,
        structure, indicator_id, rating.
    change : DataFrame, optional
        ``change`` from the same result; each cell then shows ``3 (+1)``.
    names : dict, optional
        school_id -> school name for the row labels.
    elsewhere : str, optional
        Where every school's ratings are (``"the district report"``) when this chart's table is to list only
        the schools it draws (`brief_rows`): the board summary, whose pages must not grow with the district.
    """
    wide = matrix.pivot_table(index="school_id", columns=["structure", "indicator_id"], values="rating")
    means = wide.mean(axis=1)
    wide = wide.loc[means.sort_values(kind="stable").index]  # weakest first: where support is needed comes first
    means = means[wide.index]
    labels = wide.map(lambda v: "" if np.isnan(v) else f"{v:g}")
    if change is not None:
        delta = change.pivot_table(index="school_id", columns=["structure", "indicator_id"], values="change")
        delta = delta.reindex(index=wide.index, columns=wide.columns)
        labels = labels + delta.map(lambda d: "" if np.isnan(d) or d == 0 else f" ({d:+g})")
    drawn = wide.iloc[:MANY]
    fig, ax = plt.subplots(figsize=(1.3 * wide.shape[1] + 3, 0.4 * len(drawn) + 1.8))
    cmap = sns.light_palette(PALETTE["blue"], 4, as_cmap=True)
    sns.heatmap(
        drawn,
        annot=labels.iloc[:MANY],
        fmt="",
        cmap=cmap,
        vmin=1,
        vmax=4,
        linewidths=0.5,
        linecolor="white",
        ax=ax,
        cbar_kws={"ticks": [1, 2, 3, 4]},
    )
    colourbar = ax.collections[0].colorbar
    colourbar.set_ticklabels([f"{k} {v}" for k, v in RATING_WORDS.items()])
    ax.set_yticklabels([textwrap.shorten(plain((names or {}).get(s, s)), 40) for s in drawn.index], rotation=0)
    ax.set_xticklabels([plain(i.replace("_", " ")) for _, i in wide.columns], rotation=20, ha="right")
    ax.set_xlabel("")
    ax.set_ylabel("")
    low = means.index[0]
    heading = f"Weakest conditions: {plain((names or {}).get(low, low))} (mean {means[low]:.1f} of 4)"
    if len(wide) > len(drawn):
        heading = (
            f"The {len(drawn)} schools (of {len(wide)}) with the weakest conditions; weakest: "
            f"{plain((names or {}).get(low, low))} (mean {means[low]:.1f} of 4)"
        )
    ax.set_title(textwrap.fill(title or heading, 90), loc="left")
    said = []
    if len(wide) > len(drawn):
        where = f"in {elsewhere}" if elsewhere else "in the table below the chart"
        said.append(f"Every school's ratings are {where} ({len(wide)} schools).")
    if change is not None and labels.map(lambda text: "(" in text).to_numpy().any():  # a reader's review: "(+1)"
        said.append("In brackets: the change since the school's first rated term, in steps of the rubric.")  # unsaid
    if said:
        fig.text(0.01, 0.005, " ".join(said), fontsize=8)
    fig.tight_layout(rect=(0, 0.03 if said else 0, 1, 1))
    table = labels.copy()
    table.columns = [f"{words(structure)}: {words(indicator)}" for structure, indicator in labels.columns]
    table.insert(0, "school", [visible((names or {}).get(s, s)) for s in labels.index])
    table["mean of 4"] = [f"{m:.1f}" for m in means]
    if elsewhere and len(table) > len(drawn):
        table = brief_rows(table.iloc[: len(drawn)], len(table) - len(drawn), elsewhere, "ratings")
    return describe(fig, table)


def brief_rows(shown: pd.DataFrame, rest: int, elsewhere: str, what: str) -> pd.DataFrame:
    """A chart's table cut to the rows the chart draws, and one row saying where the ``rest`` are: for a report
    whose length must not grow with the number of schools (the board summary, printed).

    >>> brief = brief_rows(pd.DataFrame({"school": ["Lincoln"], "mean": ["2.5"]}), 40, "the district report", "ratings")
    >>> brief["school"].tolist()
    ['Lincoln', '40 more schools: their ratings are in the district report']
    """
    first = shown.columns[0]
    more = {column: "" for column in shown.columns}
    more[first] = f"{rest:,} more school{'s' if rest != 1 else ''}: their {what} are in {elsewhere}"
    return pd.concat([shown, pd.DataFrame([more])], ignore_index=True)


def implementation_chart(
    rates: pd.DataFrame,
    *,
    target: float | None = None,
    names: dict | None = None,
    title: str = "",
    ci: str = "95%",
    highlight: tuple[str, ...] | list[str] = (),
) -> Figure:
    """Implementation over time: one small panel per school with the district line behind it; beyond
    `MANY` schools, one panel with the spread of the participant schools' monthly rates and the
    ``highlight`` schools (at most `NAMED`) as lines of their own.

    Parameters
    ----------
    rates : DataFrame
        ``rates`` from `plevaluate.levels.practice.evaluate_practice` (uses the ``school_id+month`` and
        ``group+month`` rows). Hidden months are not drawn; a school with none shown says why
        (too few educators observed, or hidden to protect a smaller group).
    ci : str
        The interval level in words, for the caption.
    target : float, optional
        The plan's level-4 target, drawn as a dashed line.
    highlight : sequence of str, optional
        Schools drawn as their own lines when there are too many schools for a panel each (the district
        report passes the schools furthest below the funnel's limits).
    """
    schools = rates[rates["breakdown"] == "school_id+month"]
    district = rates[(rates["breakdown"] == "group+month") & (rates["group"] == "participant")].sort_values("month")
    ids = sorted(schools["school_id"].unique())
    if not ids:
        return _empty_figure(title or "Implementation by month: no classroom observations to show")
    if len(ids) > MANY:
        return _implementation_spread(rates, schools, district, target, names, title, ci, list(highlight)[:NAMED])
    columns = min(4, max(1, len(ids)))
    rows = int(np.ceil(len(ids) / columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(2.6 * columns, 2.0 * rows + 0.8), sharex=True, sharey=True, squeeze=False
    )
    months = sorted(rates["month"].dropna().unique())
    position = {m: i for i, m in enumerate(months)}
    for ax, school in zip(axes.flat, ids):
        part = schools[(schools["school_id"] == school) & ~schools["suppressed"]].sort_values("month")
        x = part["month"].map(position)
        ax.plot(district["month"].map(position), district["estimate"], color=PALETTE["grey"], linewidth=1.5)
        if part.empty:
            mine = schools[schools["school_id"] == school]
            protects = "complementary" in mine and mine["complementary"].fillna(False).astype(bool).all()
            why = "not shown: protects\na smaller group" if protects else "too few educators\nobserved"
            ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, fontsize=8, color=PALETTE["grey"])
        else:
            ax.fill_between(x, part["ci_low"], part["ci_high"], color=PALETTE["sky"], alpha=0.3, linewidth=0)
            ax.plot(x, part["estimate"], color=PALETTE["blue"], marker="o", markersize=3)
        if target is not None:
            ax.axhline(target, color=PALETTE["orange"], linestyle="--", linewidth=1)
        ax.set_title(textwrap.shorten(plain((names or {}).get(school, school)), 32), fontsize=9, loc="left")
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    for ax in list(axes.flat)[len(ids) :]:
        ax.set_axis_off()
    ticks = list(range(0, len(months), max(1, len(months) // 4)))
    for ax in axes[-1]:
        ax.set_xticks(ticks, [months[i] for i in ticks], rotation=30, fontsize=7)
    fig.suptitle(textwrap.fill(_implementation_heading(district, title), 110), x=0.01, ha="left", fontsize=11)
    fig.text(
        0.01,
        0.01,
        f"Blue: the school, with its {ci} interval. Grey: all participant schools."
        + (" Dashed: the target." if target is not None else ""),
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return describe(fig, _by_month(schools, district, months, names))


def _implementation_heading(district: pd.DataFrame, title: str) -> str:
    shown = district.dropna(subset=["estimate"])
    if title:
        return title
    if len(shown) >= 2:
        first, last = shown.iloc[0], shown.iloc[-1]
        return (
            f"Across participant schools the practice was seen in {first['estimate']:.0%} of visits in "
            f"{first['month']} and {last['estimate']:.0%} in {last['month']}"
        )
    return "Implementation of the practice by month"


def _implementation_spread(rates, schools, district, target, names, title, ci, highlight) -> Figure:
    """`implementation_chart` for many schools: quantile bands of the participant schools shown each month."""
    months = sorted(rates["month"].dropna().unique())
    position = {m: i for i, m in enumerate(months)}
    shown = schools[~schools["suppressed"].astype(bool) & schools["estimate"].notna()]
    program = shown[shown["group"] == "participant"]
    spread = (
        program.groupby("month")["estimate"]
        .quantile([0.1, 0.25, 0.5, 0.75, 0.9])
        .unstack()
        .reindex(months)
        .rename(columns=lambda q: f"{q:.0%}")
    )
    counts = program.groupby("month")["school_id"].nunique().reindex(months).fillna(0).astype(int)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    x = np.arange(len(months))
    ax.fill_between(x, spread["10%"], spread["90%"], color=PALETTE["sky"], alpha=0.25, linewidth=0,
                    label="middle 80% of participant schools")  # fmt: skip
    ax.fill_between(x, spread["25%"], spread["75%"], color=PALETTE["sky"], alpha=0.5, linewidth=0,
                    label="middle half")  # fmt: skip
    ax.plot(x, spread["50%"], color=PALETTE["blue"], linewidth=1, linestyle=":", label="median school")
    ax.plot(district["month"].map(position), district["estimate"], color=PALETTE["grey"], linewidth=2,
            label="all participant schools' visits")  # fmt: skip
    comparison = rates[(rates["breakdown"] == "group+month") & (rates["group"] == "comparison")].sort_values("month")
    if len(comparison):
        ax.plot(comparison["month"].map(position), comparison["estimate"], color=PALETTE["grey"], linewidth=1.2,
                linestyle="--", label="comparison schools' visits")  # fmt: skip
    colours = [PALETTE[c] for c in ("vermillion", "purple", "orange", "green", "blue")]
    ends = []
    for colour, school in zip(colours, highlight):
        part = shown[shown["school_id"] == school].sort_values("month")
        if part.empty:
            continue
        xs = part["month"].map(position).to_numpy()
        ax.plot(xs, part["estimate"], color=colour, marker="o", markersize=3, linewidth=1.2)
        ends.append((float(part["estimate"].iloc[-1]), xs[-1], colour, school))
    for (y, end, colour, school), placed in zip(ends, _apart([e[0] for e in ends], gap=0.045)):
        ax.annotate(textwrap.shorten(plain((names or {}).get(school, school)), 28), (end, y), xytext=(len(months) - 0.8, placed),
                    textcoords="data", fontsize=7, color=colour, va="center",
                    arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.5})  # fmt: skip
    if target is not None:
        ax.axhline(target, color=PALETTE["orange"], linestyle="--", linewidth=1, label="target")
    ax.set_ylim(0, 1)
    ax.set_xlim(-0.3, len(months) - 0.3 + (2.2 if ends else 0))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xticks(x, months, rotation=30, fontsize=8)
    ax.legend(frameon=False, fontsize=7, loc="upper left", ncol=2)
    ax.set_title(textwrap.fill(_implementation_heading(district, title), 90), loc="left", fontsize=11)
    named = " Coloured: the schools furthest below the district's limits." if ends else ""
    caption = (
        f"{program['school_id'].nunique()} participant schools shown (months with too few educators observed "
        f"are not). {ci} intervals and every school's months are in the table below the chart.{named}"
    )
    fig.text(0.01, 0.01, textwrap.fill(caption, 130), fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    by_month = _by_month(schools, district, months, names)
    quantiles = [
        {"school": f"participant schools: {q} of schools at or below", **{m: _pct(v) for m, v in spread[q].items()}}
        for q in spread.columns
    ]
    quantiles.append({"school": "participant schools shown", **{m: str(c) for m, c in counts.items()}})
    table = pd.concat([by_month.iloc[:1], pd.DataFrame(quantiles, dtype=object), by_month.iloc[1:]], ignore_index=True)
    return describe(fig, table.fillna(""))


def _apart(values: list[float], gap: float) -> list[float]:
    """Label positions near ``values`` but at least ``gap`` apart (order kept), inside 0 to 1."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed = [0.0] * len(values)
    floor = -np.inf
    for i in order:
        placed[i] = max(values[i], floor + gap)
        floor = placed[i]
    overflow = max(0.0, max(placed, default=0.0) - 0.98)
    return [p - overflow for p in placed]


def _by_month(schools: pd.DataFrame, district: pd.DataFrame, months: list, names: dict | None) -> pd.DataFrame:
    """The implementation chart's numbers: a row per school (and all participant schools), a column per month."""

    def cell(row) -> str:
        if bool(row.get("suppressed", False)):
            return "not shown"
        return _pct(row["estimate"])

    rows = [{"school": "all participant schools", **{r["month"]: _pct(r["estimate"]) for _, r in district.iterrows()}}]
    for school, part in schools.groupby("school_id", sort=True):
        rows.append(
            {"school": visible((names or {}).get(school, school)), **{r["month"]: cell(r) for _, r in part.iterrows()}}
        )
    return pd.DataFrame(rows, columns=["school", *months], dtype=object).fillna("")


def funnel_chart(
    table: pd.DataFrame,
    curve: pd.DataFrame,
    *,
    names: dict | None = None,
    highlight: str | None = None,
    title: str = "",
    elsewhere: str | None = None,
) -> Figure:
    """Funnel plot: each school's rate against its number of observations, inside 95% and 99.8% limits.

    Parameters
    ----------
    table, curve : DataFrame
        ``funnel`` and ``funnel_curve`` from `plevaluate.levels.practice.evaluate_practice`. Suppressed
        schools are not drawn (named in the caption).
    highlight : str, optional
        A school_id to mark (a school's own report). Then only that school is named: other schools
        appear anonymously. Without it (district report), schools outside the limits are labelled.
    elsewhere : str, optional
        Where every school's row is (``"the district report"``) when, beyond `MANY` schools, the chart's table is
        to list only the schools named on the chart and the rest as ranges by position (the board summary).
    """
    shown = table[~table["suppressed"]]
    brief = bool(elsewhere) and highlight is None and len(table) > MANY
    listed = f"every school is in {elsewhere}" if brief else "every school is in the table below"
    fig, ax = plt.subplots(figsize=(7, 4.2))
    p0 = float(curve["p0"].iloc[0])
    ax.axhline(p0, color="black", linewidth=1)
    for tag, style in (("95", "--"), ("998", ":")):
        for side in ("low", "high"):
            ax.plot(
                curve["n"],
                curve[f"{side}_{tag}"],
                color=PALETTE["grey"],
                linestyle=style,
                linewidth=1,
                label=f"{'95%' if tag == '95' else '99.8%'} limits" if side == "low" else None,
            )
    outside = shown["position"] != "within"
    dots = {"s": 36} if len(shown) <= 200 else {"s": 10, "alpha": 0.6}  # thousands of schools: small, see-through
    ax.scatter(shown.loc[~outside, "n"], shown.loc[~outside, "estimate"], color=PALETTE["blue"], zorder=3, **dots)
    ax.scatter(
        shown.loc[outside, "n"],
        shown.loc[outside, "estimate"],
        color=PALETTE["vermillion"],
        zorder=3,
        label="outside the 95% limits",
        **dots,
    )
    if highlight is not None:
        labelled = shown["school_id"].eq(highlight)
    else:  # the furthest outside are named on the chart; the table names every school
        furthest = shown.loc[outside, "z"].astype(float).abs().sort_values(ascending=False, kind="stable")
        labelled = shown.index.isin(furthest.index[:NAMED])
    named = shown[labelled]
    if highlight is None and len(named) > 3:  # numbered dots and a key beside the chart: names never overlap
        named = named.assign(_z=named["z"].astype(float).abs()).sort_values("_z", ascending=False, kind="stable")
        key = []
        for k, row in enumerate(named.itertuples(), start=1):
            away = (4, 2) if k % 2 else (-9, -9)  # neighbours' numbers on opposite sides
            ax.annotate(str(k), (row.n, row.estimate), fontsize=7, xytext=away, textcoords="offset points")
            key.append(f"{k}  {textwrap.shorten(plain((names or {}).get(row.school_id, row.school_id)), 34)}")
        ax.text(1.02, 1.0, "\n".join(key), transform=ax.transAxes, va="top", fontsize=7)
    else:
        for row in named.itertuples():
            ax.annotate(
                plain((names or {}).get(row.school_id, row.school_id)),
                (row.n, row.estimate),
                fontsize=7,
                xytext=(4, 3),
                textcoords="offset points",
            )
    term = table["term"].dropna() if "term" in table else pd.Series(dtype=object)
    during = f", {window_words(term.iloc[0])}" if len(term) else ""  # not the target's month: said where it is drawn
    ax.set_xlabel(f"observations in the school{during}")
    ax.set_ylabel("practice seen")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylim(0, 1)
    if highlight is None and len(named) > 3:  # beside the chart, under the key: dots fill the corners
        ax.legend(frameon=False, fontsize=8, loc="lower left", bbox_to_anchor=(1.0, 0.0))
    else:
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    flagged = shown.loc[outside, "school_id"].tolist()
    if highlight is not None and highlight in set(shown["school_id"]):
        mine = shown[shown["school_id"] == highlight]
        ax.scatter(mine["n"], mine["estimate"], s=160, facecolors="none", edgecolors="black", zorder=4)
    if highlight is not None:
        mine = shown[shown["school_id"] == highlight]
        place = "" if mine.empty else str(mine["position"].iloc[0])
        heading = (
            "This school is within the range chance alone would produce"
            if place == "within"
            else f"This school is {place.split()[0]} the range chance alone would produce, outside its {place.split()[-1]} "
            "limits"
            if place  # "below 95%": read as a percentage on its own (a reader's review)
            else f"{counted(len(flagged), 'school')} outside the 95% limits"
        )
    elif len(flagged) > NAMED:
        heading = (
            f"{len(flagged)} of {len(shown)} schools are outside the 95% limits; the {NAMED} furthest are named "
            f"({listed})"
        )
    elif flagged:
        heading = f"Outside the 95% limits: {', '.join(plain((names or {}).get(s, s)) for s in flagged)}"
    else:
        heading = "Every school is within the range chance alone would produce"
    ax.set_title(textwrap.fill(title or heading, 70), loc="left")
    hidden = table.loc[table["suppressed"].astype(bool), "school_id"].tolist()
    if hidden and highlight is None and len(hidden) <= NAMED:
        listed = ", ".join(plain((names or {}).get(s, s)) for s in hidden)
        fig.text(
            0.01, 0.01, f"Not shown (too few educators observed, or protecting such a school): {listed}", fontsize=8
        )
    elif hidden:
        fig.text(
            0.01,
            0.01,
            f"{counted(len(hidden), 'school')} not shown (too few educators observed, or protecting such a school)"
            + ("" if highlight is not None else f"; listed in {elsewhere}" if brief else "; listed in the table below"),
            fontsize=8,
        )
    fig.tight_layout(rect=(0, 0.04, 1, 1))

    def name(school: str) -> str:  # a school's own report names only that school, as the chart does
        if highlight is not None and school != highlight:
            return "another school"
        return visible((names or {}).get(school, school))

    def ranges(part: pd.DataFrame, who: str) -> dict:  # schools as ranges: a row each would name no one
        count, seen = part["n"], part["estimate"]
        return {
            "school": f"1 {who} school" if len(part) == 1 else f"{len(part):,} {who} schools",
            "observations": " to ".join(dict.fromkeys([f"{count.min():,.0f}", f"{count.max():,.0f}"])),
            "practice seen": " to ".join(dict.fromkeys([_pct(seen.min()), _pct(seen.max())])),
            "position": str(part["position"].iloc[0]),
        }

    ordered = shown.sort_values(["estimate", "n"], ascending=[False, False])
    own = ordered if highlight is None else ordered[ordered["school_id"] == highlight]
    if brief:  # the schools named on the chart, then the others by position (the board summary)
        own = ordered[ordered["school_id"].isin(named["school_id"])]
    rows = [
        {"school": name(r.school_id), "observations": f"{r.n:,.0f}", "practice seen": _pct(r.estimate),
         "position": str(r.position)}
        for r in own.itertuples()
    ]  # fmt: skip
    why = "not shown (too few educators observed, or protecting such a school)"
    if brief:
        others = ordered[~ordered["school_id"].isin(named["school_id"])]
        rows += [ranges(part, "more") for _, part in others.groupby("position", sort=False)]
        if len(hidden) <= NAMED:  # named under the chart, so named here
            rows += [{"school": name(s), "position": why} for s in hidden]
        else:
            rows.append({"school": f"{counted(len(hidden), 'more school')}", "position": why})
        rows.append({"school": f"Every school's row is in {elsewhere}"})
    elif highlight is None:
        rows += [{"school": name(s), "position": why} for s in hidden]
    else:  # a school's own report: the other schools by position, as ranges (a row each would name no one)
        others = ordered[ordered["school_id"] != highlight]
        rows += [ranges(part, "other") for _, part in others.groupby("position", sort=False)]
        if hidden:
            rows.append({"school": f"{counted(len(hidden), 'other school')}", "position": "not shown"})
    mine = shown[shown["school_id"] == highlight] if highlight is not None else shown.iloc[0:0]
    if len(mine):
        main = f"(practice seen in {mine['estimate'].iloc[0]:.0%} of {mine['n'].iloc[0]:,.0f} observations)."
    else:
        main = f"({len(flagged)} of {len(shown)} schools shown are outside the 95% limits.)"
    table = pd.DataFrame(rows, columns=["school", "observations", "practice seen", "position"], dtype=object).fillna("")
    return describe(fig, table, main)


def dose_response_chart(
    bands: pd.DataFrame, model: pd.DataFrame | None = None, *, title: str = "", ci: str = "95%"
) -> Figure:
    """Implementation by PL hours attended: rate and interval per band, the modelled slope in the caption.

    Parameters
    ----------
    bands, model : DataFrame
        ``dose_bands`` and ``dose_model`` from `plevaluate.levels.practice.evaluate_practice`.
    """
    shown = bands[~bands["suppressed"]].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = np.arange(len(shown))
    ax.errorbar(
        x,
        shown["estimate"],
        yerr=[shown["estimate"] - shown["ci_low"], shown["ci_high"] - shown["estimate"]],
        fmt="o",
        color=PALETTE["blue"],
        capsize=3,
    )
    ax.set_xticks(x, shown["hours_band"].astype(str), fontsize=8)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylabel("practice seen")
    heading = "Implementation by hours of professional learning attended"
    if model is not None and len(model) and pd.notna(model.iloc[0]["estimate"]):
        row = model.iloc[0]
        more = "higher" if row["ci_low"] > 1 else "lower" if row["ci_high"] < 1 else "no clearly different"
        heading = (
            title or f"Teachers with more PL hours used the practice {'more' if more == 'higher' else 'about as'} often"
        )
        if more == "lower":
            heading = title or "Teachers with more PL hours used the practice less often"
        fig.text(
            0.01,
            0.01,
            f"Odds of the practice per 10 more hours: x{row['estimate']:.2f} ({ci} CI "
            f"{row['ci_low']:.2f} to {row['ci_high']:.2f}), adjusted for month; correlational.",
            fontsize=8,
        )
    ax.set_title(title or heading, loc="left")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    rows = [
        {"PL hours attended": str(r["hours_band"]),
         "practice seen": "too few to report" if bool(r["suppressed"]) else _pct(r["estimate"]),
         "interval": "" if bool(r["suppressed"]) else interval(r["ci_low"], r["ci_high"], "share")}
        for _, r in bands.iterrows()
    ]  # fmt: skip
    return describe(fig, pd.DataFrame(rows, columns=["PL hours attended", "practice seen", "interval"]))


def _extremes(rows: pd.DataFrame, always: pd.Series | None, caption: str) -> tuple[pd.DataFrame, str]:
    """The rows `interval_chart` draws when there are more than `MANY`: ``always``, then the highest and
    lowest estimates of the rest (in the rows' order), and a caption saying what was left to the table."""
    keep = always.reset_index(drop=True).astype(bool) if always is not None else pd.Series(False, index=rows.index)
    rest = rows.loc[~keep & _row_flags(rows)[1], "estimate"].astype(float)
    each = max(1, (MANY - int(keep.sum())) // 2)
    ordered = rest.sort_values(ascending=False, kind="stable")
    chosen = keep | rows.index.isin(ordered.index[:each]) | rows.index.isin(ordered.index[-each:])
    drawn = rows[chosen]
    ranked = drawn.loc[~keep[chosen]].sort_values("estimate", ascending=False, kind="stable")
    drawn = pd.concat([drawn[keep[chosen]], ranked], ignore_index=True)
    left = len(rows) - len(drawn)
    said = (
        f"Drawn: the {each} highest and {each} lowest of {len(rest)}; {left} more (including any not shown "
        "for privacy) are in the table below the chart."
    )
    return drawn, (caption + " " + said).strip()


def _row_flags(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Which rows are hidden, which drawn (shown, with an estimate), and which hidden rows protect another."""
    hidden = rows["suppressed"].astype(bool) if "suppressed" in rows else pd.Series(False, index=rows.index)
    protecting = rows["complementary"].fillna(False).astype(bool) if "complementary" in rows else hidden & False
    return hidden, ~hidden & rows["estimate"].notna(), protecting


def interval_chart(
    rows: pd.DataFrame,
    *,
    label: str = "label",
    unit: str = "share",
    reference: float | None = None,
    reference_label: str = "target",
    title: str = "",
    caption: str = "",
    always: pd.Series | None = None,
) -> Figure:
    """Estimates with their intervals as dots and whiskers, one line per row (hidden rows say why, never drawn).

    Beyond `MANY` rows the chart draws the ``always`` rows (a boolean mask: the whole district, say) and
    the highest and lowest of the rest, and says so; its table keeps every row.

    Parameters
    ----------
    rows : DataFrame
        ``label`` column, estimate, ci_low, ci_high and optionally suppressed.
    unit : str
        ``share`` (shown as percentages), ``sd`` or ``points``.
    reference : float, optional
        A vertical line (the plan's target, or zero).
    """
    rows = rows.reset_index(drop=True)
    every = rows
    if len(rows) > MANY:
        rows, caption = _extremes(rows, always, caption)
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.5))
    y = np.arange(len(rows))[::-1]
    hidden, shown, protecting = _row_flags(rows)
    est, low, high = rows["estimate"], rows["ci_low"].fillna(rows["estimate"]), rows["ci_high"].fillna(rows["estimate"])
    ax.errorbar(
        est[shown],
        y[shown],
        xerr=[est[shown] - low[shown], high[shown] - est[shown]],
        fmt="o",
        color=PALETTE["blue"],
        capsize=3,
    )
    for yy, protects in zip(y[~shown.to_numpy()], protecting[~shown].to_numpy()):
        text = "not shown (protects a smaller group)" if protects else "too few people to report"
        ax.text(
            0.02,
            yy,
            text,
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8,
            color=PALETTE["grey"],
            zorder=5,  # above the target line, on white (the line ran through the words: a reader's review)
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
        )
    # a longer label on two lines, not cut ("HC1, ignoring clustering (for [...]": a reader's review)
    ax.set_yticks(y, [textwrap.fill(textwrap.shorten(plain(v), 90), 45) for v in rows[label]])
    if reference is not None and np.isfinite(reference):
        ax.axvline(reference, color=PALETTE["orange"], linestyle="--", linewidth=1, label=reference_label)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    if unit == "share":
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_title(textwrap.fill(title, 80), loc="left")
    if caption:
        fig.text(0.01, 0.01, textwrap.fill(caption, 120), fontsize=8)
    fig.tight_layout(rect=(0, 0.06 if caption else 0, 1, 1))

    def fmt(value) -> str:
        return number(value, unit)

    rows = every
    hidden, shown, protecting = _row_flags(rows)
    table = []
    for i, r in rows.iterrows():
        if shown.iloc[i]:
            table.append(
                {
                    "group": visible(r[label]),
                    "estimate": fmt(r["estimate"]),
                    "interval": interval(r["ci_low"], r["ci_high"], unit),
                }
            )
        else:
            why = "not shown (protects a smaller group)" if protecting.iloc[i] else "too few people to report"
            table.append({"group": visible(r[label]), "estimate": why, "interval": ""})
    drawn = [(r["group"], r["estimate"], r["interval"]) for r, ok in zip(table, shown) if ok]
    if len(drawn) == 1:
        main = f"{drawn[0][0]}: {drawn[0][1]} ({drawn[0][2]})."
    elif drawn:
        values = rows.loc[shown, "estimate"]
        top, bottom = rows.loc[values.idxmax()], rows.loc[values.idxmin()]
        main = (
            f"Highest: {visible(top[label])}, {fmt(top['estimate'])}; lowest: {visible(bottom[label])}, "
            f"{fmt(bottom['estimate'])}."
        )
    else:
        main = "No group has enough people to show."
    return describe(fig, pd.DataFrame(table, columns=["group", "estimate", "interval"]), main)


CATEGORY_LABELS = {
    "facilitators_coaches": "facilitators and coaches",
    "participant_time": "participants' time",
    "substitutes_stipends": "substitutes and stipends",
    "materials_licences": "materials and licences",
    "vendor_fees": "vendor fees",
    "facilities": "facilities",
    "evaluation": "evaluation",
    "other": "other",
}


def cost_chart(by_source_category: pd.DataFrame, *, title: str = "") -> Figure:
    """Stacked horizontal bars: cost by funding source, each bar split by category.

    Parameters
    ----------
    by_source_category : DataFrame
        ``by_source_category`` from `plevaluate.levels.cost.evaluate_cost`: funding_source, category, cost.
    """
    wide = by_source_category.pivot_table(
        index="funding_source", columns="category", values="cost", aggfunc="sum", fill_value=0.0
    )
    wide = wide.loc[wide.sum(axis=1).sort_values().index]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(wide) + 1.8))
    left = np.zeros(len(wide))
    colours = list(PALETTE.values())
    for colour, category in zip(colours * 2, wide.columns):
        ax.barh(
            [plain(s) for s in wide.index],
            wide[category],
            left=left,
            color=colour,
            label=CATEGORY_LABELS.get(category, plain(category)),
        )
        left = left + wide[category].to_numpy()
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"${v / 1000:,.0f}k"))
    ax.set_xlim(0, max(float(left.max()), 1.0) * 1.08)  # room past the longest bar: flush with the frame it read as cut
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    total = wide.to_numpy().sum()
    top = wide.sum(axis=1).idxmax()
    ax.set_title(
        title or f"${total:,.0f} in all; the largest source: {plain(top)} ({wide.loc[top].sum() / total:.0%})",
        loc="left",
    )
    fig.tight_layout()
    table = wide.iloc[::-1].map(lambda v: f"${v:,.0f}")
    table.columns = [CATEGORY_LABELS.get(c, visible(c)) for c in table.columns]
    table.insert(0, "funding source", [visible(s) for s in table.index])
    table["total"] = [f"${v:,.0f}" for v in wide.iloc[::-1].sum(axis=1)]
    return describe(fig, table)


def cohort_event_chart(table: pd.DataFrame, *, target: float | None = None, ci: str = "95%") -> Figure:
    """Level 4 in event time: the share of walkthroughs showing the practice by months since a school joined,
    one line per cohort (with its interval band), so early and late cohorts are compared at the same point of
    their journey. ``table``: ``years_practice`` (`plevaluate.years.publishable`); hidden cells are gaps."""
    shown = table.dropna(subset=["estimate"])
    if shown.empty:
        return _empty_figure("Use of the practice since joining: too few teachers observed to show")
    fig, ax = plt.subplots(figsize=(8, 3.6))
    colours = [PALETTE["blue"], PALETTE["vermillion"], PALETTE["green"], PALETTE["purple"], PALETTE["orange"]]
    for colour, (cohort, part) in zip(colours * 4, shown.groupby("cohort", sort=True)):
        part = part.sort_values("months_since_joining")
        full = part.set_index("months_since_joining").reindex(
            range(part["months_since_joining"].min(), part["months_since_joining"].max() + 1)
        )  # a gap where a month is hidden or has no walkthroughs (summer)
        x = full.index
        ax.fill_between(x, full["ci_low"], full["ci_high"], color=colour, alpha=0.15, linewidth=0)
        ax.plot(x, full["estimate"], color=colour, marker="o", markersize=3, label=f"joined {plain(cohort)}")
    ax.axvline(-0.5, color=PALETTE["grey"], linewidth=1)
    if target is not None:
        ax.axhline(target, color=PALETTE["orange"], linestyle="--", linewidth=1)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("Months since the school joined (its first September = 0; gaps: summers)")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    first = shown[shown["months_since_joining"] == 8]
    if first["cohort"].nunique() >= 2:
        words = ", ".join(f"{_pct(r.estimate)} (joined {r.cohort})" for r in first.sort_values("cohort").itertuples())
        title = f"By the first May in the program: {words}"
    else:
        title = "Use of the practice by months since each school joined"
    fig.suptitle(textwrap.fill(plain(title), 100), x=0.01, ha="left", fontsize=11)
    fig.text(
        0.01,
        0.01,
        f"Each line: the schools that joined that year, with its {ci} interval. Left of the grey line: before "
        "joining." + (" Dashed: this year's target." if target is not None else ""),
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 0.93))
    data = table.assign(
        shown=[number(e, "share") if pd.notna(e) else "hidden (too few teachers)" for e in table["estimate"]],
        interval=[interval(lo, hi, "share") for lo, hi in zip(table["ci_low"], table["ci_high"])],
    )[["cohort", "months_since_joining", "month", "shown", "interval"]]
    data.columns = ["Joined", "Months since joining", "Month", "Share of walkthroughs", f"{ci} interval"]
    return describe(fig, data)


def staggered_chart(event: pd.DataFrame, overall: float, low: float, high: float, *, ci: str = "95%") -> Figure:
    """Level 5 in event time (Callaway & Sant'Anna): the difference in students' scores, program schools minus
    comparison schools, by years since a school joined, with intervals; years before joining are checks that
    both groups were on the same path (they should be near zero)."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    pre = event["event_time"] < 0
    for mask, colour, label in (
        (pre, PALETTE["grey"], "before joining (check)"),
        (~pre, PALETTE["blue"], "in the program"),
    ):
        part = event[mask]
        ax.errorbar(
            part["event_time"],
            part["estimate"],
            yerr=[part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]],
            fmt="o",
            color=colour,
            capsize=3,
            label=label,
        )
    ax.axhline(0, color="#444444", linewidth=0.8)
    ax.axvline(-0.5, color=PALETTE["grey"], linewidth=1, linestyle=":")
    # words throughout ("-2" beside "spring before" and "year 1" read as a different scale: a review), the chart's
    # table too (its "-1, 0, 1, 2" contradicted the axis in the Word memo and the deck: a reader's review)
    when = [("spring before" if e == -1 else f"{-e} springs before" if e < 0 else f"year {e + 1}") for e in
            event["event_time"]]  # fmt: skip
    ax.set_xticks(event["event_time"], when)
    ax.set_ylabel("Difference (SD)")  # of a spring's scores (the caption): the longer label outgrew the plot
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    title = (
        f"Averaged over cohorts, scores in program schools rose {number(overall, 'sd')} more than in comparison "
        f"schools ({ci} interval {interval(low, high, 'sd')})"
        if low > 0 or high < 0
        else f"Averaged over cohorts, the difference is {number(overall, 'sd')}: not distinguishable from zero "
        f"({ci} interval {interval(low, high, 'sd')})"
    )
    fig.suptitle(textwrap.fill(title, 95), x=0.01, ha="left", fontsize=11)
    fig.text(
        0.01,
        0.01,
        textwrap.fill(
            f"Each point: program schools minus comparison schools, in SDs of a spring's scores, by years in the "
            f"program, with its {ci} interval (Callaway & Sant'Anna group-time effects). A matched comparison, not a "
            "lottery.",
            125,
        ),
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.1, 1, 0.9))
    data = pd.DataFrame(
        {
            "Years in the program": when,
            "Difference": [number(v, "sd") for v in event["estimate"]],
            f"{ci} interval": [interval(lo, hi, "sd") for lo, hi in zip(event["ci_low"], event["ci_high"])],
            "Schools compared": event["schools"],
        }
    )
    return describe(fig, data)
