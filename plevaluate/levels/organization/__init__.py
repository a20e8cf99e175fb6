"""Level 3, organization support and change: did the organization support the change?

Everything about this level lives in this package: its registration (`LEVEL`), its computation (`.compute`),
its declared tables and their privacy rules (`.tables`), its report sections (`.sections`) and its part of the
design check (`.design`).
"""

from __future__ import annotations

from ...results import Level, Parts
from ...survey import PART_KEY, SurveyLayout, SurveySums, summarize_survey, survey_facts
from .compute import (
    condition_ratings,
    conditions_change,
    conditions_matrix,
    conditions_target,
    evaluate_organization,
    flag_schools,
    headline,
    measure_words,
    prepare_staff_survey,
    principal_participation,
    role_participation,
    run,
    structure_means,
)
from .design import check as design_check
from .tables import PRIVACY, TABLES

__all__ = [
    "LEVEL",
    "PRIVACY",
    "TABLES",
    "condition_ratings",
    "conditions_change",
    "conditions_matrix",
    "conditions_target",
    "evaluate_organization",
    "flag_schools",
    "role_participation",
    "principal_participation",
    "structure_means",
]

LEVEL = Level(
    number=3,
    key="organization",
    name="Organization support",
    question="Did the organization support the change?",
    run=run,
    headline=headline,
    measure=measure_words,
    unit="share",
    evidence="{records} conditions ratings, with principal participation and the staff survey",
    evidence_hidden="conditions ratings: how many not shown (protects a smaller group)",
    met="the organization supported it",
    not_met="support lagged ({value} against a target of {target})",
    unsure="support",
    sections={
        "district": "plevaluate.levels.organization.sections:district",
        "school": "plevaluate.levels.organization.sections:school",
        "board": "plevaluate.levels.organization.sections:board",
        "technical": "plevaluate.levels.organization.sections:technical",
        "next_steps": "plevaluate.levels.organization.sections:next_steps",
    },
    privacy=PRIVACY,
    design=design_check,
    tables=TABLES,
    parts=Parts(
        table="reactions",
        key=PART_KEY,  # the staff survey's answers, summed by educator like level 1's
        prepare=prepare_staff_survey,
        facts=survey_facts,
        layout=SurveyLayout.of,
        summarize=summarize_survey,
        combine=SurveySums.combine,
    ),
)
