"""A synthetic multi-year district: a program sustained over several school years, schools joining in cohorts.

``plevaluate sample OUT --years 3 --cohorts 2`` writes it; `generate_years` returns its tables and truth. As in
`plevaluate.sample`, nothing describes real people, and ``truth.json`` holds what each estimate should recover.

The data-generating process (beyond `plevaluate.sample`'s, whose pieces it reuses)
----------------------------------------------------------------------------------
Years. ``years`` school years ending in 2025-26 (three: 2023-24, 2024-25, 2025-26). Participant schools join in
``cohorts`` waves, one a year from the first (``schools.cohort``: the year their first program school year
starts); the other third are comparison schools throughout. A school is *in the program* from its cohort's
year on; before that it is a comparison school in everything that year (its staff attend no sessions).

Each year. The ten sessions of the single-year sample, moved to that year (``session_id`` ``Y1-PL01`` ...),
attended, answered (level 1) and costed as in the single-year sample by the educators of the schools in the
program that year. The learning assessment (level 2) is taken by the teachers and coaches of the schools in
their first program year (and in year one, half the comparison teachers). Conditions (level 3) are rated three
times a year; a school's latent rating grows with the terms it has been in the program.

Level 4. Every teacher is walked through each month September-May with probability 0.85. For a teacher of a
school in its k-th program month (k = 0 in the September it joins, counting school months only),
``logit p = -1.4 + u_j + g_s + 0.5 C_s + 0.15 min(k, 8) + 0.06 max(k - 8, 0)``: fast growth in the first year,
slower after. Not-yet and comparison schools have no growth. ``truth["practice_by_year"]``: the expected share
in each year's May walkthroughs at the schools in the program that year, for these schools (their g_s and C_s)
and their teachers' counts, over new draws of u_j (what an interval clustered by educator is about).

Level 5. Each school has a fixed set of about 150 students (the small school 60), tested every spring from the
spring before the first program year: score = 500 + 5 (t - first spring) + v_s + 35 a_i + e + tau_e, with
v_s ~ N(0, 12), a_i ~ N(0, 1), e ~ N(0, 15), and tau_e = 4, 7, 9 points in a school's first, second and later
program springs (e = 0, 1, 2, ...). ``prior_score`` is the student's previous spring. ``truth["staggered"]``
gives tau_e and tau_e in SD units of a spring's scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from . import sample
from .sample import (
    INDICATORS,
    PARAMETERS,
    SESSIONS,
    draw_attendance,
    draw_costs,
    draw_educators,
    draw_learning,
    draw_reactions,
    draw_school_conditions,
    draw_schools,
    json_default,
    make_ids,
    practice_logit,
    streams,
)

__all__ = ["generate_years", "write_sample_years"]

LAST_YEAR = 2025  # the last school year starts in August 2025 (2025-26), as in the single-year sample
EFFECT_POINTS = (4.0, 7.0, 9.0)  # tau_e: the effect in a school's first, second and later program springs
STUDENTS = 150
SCORE = {"trend": 5.0, "school_sd": 12.0, "ability_sd": 35.0, "noise_sd": 15.0}
GROWTH = {"first_year_month": 0.15, "later_month": 0.06, "months_first_year": 8}


def _label(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def _shift(dates, years: int) -> list[str]:
    return [str((pd.Timestamp(d) + pd.DateOffset(years=years)).date()) for d in dates]


def _months_since(year: int, month_index: np.ndarray, cohort: np.ndarray) -> np.ndarray:
    """School months since joining (September of the cohort year is 0); negative before joining."""
    return np.where(cohort > 0, 9 * (year - cohort) + month_index, -1)


def _growth(k: np.ndarray) -> np.ndarray:
    g = GROWTH
    first = np.clip(k, 0, g["months_first_year"])
    return g["first_year_month"] * first + g["later_month"] * np.clip(k - g["months_first_year"], 0, None)


def generate_years(
    n_schools: int = 12, seed: int = 2025, years: int = 3, cohorts: int = 2
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Tables and truth of a district followed for ``years`` school years, participants joining in ``cohorts``."""
    if years < 2:
        raise ValueError("a multi-year sample needs --years 2 or more (the single-year sample is the default)")
    if not 1 <= cohorts <= years:
        raise ValueError(f"--cohorts must be between 1 and --years ({years}): schools join at most once a year")
    r_school, r_edu, r_year, r_obs, r_stu = streams(seed, 5)
    schools = draw_schools(n_schools, r_school)
    first = LAST_YEAR - years + 1
    part = schools["group"].eq("participant").to_numpy()
    wave = np.zeros(n_schools, dtype=int)
    wave[part] = np.arange(part.sum()) * cohorts // part.sum()  # contiguous waves of participant schools
    cohort = np.where(part, first + wave, 0)
    schools["cohort"] = np.where(part, cohort.astype(str), "")
    educators = draw_educators(schools, r_edu)
    year_rngs = streams(int(r_year.integers(2**31)), years)

    tables: dict[str, list[pd.DataFrame]] = {
        k: [] for k in ("sessions", "attendance", "reactions", "learning", "costs", "conditions")
    }
    for k, rng in enumerate(year_rngs):
        year = first + k
        shift = year - 2025
        active = part & (cohort <= year)
        this = schools.copy()
        this["group"] = np.where(active, "participant", "comparison")
        this.loc[~active, "principal_participation"] = PARAMETERS["conditions"]["comparison_principal_participation"]
        staff = educators.copy()
        staff["participant"] = staff["school_id"].map(dict(zip(this["school_id"], active))).astype(bool)
        prefix = f"Y{k + 1}-"
        sessions = pd.DataFrame(SESSIONS, columns=["session_id", "date", "format", "hours", "title", "focus"])
        sessions["date"] = _shift(sessions["date"], shift)
        sessions["session_id"] = prefix + sessions["session_id"]
        tables["sessions"].append(sessions)
        attendance = draw_attendance(staff, this, rng)
        _, reactions = draw_reactions(attendance, staff, this, rng)
        attendance["session_id"] = prefix + attendance["session_id"]
        reactions["session_id"] = prefix + reactions["session_id"]
        reactions["response_id"] = prefix + reactions["response_id"].astype(str)
        tables["attendance"].append(attendance)
        tables["reactions"].append(reactions)
        joining = staff["school_id"].map(dict(zip(schools["school_id"], cohort == year))).astype(bool)
        takers = staff[
            joining | (~staff["participant"] & (k == 0) & ~staff["school_id"].isin(schools["school_id"][part]))
        ]
        learning = draw_learning(takers, rng)
        learning["date"] = _shift(learning["date"], shift)
        tables["learning"].append(learning)
        costs = draw_costs(this, staff, rng)
        costs["date"] = _shift(costs["date"], shift)
        tables["costs"].append(costs)
        tables["conditions"].append(_conditions_year(this, schools, cohort, year, shift, rng))

    observations, practice_truth = _observations_years(schools, educators, cohort, first, years, r_obs)
    students, staggered = _students_years(schools, cohort, first, years, r_stu)
    out = {
        "schools": schools.drop(columns=["principal_participation", "small"]),
        "educators": educators.drop(columns=["engagement"]),
        **{name: pd.concat(frames, ignore_index=True) for name, frames in tables.items()},
        "survey_items": sample.survey_items(),
        "observations": observations,
        "students": students,
    }
    out["learning"]["score"] = out["learning"]["score"].astype(int)
    truth = {
        "seed": seed,
        "n_schools": n_schools,
        "years": [_label(first + k) for k in range(years)],
        "cohorts": {s: int(c) for s, c in zip(schools["school_id"], cohort) if c},
        "comparison_schools": schools.loc[~part, "school_id"].tolist(),
        "practice_by_year": practice_truth,
        "staggered": staggered,
        "growth": GROWTH,
    }
    return out, truth


