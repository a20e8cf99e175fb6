"""The tables level 3 (organization) publishes, declared (`plevaluate.schema`), and how each table about people is
suppressed when published (`plevaluate.privacy.Rule`)."""

from __future__ import annotations

from dataclasses import replace

from ...comments.themes import PRIVACY as COMMENT_PRIVACY
from ...comments.themes import TABLES as COMMENT_TABLES
from ...privacy import COVERAGE_RULE, Rule, survey_rules
from ...schema import TableSpec

__all__ = ["PRIVACY", "TABLES"]

#: The tables `evaluate_organization` may return, declared (`plevaluate.schema`).
TABLES = {
    "ratings": TableSpec("diagnostic", "school_id group structure indicator_id term term_order rating n_ratings",
                        "one conditions rating per school, indicator and term"),
    "coverage": TableSpec("diagnostic", "level breakdown school_id records n_people",
                        "what the level's evidence rests on: the district and each school"),
    "structures": TableSpec("measure", "level breakdown school_id structure term term_order measure unit estimate ci_low ci_high ci_level n n_unit method",
                        "mean rating of a support structure per term, district and by school", n_unit="schools", unit="rating"),
    "change": TableSpec("diagnostic", "school_id structure indicator_id first_term latest_term first_rating latest_rating terms_rated change",
                        "an indicator's first and latest rating at a school"),
    "matrix": TableSpec("diagnostic", "school_id group structure indicator_id rating",
                        "the latest rating of every school and indicator (heat map)"),
    "target": TableSpec("measure", "level breakdown school_id measure unit estimate ci_low ci_high ci_level n n_unit method target met status at_least",
                        "participant schools at the plan's rating: the district share and each school's rating", n_unit="schools", unit={"share_schools_at_least": "share", "latest_rating": "rating"}),
    "flags": TableSpec("diagnostic", "school_id latest_mean indicators_below indicators share_at_least change flagged reason",
                        "a participant school's latest ratings and whether it is flagged for support"),
    "principals": TableSpec("measure", "level school_id measure unit estimate ci_low ci_high ci_level sessions_attended n n_unit principals method",
                        "the share of PL sessions a school's principal attended (counted, not sampled: no interval)",
                        n_unit="sessions", unit="share",
                        no_interval="every session offered is counted, not sampled"),
    "roles": TableSpec("measure", "level participant role measure unit estimate ci_low ci_high ci_level n n_unit method suppressed",
                        "share of sessions attended by role and program membership", n_unit="educators", unit="share"),
    "staff_survey": TableSpec("measure", "level breakdown school_id construct measure unit threshold estimate ci_low ci_high ci_level sd n n_unit n_people n_missing method suppressed",
                        "the staff survey's constructs on support, district and by school", n_unit="responses", unit={"mean": "rating", "share_at_least": "share"}),
    "staff_survey_items": TableSpec("measure", "level breakdown school_id item_id text construct measure unit estimate ci_low ci_high ci_level sd n n_unit n_people n_missing method suppressed",
                        "the staff survey's items, district and by school", n_unit="answers", unit={"mean": "rating", "top2_share": "share"}),
    "staff_survey_coverage": TableSpec("diagnostic", "level breakdown school_id records n_people",
                        "what the staff survey rests on: the district and each school"),
    **COMMENT_TABLES,  # its open-ended answers (plevaluate.comments)
}  # fmt: skip

#: How each of its tables about people is suppressed when published (`plevaluate.privacy.publish_levels`).
PRIVACY: tuple[Rule, ...] = (
    *COMMENT_PRIVACY,
    replace(COVERAGE_RULE, table="staff_survey_coverage", unit="staff survey respondents"),
    *survey_rules("staff", "staff survey respondents"),
    Rule("roles", ("n",), ("level", "participant", "role", "measure", "method"), unit="educators"),
)
