"""The tables level 4 (practice) publishes, declared (`plevaluate.schema`), and how each table about people is
suppressed when published (`plevaluate.privacy.Rule`)."""

from __future__ import annotations

from ...privacy import COVERAGE_RULE, Rule
from ...schema import TableSpec

__all__ = ["PRIVACY", "TABLES", "YEARS_TABLES"]

#: The tables `evaluate_practice` may return, declared (`plevaluate.schema`).
TABLES = {
    "coverage": TableSpec("diagnostic", "level breakdown school_id records n_people",
                        "what the level's evidence rests on: the district and each school"),
    "rates": TableSpec("measure", "level breakdown group school_id month term measure unit estimate ci_low ci_high ci_level n n_unit n_people n_missing deff method suppressed",
                        "share of visits where the practice was seen, by group, school, month and term", n_unit="observations", unit="share"),
    "trend": TableSpec("measure", "level measure unit group estimate ci_low ci_high ci_level log_odds se p_value n n_unit n_people working_correlation method",
                        "the monthly trend of implementation (GEE logistic), by group", n_unit="observations", unit="odds_ratio"),
    "target": TableSpec("measure", "level measure unit estimate ci_low ci_high ci_level n n_unit n_people n_missing deff method suppressed breakdown school_id window target met status",
                        "the plan's level-4 measure in its month, district and each school, judged against the target", n_unit="observations", unit="share"),
    "funnel": TableSpec("measure", "level school_id measure unit n n_unit observed n_people estimate ci_low ci_high ci_level p0 low_95 high_95 low_998 high_998 z position phi method suppressed term",
                        "a participant school's latest rate against the district's, with control limits", n_unit="observations",
                        unit="share", filled={"level": 4, "measure": "implementation_rate",
                                              "method": "observed / observations in the school's latest term"},
                        no_interval="a school is judged by exact binomial control limits around the district's rate "
                        "(p0), not by an interval of its own"),
    "funnel_curve": TableSpec("diagnostic", "n p0 low_95 high_95 low_998 high_998",
                        "the funnel chart's control limits by number of observations"),
    "dose_bands": TableSpec("measure", "level hours_band measure unit estimate ci_low ci_high ci_level n n_unit n_people n_missing deff method suppressed",
                        "implementation by PL hours attended, banded", n_unit="observations", unit="share"),
    "dose_model": TableSpec("measure", "level measure unit estimate ci_low ci_high ci_level p_value log_odds_per_hour se_per_hour n n_unit n_people method",
                        "implementation against PL hours (GEE logistic)", n_unit="observations", unit="odds_ratio"),
    "level_of_use": TableSpec("measure", "level level_of_use level_of_use_label measure unit estimate ci_low ci_high ci_level n n_unit n_people n_missing deff method suppressed",
                        "implementation by CBAM Level of Use", n_unit="observations", unit="share"),
    "link": TableSpec("measure", "level measure unit predictor estimate ci_low ci_high ci_level p_value spearman_rho n n_unit method",
                        "correlation across participant schools of implementation with a level-3 measure", n_unit="schools", unit="correlation"),
}  # fmt: skip

#: The tables its multi-year part (`.years`, ``Level.years``) adds to ``Evaluation.extras``, declared.
YEARS_TABLES = {
    "years_practice": TableSpec("diagnostic", "cohort months_since_joining month estimate ci_low ci_high schools suppressed",
                        "the implementation rate (a share of walkthroughs) of a cohort's schools by month since joining; "
                        "hidden cells have no estimate", built_by="plevaluate.levels.practice.years"),
}  # fmt: skip

#: How each of its tables about people is suppressed when published (`plevaluate.privacy.publish_levels`).
PRIVACY: tuple[Rule, ...] = (
    COVERAGE_RULE,
    Rule(
        "rates",
        ("n_people",),
        ("level", "breakdown", "group", "school_id", "month", "term", "measure", "method"),
        within=("breakdown", "group", "month", "term"),  # a group's schools add up to the group's rows
        unit="educators observed",
        school_totals=True,
        margins=(("breakdown", "school_id", "term"), ("breakdown", "school_id")),  # months -> term -> year
        totals="rates",
    ),
    Rule(
        "target",
        ("n_people",),
        ("level", "breakdown", "school_id", "measure", "method", "window", "target"),
        within=("breakdown",),
        # a school's target month is that month's row of rates: hidden there (even to protect another
        # school's month), hidden here; the month alone, not the school's whole level
        follow=("rates", ("school_id", "window=month")),
        follow_rows_only=True,
        unit="educators observed",
        school_totals=True,
    ),
    Rule(
        "funnel",
        ("n_people",),
        ("level", "school_id", "measure", "p0", "phi", "method", "term"),
        within=(),
        unit="educators observed",
        school_totals=True,
    ),
    Rule("dose_bands", ("n_people",), ("level", "hours_band", "measure", "method"), within=()),
    Rule("trend", ("n_people",), ("level", "measure", "group", "method")),
    Rule("dose_model", ("n_people",), ("level", "measure", "method")),
    Rule(
        "level_of_use",
        ("n_people",),
        ("level", "level_of_use", "level_of_use_label", "measure", "method"),
        within=(),
    ),
)
