"""Level 1, participants' reactions: did participants find the learning useful and well run?

Everything about this level lives in this package: its registration (`LEVEL`), its computation (`.compute`),
its declared tables and their privacy rules (`.tables`), its report sections (`.sections`) and its part of the
design check (`.design`).
"""

from __future__ import annotations

from ...chain import from_target
from ...results import Level, Parts
from ...survey import PART_KEY, SurveyLayout, SurveySums, summarize_survey, survey_facts
from .compute import (
    evaluate_reactions,
    measure_words,
    prepare_reactions,
    run,
)
from .design import check as design_check
from .tables import PRIVACY, TABLES

__all__ = ["LEVEL", "PRIVACY", "TABLES", "evaluate_reactions"]

LEVEL = Level(
    number=1,
    key="reactions",
    name="Reactions",
    question="Did participants find the learning useful and well run?",
    run=run,
    headline=from_target,
    measure=measure_words,
    unit="share",
    evidence="{records} survey responses from {people} educators",
    evidence_hidden="survey responses: how many, and from how many educators, not shown (protects a smaller group)",
    met="participants valued the sessions",
    not_met="participants did not rate the sessions highly enough ({value} against a target of {target})",
    unsure="participants' ratings",
    more_evidence="more survey responses from participants would settle it",
    sections={
        "district": "plevaluate.levels.reactions.sections:district",
        "school": "plevaluate.levels.reactions.sections:school",
        "technical": "plevaluate.levels.reactions.sections:technical",
    },
    privacy=PRIVACY,
    design=design_check,
    tables=TABLES,
    parts=Parts(
        table="reactions",
        key=PART_KEY,  # an educator's answers and attendance in one part
        prepare=prepare_reactions,
        facts=survey_facts,
        layout=SurveyLayout.of,
        summarize=summarize_survey,
        combine=SurveySums.combine,
    ),
)
