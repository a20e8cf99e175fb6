"""What the professional learning cost, who paid, and what each unit of result cost.

Costs follow the ingredients method (Levin, McEwan, Belfield, Bowden & Shand, *Economic Evaluation
in Education*, 3rd ed., 2018): every resource the program used, not only invoices. The lines of
costs.csv (vendor fees, coaches, substitutes and stipends, materials and licences, facilities,
evaluation) are joined by **participants' time**: hours attended (attendance minutes, or the
session's hours where minutes are missing) times the plan's ``educator_hourly_rate``. The plan's
``cost.include_participant_time: false`` gives a budget-only view.

District-level lines (no school_id) are **shared out to participant schools in proportion to their
participating educators** (the rule is written on every allocated line). Ratios: cost per
participant, per contact hour, per educator observed using the practice (level 4), per student
served, and cost-effectiveness: cost per student per 0.1 SD of effect (level 5), with the effect's
interval carried through - "not estimable" whenever the effect's interval includes zero or the
effect is not positive, never a negative or infinite ratio.

Multi-year programs: every line is assigned to its school year (August-July); with the plan's
``cost.discount_rate`` r, costs in year t after the first are discounted by ``(1 + r)^-t``; a line
with ``useful_life_years`` n (an optional costs.csv column) is a one-time cost annualized over n
years, ``C r / (1 - (1 + r)^-n)`` (``C / n`` when r = 0), and only its first year's share is
charged to this evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..._tidy import attended_hours, school_year
from ...chain import Cell, hidden, school_row
from ...results import LevelResult, Note
from ...vocabulary import in_program

if TYPE_CHECKING:
    from ...contract import District

__all__ = [
    "allocate",
    "cost_effectiveness",
    "cost_lines",
    "cost_ratios",
    "cost_totals",
    "evaluate_cost",
    "school_year",
]

TIME_SOURCE = "participants' time (in kind)"

#: The columns of a cost line, before allocation to schools.
LINE_COLUMNS = (
    "item",
    "category",
    "funding_source",
    "school_id",
    "school_year",
    "amount",
    "hours",
    "charged",
    "source",
)


def _annualized(amount: float, life: float, rate: float) -> float:
    if not life or np.isnan(life) or life <= 1:
        return amount
    if rate == 0:
        return amount / life
    return amount * rate / (1 - (1 + rate) ** -life)


def cost_lines(
    costs: pd.DataFrame | None,
    attendance: pd.DataFrame | None,
    educators: pd.DataFrame,
    sessions: pd.DataFrame | None,
    *,
    hourly_rate: float,
    include_time: bool = True,
    default_year: str = "",
    discount_rate: float = 0.0,
) -> pd.DataFrame:
    """Every ingredient as a line: costs.csv rows plus participants' time per school and school year.

    Source: the ingredients method (Levin, McEwan, Belfield, Bowden & Shand 2018), annualizing durable items
    over their useful life at the plan's discount rate.

    Returns
    -------
    DataFrame
        item, category, funding_source, school_id (NA for district-level lines), school_year,
        amount (as recorded), hours (participant time lines), charged (the amount charged to the
        evaluation: annualized when ``useful_life_years`` is given, discounted by year), source
        (``costs.csv`` or ``attendance``).
    """
    frames = []
    if costs is not None and len(costs):
        lines = costs.copy()
        lines["school_year"] = school_year(
            lines["date"] if "date" in lines else pd.Series(pd.NaT, index=lines.index), default_year
        )
        life = pd.to_numeric(lines["useful_life_years"], errors="coerce") if "useful_life_years" in lines else np.nan
        lines["charged"] = [
            _annualized(a, n, discount_rate)
            for a, n in zip(lines["amount"].astype(float), pd.Series(life, index=lines.index))
        ]
        lines["hours"] = np.nan
        lines["source"] = "costs.csv"
        if "school_id" not in lines:
            lines["school_id"] = pd.NA
        frames.append(lines[list(LINE_COLUMNS)])
    if include_time and attendance is not None and len(attendance):
        attended = attendance.copy()
        if sessions is not None:
            dates = attended["session_id"].map(sessions.drop_duplicates("session_id").set_index("session_id")["date"])
        else:
            dates = pd.Series(pd.NaT, index=attended.index)
        attended["hours"] = attended_hours(attended, sessions)
        attended["school_id"] = attended["educator_id"].map(
            educators.drop_duplicates("educator_id").set_index("educator_id")["school_id"]
        )
        attended["school_year"] = school_year(dates, default_year)
        time = attended.groupby(["school_id", "school_year"], dropna=False)["hours"].sum().reset_index()
        time["amount"] = time["hours"] * hourly_rate
        time["charged"] = time["amount"]
        time["item"] = f"Participants' time in PL ({hourly_rate:,.2f} per hour)"
        time["category"] = "participant_time"
        time["funding_source"] = TIME_SOURCE
        time["source"] = "attendance"
        frames.append(time[list(LINE_COLUMNS)])
    if not frames:
        return pd.DataFrame(columns=list(LINE_COLUMNS))
    out = pd.concat(frames, ignore_index=True)
    years = sorted(y for y in out["school_year"].dropna().unique() if y)
    if discount_rate and years:
        first = int(years[0][:4])
        offset = out["school_year"].map(lambda y: int(y[:4]) - first if isinstance(y, str) and y else 0)
        out["charged"] = out["charged"] / (1 + discount_rate) ** offset
    return out


def allocate(lines: pd.DataFrame, educators: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Share district-level lines among participant schools in proportion to their participating educators.

    Returns
    -------
    DataFrame
        ``lines`` with every district-level line split into one line per participant school
        (``allocated`` True, ``rule`` stating the share); school lines unchanged. The total is unchanged.
    """
    participants = educators[in_program(educators, schools).to_numpy()]
    program = set(schools.loc[schools["group"] == "participant", "school_id"])
    counts = participants[participants["school_id"].isin(program)].groupby("school_id").size()
    counts = counts[counts > 0]
    local = lines[lines["school_id"].notna()].assign(allocated=False, rule="recorded for this school")
    shared = lines[lines["school_id"].isna()]
    if shared.empty or counts.empty:
        return pd.concat(
            [local, shared.assign(allocated=False, rule="district-level, not allocated")], ignore_index=True
        )
    weights = counts / counts.sum()
    # every shared line once per school, school after school, in one step (not one copy of the lines per school)
    n_lines, n_schools = len(shared), len(weights)
    parts = shared.iloc[np.tile(np.arange(n_lines), n_schools)].reset_index(drop=True)
    parts["school_id"] = pd.array(np.repeat(weights.index.to_numpy(), n_lines), dtype=shared["school_id"].dtype)
    weight = np.repeat(weights.to_numpy(), n_lines)
    for column in ("amount", "charged", "hours"):
        parts[column] = parts[column] * weight
    parts["allocated"] = True
    parts["rule"] = "district-level line shared in proportion to participating educators"
    return pd.concat([local, parts], ignore_index=True)


