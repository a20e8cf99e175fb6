"""Level outcomes's report sections: the district report's and each school's (the report toolkit,
`plevaluate.report.toolkit`, draws them; `plevaluate.report.level_sections` finds them through the registry)."""

from __future__ import annotations

import pandas as pd

from ... import figures
from ...evaluate import Evaluation
from ...report import toolkit as tk
from ...vocabulary import listed, subgroup_words
from .compute import PEERS
from .wwc import attrition_source, single_school_condition


def _shown_findings(ev: Evaluation) -> list[str]:
    """The level-5 findings the published table shows (hidden with the effect when a group is below min_n)."""
    found = ev.table(5, "findings")
    return [] if found is None else [str(f) for f in found["finding"] if pd.notna(f)]


def school(ev: Evaluation, school_id: str) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(5, question=True))
    missing = tk.no_evidence(ev, 5)
    if missing:
        return out.paragraph(missing, note=True)
    schools = ev.table(5, "schools")
    if schools is None or school_id not in set(schools["school_id"]):
        out = out.paragraph(
            "No school-level student result: this school is not among the program's schools.", note=True
        )
    else:
        row = schools.set_index("school_id").loc[school_id]
        if bool(row["suppressed"]):
            out = out.paragraph("Too few students with scores to report a school result.", note=True)
        elif pd.isna(row["estimate"]):  # no school variance: no school differs from the district
            out = out.paragraph(
                "No school-level student result this year: the program schools' results did not differ by more "
                "than chance would explain, so this school's cannot be told apart from the district's.",
                note=True,
            )
        else:
            out = out.paragraph(
                f"Students here scored {row['estimate']:+.1f} points ({tk.ci_words(ev)} interval {row['ci_low']:+.1f} to "
                f"{row['ci_high']:+.1f}) compared with {PEERS}, after pulling small "
                "and noisy school results toward the district average. This describes the school; it is not "
                "an effect of the program."
            )
    shown = _shown_findings(ev)
    if shown:
        out = out.paragraph("District result: " + " ".join(shown))
    return out


def next_steps(ev: Evaluation, school_id: str) -> list[str]:
    """What this school should do next about its students' scores: when they lie wholly below what prior scores
    predict (the school's own interval below zero), say so with its numbers and where to look first; above or as
    predicted needs no step of its own (the school report's lead says it)."""
    schools = ev.table(5, "schools")
    if schools is None or school_id not in set(schools["school_id"]):
        return []
    row = schools.set_index("school_id").loc[school_id]
    if bool(row.get("suppressed", False)) or pd.isna(row["ci_high"]) or row["ci_high"] >= 0:
        return []
    return [
        f"Students scored {-row['estimate']:.1f} points below {PEERS} ({tk.ci_words(ev)} "
        f"interval {row['ci_low']:+.1f} to {row['ci_high']:+.1f}), the whole interval below zero: look at which "
        "grades and groups of students fell short, and at how often the practice is seen in classrooms here "
        "(level 4), before the next testing window. This describes the school, not an effect of the program."
    ]