def _conditions_year(this, schools, cohort, year, shift, rng) -> pd.DataFrame:
    c = PARAMETERS["conditions"]
    pp = this["principal_participation"].to_numpy()
    rows = []
    for t, date in enumerate(sample.CONDITION_DATES):
        terms = np.where((cohort > 0) & (cohort <= year), 3 * (year - cohort) + t, t)
        for structure, indicator, offset in INDICATORS:
            latent = c["intercept"] + c["principal"] * pp + c["growth_per_term"] * np.minimum(terms, 5) * pp + offset
            rating = np.clip(np.round(latent + rng.normal(0, c["noise_sd"], len(pp))), 1, 4).astype(int)
            rows.append(
                pd.DataFrame(
                    {
                        "school_id": schools["school_id"],
                        "date": _shift([date], shift)[0],
                        "structure": structure,
                        "indicator_id": indicator,
                        "rating": rating,
                        "rater_role": "district_team",
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _observations_years(schools, educators, cohort, first, years, rng):
    p = PARAMETERS["practice"]
    teachers = educators[educators["role"].eq("teacher")].reset_index(drop=True)
    school_index = pd.Series(np.arange(len(schools)), index=schools["school_id"])
    s_idx = school_index[teachers["school_id"]].to_numpy()
    pp = schools["principal_participation"].to_numpy()
    cond_c = draw_school_conditions(pp) - draw_school_conditions(pp).mean()
    u = rng.normal(0, p["educator_sd"], len(teachers))
    g = rng.normal(0, p["school_sd"], len(schools))
    frames, truth = [], {}
    months = pd.period_range("2025-09", "2026-05", freq="M")
    draws = np.random.default_rng([int(first), 7]).normal(0, p["educator_sd"], 4000)
    for k in range(years):
        year = first + k
        shift = year - 2025
        seen = rng.random((len(teachers), len(months))) < p["observe_probability"]
        t_idx, m_idx = np.nonzero(seen)
        since = _months_since(year, m_idx, cohort[s_idx[t_idx]])
        active = since >= 0
        logit = practice_logit(0, 0.0, 0.0, cond_c[s_idx[t_idx]], u[t_idx], g[s_idx[t_idx]]) + active * _growth(since)
        prob = expit(logit)
        observed = (rng.random(len(t_idx)) < prob).astype(int)
        day = rng.integers(3, 27, len(t_idx))
        dates = [f"{months[m].year + shift}-{months[m].month:02d}-{d:02d}" for m, d in zip(m_idx, day)]
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "school_id": teachers["school_id"].to_numpy()[t_idx],
                    "educator_id": teachers["educator_id"].to_numpy()[t_idx],
                    "practice_observed": observed,
                    "observer_role": np.where(rng.random(len(t_idx)) < 0.5, "coach", "principal"),
                }
            )
        )
        # truth: May walkthroughs at the schools in the program this year, these schools, new teacher draws
        may = len(months) - 1
        in_program = (cohort[s_idx] > 0) & (cohort[s_idx] <= year)
        counts = pd.Series(s_idx[in_program]).value_counts()
        rates = []
        for s, n in counts.items():
            k_since = 9 * (year - cohort[s]) + may
            base = practice_logit(0, 0.0, 0.0, cond_c[s], 0.0, g[s]) + _growth(np.array(k_since))
            rates.append((n, float(expit(base + draws).mean())))
        weights = np.array([n for n, _ in rates], dtype=float)
        truth[_label(year)] = float(np.average([r for _, r in rates], weights=weights))
    out = pd.concat(frames, ignore_index=True).sort_values(["date", "educator_id"], kind="stable")
    out.insert(0, "observation_id", make_ids("O", len(out), max(6, len(str(len(out))))))
    return out.reset_index(drop=True), truth


