"""Level 4, participants' use of new knowledge and skills: are educators using the practice?

Everything about this level lives in this package: its registration (`LEVEL`), its computation (`.compute`),
its declared tables and their privacy rules (`.tables`), its tables over several school years (`.years`), its
report sections (`.sections`) and its part of the design check (`.design`).
"""

from __future__ import annotations

from ...results import Level, Parts, no_facts, no_layout
from .compute import (
    HOUR_BANDS,
    conditions_link,
    dose_response,
    evaluate_practice,
    funnel,
    funnel_curve,
    funnel_limits,
    gee_logistic,
    headline,
    implementation_rates,
    observations_in_parts,
    practice_users,
    prepare_observations,
    run,
    trend_model,
)
from .design import check as design_check
from .sums import ModelData, ObservationSums, refine, summarize
from .tables import PRIVACY, TABLES, YEARS_TABLES
from .years import years as years_tables

__all__ = [
    "LEVEL",
    "PRIVACY",
    "TABLES",
    "HOUR_BANDS",
    "conditions_link",
    "dose_response",
    "evaluate_practice",
    "funnel",
    "funnel_curve",
    "funnel_limits",
    "gee_logistic",
    "implementation_rates",
    "practice_users",
    "prepare_observations",
    "trend_model",
]

LEVEL = Level(
    number=4,
    key="practice",
    name="Use of the practice",
    question="Are educators using the practice in classrooms?",
    run=run,
    headline=headline,
    needs=(3,),
    measure=lambda plan: "share of classroom visits where the practice was seen",
    unit="share",
    evidence="{records} classroom observations of {people} educators",
    evidence_hidden="classroom observations: how many, and of how many educators, not shown (protects a smaller group)",
    met="teachers used it in classrooms",
    not_met="classroom use stayed below the target ({value} against {target})",
    unsure="classroom use",
    more_evidence="more classroom visits, to more classrooms, would settle it",
    sections={
        "district": "plevaluate.levels.practice.sections:district",
        "school": "plevaluate.levels.practice.sections:school",
        "board": "plevaluate.levels.practice.sections:board",
        "technical": "plevaluate.levels.practice.sections:technical",
        "years_district": "plevaluate.levels.practice.sections:years_district",
    },
    privacy=PRIVACY,
    years=years_tables,
    years_tables=YEARS_TABLES,
    design=design_check,
    tables=TABLES,
    parts=Parts(
        table="observations",
        key="educator_id",  # an educator's observations in one part: the GEE's groups and the rates' clusters
        prepare=observations_in_parts,
        facts=no_facts,
        layout=no_layout,
        summarize=summarize,
        combine=ObservationSums.combine,
        hold=ModelData,  # each part's observations as the GEE models read them, for their rounds
        refine=refine,
    ),
)
