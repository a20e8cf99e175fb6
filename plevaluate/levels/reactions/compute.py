"""Level 1, participants' reactions: did participants find the learning useful and well run?

The session survey's items tagged level 1 (survey_items.csv), summarized by `plevaluate.survey`;
the plan's level-1 target is the share of respondents whose mean on one construct reaches a rating.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from ...comments.themes import with_comments
from ...results import LevelResult
from ...survey import evaluate_survey, prepare_survey

if TYPE_CHECKING:
    from ...contract import District

__all__ = ["evaluate_reactions", "prepare_reactions"]


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


def prepare_reactions(reactions: pd.DataFrame, district: District) -> tuple:
    """Level 1's answers ready to be summed in parts (`plevaluate.survey.prepare_survey`), at the plan's rating."""
    goal = district.plan.levels.reactions
    return prepare_survey(reactions, district, level=1, threshold=goal.rating_at_least)


def run(district: District, upstream: Mapping[int, LevelResult]) -> LevelResult:
    return with_comments(evaluate_reactions(district), district, 1)


def measure_words(plan: dict) -> str:
    goal = plan.get("levels", {}).get("reactions", {})
    return (
        f"share of respondents rating '{goal.get('construct', 'content')}' {goal.get('rating_at_least', 4):g} or higher"
    )
