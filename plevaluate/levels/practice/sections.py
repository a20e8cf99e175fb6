"""Level practice's report sections: the district report's and each school's (the report toolkit,
`plevaluate.report.toolkit`, draws them; `plevaluate.report.level_sections` finds them through the registry)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ... import figures
from ..._tidy import window_words
from ...evaluate import Evaluation
from ...report import toolkit as tk


def school(ev: Evaluation, school_id: str) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(4, question=True))
    missing = tk.no_evidence(ev, 4)
    if missing:
        return out.paragraph(missing, note=True)
    practice = ev.plan.get("observable_practice", "")
    if practice:
        out = out.paragraph(f"The practice looked for on every classroom visit, in every school: {practice}.")
    rates = ev.table(4, "rates")
    if school_id not in set(rates["school_id"].dropna()):
        out = out.paragraph("No classroom observations were recorded at this school.", note=True)
        return out
    mine = rates[
        ((rates["breakdown"] == "school_id+month") & (rates["school_id"] == school_id))
        | (rates["breakdown"] == "group+month")
    ]
    target = ev.plan.get("levels", {}).get("practice", {}).get("target")
    out = out.figure(
        figures.implementation_chart(
            mine, target=target, names={school_id: ev.school_name(school_id)}, ci=tk.ci_words(ev)
        )
    )
    funnel = ev.table(4, "funnel")
    if funnel is not None and school_id in set(funnel["school_id"]):
        names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
        own = {school_id: names.get(school_id, school_id)}  # other schools stay anonymous in a school's report
        out = out.figure(figures.funnel_chart(funnel, ev.table(4, "funnel_curve"), names=own, highlight=school_id))
        out = out.paragraph(
            "The funnel compares schools fairly: a school outside the dashed lines differs from the district by "
            "more than chance would easily produce with its number of visits; inside them, the visits show no "
            "clear difference, which is not evidence that there is none." + _funnel_window(ev, funnel),
            note=True,
        )
    return out


#: Level 4's ``link`` predictors in words (a reader's review found "conditions_mean" in the district report).
_PREDICTOR_WORDS = {
    "conditions_mean": "mean conditions rating (1-4)",
    "principal_participation": "principal's share of PL sessions attended",
}


def _funnel_window(ev: Evaluation, funnel: pd.DataFrame) -> str:
    """When the funnel's term is not the target's window, a sentence saying so: one school's share read 48% in the
    chain (May) and 61% on the funnel (the spring term), with nothing to tell why (a reader's review)."""
    target = ev.table(4, "target")
    windows = target["window"].dropna() if target is not None and "window" in target else pd.Series(dtype=object)
    terms = funnel["term"].dropna() if "term" in funnel else pd.Series(dtype=object)
    if windows.empty or terms.empty or str(windows.iloc[0]) == str(terms.iloc[0]):
        return ""
    return (
        f" The funnel counts every visit of {window_words(terms.iloc[0])}, not only those of "
        f"{window_words(windows.iloc[0])}, in which the target is judged: a school's share on it can differ from "
        "its headline."
    )


def district(ev: Evaluation) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(4))
    missing = tk.no_evidence(ev, 4)
    if missing:
        return out.paragraph(missing, note=True)
    rates = ev.table(4, "rates")
    target = ev.plan.get("levels", {}).get("practice", {}).get("target")
    names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
    funnel = ev.table(4, "funnel")
    below = (
        funnel[funnel["position"].astype(str).str.startswith("below")].sort_values("z", kind="stable")["school_id"]
        if funnel is not None
        else pd.Series(dtype=object)
    )
    out = out.figure(
        figures.implementation_chart(rates, target=target, names=names, ci=tk.ci_words(ev), highlight=list(below))
    )
    if funnel is not None:
        out = out.figure(figures.funnel_chart(funnel, ev.table(4, "funnel_curve"), names=names))
        window = _funnel_window(ev, funnel)
        if window:
            out = out.paragraph(window.strip(), note=True)
        phi = funnel["phi"].dropna()
        if len(phi) and phi.iloc[0] > 1.5:
            out = out.paragraph(
                f"Schools vary more than chance alone would make them (overdispersion {phi.iloc[0]:.1f}, over the "
                "schools shown); part of it is repeat observation of the same teachers, part real differences "
                "between schools. The limits allow for chance alone, not for this extra variation: limits widened "
                f"for it (by the square root of {phi.iloc[0]:.1f}, Spiegelhalter 2005) could only leave fewer schools "
                "outside them, so a school just outside is a reason to look, not a verdict.",
                note=True,
            )
    trend = ev.table(4, "trend")
    if trend is not None:
        t = trend.assign(
            shown=[("x" if pd.notna(e) else "") + text for e, text in zip(trend["estimate"], tk.with_ci(trend))]
        )
        out = out.show_html(
            tk.html_table(
                t,
                {"group": "Schools", "shown": f"Odds of seeing the practice, change per month ({tk.ci_words(ev)} CI)"},
            )
        )
    if ev.table(4, "dose_bands") is not None:
        out = out.figure(
            figures.dose_response_chart(ev.table(4, "dose_bands"), ev.table(4, "dose_model"), ci=tk.ci_words(ev))
        )
    link = ev.table(4, "link")
    if link is not None:
        shown = link.assign(
            predictor=[_PREDICTOR_WORDS.get(str(p), str(p)) for p in link["predictor"]],  # not a column's name
            shown=[
                tk.interval(lo, hi, "") and f"r = {r:.2f} ({lo:.2f} to {hi:.2f})" if pd.notna(r) else "not estimable"
                for r, lo, hi in zip(link["estimate"], link["ci_low"], link["ci_high"])
            ],
        )
        out = out.show_html(
            tk.html_table(
                shown, {"predictor": "Level-3 measure", "shown": "Correlation with implementation", "n": "Schools"}
            )
        )
        out = out.paragraph(
            "Correlations across schools are associations, not proof that conditions caused classroom use.", note=True
        )
    return out


