"""What participants wrote: the report sections of a level's open-ended answers (`plevaluate.comments.themes`
computes the tables; a level's own sections call these). Quotes come only from the published ``quotes`` table:
approved by the evaluator, redacted again, and hidden with a group below ``min_n``."""

from __future__ import annotations

import html

import pandas as pd

from ..evaluate import Evaluation
from . import toolkit as tk

__all__ = ["board_line", "district", "school", "technical"]

_QUESTION = {1: "What participants wrote", 3: "What staff wrote about the conditions"}


def _table(ev: Evaluation, level: int, name: str) -> pd.DataFrame | None:
    result = ev.levels.get(level)
    if result is None or name not in result.tables:
        return None
    return result.tables[name]


def _quotes(ev: Evaluation, level: int, school_id: str | None = None) -> list[str]:
    quotes = _table(ev, level, "quotes")
    if quotes is None or quotes.empty:
        return []
    shown = quotes[~quotes["suppressed"].astype("boolean").fillna(False).astype(bool) & quotes["quote"].notna()]
    if school_id is not None:
        shown = shown[shown["school_id"] == school_id]
    return [
        f"<blockquote class='pl-quote'>&ldquo;{html.escape(str(q.quote))}&rdquo; "
        f"<small>({html.escape(str(q.theme_name)) if pd.notna(q.theme_name) else 'comment'})</small></blockquote>"
        for q in shown.itertuples()
    ]


def _rows(themes: pd.DataFrame, ev: Evaluation) -> pd.DataFrame:
    return tk.rows_with_display(themes, "share", ev.min_n, n="n_people")


def district(ev: Evaluation, level: int) -> tk.Section:
    """The themes of the level's comments district-wide and school by school, with the approved quotes."""
    out = tk.Section()
    themes = _table(ev, level, "themes")
    if themes is None or themes.empty:
        return out
    out = out.heading(_QUESTION.get(level, "What people wrote"), level=3)
    whole = themes[themes["breakdown"] == "district"].sort_values("estimate", ascending=False, kind="stable")
    rows = _rows(whole, ev)
    out = out.paragraph(
        "Open-ended answers, coded into the codebook's themes: the share of people who wrote a comment that raised "
        "each theme (a person counts once however many comments they wrote)."
    )
    out = out.show_html(
        tk.html_table(
            rows,
            {
                "theme_name": "Theme",
                "shown_estimate": "Share of commenters",
                "shown_interval": f"{tk.ci_words(ev)} interval",
                "shown_n": "Commenters",
            },
            numeric=("shown_estimate", "shown_n"),
        )
    )
    by_school = themes[themes["breakdown"] == "school_id"].copy()
    if not by_school.empty:
        names = ev.schools.set_index("school_id")["school_name"] if "school_name" in ev.schools else pd.Series()
        by_school["school"] = by_school["school_id"].map(names).fillna(by_school["school_id"])
        shown = _rows(by_school, ev)
        wide = shown.pivot_table(
            index="school", columns="theme_name", values="shown_estimate", aggfunc="first", sort=False
        ).reset_index()
        wide = wide[["school", *[n for n in whole["theme_name"] if n in wide.columns]]]
        out = out.paragraph("School by school (share of each school's commenters raising the theme):")
        out = out.show_html(
            tk.html_table(wide, {"school": "School", **{c: c for c in wide.columns[1:]}}, numeric=wide.columns[1:])
        )
    out = out.coded_note(rows, ev.min_n)
    if level == 3:
        out = _alongside(out, ev, themes)
    quotes = _quotes(ev, level)
    if quotes:
        out = out.paragraph("In their words (comments the evaluator approved for quoting, names removed):")
        out = out.show_html("".join(quotes))
    return out


def _alongside(out: tk.Section, ev: Evaluation, themes: pd.DataFrame) -> tk.Section:
    """Each school's two most-raised staff themes beside its level-3 conditions and level-4 classroom use (the
    chain's school rows): where staff say time or support is missing, are the conditions rated low and the practice
    rare? A pattern across schools no single principal sees."""
    chain = ev.chain
    schools = themes[(themes["breakdown"] == "school_id") & themes["estimate"].notna()]
    if schools.empty:
        return out
    top = (
        themes[themes["breakdown"] == "district"].sort_values("estimate", ascending=False, kind="stable")["theme"]
    ).head(2)
    rows = []
    names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
    for school_id, part in schools.groupby("school_id", sort=True):
        row = {"school": names.get(school_id, school_id)}
        for level, label in ((3, "Conditions (level 3)"), (4, "Practice seen (level 4)")):
            mine = chain[(chain["scope"] == school_id) & (chain["level"] == level)]
            row[label] = (
                tk.fmt(mine["estimate"].iloc[0], mine["unit"].iloc[0])
                if len(mine) and pd.notna(mine["estimate"].iloc[0])
                else ""
            )
        for theme in top:
            hit = part[part["theme"] == theme]
            row[str(hit["theme_name"].iloc[0]) if len(hit) else theme] = (
                f"{hit['estimate'].iloc[0]:.0%}" if len(hit) else ""
            )
        rows.append(row)
    wide = pd.DataFrame(rows)
    out = out.paragraph(
        "Beside each school's conditions and classroom use: the share of its staff who raised the district's two "
        "most frequent themes (schools with enough commenters)."
    )
    return out.show_html(tk.html_table(wide, {c: ("School" if c == "school" else c) for c in wide.columns},
                                       numeric=wide.columns[1:]))  # fmt: skip


