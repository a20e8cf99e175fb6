"""Level reactions's report sections: the district report's and each school's (the report toolkit,
`plevaluate.report.toolkit`, draws them; `plevaluate.report.level_sections` finds them through the registry)."""

from __future__ import annotations

import pandas as pd

from ... import figures
from ...evaluate import Evaluation
from ...report import comments
from ...report import toolkit as tk


def _school(ev: Evaluation, school_id: str) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(1, question=True))
    missing = tk.no_evidence(ev, 1)
    if missing:
        return out.paragraph(missing, note=True)
    constructs = ev.table(1, "constructs")
    rows = tk.school_vs_district(constructs, school_id, "school_id")
    rows = rows[rows["measure"] == "share_at_least"]
    rows = tk.constructs(tk.rows_with_display(rows, "share", ev.min_n, n="n_people"))
    out = out.show_html(
        tk.html_table(
            rows,
            {
                "where": "",
                "construct_shown": "Construct",
                "shown_estimate": tk.rating_words(ev),
                "shown_interval": f"{tk.ci_words(ev)} interval",
                "shown_n": "Respondents",
            },
            numeric=("shown_estimate", "shown_n"),
        )
    )
    out = out.coded_note(rows, ev.min_n)
    distribution = ev.table(1, "distribution")
    mine = distribution[distribution["school_id"] == school_id]
    if len(mine) and not mine["suppressed"].all():
        out = out.figure(figures.likert_chart(mine, texts=tk.item_texts(mine)))
    elif len(mine):
        out = out.paragraph("Too few respondents at this school to show answers item by item.", note=True)
    else:  # a comparison school, or one whose staff answered nothing (a reader's review: "too few" was not why)
        group = ev.schools.set_index("school_id")["group"].get(school_id)
        out = out.paragraph(
            "A comparison school: its staff took no part in the program's sessions, so there are no session survey "
            "answers."
            if group == "comparison"
            else "No one at this school answered the session survey.",
            note=True,
        )
    return out


def _district(ev: Evaluation) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(1))
    missing = tk.no_evidence(ev, 1)
    if missing:
        return out.paragraph(missing, note=True)
    constructs = ev.table(1, "constructs")
    share = constructs[constructs["measure"] == "share_at_least"].copy()
    share["group"] = tk.group_labels(ev, share, ["school_id", "format", "role"], "all respondents")
    rows = tk.rows_with_display(
        share[share["breakdown"].isin(["district", "format", "role"])], "share", ev.min_n, n="n_people"
    )
    rows = tk.constructs(rows).assign(by=[tk.BREAKDOWN_WORDS.get(b, figures.words(b)) for b in rows["breakdown"]])
    out = out.show_html(
        tk.html_table(
            rows,
            {
                "by": "By",
                "group": "Group",
                "construct_shown": "Construct",
                "shown_estimate": tk.rating_words(ev),
                "shown_interval": f"{tk.ci_words(ev)} interval",
                "shown_n": "Respondents",
            },
            numeric=("shown_estimate", "shown_n"),
        )
    )
    out = out.coded_note(rows, ev.min_n)
    if "role" in rows and (rows["breakdown"].eq("role") & rows["role"].isna()).any():
        out = out.paragraph(
            '"role not known": answers given without an educator ID (anonymous), so their role is not known.',
            note=True,
        )
    distribution = ev.table(1, "distribution")
    district = distribution[distribution["breakdown"] == "district"]
    out = out.figure(figures.likert_chart(district, texts=tk.item_texts(district)))
    reliability = ev.table(1, "reliability")
    if reliability is not None:
        rel = tk.constructs(reliability).assign(shown=tk.with_ci(reliability))
        out = out.show_html(
            tk.html_table(
                rel, {"construct_shown": "Construct", "k": "Items", "shown": f"Cronbach's alpha ({tk.ci_words(ev)} CI)"}
            )
        )
    rates = ev.table(1, "response_rates")
    if rates is not None:
        overall = rates[rates["breakdown"] == "district"].iloc[0]
        if pd.notna(overall["estimate"]):
            out = out.paragraph(
                f"{overall['estimate']:.0%} of attendees answered the end-of-session survey; reaction surveys "
                "describe those who answered.",
                note=True,
            )
    return out


def _technical(ev: Evaluation) -> tk.Section:
    """Level 1 in the technical appendix: the reliability of each survey construct."""
    out = tk.Section()
    out = out.heading("Reactions: reliability of the survey constructs")
    reliability = ev.table(1, "reliability")
    if reliability is not None:
        r = tk.constructs(reliability).assign(shown=tk.with_ci(reliability, 3))
        out = out.show_html(
            tk.html_table(
                r,
                {
                    "construct_shown": "Survey construct",
                    "k": "Items",
                    "n": "Responses",
                    "shown": f"Cronbach's alpha (Feldt {tk.ci_words(ev)} CI)",
                },
            )
        )
    return out


def school(ev: Evaluation, school_id: str) -> tk.Section:
    """The level's school section, then what its open-ended answers say (`plevaluate.report.comments`)."""
    return _school(ev, school_id).add(comments.school(ev, 1, school_id))


def district(ev: Evaluation) -> tk.Section:
    """The level's district section, then what its open-ended answers say (`plevaluate.report.comments`)."""
    return _district(ev).add(comments.district(ev, 1))


def technical(ev: Evaluation) -> tk.Section:
    """The level's technical section, then what its open-ended answers say (`plevaluate.report.comments`)."""
    return _technical(ev).add(comments.technical(ev, 1))
