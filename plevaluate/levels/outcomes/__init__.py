"""Level 5, student learning outcomes: did students benefit?

Everything about this level lives in this package: its registration (`LEVEL`), its computation (`.compute`),
its declared tables and their privacy rules (`.tables`), its tables over several school years (`.years`), its
report sections (`.sections`) and its part of the design check (`.design`).
"""

from __future__ import annotations

from ...results import Level, Parts
from .compute import (
    ATTRITION_BOUNDARIES,
    ATTRITION_SOURCE,
    MODEL_MEASURES,
    Layout,
    StudentSums,
    add_treatment,
    analysis_sample,
    attrition,
    attrition_verdict,
    baseline_equivalence,
    baseline_verdict,
    clustering_correction,
    estimate_effect,
    evaluate_outcomes,
    facts,
    findings,
    fit_mixed,
    headline,
    implementation_dose,
    model_rows,
    outcome_icc,
    quoted_students,
    run,
    school_effects,
    subgroup_effects,
    summarize,
    with_treatment,
)
from .design import check as design_check
from .tables import PRIVACY, TABLES, YEARS_TABLES
from .years import years as years_tables

__all__ = [
    "LEVEL",
    "PRIVACY",
    "TABLES",
    "ATTRITION_BOUNDARIES",
    "ATTRITION_SOURCE",
    "MODEL_MEASURES",
    "model_rows",
    "add_treatment",
    "baseline_verdict",
    "analysis_sample",
    "attrition",
    "attrition_verdict",
    "baseline_equivalence",
    "clustering_correction",
    "estimate_effect",
    "evaluate_outcomes",
    "findings",
    "fit_mixed",
    "implementation_dose",
    "outcome_icc",
    "school_effects",
    "subgroup_effects",
]

LEVEL = Level(
    number=5,
    key="outcomes",
    name="Student outcomes",
    question="Did students benefit?",
    run=run,
    headline=headline,
    needs=(4,),
    measure=lambda plan: "effect on student outcomes in SD units (Hedges' g)",
    unit="sd",
    evidence="scores of {people} students",  # with an outcome (not all have a prior score: a reader's review)
    evidence_hidden="student scores: the number of students not shown (protects a smaller group)",
    met="students benefited",
    not_met="the difference in students' scores did not reach the target ({value} against {target})",
    unsure="the adjusted difference in students' scores",
    program_only=False,
    effect=True,
    sections={
        "district": "plevaluate.levels.outcomes.sections:district",
        "school": "plevaluate.levels.outcomes.sections:school",
        "board": "plevaluate.levels.outcomes.sections:board",
        "technical": "plevaluate.levels.outcomes.sections:technical",
        "findings": "plevaluate.levels.outcomes.sections:findings",
        "next_steps": "plevaluate.levels.outcomes.sections:next_steps",
        "years_district": "plevaluate.levels.outcomes.sections:years_district",
        "years_board": "plevaluate.levels.outcomes.sections:years_board",
        "years_technical": "plevaluate.levels.outcomes.sections:years_technical",
    },
    privacy=PRIVACY,
    years=years_tables,
    years_tables=YEARS_TABLES,
    design=design_check,
    tables=TABLES,
    parts=Parts(
        table="students",
        key="student_id",
        prepare=with_treatment,
        facts=facts,
        layout=Layout.of,
        summarize=summarize,
        combine=StudentSums.combine,
        keep=quoted_students,  # the IDs an approved quote could name (cost counts its students in its own parts)
    ),
)
