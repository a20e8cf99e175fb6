"""The tables level 0 (cost) publishes, declared (`plevaluate.schema`), and how each table about people is
suppressed when published (`plevaluate.privacy.Rule`)."""

from __future__ import annotations

import numpy as np

from ...privacy import Rule
from ...schema import Copy, TableSpec

__all__ = ["PRIVACY", "TABLES", "YEARS_TABLES"]

#: What the denominator of each cost ratio counts (its ``n_unit``; ``counted`` says it in words).
_RATIO_COUNTS = {
    "cost_per_participant": "educators",
    "cost_per_contact_hour": "hours",
    "cost_per_educator_using_practice": "educators",
    "cost_per_student": "students",
}

#: The tables `evaluate_cost` may return, declared (`plevaluate.schema`).
TABLES = {
    "lines": TableSpec("diagnostic", "item category funding_source school_id school_year amount hours charged source allocated rule",
                        "every ingredient of the cost, as charged and allocated to schools"),
    "by_category": TableSpec("diagnostic", "category cost share lines",
                        "cost by kind of resource"),
    "by_source": TableSpec("diagnostic", "funding_source cost share lines",
                        "cost by funding source"),
    "by_year": TableSpec("diagnostic", "school_year cost share lines",
                        "cost by school year"),
    "by_source_category": TableSpec("diagnostic", "funding_source category cost",
                        "cost by funding source and kind of resource"),
    "schools": TableSpec("diagnostic", "school_id cost participants hours students cost_per_participant cost_per_student",
                        "a participant school's cost, participants, hours and students"),
    "ratios": TableSpec("measure", "level measure unit estimate ci_low ci_high ci_level n n_unit method total_cost denominator counted status",
                        "the district's cost per participant, per hour of PL, per educator using the practice and per student",
                        n_unit=_RATIO_COUNTS, unit="dollars",
                        filled={"level": 0, "n": Copy("denominator"), "method": "total cost / denominator"},
                        no_interval="the cost and what it is divided by are counted, not sampled"),
    "effectiveness": TableSpec("measure", "level measure unit cost_per_student g g_ci_low g_ci_high estimate ci_low ci_high ci_level n n_unit method status",
                        "cost per student for each 0.1 SD of effect, with its interval", n_unit="students", unit="dollars",
                        filled={"level": 0, "n": np.nan,
                                "method": "cost per student / (g / 0.1); interval: cost per student / (the ends of g's "
                                "interval / 0.1) (Levin et al. 2018); n: not carried over (level 5's effect counts "
                                "its students)"}),
}  # fmt: skip

#: The tables its multi-year part (`.years`, ``Level.years``) adds to ``Evaluation.extras``, declared.
YEARS_TABLES = {
    "years_funding": TableSpec("diagnostic", "year funding_source cost",
                        "a school year's cost (dollars) by funding source", built_by="plevaluate.levels.cost.years"),
}  # fmt: skip

#: How each of its tables about people is suppressed when published (`plevaluate.privacy.publish_levels`).
PRIVACY: tuple[Rule, ...] = (
    Rule(
        "schools",
        ("participants",),
        ("school_id", "students"),  # a hidden school's cost would reveal its share of district lines
        within=(),
        unit="participating educators",
        school_totals=True,
    ),
    # total cost / cost per participant = participants: a ratio over fewer than min_n people is hidden,
    # its denominator with it (a six-person pilot's cost per participant would say it has six people)
    Rule(
        "ratios",
        ("denominator",),
        ("level", "measure", "total_cost", "counted", "method"),
        within=None,
        unit="people counted",
    ),
)
