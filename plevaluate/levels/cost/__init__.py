"""What the professional learning cost, who paid, and what each unit of result cost.

Everything about this level lives in this package: its registration (`LEVEL`), its computation (`.compute`),
its declared tables and their privacy rules (`.tables`), its tables over several school years (`.years`), its part of the district
portfolio (`.portfolio`) and its report sections (`.sections`).
"""

from __future__ import annotations

from ...results import Level, Parts, no_facts, no_layout
from .compute import (
    added_counts,
    allocate,
    as_read,
    cost_effectiveness,
    cost_lines,
    cost_ratios,
    cost_totals,
    evaluate_cost,
    headline,
    post_students,
    run,
    school_year,
)
from .portfolio import portfolio as portfolio_part
from .tables import PRIVACY, TABLES, YEARS_TABLES
from .years import years as years_tables

__all__ = [
    "LEVEL",
    "PRIVACY",
    "TABLES",
    "allocate",
    "cost_effectiveness",
    "cost_lines",
    "cost_ratios",
    "cost_totals",
    "evaluate_cost",
    "school_year",
]

LEVEL = Level(
    number=0,
    key="cost",
    name="Resources",
    question="What did the program cost, and who paid for it?",
    run=run,
    headline=headline,
    needs=(4, 5),
    measure=lambda plan: "cost: budget lines and participants' time",
    unit="dollars",
    evidence="costs.csv, attendance",
    no_evidence="no costs recorded",
    sections={
        "district": "plevaluate.levels.cost.sections:district",
        "school": "plevaluate.levels.cost.sections:school",
        "board": "plevaluate.levels.cost.sections:board",
    },
    privacy=PRIVACY,
    years=years_tables,
    years_tables=YEARS_TABLES,
    portfolio=portfolio_part,
    tables=TABLES,
    parts=Parts(
        table="students",
        key="student_id",  # a student's rows in one part: distinct students per school add up
        prepare=as_read,
        facts=no_facts,
        layout=no_layout,
        summarize=post_students,
        combine=added_counts,
    ),
)
