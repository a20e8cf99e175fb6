"""The tables level 2 (learning) publishes, declared (`plevaluate.schema`), and how each table about people is
suppressed when published (`plevaluate.privacy.Rule`)."""

from __future__ import annotations

from ...privacy import COVERAGE_RULE, Rule
from ...schema import TableSpec

__all__ = ["PRIVACY", "TABLES"]

#: The tables `evaluate_learning` may return, declared (`plevaluate.schema`).
TABLES = {
    "coverage": TableSpec("diagnostic", "level breakdown school_id records n_people",
                        "what the level's evidence rests on: the district and each school"),
    "gains": TableSpec("measure", "level breakdown school_id role experience_band assessment_id measure unit estimate ci_low ci_high ci_level p_value n n_unit n_missing method suppressed",
                        "pre-to-post gain of an assessment, by breakdown", n_unit="educators", unit={"mean_gain": "points", "d_z": "sd", "g_av": "sd", "mastery_pre": "share", "mastery_post": "share"}),
    "missing": TableSpec("diagnostic", "assessment_id n_matched n_missing_post pre_mean_matched pre_mean_missing difference_g p_value differs",
                        "educators with no post score compared at pre with those with one"),
    "program_effect": TableSpec("model", "level assessment_id measure estimate ci_low ci_high se n_treatment n_comparison method",
                        "participants' gain against non-participants' (when both were assessed)"),
    "target": TableSpec("measure", "level breakdown school_id assessment_id measure unit estimate ci_low ci_high ci_level p_value n n_unit n_missing method suppressed target met status",
                        "the plan's level-2 measure, district and each school, judged against the target", n_unit="educators", unit="sd"),
}  # fmt: skip

#: How each of its tables about people is suppressed when published (`plevaluate.privacy.publish_levels`).
PRIVACY: tuple[Rule, ...] = (
    COVERAGE_RULE,
    Rule(
        "gains",
        ("n",),
        ("level", "breakdown", "school_id", "role", "experience_band", "assessment_id", "measure", "method"),
        within=("breakdown", "assessment_id", "measure"),
        counts=("n_missing",),
        unit="educators with both scores",
        school_totals=True,
    ),
    Rule(
        "target",
        ("n",),
        ("level", "breakdown", "school_id", "assessment_id", "measure", "method", "target"),
        follow=("gains", ("breakdown", "school_id", "assessment_id", "measure")),
        counts=("n_missing",),  # hidden in gains and missing, it was shown here (a reader's review: 5 of 24)
    ),
    Rule(
        "program_effect",
        ("n_treatment", "n_comparison"),
        ("level", "assessment_id", "measure", "method"),
        unit="educators in each group",
    ),
    Rule(
        "missing",
        ("n_missing_post",),
        ("assessment_id", "n_matched"),
        counts=("n_matched",),
        unit="educators with no post score",
    ),
)
