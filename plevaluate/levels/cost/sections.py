"""Level cost's report sections: the district report's and each school's (the report toolkit,
`plevaluate.report.toolkit`, draws them; `plevaluate.report.level_sections` finds them through the registry)."""

from __future__ import annotations

import pandas as pd

from ... import figures
from ...evaluate import Evaluation
from ...privacy import format_n
from ...report import toolkit as tk
from ...vocabulary import listed

_RATIO_LABELS = {
    "cost_per_participant": "per participating educator",
    "cost_per_contact_hour": "per hour of PL attended",
    "cost_per_educator_using_practice": "per educator observed using the practice",
    "cost_per_student": "per student in program schools",
}


def _cost_sentences(ev: Evaluation) -> list[str]:
    cost = ev.levels.get(0)
    ratios = cost.tables["ratios"].set_index("measure")
    total = cost.meta.get("total", 0.0)
    sentences = [
        f"The program cost ${total:,.0f}: ${cost.meta.get('budget_total', 0):,.0f} in budget lines and "
        f"${cost.meta.get('time_total', 0):,.0f} of participants' time valued at "
        f"${cost.meta.get('hourly_rate', 0):,.2f} an hour."
    ]
    parts = [
        f"${row.estimate:,.0f} {_RATIO_LABELS.get(m, m)}" for m, row in ratios.iterrows() if pd.notna(row.estimate)
    ]
    if parts:
        sentences.append(f"That is {listed(parts)}.")
    effectiveness = cost.tables.get("effectiveness")
    if effectiveness is not None:
        row = effectiveness.iloc[0]
        if row["status"] == "estimable":
            sentences.append(
                f"Each 0.1 SD of difference in students' scores (program schools' students against similar students, "
                f"adjusted for prior scores) cost ${row['estimate']:,.0f} per student ({tk.ci_words(ev)} interval "
                f"${row['ci_low']:,.0f} to ${row['ci_high']:,.0f})."
            )
        else:
            sentences.append(
                "Cost per 0.1 SD of difference in students' scores: not estimable, because "
                + row["status"].removeprefix("not estimable: ")
                + "."
            )
    return sentences


def district(ev: Evaluation) -> tk.Section:
    """Cost by funding source and category, by school, and the cost-per-outcome sentences."""
    out = tk.Section()
    out = out.heading("Cost and who paid")
    cost = ev.levels.get(0)
    if cost is None or not cost.evidence:
        out = out.paragraph("No costs were recorded (costs.csv is absent).", note=True)
        return out
    for sentence in _cost_sentences(ev):
        out = out.sentence(sentence)
    out = out.figure(figures.cost_chart(cost.tables["by_source_category"]))
    by_category = cost.tables["by_category"].assign(
        label=lambda f: f["category"].map(figures.CATEGORY_LABELS).fillna(f["category"]),
        shown=lambda f: [f"${v:,.0f}" for v in f["cost"]],
        pct=lambda f: [f"{v:.0%}" for v in f["share"]],
    )
    out = out.show_html(
        tk.html_table(by_category, {"label": "Category", "shown": "Cost", "pct": "Share"}, numeric=("shown", "pct"))
    )
    schools = cost.tables["schools"].assign(
        name=lambda f: f["school_id"].map(ev.school_name),
        shown=lambda f: ["not shown" if h else f"${v:,.0f}" for v, h in zip(f["cost"], f["suppressed"])],
        people=lambda f: [
            tk.count_words(v, p, ev.min_n) for v, p in zip(f["participants"], f["complementary"].astype(bool))
        ],
        per=lambda f: [
            "not shown" if h else f"${v:,.0f}" if pd.notna(v) else "not estimable"
            for v, h in zip(f["cost_per_participant"], f["suppressed"])
        ],
    )
    lines = cost.tables["lines"]
    pooled = lines[lines["school_id"].isna() & lines["rule"].fillna("").str.contains("not shown")]
    if len(pooled):
        together = pd.DataFrame(
            [
                {
                    "name": "Schools not shown, together",
                    "shown": f"${pooled['charged'].sum():,.0f}",
                    "people": "",
                    "per": "",
                }
            ]
        )
        schools = pd.concat([schools, together], ignore_index=True)
    columns = {
        "name": "School",
        "shown": "Cost (shared lines allocated)",
        "people": "Participants",
        "per": "Per participant",
    }
    table = tk.html_table(schools, columns, numeric=("shown", "people", "per"))
    if len(schools) <= figures.MANY:
        out = out.show_html(table)
    else:  # many schools: the range, the costliest per participant, and every school's row folded below
        shown = schools[~schools["suppressed"].fillna(True).astype(bool) & schools["cost_per_participant"].notna()]
        per = shown["cost_per_participant"]
        if len(per):
            out = out.paragraph(
                f"Cost per participant across the {len(per):,} schools shown: median ${per.median():,.0f} "
                f"(from ${per.min():,.0f} to ${per.max():,.0f}); the {min(len(per), figures.MANY)} highest:"
            )
            costliest = shown.sort_values(["cost_per_participant", "name"], ascending=[False, True])
            out = out.show_html(
                tk.html_table(costliest.head(figures.MANY), columns, numeric=("shown", "people", "per"))
            )
        out = out.fold(f"Every school's cost ({len(schools):,} rows)", table)
    years = cost.tables["by_year"]
    if len(years) > 1:
        y = years.assign(shown=[f"${v:,.0f}" for v in years["cost"]])
        out = out.show_html(
            tk.html_table(y, {"school_year": "School year", "shown": "Cost charged"}, numeric=("shown",))
        )
    out = out.paragraph(
        "Costs follow the ingredients method (Levin & McEwan): every resource, including participants' time. "
        "District-wide lines are shared among program schools in proportion to their participating educators.",
        note=True,
    )
    return out