def district(ev: Evaluation) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(5))
    missing = tk.no_evidence(ev, 5)
    if missing:
        return out.paragraph(missing, note=True)
    for sentence in _shown_findings(ev):
        out = out.sentence(sentence)
    sensitivity = ev.table(5, "sensitivity")
    if sensitivity is not None:
        target = ev.plan.get("levels", {}).get("outcomes", {}).get("target")
        g = tk.measure_rows(sensitivity, "hedges_g")
        rows = g.assign(label=g["specification"])
        out = out.figure(
            figures.interval_chart(
                rows,
                unit="sd",
                reference=target,
                title="The effect on students under each analysis (Hedges' g)",
                caption="Every analysis adjusts for clustering of students in schools except "
                "HC1, shown only to make the point.",
            )
        )
    subgroups = ev.table(5, "subgroups")
    if subgroups is not None and len(subgroups):
        g = tk.measure_rows(subgroups, "hedges_g")
        rows = g.assign(label=[subgroup_words(s, v) for s, v in zip(g["subgroup"], g["value"])])
        # a group resting on three schools or fewer has one condition on a single school: its interval (grade 6 of
        # the sample: -1.5 to +1.7 SD) says nothing about the program (a reader's review); named, not drawn
        confounded = rows["n_clusters"].map(single_school_condition)
        left_out = ""
        if confounded.any():
            left_out = (
                f" Not shown: {listed(rows.loc[confounded, 'label'])}, each resting on three schools or fewer, so "
                "one condition on a single school, whose effect cannot be told apart from the program's (a "
                "single-unit confound, What Works Clearinghouse); their numbers are in the technical appendix."
            )
        if (~confounded).any():
            out = out.figure(
                figures.interval_chart(
                    rows[~confounded],
                    unit="sd",
                    reference=0.0,
                    reference_label="no difference",
                    title="Effects for groups of students (Hedges' g)",
                    caption="Benjamini-Hochberg adjusted p-values control false discoveries across "
                    "these groups; see the technical appendix." + left_out,
                )
            )
        else:
            out = out.paragraph(left_out.strip(), note=True)
    schools = ev.table(5, "schools")
    if schools is not None and len(schools) and schools["estimate"].isna().all() and not schools["suppressed"].all():
        out = out.paragraph(
            "No school-level student results: the program schools' results did not differ by more than chance "
            "would explain (the model's school variance is estimated at zero), so no school's result can be told "
            "apart from the district's.",
            note=True,
        )
    elif schools is not None:
        rows = schools.assign(label=schools["school_id"].map(ev.school_name))
        out = out.figure(
            figures.interval_chart(
                rows,
                unit="points",
                reference=0.0,
                reference_label="as the program's students",
                title=f"Each program school's students against {PEERS}",
                caption="Shrunk toward the district so that small schools do not top or bottom "
                "the list by chance; these describe schools, not effects of the program.",
            )
        )
    return out


def board(ev: Evaluation) -> tk.Section:
    """The board summary's slide about students: the program's effect with its interval, against the target."""
    out = tk.Section()
    out = out.heading("Student outcomes")
    if ev.table(5, "sensitivity") is not None:
        main = tk.measure_rows(ev.table(5, "sensitivity"), "hedges_g").iloc[[0]]
        rows = main.assign(label="Students in program schools")
        target = ev.plan.get("levels", {}).get("outcomes", {}).get("target")
        g = rows.iloc[0]
        title = f"Difference in student scores, in standard deviations ({tk.ci_words(ev)} interval)"
        if pd.notna(g["estimate"]) and not bool(g.get("suppressed", False)):
            title = (
                f"Students in program schools scored {g['estimate']:+.2f} SD against similar students "
                f"({tk.ci_words(ev)} interval {g['ci_low']:+.2f} to {g['ci_high']:+.2f})"
            )
        out = out.figure(figures.interval_chart(rows, unit="sd", reference=target, title=title))
    return out


def findings(ev: Evaluation) -> list[str]:
    """Level 5's findings in words (the ``findings`` table), for the board summary's 'What we found'."""
    out = _shown_findings(ev)
    statement = ev.table(5, "evidence")
    if statement is not None and len(statement):
        tier = statement[statement["criterion"] == "tier"].iloc[0]
        if pd.notna(tier["finding"]):
            verdict, _, why = _tier_sentence(tier).removeprefix("The study supports ").partition(": ")
            out.append(f"Evidence under ESSA, from the district's own study: {verdict} ({why.rstrip('.')}).")
    return out


def _tier_sentence(row) -> str:
    """The statement's verdict without its list of what would raise it (the board's line)."""
    return str(row["finding"]).split(" To raise it: ")[0]


