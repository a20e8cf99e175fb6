"""The design check: before a program starts, can the planned evidence detect each level's target?

Read the plan and the rosters (schools, educators, students; no outcome needs to be collected yet) and say, for
each target, how precise the planned evidence will be, what true value the report could confirm, and what would
change that (more schools, more walkthroughs, a higher response rate). Each level's part is its package's
``design.py`` (``Level.design``); the statistics they use, and their published sources (Dong & Maynard's PowerUp!
models as PowerUpR computes them, Hedges & Hedberg's ICCs, Kish's design effect, Borenstein et al.'s variance of a
standardized mean change), are in `plevaluate.power`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from .contract import District
from .plan import plan_years
from .power import DesignContext, not_checked
from .results import Level
from .years import year_view

__all__ = ["DesignCheck", "check_design"]


@dataclass(frozen=True)
class DesignCheck:
    """What `check_design` found: one row per level in ``levels``, the inputs it used in ``inputs``."""

    levels: pd.DataFrame
    inputs: pd.DataFrame
    program: str

    def to_text(self) -> str:
        """The check as the command prints it."""
        lines = [f"Design check for {self.program}", ""]
        for row in self.levels.itertuples():
            lines.append(f"Level {row.level} ({row.name}): {row.verdict}")
            lines.append(f"  target: {row.target_text}")
            lines.append(f"  planned evidence: {row.evidence}")
            lines.append(f"  {row.finding}")
            if getattr(row, "tier", ""):
                lines.append(f"  ESSA evidence it can reach: {row.tier}")
            if row.change:
                lines.append(f"  what would change it: {row.change}")
            lines.append("")
        lines.append("Inputs (source):")
        for row in self.inputs.itertuples():
            lines.append(f"  {row.input}: {row.value} ({row.source})")
        return "\n".join(lines)


def check_design(district: District, levels: Iterable[Level]) -> DesignCheck:
    """For each level's target in the plan, whether the planned evidence can detect it: each of ``levels``
    (`plevaluate.registry.levels`, handed in) with a part of the check (``Level.design``) gives its row; a level
    without one is listed as not checked.

    Uses the plan's ``design:`` options (`plevaluate.plan.DesignOptions`) and counts from the rosters: participant
    and comparison schools, participating educators and teachers, students per school (students.csv, outcome may
    be blank; or ``design.students_per_school``).
    """
    plan = district.plan
    opts = plan.design
    alpha, goal = 1 - plan.ci, opts.power
    years = plan_years(plan.school_year)
    if len(years) > 1:  # a multi-year plan: its first year, as the district will stand when the program starts
        district = year_view(district, years[0])
        plan = district.plan
    schools = district.schools
    educators = district.educators
    program_schools = frozenset(schools.loc[schools["group"] == "participant", "school_id"])
    staff = educators[educators["school_id"].isin(program_schools)]
    if "participant" in staff.columns:
        staff = staff[staff["participant"].fillna(False).astype(bool)]
    teachers = int(staff["role"].astype(str).str.lower().eq("teacher").sum())
    ctx = DesignContext(district, plan, alpha, goal, len(staff), teachers, program_schools)
    if len(years) > 1:
        ctx.note("school year checked", f"{years[0]}, the plan's first (schools in the program then)", "plan.yml")
    ctx.note("participating educators", ctx.participants, "educators.csv in participant schools")
    ctx.note("participating teachers (classrooms walked through)", teachers, "educators.csv, role teacher")
    rows = []
    for level in sorted(levels, key=lambda level: level.number):
        if level.number == 0:
            continue  # cost has no target to detect
        if level.design is None:
            rows.append(
                not_checked(level.number, _in_a_sentence(level.name), None, 0, reason="this level has no design check")
            )
        else:
            rows.append({**level.design(ctx), "name": _in_a_sentence(level.name)})  # the registry's words, one home
    table = pd.DataFrame(rows)
    table["tier"] = table["tier"].fillna("") if "tier" in table else ""  # only level 5 reaches a tier of evidence
    return DesignCheck(table, pd.DataFrame(ctx.inputs), plan.program)


def _in_a_sentence(name: str) -> str:
    """A level's name inside a sentence: its first letter lower case unless it starts an acronym ("PL reach").

    >>> _in_a_sentence("Use of the practice"), _in_a_sentence("PL reach")
    ('use of the practice', 'PL reach')
    """
    return name if name[:2].isupper() else name[:1].lower() + name[1:]