def cost_totals(lines: pd.DataFrame, by: str) -> pd.DataFrame:
    """Charged cost per value of ``by`` (category, funding_source, school_id, school_year), with its share.

    Returns
    -------
    DataFrame
        <by>, cost, share (of the total), lines.
    """
    totals = lines.groupby(by, dropna=False)["charged"].agg(cost="sum", lines="size").reset_index()
    total = totals["cost"].sum()
    totals["share"] = totals["cost"] / total if total else np.nan
    return totals.sort_values("cost", ascending=False, ignore_index=True)[[by, "cost", "share", "lines"]]


def cost_ratios(total: float, denominators: dict[str, tuple[float, str]]) -> pd.DataFrame:
    """Cost per unit: ``denominators`` maps measure -> (count, what is counted).

    A count of zero or a missing count gives no ratio (``estimate`` NaN, ``status`` says why).

    Returns
    -------
    DataFrame
        measure, estimate, total_cost, denominator, counted, status.
    """
    rows = []
    for measure, (count, counted) in denominators.items():
        ok = count is not None and not pd.isna(count) and count > 0
        rows.append(
            {
                "measure": measure,
                "estimate": total / count if ok else np.nan,
                "total_cost": total,
                "denominator": count,
                "counted": counted,
                "status": "estimable" if ok else f"not estimable: no {counted}",
            }
        )
    return pd.DataFrame(rows)