def evidence_statement(ev: Evaluation) -> tk.Section:
    """The ESSA evidence statement (`plevaluate.levels.outcomes.evidence`): the tier the district's own study
    supports, each criterion with its number, requirement and source, and what would raise the tier."""
    out = tk.Section().heading("Student outcomes: ESSA evidence statement")
    table = ev.table(5, "evidence")
    if table is None or not len(table):
        return out.paragraph("No evidence statement: the level was not evaluated.", note=True)
    if table["finding"].isna().all():
        return out.paragraph(
            f"The evidence statement is not shown: fewer than {ev.min_n} students in one group.", note=True
        )
    tier = table[table["criterion"] == "tier"].iloc[0]
    out = out.paragraph(_tier_sentence(tier))
    criteria = table[table["criterion"] != "tier"]
    out = out.show_html(
        tk.html_table(
            criteria.assign(
                name=criteria["criterion"].str.capitalize(),
                finding=[str(f).split(": ", 1)[-1] for f in criteria["finding"]],
            ),
            {"name": "Criterion", "finding": "What the study shows", "requirement": "Requirement",
             "satisfied": "Satisfied", "reference": "Source"},
        )
    )  # fmt: skip
    raises = [r for r in str(tier["to_raise"] if pd.notna(tier["to_raise"]) else "").split("; ") if r]
    if raises:
        out = out.paragraph("What would raise the tier:").bullets(raises)
    return out.paragraph(
        "ESSA's tiers 1 to 3 need a well-designed and well-implemented study with a statistically significant, "
        "favourable effect (the Department's guidance reads this as meeting WWC standards, without reservations for "
        "tier 1, and for tiers 1 and 2 asks for a large, multi-site sample); tier 4 needs a research-based rationale "
        "and ongoing examination of effects. This statement reviews the district's own study only; a reviewer may "
        "weigh other studies of the program too. It never claims more than these criteria allow: a criterion that "
        "cannot be checked counts as not met.",
        note=True,
    )


