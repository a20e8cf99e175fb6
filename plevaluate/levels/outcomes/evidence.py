"""Level 5's evidence statement: which ESSA tier of evidence the district's own study supports, criterion by criterion.

ESSA defines an "evidence-based" activity by four tiers (ESEA section 8101(21)(A), as amended by the Every Student
Succeeds Act, 2015): (i) strong evidence from at least one well-designed and well-implemented experimental study,
(ii) moderate evidence from a quasi-experimental study, (iii) promising evidence from a correlational study with
statistical controls for selection bias, each showing a statistically significant effect on improving student
outcomes; and (iv) a rationale based on high-quality research that the activity is likely to improve outcomes,
with ongoing efforts to examine its effects. The Department's non-regulatory guidance (U.S. Department of Education,
2016, "Non-Regulatory Guidance: Using Evidence to Strengthen Education Investments", Part II) reads "well-designed
and well-implemented" as meeting the What Works Clearinghouse's standards (without reservations for tier 1, with or
without reservations for tier 2), asks for a statistically significant favourable effect not overridden by
significant unfavourable evidence, and for tiers 1 and 2 a large and multi-site sample as 34 CFR 77.1 defines
them and a sample that overlaps with the population and settings to be served.

`evidence_statement` reviews a study the way the WWC would, one criterion per row, each with its number, its
threshold and its source (`SOURCES`), and names the tier the evidence supports and what would raise it. It never
claims more than the criteria allow: a criterion it cannot check counts as not met.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ...vocabulary import counted
from .wwc import ATTRITION_BOUNDARIES, attrition_verdict, baseline_verdict

__all__ = [
    "ALPHA",
    "LARGE_GROUPS",
    "LARGE_STUDENTS",
    "SOURCES",
    "TIER_NAMES",
    "evidence_statement",
    "lowest_overall_boundary",
]

#: 34 CFR 77.1 (EDGAR definitions, as amended 2017): "Large sample means an analytic sample of 350 or more students
#: (or other single analysis units), or 50 or more groups (such as classrooms or schools) that contain 10 or more
#: students (or other single analysis units)."
LARGE_STUDENTS = 350
LARGE_GROUPS = (50, 10)

#: The significance level of the effect: the WWC's (Procedures Handbook v5.0: statistical significance at .05,
#: two-tailed) and the level ESSA's "statistically significant" is read at.
ALPHA = 0.05

#: The baseline measure of the outcome itself, on which the WWC requires equivalence in every review.
PRETEST = "prior_score"

#: ESSA's names of the tiers.
TIER_NAMES = {
    1: "Tier 1, strong evidence",
    2: "Tier 2, moderate evidence",
    3: "Tier 3, promising evidence",
    4: "Tier 4, demonstrates a rationale",
}

#: Where each criterion's threshold comes from, as the statement prints it.
SOURCES = {
    "design": "ESEA section 8101(21)(A) (ESSA, 2015); WWC Standards Handbook v4.1 (2020), section II "
    "(randomized controlled trials and quasi-experimental designs)",
    "attrition": "WWC Standards Handbook v4.1 (2020), Table II.1 (attrition boundaries; the transcription is named "
    "in the attrition section)",
    "baseline": "WWC Standards Handbook v4.1 (2020), baseline equivalence: an absolute g of at most 0.05 satisfies it; "
    "more than 0.05 and at most 0.25 requires statistical adjustment; more than 0.25 does not satisfy it",
    "confound": "WWC Standards Handbook v4.1 (2020), confounding factors: one unit (one school) alone in a condition is "
    "a single-unit confound (what the WWC calls an n-of-one confound), and the study does not meet standards",
    "effect": "ESEA section 8101(21)(A); U.S. Department of Education (2016), Non-Regulatory Guidance: Using Evidence "
    "to Strengthen Education Investments: a statistically significant, favourable effect, not overridden by "
    "significant unfavourable evidence",
    "sample": "U.S. Department of Education (2016), Non-Regulatory Guidance (tiers 1 and 2: a large sample); 34 CFR "
    "77.1: 350 or more students, or 50 or more groups of 10 or more students",
    "sites": "U.S. Department of Education (2016), Non-Regulatory Guidance (tiers 1 and 2: a multi-site sample; several "
    "studies may meet it together); 34 CFR 77.1: more than one site, where site can be defined as an LEA, locality, "
    "or State",
    "setting": "U.S. Department of Education (2016), Non-Regulatory Guidance (tiers 1 and 2: a sample that overlaps "
    "with the populations and settings proposed to receive the intervention)",
    "rationale": "ESEA section 8101(21)(A)(ii): a rationale based on high-quality research findings, with ongoing "
    "efforts to examine the effects; the Department's guidance asks for a logic model informed by research",
    "tier": "ESEA section 8101(21)(A); U.S. Department of Education (2016), Non-Regulatory Guidance, Part II",
}

_COLUMNS = [
    "level", "criterion", "number", "requirement", "satisfied", "finding", "to_raise", "reference", "n_treatment",
    "n_comparison",
]  # fmt: skip


def lowest_overall_boundary(differential: float, boundary: str) -> float | None:
    """The highest overall attrition (a proportion) at which ``differential`` (a proportion) is still low attrition
    under ``boundary`` (`ATTRITION_BOUNDARIES`); None when no overall rate makes it low.

    >>> lowest_overall_boundary(0.05, "cautious"), lowest_overall_boundary(0.12, "optimistic")
    (0.23, None)
    """
    limits = ATTRITION_BOUNDARIES.dropna(subset=[boundary])
    low = limits[limits[boundary] + 1e-8 >= differential * 100]
    return None if low.empty else float(low["overall"].max()) / 100


def evidence_statement(
    *,
    design: str,
    effect: Mapping | None,
    design_note: str = "",
    baseline: pd.DataFrame | None = None,
    attrition: pd.DataFrame | None = None,
    schools_treatment: int = 0,
    schools_comparison: int = 0,
    groups_of_ten: int = 0,
    covariates: Sequence[str] = (),
    correlational: Mapping | None = None,
    references: int = 0,
    examined: bool = True,
    sites: int = 1,
    boundary: str = "cautious",
    lower_is_better: bool = False,
    ci: float = 0.95,
    joined_before: int = 0,
) -> pd.DataFrame:
    """The evidence statement of a level-5 study: one row per criterion, then the tier it supports.

    Parameters
    ----------
    design : str
        The plan's ``comparison_design``: ``randomized`` (random assignment recorded in the plan: an experiment),
        ``matched`` (a comparison group: a quasi-experiment) or ``none``.
    effect : mapping or None
        The treatment row of the main model (points scale): ``estimate``, ``ci_low``, ``ci_high``, ``p_value``,
        ``se_type`` (the clustering-aware test the appendix reports), ``n_treatment``, ``n_comparison``, and its
        ``hedges_g``. None: no outcome data yet.
    baseline, attrition : DataFrame, optional
        `baseline_equivalence` on the analytic sample and `attrition` (overall and differential).
    schools_treatment, schools_comparison : int
        Schools in each condition of the analytic sample; ``groups_of_ten``: schools with 10 or more tested students.
    covariates : sequence of str
        The model's covariates (what "statistical adjustment" adjusts for).
    correlational : mapping, optional
        Without a comparison group: a regression of outcomes on the program's dose with statistical controls
        (the dose-response row: ``estimate``, ``ci_low``, ``ci_high``, ``n``), a correlational study.
    references : int
        Research references the plan cites (``rationale:``), for tier 4; ``examined``: the plan examines the effects
        (a level-5 measure and a comparison or outcome data to come).
    sites : int
        Sites (LEAs, localities or States, 34 CFR 77.1) the study covers; a district's own study is one LEA.
    boundary : str
        The WWC attrition boundary the plan chooses, ``cautious`` or ``optimistic``.
    lower_is_better : bool
        True when the plan's target is negative (a fall in the outcome is the benefit).
    design_note : str
        Said after the design (the plan records no comparison design, yet the data have one).
    ci : float
        The level of the intervals shown. Significance is always the two-sided test at .05 (`ALPHA`), whatever
        interval the plan prints: a plan's 80% interval does not make an effect significant.
    joined_before : int
        Program schools that joined before this school year (`joined_before`): their students' prior scores were
        taken after the program began there, so no baseline before the program exists for this year's estimate (a
        reader's review of a three-year program: the WWC baseline check and "at the start" rested on them).

    Returns
    -------
    DataFrame
        level, criterion, number (the criterion's number), requirement (its threshold), satisfied (``yes``, ``no``,
        ``not applicable``), finding (a sentence backed by ``number``), to_raise (what would raise the tier; blank
        when nothing), reference (the threshold's source), n_treatment, n_comparison; the last row's criterion is
        ``tier`` (number: 1-4, NaN for none).

    Examples
    --------
    >>> row = {"estimate": 3.0, "ci_low": 1.0, "ci_high": 5.0, "p_value": 0.004, "hedges_g": 0.2,
    ...        "se_type": "CR2", "n_treatment": 900, "n_comparison": 900}
    >>> bal = pd.DataFrame({"covariate": ["prior_score"], "g": [0.02]})
    >>> att = pd.DataFrame({"overall": [0.10], "differential": [0.02]})
    >>> out = evidence_statement(design="randomized", effect=row, baseline=bal, attrition=att, schools_treatment=10,
    ...                          schools_comparison=10, groups_of_ten=20, covariates=["prior_score"], sites=2)
    >>> int(out.iloc[-1]["number"]), out.iloc[-1]["finding"][:46]
    (1, 'The study supports Tier 1, strong evidence: a ')
    """
    rows: list[dict] = []
    n_t = n_c = np.nan
    if effect is not None:
        n_t, n_c = effect.get("n_treatment", np.nan), effect.get("n_comparison", np.nan)
    if not covariates:
        correlational = None  # a regression without statistical controls is not a correlational design of tier 3

    def add(criterion, number, requirement, satisfied, finding, to_raise="", source=None):
        rows.append({
            "level": 5, "criterion": criterion, "number": number, "requirement": requirement, "satisfied": satisfied,
            "finding": finding, "to_raise": to_raise, "reference": SOURCES[source or criterion],
        })  # fmt: skip

    experiment = design == "randomized"
    compared = design in ("randomized", "matched")
    kind = (
        "a randomized controlled trial" if experiment else "a quasi-experiment" if compared else "no comparison group"
    )
    if not compared and correlational is not None:
        kind = "a correlational study (outcomes against the program's dose, with statistical controls)"
    add(
        "design",
        1.0 if experiment else 2.0 if compared else 3.0 if correlational is not None else np.nan,
        "1: random assignment recorded in the plan; 2: a comparison group with baseline measures; 3: a regression "
        "with statistical controls for selection",
        "yes" if compared or correlational is not None else "no",
        f"Design: {kind}"
        + (" (schools assigned by lottery, recorded in plan.yml)" if experiment else "")
        + (f" ({design_note})." if design_note else ".")
        + ("" if compared else " Without a comparison group the program's effect cannot be estimated."),
        ""
        if experiment
        else "randomise schools to the next cohort (a lottery among the schools ready to start): "
        "only an experiment can reach Tier 1"
        if compared
        else "add comparison schools with the same tests and baseline scores (a quasi-experiment can reach Tier 2)",
    )

    # attrition: assessed for an experiment (a quasi-experiment must show baseline equivalence either way)
    low_attrition = False
    if experiment:
        known = (
            attrition is not None and len(attrition) and attrition.iloc[0][["overall", "differential"]].notna().all()
        )
        if known:
            a = attrition.iloc[0].copy()
            a["differential"] = abs(float(a["differential"]))  # the size of the gap, whichever group lost more
            verdict = attrition_verdict(float(a["overall"]), float(a["differential"]))[boundary]
            low_attrition = verdict == "low attrition"
            keep = lowest_overall_boundary(float(a["differential"]), boundary)
            fix = (
                ""
                if low_attrition
                else f"keep overall attrition under {keep:.0%} at this differential ({a['differential'] * 100:.1f} "
                "points), or narrow the differential: test every student who started, in both groups"
                if keep is not None
                else "narrow the differential attrition: test every student who started, in both groups"
            )
            add(
                "attrition",
                float(a["overall"]),
                f"differential attrition within the WWC {boundary} boundary for the study's overall attrition",
                "yes" if low_attrition else "no",
                f"Attrition: {a['overall']:.1%} overall, {a['differential'] * 100:.1f} points differential (the "
                f"{boundary} boundary at that overall rate: {_boundary_at(float(a['overall']), boundary)}): {verdict}"
                + ("." if low_attrition else "; the study must then show baseline equivalence, as a quasi-experiment."),
                fix,
            )
        else:
            add(
                "attrition",
                np.nan,
                f"the WWC {boundary} boundary",
                "no",
                "Attrition: not known (no baseline rows for the students); the study is reviewed as if attrition were "
                "high, so it must show baseline equivalence.",
                "record each student's baseline (pre) row, so that attrition can be measured",
            )
    else:
        add(
            "attrition",
            np.nan,
            "assessed for randomized studies",
            "not applicable",
            "Attrition: not a criterion for a study without random assignment (it must show baseline equivalence).",
        )

    # baseline equivalence on the analytic sample
    equivalent = False
    if compared and joined_before:  # their prior score (the spring before this year) came after they joined
        add(
            "baseline",
            np.nan,
            "a baseline measure of the outcome taken before the program began",
            "no",
            f"Baseline equivalence: {counted(joined_before, 'program school')} joined the program before this school "
            "year, so their students' prior scores (the spring before) were taken after the program began there: "
            "not a baseline before the program, so equivalence cannot be shown for this year's estimate, which is one "
            "more year's growth for them.",
            "evaluate each cohort from its spring before joining (the estimate by years in the program)",
        )
    elif compared:
        measured = (
            baseline[pd.to_numeric(baseline["g"], errors="coerce").notna()] if baseline is not None else pd.DataFrame()
        )
        if len(measured) and PRETEST in set(measured["covariate"]):
            verdicts = measured.assign(
                verdict=[baseline_verdict(g) for g in measured["g"]],
                adjusted=measured["covariate"].astype(str).isin(set(covariates)),
            )
            ok = verdicts["verdict"].str.startswith("satisfies") | (
                verdicts["verdict"].str.startswith("requires") & verdicts["adjusted"]
            )
            equivalent = bool(ok.all())
            # the row said: the first failing covariate, else the largest difference
            worst = verdicts[~ok].iloc[0] if (~ok).any() else verdicts.loc[verdicts["g"].abs().idxmax()]
            g = float(worst["g"])
            if worst["verdict"].startswith("satisfies"):
                words = "satisfies baseline equivalence"
            elif worst["verdict"].startswith("requires"):
                words = f"requires statistical adjustment, which the model {'makes' if worst['adjusted'] else 'does not make'}"
            else:
                words = "does not satisfy baseline equivalence (more than 0.25 SD)"
            needed = not (experiment and low_attrition)
            add(
                "baseline",
                g,
                "on every baseline measure, the outcome's pretest among them: an absolute g of at most 0.05, or at "
                "most 0.25 with statistical adjustment",
                "yes" if equivalent else "no",
                f"Baseline equivalence on the analytic sample ({len(verdicts)} measure(s)): the groups differed by "
                f"{abs(g):.2f} SD on {worst['covariate']}: {words}"
                + ("" if needed else " (not required: random assignment with low attrition)")
                + ".",
                ""
                if equivalent
                else f"adjust for {worst['covariate']} in the model"
                if worst["verdict"].startswith("requires")
                else "choose comparison schools closer at baseline (within 0.25 SD on prior scores, ideally 0.05)",
            )
        else:
            add(
                "baseline",
                np.nan,
                "a baseline measure of the outcome for both groups",
                "no",
                f"Baseline equivalence: no baseline measure of the outcome ({PRETEST}) for the analytic sample, so it "
                "cannot be shown.",
                "record each student's prior score (the same test the spring before)",
            )
    else:
        add("baseline", np.nan, "a comparison group", "not applicable", "Baseline equivalence: no comparison group.")

    # confounds
    confound = compared and min(schools_treatment, schools_comparison) <= 1
    if compared:
        fewest = min(schools_treatment, schools_comparison)
        side = "program" if schools_treatment <= schools_comparison else "comparison"
        add(
            "confound",
            float(fewest),
            "at least 2 schools in each condition",
            "no" if confound else "yes",
            f"Confounds: {schools_treatment} program and {counted(schools_comparison, 'comparison school')}"
            + (
                f"; no {side} school: no comparison can be made."
                if confound and fewest == 0
                else f"; one {side} school alone is a single-unit confound: its effect cannot be told from the "
                "program's."
                if confound
                else "; no condition rests on a single school."
            ),
            f"add {2 - fewest} or more {side} schools, so that no condition rests on one school" if confound else "",
        )
    else:
        add("confound", np.nan, "a comparison group", "not applicable", "Confounds: no comparison group to confound.")

    # the effect, by the clustering-aware test the appendix reports
    sign = -1.0 if lower_is_better else 1.0
    favourable = unfavourable = False
    source_row = effect if compared else correlational
    numbers = ("estimate", "ci_low", "ci_high", "p_value")
    if source_row is not None and all(pd.notna(source_row.get(k, np.nan)) for k in numbers):
        estimate, low, high = (float(source_row[k]) for k in ("estimate", "ci_low", "ci_high"))
        p = float(source_row["p_value"])
        significant = p < ALPHA
        favourable = significant and sign * estimate > 0
        unfavourable = significant and sign * estimate < 0
        test = str(source_row.get("se_type", "") or "cluster-robust").split(" (")[0]
        g = source_row.get("hedges_g", np.nan)
        size = f"{g:+.2f} SD, " if pd.notna(g) else ""
        unit = "points" if compared else "points per 10 points of implementation"
        verdict = (
            "statistically significant and favourable"
            if favourable
            else "statistically significant and UNFAVOURABLE: students in the program did worse"
            if unfavourable
            else f"not statistically significant at {ALPHA:.2f}"
        )
        add(
            "effect",
            estimate,
            f"a favourable effect, statistically significant at {ALPHA:.2f} (two-sided) by the model's "
            "cluster-robust test",
            "yes" if favourable else "no",
            f"{'Effect' if compared else 'Association with the dose'}: {size}{estimate:+.1f} {unit} ({ci:.0%} interval "
            f"{low:+.1f} to {high:+.1f}; p = {p:.3f}, {test} standard errors): {verdict}.",
            ""
            if favourable
            else "reconsider the program: no tier can rest on a study that found harm"
            if unfavourable
            else "a larger study: more schools (see plevaluate design for the number needed to detect the target)",
            source="effect",
        )
    else:
        add(
            "effect",
            np.nan,
            "a statistically significant, favourable effect",
            "no",
            "Effect: no student outcomes yet"
            + (" (no comparison group and no dose-response)" if not compared else "")
            + ", so no effect can be judged.",
            "collect student outcomes for program and comparison schools",
        )

    # sample size and sites (tiers 1 and 2)
    if effect is not None:
        students = float(n_t) + float(n_c) if pd.notna(n_t) and pd.notna(n_c) else np.nan
    elif correlational is not None:
        students = float(correlational.get("n", np.nan))
    else:
        students = np.nan
    large = bool(pd.notna(students) and (students >= LARGE_STUDENTS or groups_of_ten >= LARGE_GROUPS[0]))
    add(
        "sample",
        students,
        f"{LARGE_STUDENTS} or more students in the analytic sample, or {LARGE_GROUPS[0]} or more schools with "
        f"{LARGE_GROUPS[1]} or more tested students",
        "yes" if large else "no",
        (
            f"Sample: {students:,.0f} students in the analytic sample, in {counted(groups_of_ten, 'school')} with 10 or more "
            f"tested students: {'a large sample' if large else 'not a large sample'} as 34 CFR 77.1 defines it."
            if pd.notna(students)
            else "Sample: no analytic sample yet."
        ),
        ""
        if large
        else f"test at least {LARGE_STUDENTS - students:,.0f} more students ({LARGE_STUDENTS} in all)"
        if pd.notna(students)
        else "",
    )
    multi = sites > 1
    add(
        "sites",
        float(sites),
        "more than one site (an LEA, locality or State)",
        "yes" if multi else "no",
        f"Sites: {sites} site{'s' if sites > 1 else ''}"
        + (
            "."
            if multi
            else ": the district is one LEA, so the study is not a multi-site sample as 34 CFR 77.1 defines it "
            "(schools in different localities count as sites when plan.yml's evidence.sites says so)."
        ),
        ""
        if multi
        else "run the study in more than one site (join another district's study of the same program: the guidance "
        "lets several studies meet the sample conditions together), or record the localities in evidence.sites",
    )
    add(
        "setting",
        np.nan,
        "the sample overlaps with the students and settings to be served",
        "yes",
        "Population and setting: the students and schools are the district's own, the ones the program serves.",
    )
    add(
        "rationale",
        float(references),
        "a logic model informed by research (plan.yml rationale: references) and ongoing examination of effects",
        "yes" if references and examined else "no",
        f"Rationale: the plan cites {references} research reference(s) for its logic model"
        + (" and this evaluation examines the effects." if examined else ", but no level-5 measure examines effects.")
        if references
        else "Rationale: the plan cites no research for its logic model.",
        ""
        if references and examined
        else "set levels.outcomes' measure and target in plan.yml, so that the evaluation examines the effects"
        if references
        else "cite the research behind the program under rationale: in plan.yml (for Tier 4)",
    )

    # the tier
    meets = {"without": experiment and low_attrition and not confound, "with": compared and equivalent and not confound}
    statistical_controls = bool(covariates) and (compared and not confound or correlational is not None)
    if unfavourable:
        tier, why = (
            np.nan,
            (
                "the study found a statistically significant unfavourable effect: the district's own evidence does not "
                "support the program at any tier"
            ),
        )
    elif favourable and meets["without"] and large and multi:
        tier, why = (
            1.0,
            "a randomized study with low attrition and a significant favourable effect, large and multi-site",
        )
    elif favourable and (meets["without"] or meets["with"]) and large and multi:
        tier, why = (
            2.0,
            (
                "the study meets WWC standards with reservations (baseline-equivalent groups) and shows a significant "
                "favourable effect, in a large, multi-site sample"
            ),
        )
    elif favourable and statistical_controls:
        shortfall = [
            name
            for name, ok in (
                ("it does not meet WWC standards", meets["without"] or meets["with"]),
                ("the sample is not large", large),
                ("it covers one site", multi),
            )
            if not ok
        ]
        tier, why = (
            3.0,
            (
                "a significant favourable effect with statistical controls for selection; not Tier 1 or 2 because "
                + " and ".join(shortfall)
                if compared
                else "a significant favourable association with statistical controls for selection (a correlational study)"
            ),
        )
    elif references and examined and confound and favourable:
        tier, why = (
            4.0,
            (
                "the plan cites research for its logic model and this evaluation examines the effects; the study's "
                "favourable effect cannot be told from one school's (a single-unit confound)"
            ),
        )
    elif references and examined:
        tier, why = (
            4.0,
            (
                "the plan cites research for its logic model and this evaluation examines the effects; the district's "
                "own study does not yet show a significant favourable effect"
                + (" (it cannot: one school alone in a condition)" if confound else "")
            ),
        )
    elif references:
        tier, why = np.nan, "no significant favourable effect yet, and no level-5 measure examines the effects"
    else:
        tier, why = np.nan, "no significant favourable effect yet, and the plan cites no research for a rationale"
    if tier == 1.0 or unfavourable:
        raises = []
    elif tier == 2.0:  # only an experiment with low attrition is stronger
        raises = [r["to_raise"] for r in rows if r["criterion"] in ("design", "attrition") and r["to_raise"]]
    else:  # the design first (a lottery or a comparison group), then every criterion not met
        raises = [
            r["to_raise"] for r in rows if r["to_raise"] and (r["satisfied"] == "no" or r["criterion"] == "design")
        ]
    name = TIER_NAMES.get(int(tier)) if pd.notna(tier) else None
    finding = f"The study supports {name}: {why}." if name else f"The study supports no tier of ESSA evidence: {why}."
    if raises and not unfavourable:
        finding += " To raise it: " + "; ".join(dict.fromkeys(raises)) + "."
    add("tier", tier, "ESSA tiers 1 to 4", "yes" if name else "no", finding, "; ".join(dict.fromkeys(raises)))
    out = pd.DataFrame(rows)
    out["to_raise"] = out["to_raise"].replace("", None)  # nothing to raise: blank, as the published CSV has it
    out["n_treatment"], out["n_comparison"] = n_t, n_c
    return out[_COLUMNS]


def _boundary_at(overall: float, boundary: str) -> str:
    row = ATTRITION_BOUNDARIES[ATTRITION_BOUNDARIES["overall"] == min(int(round(overall * 100)), 65)]
    value = row[boundary].iloc[0] if len(row) else np.nan
    return "no differential (high at any)" if pd.isna(value) else f"{value:.1f} points"