def cost_effectiveness(
    cost_per_student: float, g: float, g_low: float, g_high: float, *, per: float = 0.1, ci: float = 0.95
) -> dict:
    """Cost per student per ``per`` SD of effect, with the effect's interval carried through.

    Source: the cost-effectiveness ratio of Levin et al. (2018), the effect's interval carried through to the ratio.

    ``ratio = cost_per_student / (g / per)``; its interval is ``cost_per_student / (g_high / per)`` to
    ``cost_per_student / (g_low / per)``. When the effect is not positive, or its interval includes zero,
    the ratio is not estimable (it would be negative or unbounded): estimate and interval are NaN and
    ``status`` says why.

    >>> cost_effectiveness(500.0, 0.2, 0.1, 0.3)["estimate"]
    250.0
    >>> print(cost_effectiveness(500.0, 0.1, -0.02, 0.22)["status"])
    not estimable: the effect's 95% interval includes zero
    """
    out = {
        "measure": f"cost_per_student_per_{per:g}_sd",
        "cost_per_student": cost_per_student,
        "g": g,
        "g_ci_low": g_low,
        "g_ci_high": g_high,
        "estimate": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
    }
    if any(pd.isna(v) for v in (cost_per_student, g, g_low, g_high)):
        return {**out, "status": "not estimable: no effect estimate"}
    if g <= 0:
        return {**out, "status": "not estimable: the effect is zero or negative"}
    if g_low <= 0:
        return {**out, "status": f"not estimable: the effect's {ci:.0%} interval includes zero"}
    return {
        **out,
        "estimate": cost_per_student / (g / per),
        "ci_low": cost_per_student / (g_high / per),
        "ci_high": cost_per_student / (g_low / per),
        "status": "estimable",
    }


def evaluate_cost(
    district: District,
    *,
    practice_users: pd.Series | None = None,
    effect: pd.Series | None = None,
) -> LevelResult:
    """The cost of the program for the district and each participant school.

    Parameters
    ----------
    practice_users : Series, optional
        school_id -> educators observed using the practice (level 4, `plevaluate.levels.practice.practice_users`).
    effect : Series, optional
        The level-5 treatment row (hedges_g, g_ci_low, g_ci_high).

    Returns
    -------
    LevelResult
        Level 0 ("cost"). Tables: ``lines`` (every ingredient, allocated), ``by_category``,
        ``by_source``, ``by_year``, ``by_source_category`` (for the stacked bar), ``schools`` (per
        participant school: cost, participants, hours, students, cost per participant and per
        student (suppression of small counts happens when publishing: `plevaluate.privacy.publish_levels`), ``ratios`` (district) and ``effectiveness`` (cost per student per 0.1 SD).
    """
    plan = district.plan
    name = "cost"
    if district.costs is None and (not plan.cost.include_participant_time or district.attendance is None):
        return LevelResult(0, name, evidence=False, notes=("no costs were recorded (costs.csv is absent)",))
    notes: list[str] = []
    if district.costs is None:
        notes.append("costs.csv is absent: only participants' time is counted")
    if plan.cost.include_participant_time and plan.educator_hourly_rate == 0:
        notes.append("educator_hourly_rate is 0 in plan.yml: participants' time is counted at no cost")
    lines = cost_lines(
        district.costs,
        district.attendance,
        district.educators,
        district.sessions,
        hourly_rate=plan.educator_hourly_rate,
        include_time=plan.cost.include_participant_time,
        default_year=plan.school_year,
        discount_rate=plan.cost.discount_rate,
    )
    lines = allocate(lines, district.educators, district.schools)
    total = float(lines["charged"].sum())
    session_years = set()
    if district.sessions is not None:
        session_years = set(school_year(district.sessions["date"], plan.school_year).dropna())
        idle = sorted(set(lines["school_year"].dropna()) - session_years)
        if idle:
            notes.append(f"costs recorded in {', '.join(idle)}, a school year with no PL sessions: check the dates")
    educators = district.educators
    participants = educators[in_program(educators, district.schools).to_numpy()]
    hours = lines.loc[lines["category"] == "participant_time", ["school_id", "hours"]]
    students = None
    if 0 in district.summaries:  # counted in parts where they are (a Dask cluster)
        _, students = district.summaries[0]
    elif district.students is not None:
        students = post_students(district.students)
    program = district.schools.loc[district.schools["group"] == "participant", "school_id"].tolist()
    # each school's sums in one grouped pass over the lines (not one scan of every line per school)
    cost_of = lines.groupby("school_id")["charged"].sum()
    people_of = participants.groupby("school_id").size()
    hours_of = hours.groupby("school_id")["hours"].sum()
    school_row = []
    for school in program:
        cost = float(cost_of.get(school, 0.0))
        n_people = int(people_of.get(school, 0))
        n_students = int(students.get(school, 0)) if students is not None else np.nan
        school_row.append(
            {
                "school_id": school,
                "cost": cost,
                "participants": n_people,
                "hours": float(hours_of.get(school, 0.0)),
                "students": n_students,
                "cost_per_participant": cost / n_people if n_people else np.nan,
                "cost_per_student": cost / n_students if n_students else np.nan,
            }
        )
        if n_people == 0:
            notes.append(
                Note(
                    f"{school} has no participating educators: cost per participant not estimable",
                    level=0,
                    scope=school,
                    kind="missing",
                )
            )
    schools = pd.DataFrame(
        school_row,
        columns=["school_id", "cost", "participants", "hours", "students", "cost_per_participant", "cost_per_student"],
    )
    # cost per participant reveals the number of participants: privacy.publish_levels hides it below min_n
    n_participants = len(participants[participants["school_id"].isin(program)])
    contact_hours = float(hours["hours"].sum()) if len(hours) else np.nan
    users = float(practice_users.sum()) if practice_users is not None else np.nan
    n_students = float(students.reindex(program).fillna(0).sum()) if students is not None else np.nan
    ratios = cost_ratios(
        total,
        {
            "cost_per_participant": (n_participants, "participating educators"),
            "cost_per_contact_hour": (contact_hours, "PL hours attended"),
            "cost_per_educator_using_practice": (users, "educators observed using the practice"),
            "cost_per_student": (n_students, "students served in program schools"),
        },
    )
    tables = {
        "lines": lines,
        "by_category": cost_totals(lines, "category"),
        "by_source": cost_totals(lines, "funding_source"),
        "by_year": cost_totals(lines, "school_year"),
        "by_source_category": lines.groupby(["funding_source", "category"])["charged"]
        .sum()
        .rename("cost")
        .reset_index(),
        "schools": schools,
        "ratios": ratios,
    }
    if effect is not None:
        per_student = ratios.set_index("measure").loc["cost_per_student", "estimate"]
        row = cost_effectiveness(
            per_student, effect.get("hedges_g"), effect.get("g_ci_low"), effect.get("g_ci_high"), ci=plan.ci
        )
        tables["effectiveness"] = pd.DataFrame([row])
        if row["status"] != "estimable":
            notes.append(f"cost per student per 0.1 SD of effect {row['status']}")
    shared = lines[lines["allocated"]]
    if len(shared):
        notes.append(
            "district-level costs are shared among participant schools in proportion to their participating educators"
        )
    meta = {
        "total": total,
        "hourly_rate": plan.educator_hourly_rate,
        "include_participant_time": plan.cost.include_participant_time,
        "discount_rate": plan.cost.discount_rate,
        "budget_total": float(lines.loc[lines["source"] == "costs.csv", "charged"].sum()),
        "time_total": float(lines.loc[lines["source"] == "attendance", "charged"].sum()),
    }
    return LevelResult(0, name, tables, tuple(notes), meta)


