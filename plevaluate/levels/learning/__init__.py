"""Level 2, participants' learning: did participants gain the intended knowledge and skills?

Everything about this level lives in this package: its registration (`LEVEL`), its computation (`.compute`),
its declared tables and their privacy rules (`.tables`), its report sections (`.sections`) and its part of the
design check (`.design`).
"""

from __future__ import annotations

from ...chain import from_target
from ...results import Level
from .compute import (
    EXPERIENCE_BANDS,
    evaluate_learning,
    experience_band,
    learning_gains,
    match_pairs,
    missing_post_check,
    program_effect,
    run,
)
from .design import check as design_check
from .tables import PRIVACY, TABLES

__all__ = [
    "LEVEL",
    "PRIVACY",
    "TABLES",
    "EXPERIENCE_BANDS",
    "evaluate_learning",
    "experience_band",
    "learning_gains",
    "match_pairs",
    "missing_post_check",
    "program_effect",
]

LEVEL = Level(
    number=2,
    key="learning",
    name="Learning",
    question="Did participants gain the intended knowledge and skills?",
    run=run,
    headline=from_target,
    measure=lambda plan: "gain from pre to post in SD units (g_av)",
    unit="sd",
    evidence="pre/post assessments of {people} educators",
    evidence_hidden="pre/post assessments: the number of educators not shown (protects a smaller group)",
    met="the assessment showed the intended learning",
    not_met="assessment gains fell short of the target ({value} against {target})",
    unsure="assessment gains",
    more_evidence="pre and post scores from more educators would settle it",
    sections={
        "district": "plevaluate.levels.learning.sections:district",
        "school": "plevaluate.levels.learning.sections:school",
    },
    privacy=PRIVACY,
    design=design_check,
    tables=TABLES,
)