def board(ev: Evaluation) -> tk.Section:
    """The board summary's slides about classroom use: the practice through the year, and the schools compared."""
    out = tk.Section()
    names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
    out = out.heading("Classroom practice through the year")
    if ev.table(4, "rates") is not None:
        rates = ev.table(4, "rates")
        district = rates[rates["breakdown"] == "group+month"].copy()
        fig, ax = plt.subplots(figsize=(8, 4))
        for group, colour in (("participant", figures.PALETTE["blue"]), ("comparison", figures.PALETTE["grey"])):
            part = district[district["group"] == group].sort_values("month")
            ax.fill_between(part["month"], part["ci_low"], part["ci_high"], color=colour, alpha=0.2, linewidth=0)
            ax.plot(part["month"], part["estimate"], marker="o", color=colour, label=f"{group} schools")
        target = ev.plan.get("levels", {}).get("practice", {}).get("target")
        if target is not None:
            ax.axhline(target, color=figures.PALETTE["orange"], linestyle="--", label="target")
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.legend(frameon=False)
        ax.tick_params(axis="x", rotation=30)
        last = district[district["group"] == "participant"].sort_values("month").iloc[-1]
        ax.set_title(
            f"The practice was seen in {last['estimate']:.0%} of visits to program classrooms in "
            f"{window_words(last['month'])}",
            loc="left",
        )
        fig.tight_layout()
        numbers = district.assign(seen=[tk.fmt(v, "share") for v in district["estimate"]])
        numbers = numbers.pivot_table(index="month", columns="group", values="seen", aggfunc="first").reset_index()
        out = out.figure(figures.describe(fig, numbers.rename(columns=lambda c: f"{c} schools" if c != "month" else c)))
    out = out.heading("Schools compared, allowing for chance")
    if ev.table(4, "funnel") is not None:
        funnel = figures.funnel_chart(
            ev.table(4, "funnel"), ev.table(4, "funnel_curve"), names=names, elsewhere=tk.EVERY_SCHOOL
        )
        out = out.figure(funnel)
    return out


def technical(ev: Evaluation) -> tk.Section:
    """Level 4 in the technical appendix: the trend model of classroom use."""
    out = tk.Section()
    out = out.heading("Classroom use: the trend model")
    trend = ev.table(4, "trend")
    if trend is not None:
        shown = trend["working_correlation"].dropna()
        correlation = f"; working correlation {shown.iloc[0]:.3f}" if len(shown) else ""
        out = out.paragraph(
            f"The model: {trend.iloc[0]['method']}{correlation}. GEE coefficients are population-averaged; the "
            "trend by month is in the district report's classroom-use section."
        )
    return out


def years_district(ev: Evaluation) -> tk.Section:
    """In the district report's "Year by year": classroom use by months since each cohort joined."""
    out = tk.Section()
    practice = ev.extras.get("years_practice")
    if practice is not None and len(practice):
        target = ev.plan.get("levels", {}).get("practice", {}).get("target")
        out = out.figure(figures.cohort_event_chart(practice, target=target, ci=tk.ci_words(ev)))
        out = out.paragraph(
            "Schools that joined in different years, compared at the same point of their journey. A school's months "
            "are counted only where its own rate is shown in that year's report, so no line reveals a hidden school.",
            note=True,
        )
    return out
