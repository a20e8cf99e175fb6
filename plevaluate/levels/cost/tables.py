"""The tables level 0 (cost) publishes, declared (`plevaluate.schema`), and how each table about people is
suppressed when published (`plevaluate.privacy.Rule`)."""

from __future__ import annotations

from ...privacy import Rule
from ...schema import TableSpec

__all__ = ["PRIVACY", "TABLES"]

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
    "ratios": TableSpec("diagnostic", "measure estimate total_cost denominator counted status",
                        "the district's cost per participant, per student and per educator using the practice"),
    "effectiveness": TableSpec("diagnostic", "measure cost_per_student g g_ci_low g_ci_high estimate ci_low ci_high status",
                        "cost per student for each 0.1 SD of effect, with its interval"),
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
    Rule("ratios", ("denominator",), ("measure", "total_cost", "counted"), within=None, unit="people counted"),
)
