"""The tables level 1 (reactions) publishes, declared (`plevaluate.schema`), and how each table about people is
suppressed when published (`plevaluate.privacy.Rule`)."""

from __future__ import annotations

from ...comments.themes import PRIVACY as COMMENT_PRIVACY
from ...comments.themes import TABLES as COMMENT_TABLES
from ...privacy import COVERAGE_RULE, ITEM_KEYS, SURVEY_KEYS, Rule, survey_rules
from ...schema import TableSpec

__all__ = ["PRIVACY", "TABLES"]

#: The tables `evaluate_reactions` may return, declared (`plevaluate.schema`).
TABLES = {
    "coverage": TableSpec("diagnostic", "level breakdown school_id records n_people",
                        "what the level's evidence rests on: the district and each school"),
    "constructs": TableSpec("measure", "level breakdown school_id session_id format role construct measure unit threshold estimate ci_low ci_high ci_level sd n n_unit n_people n_missing method suppressed",
                        "a construct's mean or share of respondents at the rating, by breakdown", n_unit="responses", unit={"mean": "rating", "share_at_least": "share"}),
    "items": TableSpec("measure", "level breakdown school_id item_id text construct measure unit estimate ci_low ci_high ci_level sd n n_unit n_people n_missing method suppressed",
                        "an item's mean or top-two share, district and by school", n_unit="answers", unit={"mean": "rating", "top2_share": "share"}),
    "distribution": TableSpec("diagnostic", "level breakdown school_id item_id text construct reverse_coded category count share n n_people suppressed",
                        "an item's answers by category, district and by school (Likert charts)"),
    "reliability": TableSpec("measure", "level construct measure unit k n n_unit estimate ci_low ci_high ci_level method",
                        "Cronbach's alpha of a construct", n_unit="responses", unit="coefficient"),
    "response_rates": TableSpec("measure", "level breakdown school_id session_id measure unit estimate ci_low ci_high ci_level n n_unit n_people respondents method suppressed",
                        "respondents over attendees, district, by school and by session", n_unit="attendances", unit="share"),
    "target": TableSpec("measure", "level breakdown school_id construct measure unit threshold estimate ci_low ci_high ci_level sd n n_unit n_people n_missing method suppressed target met status",
                        "the plan's level-1 measure, district and each school, judged against the target", n_unit="responses", unit="share"),
    **COMMENT_TABLES,  # its open-ended answers (plevaluate.comments)
}  # fmt: skip

#: How each of its tables about people is suppressed when published (`plevaluate.privacy.publish_levels`).
PRIVACY: tuple[Rule, ...] = (
    *COMMENT_PRIVACY,
    COVERAGE_RULE,
    *survey_rules("", "respondents"),
    Rule(
        "distribution",
        ("n_people",),
        (*ITEM_KEYS, "reverse_coded", "category"),
        follow=("items", ("breakdown", "school_id", "item_id")),
    ),
    Rule(
        "response_rates",
        ("n_people",),
        ("level", "breakdown", "school_id", "session_id", "measure", "method"),
        within=("breakdown",),
        counts=("respondents",),
        unit="attendees",
        school_totals=True,
    ),
    Rule("reliability", ("n",), ("level", "construct", "measure", "k", "method"), unit="complete responses"),
    Rule(
        "target",
        ("n_people",),
        SURVEY_KEYS,
        follow=("constructs", ("breakdown", "school_id", "construct", "measure")),
    ),
)
