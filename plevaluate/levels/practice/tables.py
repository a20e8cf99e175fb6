"""The tables level 4 (practice) publishes, declared (`plevaluate.schema`), and how each table about people is
suppressed when published (`plevaluate.privacy.Rule`)."""

from __future__ import annotations

from ...privacy import COVERAGE_RULE, Rule
from ...schema import TableSpec

__all__ = ["PRIVACY", "TABLES"]

#: The tables `evaluate_practice` may return, declared (`plevaluate.schema`).
TABLES = {
    "coverage": TableSpec("diagnostic", "level breakdown school_id records n_people",
                        "what the level's evidence rests on: the district and each school"),
    "rates": TableSpec("measure", "level breakdown group school_id month term measure estimate ci_low ci_high ci_level n n_unit n_people n_missing deff method suppressed",
                        "share of visits where the practice was seen, by group, school, month and term", n_unit="observations"),
    "trend": TableSpec("measure", "level measure group estimate ci_low ci_high ci_level log_odds se p_value n n_unit n_people working_correlation method",
                        "the monthly trend of implementation (GEE logistic), by group", n_unit="observations"),
    "target": TableSpec("measure", "level measure estimate ci_low ci_high ci_level n n_unit n_people n_missing deff method suppressed breakdown school_id window target met status",
                        "the plan's level-4 measure in its month, district and each school, judged against the target", n_unit="observations"),
    "funnel": TableSpec("diagnostic", "school_id n observed n_people estimate p0 low_95 high_95 low_998 high_998 z position phi suppressed term",
                        "a participant school's latest rate against the district's, with control limits"),
    "funnel_curve": TableSpec("diagnostic", "n p0 low_95 high_95 low_998 high_998",
                        "the funnel chart's control limits by number of observations"),
    "dose_bands": TableSpec("measure", "level hours_band measure estimate ci_low ci_high ci_level n n_unit n_people n_missing deff method suppressed",
                        "implementation by PL hours attended, banded", n_unit="observations"),
    "dose_model": TableSpec("measure", "level measure estimate ci_low ci_high ci_level p_value log_odds_per_hour se_per_hour n n_unit n_people method",
                        "implementation against PL hours (GEE logistic)", n_unit="observations"),
    "level_of_use": TableSpec("measure", "level level_of_use level_of_use_label measure estimate ci_low ci_high ci_level n n_unit n_people n_missing deff method suppressed",
                        "implementation by CBAM Level of Use", n_unit="observations"),
    "link": TableSpec("measure", "level measure predictor estimate ci_low ci_high ci_level p_value spearman_rho n n_unit method",
                        "correlation across participant schools of implementation with a level-3 measure", n_unit="schools"),
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
        ("school_id", "p0", "phi", "term"),
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