def _students_years(schools, cohort, first, years, rng):
    n = np.where(schools["small"], 60, rng.poisson(STUDENTS, len(schools)))
    school = np.repeat(schools["school_id"].to_numpy(), n)
    s_idx = np.repeat(np.arange(len(schools)), n)
    total = len(school)
    v = rng.normal(0, SCORE["school_sd"], len(schools))
    ability = rng.normal(0, 1, total)
    ids = make_ids("ST", total, max(6, len(str(total))))
    frames, prior = [], np.full(total, np.nan)
    springs = range(first, first + years + 1)  # the spring before the first program year, then each year's
    for t in springs:
        e = np.where(cohort[s_idx] > 0, t - (cohort[s_idx] + 1), -1)
        tau = np.where(e >= 0, np.array(EFFECT_POINTS)[np.clip(e, 0, len(EFFECT_POINTS) - 1)], 0.0)
        score = np.round(
            500 + SCORE["trend"] * (t - first) + v[s_idx] + SCORE["ability_sd"] * ability
            + rng.normal(0, SCORE["noise_sd"], total) + tau
        )  # fmt: skip
        tested = rng.random(total) >= 0.05
        frames.append(
            pd.DataFrame({"student_id": ids, "school_id": school, "year": t, "outcome": score, "prior_score": prior})[
                tested
            ]
        )
        prior = np.where(tested, score, np.nan)
    students = pd.concat(frames, ignore_index=True)
    for col in ("outcome", "prior_score"):
        students[col] = students[col].astype("Int64")
    sd = float(np.sqrt(SCORE["ability_sd"] ** 2 + SCORE["school_sd"] ** 2 + SCORE["noise_sd"] ** 2))
    staggered = {
        "effect_points_by_event_time": {str(e): p for e, p in enumerate(EFFECT_POINTS)},
        "score_sd": sd,
        "effect_sd_by_event_time": {str(e): p / sd for e, p in enumerate(EFFECT_POINTS)},
        "first_program_spring_by_cohort": {str(c): int(c) + 1 for c in sorted(set(cohort[cohort > 0]))},
    }
    return students, staggered