def technical(ev: Evaluation) -> tk.Section:
    """Level 5 in the technical appendix: the ESSA evidence statement, then the students followed and lost, the
    model, its diagnostics and how the estimate moves under other analyses."""
    out = evidence_statement(ev)
    out = out.heading("Student outcomes: attrition")
    attrition = ev.table(5, "attrition")
    if attrition is not None and bool(attrition.iloc[0].get("suppressed", False)):
        out = out.paragraph(
            f"Attrition is not shown: fewer than {ev.min_n} students with an outcome in one group.", note=True
        )
    elif attrition is not None:
        a = attrition.iloc[0]

        def people(column: str) -> str:
            return tk.count_words(a[column], False, ev.min_n)

        out = out.paragraph(
            f"Baseline students: {people('baseline_treatment')} in program schools, {people('baseline_comparison')} "
            f"in comparison schools; in the analysis (an outcome and every covariate the model adjusts for): "
            f"{people('analytic_treatment')} and {people('analytic_comparison')}. "
            f"Overall attrition {a['overall']:.1%}, differential {a['differential'] * 100:.1f} points: "
            f"{a['cautious']} under the WWC cautious boundary, {a['optimistic']} under the optimistic one "
            f"(Standards Handbook v4.1 Table II.1). {people('new_students')} students joined after baseline."
        )
        out = out.paragraph(attrition_source(float(a["overall"]), float(a["differential"])), note=True)
    out = out.heading("Student outcomes: models and assumptions")
    effect = ev.table(5, "effect")
    if effect is not None and effect["suppressed"].astype(bool).any():
        out = out.paragraph(
            f"The student-outcome model is not shown: fewer than {ev.min_n} students in one group.", note=True
        )
    elif effect is not None:
        effect = tk.measure_rows(effect, "points")
        rows = effect.assign(
            shown=[f"{e:.3f}" for e in effect["estimate"]],
            se_shown=[f"{s:.3f}" for s in effect["se"]],
            ci=[f"{lo:.3f} to {hi:.3f}" for lo, hi in zip(effect["ci_low"], effect["ci_high"])],
            df_shown=[f"{d:.1f}" for d in effect["df"]],
            p=[f"{p:.3g}" for p in effect["p_value"]],
        )
        out = out.show_html(
            tk.html_table(
                rows,
                {
                    "model_term": "Term",
                    "shown": "Estimate",
                    "se_shown": "SE",
                    "ci": f"{tk.ci_words(ev)} CI",
                    "df_shown": "df",
                    "p": "p",
                },
                numeric=("shown", "se_shown", "df_shown", "p"),
            )
        )
        first = effect.iloc[0]
        out = out.paragraph(
            f"{first['model']}; standard errors: {first['se_type']}; n = {int(first['n']):,} students in "
            f"{int(first['n_clusters'])} schools ({int(first['n_missing']):,} left out: no outcome or no prior score). "
            "Hedges' g divides the adjusted difference by the unadjusted pooled SD, with the small-sample "
            "correction (WWC Procedures Handbook v5.0). The design is "
            f"'{ev.plan.get('comparison_design', '')}': without random assignment the estimate is an association "
            f"adjusted for {_adjusted_for(ev)}, not proof of cause."
        )
    out = out.heading("Student outcomes: diagnostics")
    baseline = ev.table(5, "baseline")
    if baseline is not None:
        b = baseline.assign(
            g_shown=[
                f"{g:.3f}"
                if pd.notna(g)
                else f"not shown (fewer than {ev.min_n} students with or without it in a group)"
                for g in baseline["g"]
            ]
        )
        out = out.show_html(
            tk.html_table(
                b,
                {"covariate": "Baseline characteristic", "g_shown": "Difference (g)", "verdict": "WWC verdict"},
                numeric=("g_shown",),
            )
        )
    icc = ev.table(5, "icc")
    if icc is not None:
        out = out.paragraph(
            f"Intraclass correlation of the outcome across schools: {icc.iloc[0]['icc']:.3f} by REML (school "
            f"variance {icc.iloc[0]['tau00']:.2f}, student variance {icc.iloc[0]['sigma2']:.2f}; "
            f"{int(icc.iloc[0]['n_clusters'])} schools); the one-way ANOVA estimator gives "
            f"{icc.iloc[0]['icc_anova']:.3f}."
        )
    clustering = ev.table(5, "clustering")
    if clustering is not None:
        c = clustering.assign(
            shown=[
                f"t = {t:.2f} (df {d:.0f}), p = {p:.3g}"
                for t, d, p in zip(clustering["t_corrected"], clustering["df_corrected"], clustering["p_corrected"])
            ]
        )
        out = out.show_html(
            tk.html_table(
                c,
                {
                    "assumption": "Hedges (2007) clustering correction of the analysis that ignores schools",
                    "shown": "Corrected test",
                },
            )
        )
        out = out.paragraph(
            "What this is: the WWC's correction for a study that reports only an analysis ignoring schools. It "
            "recovers a t statistic from Hedges' g of the HC1 analysis (covariate-adjusted, ignoring schools) as if "
            "it came from a simple two-group t-test, and deflates it for the intraclass correlation. It is a "
            "cross-check, not this evaluation's test: the main analysis already accounts for schools (its standard "
            "errors are cluster-robust), so its p-value, in the models table above, is the one to report. The two "
            "differ because the correction ignores the covariates' gain in precision and assumes equal schools.",
            note=True,
        )
    out = out.heading("Student outcomes: sensitivity and subgroups")
    sensitivity = ev.table(5, "sensitivity")
    if sensitivity is None:
        out = out.paragraph("No comparison group: no estimate to test.", note=True)
        return out
    points = tk.measure_rows(sensitivity, "points")
    g = tk.measure_rows(sensitivity, "hedges_g").set_index("specification")["estimate"]
    rows = points.assign(
        shown=[
            f"{e:.2f} ({lo:.2f} to {hi:.2f})"
            for e, lo, hi in zip(points["estimate"], points["ci_low"], points["ci_high"])
        ],
        g=[f"{g.get(spec, float('nan')):.3f}" for spec in points["specification"]],
    )
    out = out.show_html(
        tk.html_table(
            rows,
            {
                "specification": "Analysis",
                "shown": f"Difference in points ({tk.ci_words(ev)} CI)",
                "g": "Hedges' g",
                "se_type": "Standard errors",
            },
        )
    )
    subgroups = ev.table(5, "subgroups")
    if subgroups is not None and len(subgroups):
        subgroups = tk.measure_rows(subgroups, "points")
        s = subgroups.assign(
            group=[
                subgroup_words(s, v)
                + (f" ({n:.0f} schools: one condition on a single school)" if single_school_condition(n) else "")
                for s, v, n in zip(subgroups["subgroup"], subgroups["value"], subgroups["n_clusters"])
            ],
            shown=[
                ("suppressed" if h else f"{e:.2f} ({lo:.2f} to {hi:.2f})")
                for e, lo, hi, h in zip(
                    subgroups["estimate"], subgroups["ci_low"], subgroups["ci_high"], subgroups["suppressed"]
                )
            ],
            p=[f"{p:.3f}" if pd.notna(p) else "" for p in subgroups["p_value"]],
            q=[f"{p:.3f}" if pd.notna(p) else "" for p in subgroups["p_adjusted"]],
        )
        out = out.show_html(
            tk.html_table(
                s,
                {
                    "group": "Students",
                    "shown": f"Difference ({tk.ci_words(ev)} CI)",
                    "p": "p",
                    "q": "BH-adjusted p",
                },
            )
        )
    dose = ev.table(5, "dose")
    if dose is not None:
        d = tk.measure_rows(dose, "points").iloc[0]
        out = out.paragraph(
            f"Exploratory: each 10 points of school implementation went with {d['estimate']:+.1f} points of "
            f"student outcome ({tk.ci_words(ev)} CI {d['ci_low']:+.1f} to {d['ci_high']:+.1f}; {int(d['n_clusters'])} schools). "
            "Correlational."
        )
    return out


