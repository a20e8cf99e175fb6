"""Level 2, participants' learning: did participants gain the intended knowledge and skills?

Everything about this level lives in this package: its registration (`LEVEL`), its computation (`.compute`),
its declared tables and their privacy rules (`.tables`), its report sections (`.sections`) and its part of the
design check (`.design`).
"""

from __future__ import annotations

from ...chain import from_target
from ...results import Level, Parts, no_facts, no_layout
from .compute import (
    EXPERIENCE_BANDS,
    evaluate_learning,
    experience_band,
    learning_gains,
    match_pairs,
    missing_post_check,
    pairs_in_parts,
    program_effect,
    run,
)
from .design import check as design_check
from .sums import LearningSums, summarize
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
    parts=Parts(
        table="learning",
        key="educator_id",  # an educator's pre and post scores in one part: a pair is one educator's
        prepare=pairs_in_parts,
        facts=no_facts,
        layout=no_layout,
        summarize=summarize,
        combine=LearningSums.combine,
    ),
)