PLAN_YML = """\
# The evaluation plan of the synthetic multi-year sample district (nothing here describes a real district).
program: "Math Talk rollout: students explain their reasoning, school by school"
school_year: {years}
description: >-
  A three-year professional learning program in mathematics discourse. Schools join in waves: the first
  cohort in {first}, the next a year later. Each year: workshops, PLCs, coaching cycles, video study and
  learning walks, for teachers, coaches and principals.
observable_practice: Students explain their reasoning to a partner or the class
min_n: 10
comparison_design: matched
educator_hourly_rate: 48.50
levels:
  reactions:
    result: Participants find the sessions relevant to their classrooms
    measure: Share of respondents whose mean rating on the content items is 4 or higher (of 5)
    construct: content
    rating_at_least: 4
    target: 0.70
  learning:
    result: Teachers understand the talk moves and how to plan for them
    measure: Mean pre-to-post gain on the 30-point assessment, in standard-deviation units
    target: 0.50
  organization:
    result: Every participant school protects weekly collaborative planning time
    measure: Share of participant schools rated developing (3) or better on protected planning time
    indicator: protected_time
    rating_at_least: 3
    target: 1.0
  practice:
    result: Students explain their reasoning in more classrooms each year
    measure: Share of walkthroughs in which the practice is observed, in May
    by_month: 5
    targets:
{practice_targets}
  outcomes:
    result: Students in participant schools grow more in mathematics than similar students elsewhere
    measure: Effect on the spring mathematics scale score, by years in the program (SD units)
    target: 0.10
"""

PRACTICE_TARGETS = (0.40, 0.55, 0.60, 0.65, 0.70)


def write_sample_years(
    out: str | Path, n_schools: int = 12, seed: int = 2025, years: int = 3, cohorts: int = 2
) -> Path:
    """Write the multi-year sample district (CSV tables, ``plan.yml``, ``truth.json``) to folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables, truth = generate_years(n_schools, seed, years, cohorts)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False, lineterminator="\n", float_format="%.10g")
    labels = truth["years"]
    targets = "\n".join(
        f"      {label}: {PRACTICE_TARGETS[min(i, len(PRACTICE_TARGETS) - 1)]:.2f}" for i, label in enumerate(labels)
    )
    plan = PLAN_YML.format(years=f"{labels[0]} to {labels[-1]}", first=labels[0], practice_targets=targets)
    plan += sample.RATIONALE_YML
    (out / "plan.yml").write_text(plan, encoding="utf-8")
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True, default=json_default) + "\n")
    return out
