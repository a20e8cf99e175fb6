"""Level 3, organization support and change: did the organization support the change?

Three kinds of evidence, each per school and for the district:

- **conditions rubrics** (conditions.csv): each indicator (protected collaborative-planning time,
  observation-and-feedback cycles, ...) of a structure rated 1 not yet, 2 emerging, 3 developing,
  4 deepening, by term; structure means, change from the first to the latest term, the share of
  indicators at the plan's rating, and a school x indicator matrix for the heat map;
- **principal participation** (attendance.csv, educators.csv, sessions.csv): principals are the
  lever, so the share of PL sessions each school's principal attended, and participation by role;
- **staff-survey constructs** tagged level 3 in survey_items.csv, summarized by the level-1 code
  (`plevaluate.survey.evaluate_survey`).

A rubric rating describes a school, not a sample of people, so school ratings carry no interval;
district means over schools carry a t interval across schools (schools are the units).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..._tidy import coverage, latest_term, terms
from ...chain import Cell, evidence, hidden, judged, school_row
from ...comments.themes import with_comments
from ...effects import wilson_interval
from ...privacy import UNSUPPRESSED, coded_share, suppress
from ...results import LevelResult, Note, target_status
from ...survey import evaluate_survey, prepare_survey
from ...vocabulary import RATING_WORDS, counted

if TYPE_CHECKING:
    from ...contract import District

__all__ = [
    "condition_ratings",
    "conditions_change",
    "conditions_matrix",
    "conditions_target",
    "evaluate_organization",
    "flag_schools",
    "role_participation",
    "prepare_staff_survey",
    "principal_participation",
    "structure_means",
]

#: A staff-survey respondent agrees when the mean of their answers on a construct reaches this (4, "agree", on
#: the usual 1-5 scale): the level-3 staff survey's shares (``share_at_least``) are computed at it.
STAFF_AGREE = 4.0


def condition_ratings(conditions: pd.DataFrame, schools: pd.DataFrame | None = None) -> pd.DataFrame:
    """One rating per school x structure x indicator x term (the mean when raters or dates repeat within a term).

    Returns
    -------
    DataFrame
        school_id, group (when ``schools`` is given), structure, indicator_id, term, term_order,
        rating, n_ratings.
    """
    frame = conditions.join(terms(conditions["date"]))
    keys = ["school_id", "structure", "indicator_id", "term", "term_order"]
    out = frame.groupby(keys, observed=True)["rating"].agg(rating="mean", n_ratings="count").reset_index()
    if schools is not None:
        out.insert(1, "group", out["school_id"].map(schools.set_index("school_id")["group"]))
    return out.sort_values(["school_id", "term_order", "structure", "indicator_id"], ignore_index=True)


def _across_schools(values: pd.Series, ci: float) -> tuple[float, float, float]:
    """Mean over schools with a t interval (schools are the units)."""
    values = values.dropna().astype(float)
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    if n < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf(0.5 + ci / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def structure_means(ratings: pd.DataFrame, *, group: str = "participant", ci: float = 0.95) -> pd.DataFrame:
    """Mean rating per school x structure x term, and the district mean over the ``group``'s schools.

    Source: the district mean over schools with a Student t interval (schools are the units).

    Returns
    -------
    DataFrame
        level, breakdown (``school_id`` or ``district``), school_id, structure, term, term_order,
        measure (``mean_rating``), estimate, ci_low, ci_high (district rows: t interval across
        schools), n (indicators for a school, schools for the district), method.
    """
    keys = ["structure", "term", "term_order"]
    school = ratings.groupby(["school_id", *keys], observed=True)["rating"].agg(["mean", "count"]).reset_index()
    school = school.rename(columns={"mean": "estimate", "count": "n"}).assign(
        breakdown="school_id", ci_low=np.nan, ci_high=np.nan, method="mean of the structure's indicator ratings"
    )
    members = ratings if "group" not in ratings else ratings[ratings["group"] == group]
    rows = []
    member_schools = school[school["school_id"].isin(members["school_id"].unique())]
    for (structure, term, order), part in member_schools.groupby(keys, observed=True, sort=True):
        mean, low, high = _across_schools(part["estimate"], ci)
        rows.append(
            {
                "breakdown": "district",
                "school_id": pd.NA,
                "structure": structure,
                "term": term,
                "term_order": order,
                "estimate": mean,
                "ci_low": low,
                "ci_high": high,
                "n": len(part),
                "method": f"mean over {group} schools; t interval across schools",
            }
        )
    out = pd.concat([pd.DataFrame(rows), school], ignore_index=True)
    out.insert(0, "level", 3)
    out["measure"] = "mean_rating"
    columns = [
        "level",
        "breakdown",
        "school_id",
        "structure",
        "term",
        "term_order",
        "measure",
        "estimate",
        "ci_low",
        "ci_high",
        "n",
        "method",
    ]
    return out[columns]


def conditions_change(ratings: pd.DataFrame) -> pd.DataFrame:
    """Each school's ratings in its first and latest rated term, and the change.

    Returns
    -------
    DataFrame
        school_id, structure, indicator_id, first_term, latest_term, first_rating, latest_rating,
        change (latest minus first; 0 when the school was rated only once, with ``terms_rated`` = 1).
    """
    order = ratings.sort_values("term_order")
    keys = ["school_id", "structure", "indicator_id"]
    grouped = order.groupby(keys, observed=True)
    out = grouped.agg(
        first_term=("term", "first"),
        latest_term=("term", "last"),
        first_rating=("rating", "first"),
        latest_rating=("rating", "last"),
        terms_rated=("term", "nunique"),
    ).reset_index()
    out["change"] = out["latest_rating"] - out["first_rating"]
    return out


def conditions_matrix(ratings: pd.DataFrame, *, term: str | None = None) -> pd.DataFrame:
    """School x indicator ratings for a heat map (each school's latest term unless ``term`` is given).

    Returns
    -------
    DataFrame
        Index school_id, columns (structure, indicator_id), values the rating.
    """
    if term is not None:
        chosen = ratings[ratings["term"] == term]
    else:
        chosen = latest_term(ratings)
    return chosen.pivot_table(index="school_id", columns=["structure", "indicator_id"], values="rating")


def conditions_target(
    ratings: pd.DataFrame,
    *,
    indicator: str | None = None,
    structure: str | None = None,
    rating_at_least: float = 3.0,
    target: float | None = None,
    group: str = "participant",
    ci: float = 0.95,
) -> pd.DataFrame:
    """The plan's level-3 target: the share of ``group`` schools rated at least ``rating_at_least``.

    Source: a Wilson (1927) interval for the share of schools.

    The rating is the indicator's (or the structure's mean) in each school's latest rated term.

    Returns
    -------
    DataFrame
        level, breakdown, school_id, measure, estimate (a school: its rating; the district: the share
        of schools at the rating, Wilson interval), ci_low, ci_high, n (schools), at_least (bool,
        school rows), target, met, status, method.
    """
    chosen = ratings
    if indicator is not None:
        chosen = chosen[chosen["indicator_id"] == indicator]
    elif structure is not None:
        chosen = chosen[chosen["structure"] == structure]
    if "group" in chosen:
        chosen = chosen[chosen["group"] == group]
    what = indicator or structure or "all indicators"
    latest = latest_term(chosen)
    school = latest.groupby("school_id", observed=True)["rating"].mean().rename("estimate").reset_index()
    school["at_least"] = school["estimate"] >= rating_at_least
    n, hits = len(school), int(school["at_least"].sum())
    low, high = (float(v) for v in wilson_interval(hits, n, ci)) if n else (np.nan, np.nan)
    district = pd.DataFrame(
        [
            {
                "breakdown": "district",
                "school_id": pd.NA,
                "measure": "share_schools_at_least",
                "estimate": hits / n if n else np.nan,
                "ci_low": low,
                "ci_high": high,
                "n": n,
                "method": f"{what} rated >= {rating_at_least:g} in the latest term; Wilson interval",
            }
        ]
    )
    district = target_status(district, target)
    school = school.assign(
        breakdown="school_id",
        measure="latest_rating",
        ci_low=np.nan,
        ci_high=np.nan,
        n=1,
        method=f"{what}, latest term",
    )
    school = target_status(school, rating_at_least).drop(columns=["met"])
    school["status"] = np.where(school["at_least"], "at or above the rating", "below the rating")
    out = pd.concat([district, school], ignore_index=True)
    out.insert(0, "level", 3)
    return out


def flag_schools(ratings: pd.DataFrame, *, rating_at_least: float = 3.0, group: str = "participant") -> pd.DataFrame:
    """Schools whose latest conditions need attention: mean rating below ``rating_at_least``, or no growth while an
    indicator is still below it. A school with every indicator at or above the plan's rating is not flagged for
    standing still: readers' reviews found schools rated deepening (the rubric's top) on all four, and then one at 3.8
    of 4, flagged as needing support for "no growth since the first term".

    Returns
    -------
    DataFrame
        school_id, latest_mean, indicators_below (count), indicators, share_at_least (the share of
        the school's indicators at or above the rating), change (mean change from the first term),
        flagged (bool), reason (words for the report).
    """
    chosen = ratings[ratings["group"] == group] if "group" in ratings else ratings
    change = conditions_change(chosen)
    rows = []
    for school, part in change.groupby("school_id", sort=True):
        mean = float(part["latest_rating"].mean())
        below = int((part["latest_rating"] < rating_at_least).sum())
        growth = float(part["change"].mean())
        reasons = []
        if mean < rating_at_least:
            label = RATING_WORDS.get(int(round(rating_at_least)), f"{rating_at_least:g}")
            reasons.append(f"latest mean rating {mean:.1f}, below {label}")
        if part["terms_rated"].max() > 1 and growth <= 0 and below:  # at the plan's rating everywhere: no need
            reasons.append("no growth since the first term")
        rows.append(
            {
                "school_id": school,
                "latest_mean": mean,
                "indicators_below": below,
                "indicators": len(part),
                "share_at_least": 1 - below / len(part),
                "change": growth,
                "flagged": bool(reasons),
                "reason": "; ".join(reasons),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "school_id",
            "latest_mean",
            "indicators_below",
            "indicators",
            "share_at_least",
            "change",
            "flagged",
            "reason",
        ],
    )


def _attended(attendance: pd.DataFrame, educators: pd.DataFrame, sessions: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Each educator (educator_id, school_id, role) with ``attended``, how many of the sessions offered (every session
    in sessions.csv) they attended; and how many were offered. Counted from the attendance itself: a grid of every
    educator by every session gave the same counts from 16 million rows at 20,000 schools (0.65 GB, built twice)."""
    people = educators.drop_duplicates("educator_id")[["educator_id", "school_id", "role"]]
    offered = sessions["session_id"].drop_duplicates()
    seen = attendance[["educator_id", "session_id"]].drop_duplicates()
    counts = seen[seen["session_id"].isin(offered)].groupby("educator_id", observed=True).size()
    people = people.assign(attended=people["educator_id"].map(counts).fillna(0).astype("int64"))
    return (people if len(offered) else people.iloc[0:0]), len(offered)


def principal_participation(
    attendance: pd.DataFrame, educators: pd.DataFrame, sessions: pd.DataFrame, *, role: str = "principal"
) -> pd.DataFrame:
    """The share of PL sessions each school's principal attended (every session in sessions.csv counts as offered).

    This describes a role's support for the program (level 3), with the sessions as its units; it is
    shown per school, like a conditions rating. Where a school lists two principals, their mean share.

    Returns
    -------
    DataFrame
        level, school_id, measure (``principal_participation``), estimate, sessions_attended, n
        (sessions offered), principals, method. Schools with no principal listed are absent.
    """
    people, offered = _attended(attendance, educators, sessions)
    per_school = (
        people[people["role"] == role]
        .groupby("school_id", observed=True)["attended"]
        .agg(sessions_attended="mean", principals="size")
        .assign(n=offered)
    )
    per_school["estimate"] = per_school["sessions_attended"] / per_school["n"]
    out = per_school.reset_index().assign(level=3, measure=f"{role}_participation")
    out["method"] = "sessions attended / sessions offered"
    return out[["level", "school_id", "measure", "estimate", "sessions_attended", "n", "principals", "method"]]


def role_participation(
    attendance: pd.DataFrame,
    educators: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    by: Sequence[str] = ("role",),
    min_n: int = 10,
) -> pd.DataFrame:
    """Mean share of sessions attended by the educators of each role (and group), suppressed below ``min_n`` people.

    Source: a Student t interval for the mean share over educators.

    Returns
    -------
    DataFrame
        level, <by>, measure (``share_of_sessions_attended``), estimate, ci_low, ci_high (t interval
        over educators), n (educators), method, suppressed.
    """
    people, offered = _attended(attendance, educators, sessions)
    if "participant" in educators:
        flags = educators.drop_duplicates("educator_id").set_index("educator_id")["participant"]
        people["participant"] = people["educator_id"].map(flags)
    person_keys = [*by, "educator_id"]
    people["attended"] = people["attended"] / offered  # each educator's share of the sessions offered
    per_person = people.groupby(person_keys, observed=True, dropna=False)["attended"].mean().reset_index()
    rows = []
    for key, part in per_person.groupby(list(by), observed=True, sort=True, dropna=False):
        mean, low, high = _across_schools(part["attended"], 0.95)
        rows.append(
            {
                **dict(zip(by, key if isinstance(key, tuple) else (key,))),
                "estimate": mean,
                "ci_low": low,
                "ci_high": high,
                "n": len(part),
            }
        )
    out = pd.DataFrame(rows, columns=[*by, "estimate", "ci_low", "ci_high", "n"])
    out.insert(0, "level", 3)
    out.insert(1 + len(by), "measure", "share_of_sessions_attended")
    out["method"] = "mean over educators of sessions attended / offered; t interval"
    return suppress(out, min_n)


def evaluate_organization(district: District, *, ci: float | None = None) -> LevelResult:
    """Level 3 for the district and every school.

    Returns
    -------
    LevelResult
        Tables (those whose data exist):

        - ``ratings``: `condition_ratings`; ``structures``: `structure_means`; ``change``: `conditions_change`;
        - ``matrix``: `conditions_matrix` in long form (school_id, group, structure, indicator_id, rating);
        - ``target``: `conditions_target` for the plan's indicator or structure;
        - ``flags``: `flag_schools` (participant schools);
        - ``principals``: `principal_participation`; ``roles``: `role_participation` by role and group;
        - ``staff_survey``, ``staff_survey_items``: the level-3 survey constructs and items by school
          (from `plevaluate.survey.evaluate_survey`).
    """
    plan = district.plan
    ci = plan.ci if ci is None else ci
    goal = plan.levels.organization
    tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    if district.conditions is not None:
        ratings = condition_ratings(district.conditions, district.schools)
        tables["ratings"] = ratings
        tables["coverage"] = coverage(ratings, level=3, records=None, people=None).assign(n_people=pd.NA)
        tables["structures"] = structure_means(ratings, ci=ci)
        tables["change"] = conditions_change(ratings)
        matrix = conditions_matrix(ratings).stack(level=[0, 1], future_stack=True).rename("rating").reset_index()
        matrix.insert(1, "group", matrix["school_id"].map(district.schools.set_index("school_id")["group"]))
        tables["matrix"] = matrix
        tables["target"] = conditions_target(
            ratings,
            indicator=goal.indicator,
            structure=goal.structure,
            rating_at_least=goal.rating_at_least,
            target=goal.target,
            ci=ci,
        )
        flags = flag_schools(ratings, rating_at_least=goal.rating_at_least)
        tables["flags"] = flags
        for row in flags[flags["flagged"]].itertuples():
            notes.append(
                Note(f"flagged for support: {row.reason}", level=3, scope=row.school_id, kind="flag")
            )  # the report names the school
        once = tables["change"].groupby("school_id")["terms_rated"].max()
        if (once == 1).any():
            notes.append(f"{counted(int((once == 1).sum()), 'school')} rated in one term only: no change can be shown")
    else:
        notes.append("no conditions ratings were collected")
    if district.attendance is not None and district.sessions is not None:
        tables["principals"] = principal_participation(district.attendance, district.educators, district.sessions)
        missing = sorted(set(district.schools["school_id"]) - set(tables["principals"]["school_id"]))
        notes += [
            Note("no principal is listed in educators.csv for this school", level=3, scope=school, kind="missing")
            for school in missing
        ]
        by = ("participant", "role") if "participant" in district.educators else ("role",)
        tables["roles"] = role_participation(
            district.attendance, district.educators, district.sessions, by=by, min_n=UNSUPPRESSED
        )
    staff = evaluate_survey(district, level=3, rating_at_least=STAFF_AGREE, ci=ci)
    if staff.evidence:
        constructs = staff["constructs"]
        constructs = constructs[constructs["breakdown"].isin(["district", "school_id"])]
        tables["staff_survey"] = constructs.drop(columns=["session_id", "format", "role"], errors="ignore")
        tables["staff_survey_items"] = staff["items"]
        tables["staff_survey_coverage"] = staff["coverage"]
        notes += [Note(f"staff survey: {note}", level=3, scope=note.scope, kind=note.kind) for note in staff.notes]
        if district.conditions is None:
            notes.append(
                "level 3's headline is the staff survey: the share of staff whose mean answer on the support items "
                f"is {STAFF_AGREE:g} (agree) or higher; the plan's level-3 target is about conditions ratings, so "
                "the staff survey is reported without a target"
            )
    meta = {
        "min_n": plan.min_n,
        "ci": ci,
        "indicator": goal.indicator,
        "structure": goal.structure,
        "rating_at_least": goal.rating_at_least,
        "target": goal.target,
    }
    name = "organization support and change"
    return LevelResult(3, name, tables, tuple(notes), meta, evidence=bool(tables))


def prepare_staff_survey(reactions: pd.DataFrame, district: District) -> tuple:
    """Level 3's staff-survey answers ready to be summed in parts (`plevaluate.survey.prepare_survey`)."""
    return prepare_survey(reactions, district, level=3, threshold=STAFF_AGREE)


def run(district: District, upstream: Mapping[int, LevelResult]) -> LevelResult:
    return with_comments(evaluate_organization(district), district, 3)


def measure_words(plan: dict) -> str:
    goal = plan.get("levels", {}).get("organization", {})
    at_least = goal.get("rating_at_least", 3)
    what = (goal.get("indicator") or goal.get("structure") or "conditions").replace("_", " ")
    return f"{what} rated {RATING_WORDS.get(int(at_least), f'{at_least:g}')} ({at_least:g}) or better: share of schools"


_STAFF_EVIDENCE = "{records} staff survey responses from {people} educators (no conditions ratings)"
_STAFF_HIDDEN = "staff survey responses: how many not shown (protects a smaller group)"


def _staff_construct(staff: pd.DataFrame, plan: dict) -> str | None:
    """The staff-survey construct a level-3 headline reports: the one named like the plan's indicator or
    structure, else the one with the most answers district-wide (the first by name on a tie)."""
    district = staff[(staff["breakdown"] == "district") & (staff["measure"] == "share_at_least")]
    if district.empty:
        return None
    goal = plan.get("levels", {}).get("organization", {})
    named = {goal.get("indicator"), goal.get("structure")} & set(district["construct"])
    if named:
        return sorted(named)[0]
    ranked = district.assign(answers=district["n"].fillna(0)).sort_values(
        ["answers", "construct"], ascending=[False, True]
    )
    return str(ranked["construct"].iloc[0])


def _staff_headline(result: LevelResult, cell: Cell) -> dict:
    """Level 3 read from the staff survey (no conditions ratings for this scope): the share of staff whose mean
    answer on the support construct is at least `STAFF_AGREE`, with its interval, reported without a target (the
    plan's level-3 target is a share of schools at a rubric rating, which a survey share cannot be judged
    against); a scope with no staff survey either reads "not yet measured"."""
    staff = result.tables.get("staff_survey")
    construct = None if staff is None else _staff_construct(staff, cell.plan)
    if construct is None:
        return cell.row()
    rows = staff[(staff["construct"] == construct) & (staff["measure"] == "share_at_least")]
    if cell.school_id is None:
        rows = rows[rows["breakdown"] == "district"]
        r = rows.iloc[0].to_dict() if len(rows) else None
    else:
        r = school_row(rows[rows["breakdown"] == "school_id"], cell.school_id)
    if r is None:
        return cell.row()
    words = str(construct).replace("_", " ")
    measure = f"staff survey: share of staff who agree the organization supports the change, on the {words} items"
    said = evidence(
        cell.level, result, cell.school_id, cell.min_n, table="staff_survey_coverage", words=_STAFF_EVIDENCE,
        hidden_words=_STAFF_HIDDEN,
    )  # fmt: skip
    status = hidden(r)
    if status:
        return cell.row(status=status, measure=measure, evidence=said)
    coded = r.get("coded")
    if isinstance(coded, str):  # fewer than min_n people on one side: only the side of a bound is shown
        share = coded_share(coded, r["bound"])
        detail = (
            f"{share} of staff agree the organization supports the change (staff survey; only a bound is shown: "
            "fewer than the reporting minimum on one side)"
        )
        return cell.row(status="reported", detail=detail, n=r.get("n_people"), measure=measure, evidence=said)
    estimate, low, high = r["estimate"], r["ci_low"], r["ci_high"]
    if pd.isna(estimate):
        return cell.row(status="not estimable", measure=measure, evidence=said)
    ci = float(cell.plan.get("ci", 0.95))
    detail = f"{estimate:.0%} of staff agree the organization supports the change (staff survey"
    detail += f"; {ci:.0%} interval {low:.0%} to {high:.0%})" if pd.notna(low) and pd.notna(high) else ")"
    return cell.row(
        estimate, low, high, status="reported", detail=detail, n=r.get("n_people"), measure=measure, evidence=said
    )


def headline(result: LevelResult, cell: Cell) -> dict | None:
    """The district: the share of participant schools at the rating, against the target; a school: its latest
    rating of the plan's indicator (or structure), at or below the rating (a rubric rating has no interval).

    Without conditions ratings (for the district, or at a school), the staff survey's share of staff who agree
    the organization supports the change (`_staff_headline`), reported without a target."""
    table = result.tables.get("target")
    if table is None:
        return _staff_headline(result, cell)
    if cell.school_id is None:
        r = table[table["breakdown"] == "district"].iloc[0]
        status = {"no target": "no target set"}.get(str(r["status"]), str(r["status"]))
        row = cell.row(
            r["estimate"],
            r["ci_low"],
            r["ci_high"],
            r["target"],
            status,
            judged(status, False, r["ci_low"], r["ci_high"]),
            r["n"],
        )
        ratings = result.tables.get("ratings")
        if row.get("evidence") and ratings is not None and ratings["group"].eq("comparison").any():
            # the count is every school's ratings beside a share of program schools (a reader's review; level 4's
            # evidence says so too)
            row["evidence"] = f"{row['evidence']}, comparison schools' included"
        return row
    r = school_row(table, cell.school_id)
    if r is None:  # a school without a rating: its staff survey, if it answered one
        staff = _staff_headline(result, cell)
        return None if staff["status"] == "not yet measured" else staff
    at_least = cell.plan.get("levels", {}).get("organization", {}).get("rating_at_least", 3)
    status = "met" if bool(r["at_least"]) else "not met"
    label = RATING_WORDS.get(int(at_least), f"{at_least:g}")
    return cell.row(
        r["estimate"],
        target=r["target"],
        status=status,
        measure="latest rating (1 not yet - 4 deepening)",
        unit="rating",
        detail=f"a rubric rating, {'at or above' if status == 'met' else 'below'} {label} ({at_least:g})",
    )