def school(ev: Evaluation, level: int, school_id: str) -> tk.Section:
    """The school's themes beside the district's, and the school's approved quotes."""
    out = tk.Section()
    themes = _table(ev, level, "themes")
    if themes is None or themes.empty:
        return out
    out = out.heading(_QUESTION.get(level, "What people wrote"), level=3)
    rows = tk.school_vs_district(themes, school_id, "school_id")
    if rows.empty or rows["where"].eq("This school").sum() == 0:
        return out.paragraph("No one at this school wrote a comment.", note=True)
    rows = _rows(rows, ev)
    wide = rows.pivot_table(index="theme_name", columns="where", values="shown_estimate", aggfunc="first", sort=False)
    wide = wide.reindex(columns=["This school", "District"]).reset_index()
    out = out.show_html(
        tk.html_table(
            wide,
            {"theme_name": "Theme", "This school": "This school", "District": "District"},
            numeric=("This school", "District"),
        )
    )
    out = out.coded_note(rows, ev.min_n)
    quotes = _quotes(ev, level, school_id)
    if quotes:
        out = out.paragraph("In their words (approved for quoting, names removed):")
        out = out.show_html("".join(quotes))
    return out


def technical(ev: Evaluation, level: int) -> tk.Section:
    """How the comments were coded, and how far two coders agreed."""
    out = tk.Section()
    themes = _table(ev, level, "themes")
    if themes is None or themes.empty:
        return out
    out = out.heading(f"Coding of the open-ended answers (level {level})", level=3)
    method = str(themes["method"].dropna().iloc[0]) if themes["method"].notna().any() else ""
    out = out.paragraph(
        f"Each comment was redacted before it was stored (names, e-mail addresses, phone numbers, links) and "
        f"{method[method.index('coded by') :] if 'coded by' in method else 'coded'}. Shares have Wilson intervals, with commenters "
        "treated as independent of each other."
    )
    agreement = _table(ev, level, "coding_agreement")
    if agreement is not None and not agreement.empty:
        shown = agreement.assign(
            shown_estimate=[f"{v:.2f}" if pd.notna(v) else "not defined" for v in agreement["estimate"]],
            shown_interval=[tk.interval(lo, hi, "coefficient") if pd.notna(lo) else "" for lo, hi in
                            zip(agreement["ci_low"], agreement["ci_high"])],
            what=[{"cohen_kappa": "Cohen's kappa", "krippendorff_alpha": "Krippendorff's alpha"}.get(m, str(m))
                  for m in agreement["measure"]],
            theme_shown=agreement["theme"].map(dict(zip(themes["theme"], themes["theme_name"]))).fillna(
                agreement["theme"]),
        )  # fmt: skip
        out = out.paragraph(
            "Agreement between two coders who coded the same comments (kappa and alpha above 0.80 are usually read "
            "as reliable, 0.67 to 0.80 as tentative; Krippendorff 2004):"
        )
        out = out.show_html(
            tk.html_table(
                shown,
                {
                    "theme_shown": "Theme",
                    "what": "Measure",
                    "shown_estimate": "Estimate",
                    "shown_interval": f"{tk.ci_words(ev)} interval",
                    "n": "Comments",
                },
                numeric=("shown_estimate", "n"),
            )
        )
    return out


def board_line(ev: Evaluation) -> str | None:
    """One sentence for the board: the theme staff raised most often about the conditions (level 3), else
    participants' most frequent theme (level 1); None without published themes."""
    for level, who in ((3, "staff"), (1, "participants")):
        themes = _table(ev, level, "themes")
        if themes is None or themes.empty:
            continue
        whole = themes[(themes["breakdown"] == "district") & themes["estimate"].notna()]
        if whole.empty:
            continue
        top = whole.sort_values("estimate", ascending=False, kind="stable").iloc[0]
        return (
            f"In their open-ended answers, {who} most often raised {str(top.theme_name).lower()} "
            f"({top.estimate:.0%} of {int(top.n_people):,} who commented)."
        )
    return None