def years_district(ev: Evaluation) -> tk.Section:
    """In the district report's "Year by year": the effect on students by years in the program, each cohort's
    average and how it was estimated (or why it could not be)."""
    out = tk.Section()
    extras = ev.extras
    if "years_effects_about" not in extras:
        return out
    about = extras["years_effects_about"].iloc[0]
    event = extras.get("years_effects_event")
    if event is None:
        if isinstance(about["note"], str) and about["note"]:
            out = out.paragraph(f"Students, across the years: {about['note']}.", note=True)
        return out
    out = _staggered_figure(out, ev)
    cohorts = extras["years_effects_cohort"]
    shown = cohorts.assign(
        shown=[tk.fmt(e, "sd") for e in cohorts["estimate"]],
        interval=[tk.interval(lo, hi, "sd") for lo, hi in zip(cohorts["ci_low"], cohorts["ci_high"])],
    )
    out = out.show_html(
        tk.html_table(
            shown,
            {"cohort": "Joined", "shown": "Average difference since joining", "interval": f"{tk.ci_words(ev)} interval",
             "treated_schools": "Program schools", "control_schools": "Comparison schools"},
            numeric=("treated_schools", "control_schools"),
        )
    )  # fmt: skip
    note = f" {about['note']}." if isinstance(about["note"], str) and about["note"] else ""
    controls = (  # the controls the estimator used (a reader's review: "not (yet)" read against the appendix's)
        "the comparison schools, never in the program"
        if about.get("control") == "nevertreated"
        else "the comparison schools and the schools that join later, until they join"
    )
    out = out.paragraph(
        f"Students' spring scores, standardized within each spring, compared between program schools and {controls}, "
        "for each cohort and year (Callaway & Sant'Anna group-time effects; never a "
        "two-way fixed-effects regression, which mixes early and late joiners). The years before joining check "
        f"that both groups were on the same path; this is a comparison, not a lottery.{note}",
        note=True,
    )
    return out


def _staggered_figure(out: tk.Section, ev: Evaluation) -> tk.Section:
    """The effect on students by years in the program, titled with the average over cohorts."""
    extras = ev.extras
    overall = extras["years_effects_overall"].set_index("aggregation").loc["cohort"]
    event = extras["years_effects_event"]
    out = out.figure(
        figures.staggered_chart(event, overall["estimate"], overall["ci_low"], overall["ci_high"], ci=tk.ci_words(ev))
    )
    return out


def _adjusted_for(ev: Evaluation) -> str:
    """What the main model adjusts for, in words: prior scores, and student characteristics when it has any."""
    covariates = ev.levels[5].meta.get("covariates", []) if 5 in ev.levels else []
    return "prior scores and student characteristics" if len(covariates) > 1 else "prior scores"


