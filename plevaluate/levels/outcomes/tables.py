"""The tables level 5 (outcomes) publishes, declared (`plevaluate.schema`), and how each table about people is
suppressed when published (`plevaluate.privacy.Rule`)."""

from __future__ import annotations

from ...privacy import COVERAGE_RULE, Rule
from ...schema import TableSpec

__all__ = ["PRIVACY", "TABLES", "YEARS_TABLES"]

#: The tables `evaluate_outcomes` may return, declared (`plevaluate.schema`).
TABLES = {
    "effect": TableSpec("model", "level model_term measure estimate se ci_low ci_high df p_value n n_treatment n_comparison n_clusters n_missing model se_type outcome tau00 sigma2 icc",
                        "every term of the main model (ANCOVA, cluster-robust), one scale a row: points, and Hedges' g and the improvement index for the treatment term"),
    "sensitivity": TableSpec("model", "level model_term measure estimate se ci_low ci_high df p_value n n_treatment n_comparison n_clusters n_missing model se_type outcome tau00 sigma2 icc specification",
                        "the treatment term of each alternative model, one scale a row"),
    "baseline": TableSpec("diagnostic", "covariate mean_treatment mean_comparison sd_pooled n_treatment n_comparison g verdict",
                        "baseline equivalence of a covariate (WWC)"),
    "attrition": TableSpec("diagnostic", "baseline_treatment baseline_comparison analytic_treatment analytic_comparison attrition_treatment attrition_comparison overall differential cautious optimistic new_students",
                        "overall and differential attrition against the WWC boundaries"),
    "icc": TableSpec("diagnostic", "icc tau00 sigma2 icc_anova estimator n n_clusters n0",
                        "intraclass correlation of the outcome within schools (REML; the ANOVA estimator beside it)"),
    "clustering": TableSpec("diagnostic", "assumption t df p_value t_corrected df_corrected p_corrected icc cluster_size",
                        "the Hedges (2007) correction of the analysis that ignores clustering"),
    "subgroups": TableSpec("model", "level subgroup value model_term measure estimate se ci_low ci_high df p_value n n_treatment n_comparison n_clusters n_missing model se_type outcome tau00 sigma2 icc p_adjusted suppressed",
                        "the treatment term within each student subgroup, one scale a row"),
    "target": TableSpec("measure", "level model_term estimate ci_low ci_high ci_level n n_unit measure unit method target met status",
                        "the effect (Hedges' g) judged against the plan's target", n_unit="students", unit="sd"),
    "findings": TableSpec("diagnostic", "level finding",
                        "the level-5 findings in words"),
    "dose": TableSpec("model", "level model_term measure estimate se df ci_low ci_high p_value n n_clusters model se_type",
                        "exploratory: outcomes against schools' implementation rates (points per 10 points of implementation)"),
    "schools": TableSpec("measure", "level school_id measure unit estimate ci_low ci_high ci_level raw n n_unit method suppressed",
                        "a program school's students against what prior scores predict (shrunk)", n_unit="students", unit="points"),
    "evidence": TableSpec("diagnostic", "level criterion number requirement satisfied finding to_raise reference n_treatment n_comparison",
                        "the ESSA evidence statement: each criterion of the level-5 study's review (WWC standards, the "
                        "Department's guidance) with its number, threshold, whether it is met and its source; the last "
                        "row, criterion tier, names the tier the evidence supports (value 1-4, blank for none)"),
    "coverage": TableSpec("diagnostic", "level breakdown school_id records n_people",
                        "what the level's evidence rests on: the district and each school"),
}  # fmt: skip

_YEARS = "plevaluate.levels.outcomes.years"
_EFFECTS = "estimate se treated_schools control_schools schools ci_low ci_high"

#: The tables its multi-year part (`.years`, ``Level.years``) adds to ``Evaluation.extras``, declared: the staggered
#: effect (`plevaluate.staggered`) on schools' mean standardized scores, in SD.
YEARS_TABLES = {
    "years_effects_event": TableSpec("diagnostic", f"event_time {_EFFECTS}",
                        "the staggered effect (SD) by school years since joining", built_by=_YEARS),
    "years_effects_cohort": TableSpec("diagnostic", f"cohort {_EFFECTS}",
                        "the staggered effect (SD) of a cohort, averaged over its program years", built_by=_YEARS),
    "years_effects_cell": TableSpec("diagnostic",
                        "cohort year estimate se event_time post treated_schools control_schools schools ci_low ci_high",
                        "the group-time effect (SD) of a cohort in a spring (year: the spring, 2025)", built_by=_YEARS),
    "years_effects_overall": TableSpec("diagnostic", f"aggregation meaning {_EFFECTS}",
                        "the staggered effect (SD), the group-time effects averaged one way", built_by=_YEARS),
    "years_effects_about": TableSpec("diagnostic", "method control note",
                        "the staggered estimator, its control group, and what it left out or doubts, or why no effect "
                        "could be estimated (one row)", built_by=_YEARS),
}  # fmt: skip

#: How each of its tables about people is suppressed when published (`plevaluate.privacy.publish_levels`).
PRIVACY: tuple[Rule, ...] = (
    COVERAGE_RULE,
    Rule("schools", ("n",), ("level", "school_id", "measure", "method"), unit="students", school_totals=True),
    Rule(
        "effect",
        ("n_treatment", "n_comparison"),
        ("level", "model_term", "measure", "model", "se_type", "outcome"),
        unit="students in each group",
    ),
    Rule(
        "sensitivity",
        ("n_treatment", "n_comparison"),
        ("level", "model_term", "measure", "model", "se_type", "outcome", "specification"),
        unit="students in each group",
    ),
    Rule(
        "target",
        ("n",),
        ("level", "model_term", "measure", "method", "target"),
        follow=("effect", ("model_term", "measure")),
    ),
    Rule(
        "subgroups",
        ("n_treatment", "n_comparison"),
        ("level", "subgroup", "value", "model_term", "measure", "model", "se_type", "outcome"),
        # a flag's values add up to the effect's sample: one hidden value is hidden with another
        within=("subgroup", "model_term", "measure"),
        unit="students in each group",
    ),
    Rule("baseline", ("n_treatment", "n_comparison"), ("covariate",), unit="students in each group"),
    # the evidence statement and the findings restate the effect's and attrition's numbers: hidden with the effect
    Rule(
        "evidence",
        (),
        ("level", "criterion", "requirement", "reference"),
        follow=("effect", ("level",)),
        counts=("n_treatment", "n_comparison"),
        unit="students in each group",
    ),
    Rule("findings", (), ("level",), follow=("effect", ("level",)), unit="students in each group"),
    Rule(
        "attrition",
        ("analytic_treatment", "analytic_comparison"),
        (),
        counts=("baseline_treatment", "baseline_comparison", "new_students"),
        unit="students in each group",
    ),
)