def school(ev: Evaluation, school_id: str) -> tk.Section:
    out = tk.Section()
    out = out.heading("Cost")
    cost = ev.levels.get(0)
    if cost is None or not cost.evidence:
        out = out.paragraph("No costs were recorded.", note=True)
        return out
    schools = cost.tables["schools"]
    if school_id not in set(schools["school_id"]):
        out = out.paragraph("A comparison school: no program costs.", note=True)
        return out
    row = schools.set_index("school_id").loc[school_id]
    lines = cost.tables["lines"]
    mine = lines[lines["school_id"] == school_id].groupby("category")["charged"].sum().reset_index()
    mine = mine.assign(
        label=mine["category"].map(figures.CATEGORY_LABELS).fillna(mine["category"]),
        shown=[f"${v:,.0f}" for v in mine["charged"]],
    )
    if bool(row["suppressed"]):
        out = out.paragraph(
            "This school's share of the program's cost, its number of participating educators and its cost "
            "per participant are not shown: district-wide costs are shared by participating educators, so "
            "they would reveal how many took part, and fewer than the reporting minimum did here (or at a "
            "school this one protects). They are pooled with other schools not shown in the district report.",
            note=True,
        )
        return out
    else:
        per = (
            f"${row['cost_per_participant']:,.0f} per participating educator"
            if pd.notna(row["cost_per_participant"])
            else "no participating educators"
        )
        out = out.paragraph(
            f"This school's share of the program: ${row['cost']:,.0f} ({per}; "
            f"{format_n(row['participants'], ev.min_n)} participants, {row['hours']:,.0f} hours of PL attended)."
        )
    out = out.show_html(tk.html_table(mine, {"label": "Category", "shown": "Cost"}, numeric=("shown",)))
    return out


def board(ev: Evaluation) -> tk.Section:
    out = tk.Section()
    out = out.heading("What it cost")
    cost = ev.levels.get(0)
    if cost is None or not cost.evidence:
        out = out.paragraph("No costs were recorded.", note=True)
        return out
    out = out.figure(figures.cost_chart(cost.tables["by_source_category"]))
    out = out.bullets(_cost_sentences(ev))
    return out