def _caveat(ev: Evaluation) -> str:
    """What the staggered estimator left out or doubts (``years_effects_about``'s note), as a sentence, or ''."""
    about = ev.extras.get("years_effects_about")
    note = about["note"].iloc[0] if about is not None and len(about) else ""
    return f"{note[0].upper()}{note[1:]}." if isinstance(note, str) and note else ""


def years_board(ev: Evaluation) -> tk.Section:
    """In the board summary's "Over the years": the effect on students by years in the program, how it differs
    from this year's headline, and what the estimator doubts (a board member read the two as contradicting each
    other, and the caveat was in the district report only)."""
    out = tk.Section()
    if ev.extras.get("years_effects_event") is not None:
        # a heading of its own: a slide of its own (below the year-to-year sentences, the chart was shrunk to 0.71)
        out = out.heading("Students' scores by years in the program")
        out = _staggered_figure(out, ev)
        out = out.paragraph(
            " ".join(
                filter(
                    None,
                    [
                        "This chart adds the years up: the difference since each school joined, averaged over "
                        "cohorts. The student outcome in the chain of evidence is this year's growth alone, from the "
                        "spring before, program schools against comparison schools, so the two differ.",
                        _caveat(ev),
                    ],
                )
            ),
            note=True,
        )
    return out


def years_technical(ev: Evaluation) -> tk.Section:
    """For research partners: the staggered-adoption estimator, every group-time effect and the aggregations."""
    out = tk.Section()
    extras = ev.extras
    if "years_effects_about" not in extras:
        return out
    out = out.heading("Staggered adoption: group-time effects")
    about = extras["years_effects_about"].iloc[0]
    cells = extras.get("years_effects_cell")
    if cells is None:
        out = out.paragraph(f"Not estimated: {about['note']}." if about["note"] else "Not estimated.")
        return out
    out = out.paragraph(f"Method: {about['method']}.")
    if _caveat(ev):
        out = out.paragraph(_caveat(ev), note=True)
    shown = cells.assign(
        shown=[f"{e:.3f}" for e in cells["estimate"]],
        se_shown=[f"{s:.3f}" for s in cells["se"]],
        interval=[f"{lo:.3f} to {hi:.3f}" for lo, hi in zip(cells["ci_low"], cells["ci_high"])],
        when=["after joining" if p else "before (placebo)" for p in cells["post"]],
    )
    out = out.show_html(
        tk.html_table(
            shown,
            {"cohort": "Joined", "year": "Spring", "event_time": "Years since joining", "when": "Period",
             "shown": "ATT(g,t) (SD)", "se_shown": "SE", "interval": f"{tk.ci_words(ev)} interval",
             "treated_schools": "Program schools", "control_schools": "Control schools"},
            numeric=("year", "event_time", "shown", "se_shown", "treated_schools", "control_schools"),
        )
    )  # fmt: skip
    overall = extras["years_effects_overall"]
    out = out.show_html(
        tk.html_table(
            overall.assign(
                shown=[f"{e:.3f}" for e in overall["estimate"]],
                interval=[f"{lo:.3f} to {hi:.3f}" for lo, hi in zip(overall["ci_low"], overall["ci_high"])],
            ),
            {"aggregation": "Aggregation", "meaning": "What it averages", "shown": "Estimate (SD)",
             "interval": f"{tk.ci_words(ev)} interval"},
            numeric=("shown",),
        )
    )  # fmt: skip
    out = out.paragraph(
        "Standard errors are csdid's analytic influence-function SEs clustered by school; intervals multiply them by "
        "sqrt(m/(m-1)), m the smaller of the program and control schools compared, and use a t with G-2 degrees of "
        "freedom: with six schools a group, over 120 simulated districts, the uncorrected 95% intervals covered the "
        "true effects 90% of the time and the corrected ones 95% (plevaluate's tests); with fewer schools a group "
        "than that, coverage was not checked.",
        note=True,
    )
    return out