def post_students(students: pd.DataFrame, layout: None = None) -> pd.Series:
    """Each school's students (distinct, with a post row where periods are recorded): cost per student's divisor.
    Counts of parts keeping each student's rows together add up (`added_counts`), so on a Dask cluster they are
    counted where the students are (`plevaluate.results.Parts`)."""
    if "period" in students:
        students = students[students["period"] == "post"]
    return students.groupby("school_id")["student_id"].nunique()


def added_counts(parts: list[pd.Series]) -> pd.Series:
    """`post_students` of parts, added school by school."""
    counts = [part for part in parts if len(part)]
    return pd.concat(counts).groupby(level=0).sum() if counts else pd.Series(dtype="int64")


def as_read(students: pd.DataFrame, district: District) -> pd.DataFrame:
    """students.csv as it is (cost counts its rows; nothing to add)."""
    return students


def run(district: District, upstream: Mapping[int, LevelResult]) -> LevelResult:
    practice, outcomes = upstream.get(4), upstream.get(5)
    effect = None if outcomes is None else outcomes.handoff.get("effect")
    return evaluate_cost(
        district, practice_users=None if practice is None else practice.handoff.get("users"), effect=effect
    )


def headline(result: LevelResult, cell: Cell) -> dict | None:
    """The district's total cost; a program school's share of it (district lines shared by its participants)."""
    if cell.school_id is None:
        return cell.row(result.meta.get("total", np.nan), status="reported", detail="reported")
    schools = result.tables.get("schools")
    match = school_row(schools, cell.school_id) if schools is not None else None
    if match is not None and hidden(match):
        return cell.row(status=hidden(match))
    total = float(match["cost"]) if match is not None else np.nan
    return cell.row(total, status="reported", detail="district-level lines shared by participating educators")
