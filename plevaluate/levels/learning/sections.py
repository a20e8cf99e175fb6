"""Level learning's report sections: the district report's and each school's (the report toolkit,
`plevaluate.report.toolkit`, draws them; `plevaluate.report.level_sections` finds them through the registry)."""

from __future__ import annotations

import pandas as pd

from ... import figures
from ...evaluate import Evaluation
from ...privacy import format_n
from ...report import toolkit as tk


def school(ev: Evaluation, school_id: str) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(2, question=True))
    missing = tk.no_evidence(ev, 2)
    if missing:
        return out.paragraph(missing, note=True)
    gains = ev.table(2, "gains")
    rows = tk.school_vs_district(gains, school_id, "school_id")
    rows = rows[rows["measure"].isin(["mean_gain", "g_av", "mastery_post"])]
    if rows.empty:
        out = out.paragraph("No learning assessment results for this school or the district.", note=True)
        return out
    units = {"mean_gain": "points", "g_av": "sd", "mastery_post": "share"}
    labels = {"mean_gain": "Average gain (points)", "g_av": "Gain in SD units", "mastery_post": "At mastery after"}
    shown = pd.concat(
        [tk.rows_with_display(part, units[m], ev.min_n) for m, part in rows.groupby("measure", sort=False)]
    )
    shown["measure_label"] = shown["measure"].map(labels)
    out = out.show_html(
        tk.html_table(
            shown,
            {
                "where": "",
                "assessment_id": "Assessment",
                "measure_label": "Measure",
                "shown_estimate": "Result",
                "shown_interval": f"{tk.ci_words(ev)} interval",
                "shown_n": "Educators",
            },
            numeric=("shown_estimate", "shown_n"),
        )
    )
    out = out.coded_note(shown, ev.min_n)
    return out


def district(ev: Evaluation) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(2))
    missing = tk.no_evidence(ev, 2)
    if missing:
        return out.paragraph(missing, note=True)
    gains = ev.table(2, "gains")
    g = gains[gains["measure"] == "g_av"].copy()
    g["group"] = tk.group_labels(ev, g, ["school_id", "role", "experience_band"], "all participants")
    target = ev.plan.get("levels", {}).get("learning", {}).get("target")
    out = out.figure(
        figures.interval_chart(
            g.assign(label=g["group"]),
            unit="sd",
            reference=target,
            title="Gains from pre to post in SD units, by group",
            caption="g_av: the mean gain divided by the average of the pre and post SDs "
            f"(Lakens 2013), with {tk.ci_words(ev)} intervals.",
            always=g["breakdown"] != "school_id",  # with many schools: every role and band, the extreme schools
        )
    )
    effect = ev.table(2, "program_effect")
    if effect is not None and len(effect):
        row = effect.iloc[0]
        if bool(row.get("suppressed", False)):
            out = out.paragraph(
                f"The comparison with comparison-school teachers is not shown: fewer than {ev.min_n} teachers "
                "in one of the groups.",
                note=True,
            )
        else:
            more = "more" if row["estimate"] >= 0 else "less"
            out = out.paragraph(
                f"Participants gained {abs(row['estimate']):.2f} SD {more} than comparison-school teachers who "
                f"took the same assessment ({tk.ci_words(ev)} CI {row['ci_low']:.2f} to {row['ci_high']:.2f}; "
                f"{format_n(row['n_treatment'], ev.min_n)} and {format_n(row['n_comparison'], ev.min_n)} "
                "teachers)."
            )
    return out
