"""Level 1, participants' reactions: did participants find the learning useful and well run?

The session survey's items tagged level 1 (survey_items.csv), summarized by `plevaluate.survey`;
the plan's level-1 target is the share of respondents whose mean on one construct reaches a rating.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .chain import from_target
from .privacy import RULES
from .results import Level, LevelResult
from .schema import TableSpec
from .survey import evaluate_survey

if TYPE_CHECKING:
    from .contract import District

__all__ = ["LEVEL", "evaluate_reactions"]


def evaluate_reactions(district: District, *, ci: float | None = None) -> LevelResult:
    """Level 1 for the district and every school, with the plan's level-1 target (see
    `plevaluate.survey.evaluate_survey`).

    Examples
    --------
    >>> import plevaluate
    >>> result = evaluate_reactions(plevaluate.load("data/sample"))
    >>> result["target"][["breakdown", "school_id", "status"]].head(2)  # doctest: +SKIP
    """
    goal = district.plan.levels.reactions
    return evaluate_survey(
        district, level=1, construct=goal.construct, rating_at_least=goal.rating_at_least, target=goal.target, ci=ci
    )


def _run(district: District, upstream: Mapping[int, LevelResult]) -> LevelResult:
    return evaluate_reactions(district)


def _measure(plan: dict) -> str:
    goal = plan.get("levels", {}).get("reactions", {})
    return (
        f"share of respondents rating '{goal.get('construct', 'content')}' {goal.get('rating_at_least', 4):g} or higher"
    )


#: The tables `evaluate_reactions` may return, declared (`plevaluate.schema`).
TABLES = {
    "coverage": TableSpec("diagnostic", "level breakdown school_id records n_people",
                        "what the level's evidence rests on: the district and each school"),
    "constructs": TableSpec("measure", "level breakdown school_id session_id format role construct measure threshold estimate ci_low ci_high ci_level sd n n_unit n_people n_missing method suppressed",
                        "a construct's mean or share of respondents at the rating, by breakdown", n_unit="responses"),
    "items": TableSpec("measure", "level breakdown school_id item_id text construct measure estimate ci_low ci_high ci_level sd n n_unit n_people n_missing method suppressed",
                        "an item's mean or top-two share, district and by school", n_unit="answers"),
    "distribution": TableSpec("diagnostic", "level breakdown school_id item_id text construct reverse_coded category count share n n_people suppressed",
                        "an item's answers by category, district and by school (Likert charts)"),
    "reliability": TableSpec("measure", "level construct measure k n n_unit estimate ci_low ci_high ci_level method",
                        "Cronbach's alpha of a construct", n_unit="responses"),
    "response_rates": TableSpec("measure", "level breakdown school_id session_id measure estimate ci_low ci_high ci_level n n_unit n_people respondents method suppressed",
                        "respondents over attendees, district, by school and by session", n_unit="attendances"),
    "target": TableSpec("measure", "level breakdown school_id construct measure threshold estimate ci_low ci_high ci_level sd n n_unit n_people n_missing method suppressed target met status",
                        "the plan's level-1 measure, district and each school, judged against the target", n_unit="responses"),
}  # fmt: skip


LEVEL = Level(
    number=1,
    key="reactions",
    name="Reactions",
    question="Did participants find the learning useful and well run?",
    run=_run,
    headline=from_target,
    measure=_measure,
    unit="share",
    evidence="{records} survey responses from {people} educators",
    evidence_hidden="survey responses: how many, and from how many educators, not shown (protects a smaller group)",
    met="participants valued the sessions",
    not_met="participants did not rate the sessions highly enough ({value} against a target of {target})",
    unsure="participants' ratings",
    more_evidence="more survey responses from participants would settle it",
    sections={"district": "plevaluate.report:district_level1", "school": "plevaluate.report:school_level1"},
    privacy=RULES[1],
    tables=TABLES,
)
