"""A synthetic sample district, with known true parameters, for building, testing and demonstrating.

Nothing here describes real people: schools, educators, students and all their data are drawn
from the data-generating process below, and the true parameters are written to ``truth.json``
so tests can check that each level's estimates recover them.

The data-generating process
---------------------------
Schools. ``n_schools`` schools; the first two thirds are ``participant`` schools, the rest
``comparison``. Grade bands cycle elementary, elementary, middle, high. The last participant school
is deliberately small (7 educators, about 60 students) so that small-cell suppression matters.
The third school (``S03``) has a principal who rarely takes part in PL: ``truth["weak_school"]``.

Educators. About 27 per school (Poisson 24 + 3; the small school 7): one principal, one coach, an
assistant principal where the staff is over 20, the rest teachers. Years of experience are
Gamma(2, 5), so about a sixth are new teachers (under 3 years). Names are synthetic.

Level 1 and 2 - sessions and attendance. Ten PL sessions of five formats (workshop, PLC, coaching,
virtual, learning walk) from August to April. Participant-school teachers attend each session with
the format's attendance probability times their own engagement (Beta(6, 2)); coaches attend 95% of
sessions; principal *s* attends with probability ``principal_participation[s]`` (0.6-0.95; 0.10 at
the weak school). About 10% leave early (minutes scaled by U(0.5, 0.9)).

Level 1 - reactions. After each attended session the educator answers the survey with probability
0.75 (0.55 for virtual sessions). Item *k* of educator *j* at session *s* is
``round(mu_k + 0.7 * theta_j + delta_s + e)`` clipped to 1-5 with theta_j ~ N(0, 1),
delta_s ~ N(0, 0.2), e ~ N(0, 0.6); context items add ``0.8 * (pp_s - 0.7)`` (the principal's
participation); the reverse-coded item is stored as ``6 - response``. 3% of answers are blank.
Level-3 staff items are answered at the last session with the same model.

Level 2 - learning. Participant teachers and coaches, and half the comparison teachers, take a
30-point assessment before and after. Pre ~ N(15, 4); post = pre + gain + N(0, 2), gain_j ~
N(2.6, 1.2) for participants and N(0.3, 1.2) for comparison teachers (retest), rounded and clipped
to 0-30. Post scores are missing with probability 0.12 (participants), a little more when pre is low.

Level 3 - conditions. Four indicators in two structures (collaborative planning: protected_time,
shared_protocols; observation and feedback: feedback_cycles, principal_walkthroughs), rated by the
district team at three dates. The latent rating is ``1.5 + 1.2 * pp_s + 0.4 * t * pp_s + a_k +
N(0, 0.35)`` with ``pp_s`` the principal's participation (0.15 at comparison schools) and t = 0, 1, 2
the term, rounded and clipped to 1-4 (1 not yet, 2 emerging, 3 developing, 4 deepening).

Level 4 - classroom practice. Every teacher is observed for the practice in each month from
September to May with probability 0.85. With m = 0..8 the month, P_s = 1 at participant schools,
h_j the educator's total PL hours (centred at the participant mean) and C_s the school's mean latent
condition (centred), ``logit p = -1.4 + u_j + g_s + 0.22 m P_s + 0.04 h_j P_s + 0.5 C_s`` with
u_j ~ N(0, 0.5) and g_s ~ N(0, 0.3). Comparison schools have no trend. When the coach observes (about
half the time) a CBAM Level of Use is recorded, higher when the practice is seen.

Level 5 - students. About 500 students per school (the small school 60), two rows each: 2025
(``period`` pre) and 2026 (post). Scores are ``500 + 5 * (year - 2024) + v_s + w_j + 35 a_i + e``
minus 10 for English learners and economically disadvantaged students and 15 for students with
disabilities, with v_s ~ N(0, 12), teacher w_j ~ N(0, 8), a_i ~ N(0, 1), e ~ N(0, 15);
``prior_score`` is the previous year's score. In 2026, participant students gain tau_s = tau +
40 * (I_s - I) points, I_s the school's spring implementation rate, tau = 5 points (about 0.12 SD).
8% of comparison and 6% of participant students leave before 2026; 4% of 2026 students are new, with
no prior score.

Costs. Vendor, coaching, substitute and stipend, materials, facilities and evaluation lines funded by
Title I, Title II, Title IV, the general fund and the curriculum-adoption budget.

Population values in ``truth.json`` (means, shares, standardized gains, marginal trends) are
computed by drawing 200,000 units from the same process, so they are the estimands, not the
realized sample values. Level-1 truths keep the realized effects of the ten sessions delivered
(the evaluation is about those sessions) and redraw the respondents.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from .sample_comments import CODEBOOK_YML, draw_comments

__all__ = ["PARAMETERS", "generate", "write_sample"]

#: The true parameters of the data-generating process (see the module docstring).
PARAMETERS = {
    "attendance_by_format": {"workshop": 0.9, "plc": 0.85, "coaching": 0.6, "virtual": 0.7, "learning_walk": 0.5},
    "survey_response_rate": 0.75,
    "survey_response_rate_virtual": 0.55,
    "item_nonresponse": 0.03,
    "learning": {
        "pre_mean": 15.0,
        "pre_sd": 4.0,
        "gain_mean": 2.6,
        "gain_sd": 1.2,
        "noise_sd": 2.0,
        "comparison_gain_mean": 0.3,
        "max_score": 30,
        "post_missing": 0.12,
    },
    "conditions": {
        "intercept": 1.5,
        "principal": 1.2,
        "growth_per_term": 0.4,
        "noise_sd": 0.35,
        "comparison_principal_participation": 0.15,
    },
    "practice": {
        "intercept": -1.4,
        "month": 0.22,
        "hours": 0.04,
        "conditions": 0.5,
        "educator_sd": 0.5,
        "school_sd": 0.3,
        "observe_probability": 0.85,
    },
    "students": {
        "effect_points": 5.0,
        "effect_by_implementation": 40.0,
        "school_sd": 12.0,
        "teacher_sd": 8.0,
        "ability_sd": 35.0,
        "noise_sd": 15.0,
        "attrition_comparison": 0.08,
        "attrition_participant": 0.06,
        "new_students": 0.04,
    },
}

SESSIONS = [
    ("PL01", "2025-08-20", "workshop", 6.0, "Launching Math Talk: norms and routines", "practice"),
    ("PL02", "2025-09-10", "plc", 1.5, "Planning one talk move", "planning"),
    ("PL03", "2025-09-24", "coaching", 1.0, "Coaching cycle 1", "practice"),
    ("PL04", "2025-10-15", "virtual", 2.0, "Video study: partner talk", "practice"),
    ("PL05", "2025-11-05", "learning_walk", 3.0, "Learning walk: what students say", "observation"),
    ("PL06", "2025-12-03", "plc", 1.5, "Looking at student reasoning", "planning"),
    ("PL07", "2026-01-14", "workshop", 6.0, "Deepening: revoicing and press for reasoning", "practice"),
    ("PL08", "2026-02-04", "coaching", 1.0, "Coaching cycle 2", "practice"),
    ("PL09", "2026-03-04", "virtual", 2.0, "Talk in small groups", "practice"),
    ("PL10", "2026-04-08", "plc", 1.5, "Year review and next steps", "planning"),
]

ITEMS = [
    # item_id, construct, level, reverse, mean, text
    ("C1", "content", 1, False, 4.3, "The content is relevant to my classroom."),
    ("C2", "content", 1, False, 4.2, "I learned strategies I can use right away."),
    ("C3", "content", 1, False, 4.0, "The content fits our curriculum."),
    ("P1", "process", 1, False, 4.2, "The session was well organized."),
    ("P2", "process", 1, False, 4.0, "The facilitator modeled the practice."),
    ("P3", "process", 1, False, 3.8, "Our time was used well."),
    ("P4", "process", 1, True, 3.7, "The session felt rushed."),
    ("X1", "context", 1, False, 3.7, "My principal supports using this practice."),
    ("X2", "context", 1, False, 3.3, "I will have time to plan with colleagues."),
    ("X3", "context", 1, False, 3.4, "Our schedule makes this practice possible."),
    ("O1", "organizational_support", 3, False, 3.4, "Our team has protected time to plan together each week."),
    ("O2", "organizational_support", 3, False, 3.2, "I receive feedback on my teaching at least monthly."),
    ("O3", "organizational_support", 3, False, 3.5, "Our principal takes part in our professional learning."),
]
ITEM_LOADING, SESSION_SD, ITEM_NOISE_SD, CONTEXT_PRINCIPAL = 0.7, 0.2, 0.6, 0.8

INDICATORS = [
    ("collaborative_planning", "protected_time", 0.0),
    ("collaborative_planning", "shared_protocols", -0.1),
    ("observation_feedback", "feedback_cycles", -0.2),
    ("observation_feedback", "principal_walkthroughs", 0.1),
]
CONDITION_DATES = ["2025-10-01", "2026-01-15", "2026-04-15"]
MONTHS = pd.period_range("2025-09", "2026-05", freq="M")

SCHOOL_NAMES = [
    "Lincoln",
    "Jefferson",
    "Peña & O'Neill",
    "Riverside",
    "Cedar Grove",
    "Washington",
    "Hillcrest",
    "Maple Ridge",
    "Roosevelt",
    "Lakeview",
    "Franklin",
    "Oak Park",
    "Sunnyside",
    "Westfield",
    "Highland",
    "Brookside",
]
FIRST = [
    "Alex",
    "Jordan",
    "Maria",
    "Wei",
    "Aisha",
    "Samuel",
    "Priya",
    "Diego",
    "Hannah",
    "Kofi",
    "Mei",
    "Lucas",
    "Fatima",
    "Noah",
    "Elena",
    "Tariq",
    "Grace",
    "Mateo",
    "Amara",
    "Ethan",
]
LAST = [
    "Garcia",
    "Nguyen",
    "Okafor",
    "Smith",
    "Patel",
    "Kowalski",
    "Haddad",
    "Johnson",
    "Kim",
    "Rossi",
    "Mensah",
    "Silva",
    "Cohen",
    "Baker",
    "Tanaka",
    "Murphy",
    "Ali",
    "Novak",
    "Lopez",
    "Walker",
]
BANDS = ["elementary", "elementary", "middle", "high"]
GRADES = {"elementary": [3, 4, 5], "middle": [6, 7, 8], "high": [9, 10]}
COSTS = [
    # item, category, funding_source, amount (district) or per school/teacher rule
    ("Math Talk facilitation contract", "vendor_fees", "Title II", 48_000.00, "district"),
    ("Instructional coach time (0.5 FTE)", "facilitators_coaches", "Title I", 31_850.00, "school"),
    ("Substitute coverage for workshop days", "substitutes_stipends", "Title II", 152.50, "per_teacher_day"),
    ("PLC facilitator stipends", "substitutes_stipends", "Title IV", 1_200.00, "school"),
    ("Task cards and curriculum licences", "materials_licences", "Curriculum adoption", 9_475.25, "district"),
    ("Video platform licence", "materials_licences", "Title IV", 4_180.00, "district"),
    ("Summer institute venue", "facilities", "General fund", 3_760.40, "district"),
    ("External evaluation", "evaluation", "General fund", 12_000.00, "district"),
]


def survey_items() -> pd.DataFrame:
    """survey_items.csv: the sample's reaction and staff-survey items."""
    return pd.DataFrame(
        {
            "item_id": [it[0] for it in ITEMS],
            "construct": [it[1] for it in ITEMS],
            "text": [it[5] for it in ITEMS],
            "reverse_coded": [it[3] for it in ITEMS],
            "scale_min": 1,
            "scale_max": 5,
            "level": [it[2] for it in ITEMS],
        }
    )


def streams(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def make_ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def draw_schools(n_schools: int, rng: np.random.Generator) -> pd.DataFrame:
    if n_schools < 3:
        raise ValueError("the sample district needs at least 3 schools (participant and comparison)")
    n_part = max(2, round(n_schools * 2 / 3))
    width = max(2, len(str(n_schools)))
    ids = make_ids("S", n_schools, width)
    band = np.array([BANDS[i % 4] for i in range(n_schools)], dtype=object)
    names = [
        f"{SCHOOL_NAMES[i % len(SCHOOL_NAMES)]}{'' if i < len(SCHOOL_NAMES) else ' ' + str(i // len(SCHOOL_NAMES) + 1)} "
        f"{'High' if b == 'high' else b.title()}{' School' if b != 'elementary' else ''}"
        for i, b in enumerate(band)
    ]
    group = np.where(np.arange(n_schools) < n_part, "participant", "comparison")
    pp = np.where(
        group == "participant",
        rng.uniform(0.6, 0.95, n_schools),
        PARAMETERS["conditions"]["comparison_principal_participation"],
    )
    pp[2] = 0.10  # the weak school: its principal rarely takes part
    small = n_part - 1
    return pd.DataFrame(
        {
            "school_id": ids,
            "school_name": names,
            "group": group,
            "grade_band": band,
            "cohort": np.where(group == "participant", "2025", ""),
            "principal_participation": pp,
            "small": np.arange(n_schools) == small,
        }
    )


def draw_educators(schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = np.where(schools["small"], 7, rng.poisson(24, len(schools)) + 3)
    school = np.repeat(schools["school_id"].to_numpy(), n)
    rank = np.concatenate([np.arange(k) for k in n])
    size = np.repeat(n, n)
    role = np.where(
        rank == 0,
        "principal",
        np.where(rank == 1, "coach", np.where((rank == 2) & (size > 20), "assistant_principal", "teacher")),
    )
    total = len(school)
    years = np.clip(np.round(rng.gamma(2.0, 5.0, total)), 0, 40).astype(int)
    participant = np.repeat((schools["group"] == "participant").to_numpy(), n)
    names = [
        f"{FIRST[a]} {LAST[b]}" for a, b in zip(rng.integers(0, len(FIRST), total), rng.integers(0, len(LAST), total))
    ]
    return pd.DataFrame(
        {
            "educator_id": make_ids("E", total, max(4, len(str(total)))),
            "school_id": school,
            "role": role,
            "years_experience": years,
            "participant": participant,
            "name": names,
            "engagement": rng.beta(6, 2, total),
        }
    )


def draw_attendance(educators: pd.DataFrame, schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    sessions = pd.DataFrame(SESSIONS, columns=["session_id", "date", "format", "hours", "title", "focus"])
    pp = educators["school_id"].map(schools.set_index("school_id")["principal_participation"]).to_numpy()
    p_format = sessions["format"].map(PARAMETERS["attendance_by_format"]).to_numpy()
    role = educators["role"].to_numpy()[:, None]
    prob = np.where(
        role == "principal",
        pp[:, None],
        np.where(role == "coach", 0.95, p_format[None, :] * educators["engagement"].to_numpy()[:, None]),
    )
    prob = prob * educators["participant"].to_numpy()[:, None]
    attended = rng.random(prob.shape) < prob
    e_idx, s_idx = np.nonzero(attended)
    minutes = sessions["hours"].to_numpy()[s_idx] * 60
    early = rng.random(len(e_idx)) < 0.10
    minutes = np.where(early, np.round(minutes * rng.uniform(0.5, 0.9, len(e_idx)) / 5) * 5, minutes)
    return pd.DataFrame(
        {
            "educator_id": educators["educator_id"].to_numpy()[e_idx],
            "session_id": sessions["session_id"].to_numpy()[s_idx],
            "minutes": minutes.astype(int),
        }
    )


def _item_responses(theta, delta, context_shift, rng, items=ITEMS) -> np.ndarray:
    """Ratings (rows: respondents, columns: items) from the level-1 item model, reverse-coded items stored reversed."""
    mu = np.array([it[4] for it in items])
    is_context = np.array([it[1] in ("context", "organizational_support") for it in items])
    latent = (
        mu[None, :]
        + ITEM_LOADING * theta[:, None]
        + delta[:, None]
        + is_context[None, :] * CONTEXT_PRINCIPAL * context_shift[:, None]
        + rng.normal(0, ITEM_NOISE_SD, (len(theta), len(items)))
    )
    rating = np.clip(np.round(latent), 1, 5)
    reverse = np.array([it[3] for it in items])
    return np.where(reverse[None, :], 6 - rating, rating)


def draw_reactions(attendance, educators, schools, rng):
    sessions = pd.DataFrame(SESSIONS, columns=["session_id", "date", "format", "hours", "title", "focus"])
    edu = educators.set_index("educator_id")
    theta_by_educator = pd.Series(rng.normal(0, 1, len(edu)), index=edu.index)
    delta_by_session = pd.Series(rng.normal(0, SESSION_SD, len(sessions)), index=sessions["session_id"])
    virtual = attendance["session_id"].map(sessions.set_index("session_id")["format"]).eq("virtual").to_numpy()
    rate = np.where(virtual, PARAMETERS["survey_response_rate_virtual"], PARAMETERS["survey_response_rate"])
    responded = attendance[rng.random(len(attendance)) < rate].reset_index(drop=True)
    school = responded["educator_id"].map(edu["school_id"])
    pp = school.map(schools.set_index("school_id")["principal_participation"]).to_numpy()
    ratings = _item_responses(
        theta_by_educator[responded["educator_id"]].to_numpy(),
        delta_by_session[responded["session_id"]].to_numpy(),
        pp - 0.7,
        rng,
    )
    level3 = np.array([it[2] == 3 for it in ITEMS])
    answered = np.where(responded["session_id"].eq(SESSIONS[-1][0]).to_numpy()[:, None], True, ~level3[None, :])
    blank = rng.random(ratings.shape) < PARAMETERS["item_nonresponse"]
    r_idx, i_idx = np.nonzero(answered)
    response_ids = make_ids("R", len(responded), max(6, len(str(len(responded)))))
    values = ratings[r_idx, i_idx]
    session_deltas = delta_by_session[responded["session_id"]].to_numpy()
    session_deltas = {"all": session_deltas, "staff_survey": float(delta_by_session[SESSIONS[-1][0]])}
    return session_deltas, pd.DataFrame(
        {
            "response_id": response_ids[r_idx],
            "session_id": responded["session_id"].to_numpy()[r_idx],
            "item_id": np.array([it[0] for it in ITEMS], dtype=object)[i_idx],
            "response": pd.array(np.where(blank[r_idx, i_idx], np.nan, values), dtype="Int64"),
            "educator_id": responded["educator_id"].to_numpy()[r_idx],
            "school_id": school.to_numpy()[r_idx],
        }
    )


def draw_learning(educators, rng):
    p = PARAMETERS["learning"]
    takes = educators["role"].isin(["teacher", "coach"]) & (
        educators["participant"] | (rng.random(len(educators)) < 0.5)
    )
    takes &= educators["participant"] | educators["role"].eq("teacher")
    who = educators[takes]
    n = len(who)
    pre_true = rng.normal(p["pre_mean"], p["pre_sd"], n)
    gain = np.where(
        who["participant"],
        rng.normal(p["gain_mean"], p["gain_sd"], n),
        rng.normal(p["comparison_gain_mean"], p["gain_sd"], n),
    )
    post_true = pre_true + gain + rng.normal(0, p["noise_sd"], n)
    pre = np.clip(np.round(pre_true), 0, p["max_score"])
    post = np.clip(np.round(post_true), 0, p["max_score"])
    missing = rng.random(n) < p["post_missing"] * (1 + 0.5 * (pre_true < p["pre_mean"]))
    rows = [
        pd.DataFrame(
            {
                "educator_id": who["educator_id"],
                "assessment_id": "MKT-1",
                "occasion": "pre",
                "score": pre,
                "max_score": p["max_score"],
                "date": "2025-08-20",
            }
        ),
        pd.DataFrame(
            {
                "educator_id": who["educator_id"][~missing],
                "assessment_id": "MKT-1",
                "occasion": "post",
                "score": post[~missing],
                "max_score": p["max_score"],
                "date": "2026-04-08",
            }
        ),
    ]
    out = pd.concat(rows, ignore_index=True)
    out["score"] = out["score"].astype(int)
    return out


def _conditions(schools, rng):
    c = PARAMETERS["conditions"]
    rows = []
    pp = schools["principal_participation"].to_numpy()
    for t, date in enumerate(CONDITION_DATES):
        for structure, indicator, offset in INDICATORS:
            latent = c["intercept"] + c["principal"] * pp + c["growth_per_term"] * t * pp + offset
            rating = np.clip(np.round(latent + rng.normal(0, c["noise_sd"], len(pp))), 1, 4).astype(int)
            rows.append(
                pd.DataFrame(
                    {
                        "school_id": schools["school_id"],
                        "date": date,
                        "structure": structure,
                        "indicator_id": indicator,
                        "rating": rating,
                        "rater_role": "district_team",
                    }
                )
            )
    return pd.concat(rows, ignore_index=True).sort_values(["school_id", "date"], kind="stable").reset_index(drop=True)


def draw_school_conditions(pp: np.ndarray) -> np.ndarray:
    """The school's mean latent condition over the three terms and four indicators."""
    c = PARAMETERS["conditions"]
    offsets = np.mean([o for _, _, o in INDICATORS])
    return c["intercept"] + c["principal"] * pp + c["growth_per_term"] * 1.0 * pp + offsets


def _pl_hours(attendance: pd.DataFrame, educators: pd.DataFrame) -> pd.Series:
    hours = attendance.groupby("educator_id")["minutes"].sum() / 60
    return educators["educator_id"].map(hours).fillna(0.0)


def practice_logit(month, participant, hours_c, cond_c, u, g):
    p = PARAMETERS["practice"]
    return p["intercept"] + u + g + participant * (p["month"] * month + p["hours"] * hours_c) + p["conditions"] * cond_c


def _observations(educators, schools, attendance, rng):
    p = PARAMETERS["practice"]
    teachers = educators[educators["role"].eq("teacher")].reset_index(drop=True)
    hours = _pl_hours(attendance, teachers)
    part = teachers["participant"].to_numpy().astype(float)
    hours_c = (hours - hours[part == 1].mean()).to_numpy() * part
    pp_by_school = schools.set_index("school_id")["principal_participation"]
    cond = draw_school_conditions(teachers["school_id"].map(pp_by_school).to_numpy())
    cond_c = cond - draw_school_conditions(schools["principal_participation"].to_numpy()).mean()
    u = rng.normal(0, p["educator_sd"], len(teachers))
    g = teachers["school_id"].map(pd.Series(rng.normal(0, p["school_sd"], len(schools)), index=schools["school_id"]))
    seen = rng.random((len(teachers), len(MONTHS))) < p["observe_probability"]
    t_idx, m_idx = np.nonzero(seen)
    prob = expit(practice_logit(m_idx, part[t_idx], hours_c[t_idx], cond_c[t_idx], u[t_idx], g.to_numpy()[t_idx]))
    observed = (rng.random(len(t_idx)) < prob).astype(int)
    day = rng.integers(3, 27, len(t_idx))
    dates = [f"{MONTHS[m].year}-{MONTHS[m].month:02d}-{d:02d}" for m, d in zip(m_idx, day)]
    by_coach = rng.random(len(t_idx)) < 0.5
    lou_seen = rng.choice([3, 4, 5, 6], len(t_idx), p=[0.3, 0.4, 0.2, 0.1])
    lou_not = rng.choice([0, 1, 2, 3], len(t_idx), p=[0.3, 0.3, 0.3, 0.1])
    lou = np.where(observed == 1, lou_seen, lou_not).astype(float)
    rating = np.where(observed == 1, rng.choice([2, 3, 4], len(t_idx), p=[0.3, 0.5, 0.2]), 1)
    out = pd.DataFrame(
        {
            "observation_id": make_ids("O", len(t_idx), max(5, len(str(len(t_idx))))),
            "date": dates,
            "school_id": teachers["school_id"].to_numpy()[t_idx],
            "educator_id": teachers["educator_id"].to_numpy()[t_idx],
            "practice_observed": observed,
            "rating": rating,
            "level_of_use": pd.array(np.where(by_coach, lou, np.nan), dtype="Int64"),
            "observer_role": np.where(by_coach, "coach", "principal"),
        }
    )
    spring = m_idx >= len(MONTHS) - 3
    impl = pd.Series(prob[spring]).groupby(teachers["school_id"].to_numpy()[t_idx][spring]).mean()
    return out, impl


def _students(schools, educators, implementation, rng):
    p = PARAMETERS["students"]
    n = np.where(schools["small"], 60, rng.poisson(500, len(schools)))
    school = np.repeat(schools["school_id"].to_numpy(), n)
    total = len(school)
    band = np.repeat(schools["grade_band"].to_numpy(), n)
    grade = np.empty(total, dtype=int)
    for b, options in GRADES.items():
        mask = band == b
        grade[mask] = rng.choice(options, mask.sum())
    teachers = educators[educators["role"].eq("teacher")]
    by_school = teachers.groupby("school_id")["educator_id"].apply(list)
    teacher = np.empty(total, dtype=object)
    for s in schools["school_id"]:
        mask = school == s
        teacher[mask] = rng.choice(by_school[s], mask.sum())
    teacher_effect = pd.Series(rng.normal(0, p["teacher_sd"], len(educators)), index=educators["educator_id"])
    school_effect = pd.Series(rng.normal(0, p["school_sd"], len(schools)), index=schools["school_id"])
    ed_rate = pd.Series(rng.uniform(0.25, 0.75, len(schools)), index=schools["school_id"])
    el = rng.random(total) < 0.12
    swd = rng.random(total) < 0.13
    ed = rng.random(total) < pd.Series(school).map(ed_rate).to_numpy()
    ability = rng.normal(0, 1, total)
    base = (
        school_effect[school].to_numpy()
        + teacher_effect[teacher].to_numpy()
        + p["ability_sd"] * ability
        - 10 * el
        - 10 * ed
        - 15 * swd
    )

    def score(year):
        return 500 + 5 * (year - 2024) + base + rng.normal(0, p["noise_sd"], total)

    participant = pd.Series(school).map(schools.set_index("school_id")["group"]).eq("participant").to_numpy()
    tau_s = _school_effects(schools, implementation, n)
    s2024, s2025 = score(2024), score(2025)
    s2026 = score(2026) + participant * pd.Series(school).map(tau_s).fillna(0.0).to_numpy()
    stays = rng.random(total) >= np.where(participant, p["attrition_participant"], p["attrition_comparison"])
    new = rng.random(total) < p["new_students"]  # entered in 2026: no 2025 row, no prior score
    ids = make_ids("ST", total, max(6, len(str(total))))
    flags = {"english_learner": el, "disability": swd, "econ_disadvantaged": ed}
    pre = pd.DataFrame(
        {
            "student_id": ids,
            "school_id": school,
            "educator_id": teacher,
            "year": 2025,
            "period": "pre",
            "grade": grade - 1,
            "outcome": np.round(s2025),
            "prior_score": np.round(s2024),
            **flags,
        }
    )[~new]
    post = pd.DataFrame(
        {
            "student_id": ids,
            "school_id": school,
            "educator_id": teacher,
            "year": 2026,
            "period": "post",
            "grade": grade,
            "outcome": np.round(s2026),
            "prior_score": np.where(new, np.nan, np.round(s2025)),
            **flags,
        }
    )[stays]
    out = pd.concat([pre, post], ignore_index=True)
    for col in ("outcome", "prior_score", "grade"):
        out[col] = out[col].astype("Int64")
    return out


def _school_effects(schools, implementation, n_students) -> pd.Series:
    """tau_s: the true effect in points at each participant school, centred so its student-weighted mean is tau."""
    p = PARAMETERS["students"]
    part = schools["group"].eq("participant").to_numpy()
    ids = schools["school_id"][part]
    impl = implementation.reindex(ids).fillna(implementation.mean()).to_numpy()
    weights = np.asarray(n_students)[part]
    centred = impl - np.average(impl, weights=weights)
    return pd.Series(p["effect_points"] + p["effect_by_implementation"] * centred, index=ids.to_numpy())


def draw_costs(schools, educators, rng):
    rows = []
    part = schools[schools["group"].eq("participant")]
    teachers = educators[educators["participant"] & educators["role"].eq("teacher")].groupby("school_id").size()
    dates = pd.date_range("2025-08-01", "2026-05-31", freq="D")
    for item, category, source, amount, rule in COSTS:
        date = str(dates[rng.integers(0, len(dates))].date())
        if rule == "district":
            rows.append((item, category, amount, source, "", date))
        else:
            for s in part["school_id"]:
                value = amount * 2 * teachers.get(s, 0) if rule == "per_teacher_day" else amount
                rows.append((item, category, round(value, 2), source, s, date))
    return pd.DataFrame(rows, columns=["item", "category", "amount", "funding_source", "school_id", "date"])


def _population_truth(seed: int, participant_pp: np.ndarray, session_deltas: dict) -> dict:
    """Estimands computed from a very large draw of the same process (not from the sample itself).

    Level 1 is about the sessions that were delivered: the truth keeps their realized session effects
    (``session_deltas["all"]``, one per response) and redraws respondents; principals' participation is
    drawn from the participant schools' own values. The level-3 staff items are answered only at the
    last session, so their truth uses that session's effect (``session_deltas["staff_survey"]``).
    """
    rng = np.random.default_rng([seed, 99])
    big = 200_000
    pp = rng.choice(participant_pp, big)
    theta = rng.normal(0, 1, big)
    ratings = _item_responses(theta, rng.choice(session_deltas["all"], big), pp - 0.7, rng)
    staff = _item_responses(theta, np.full(big, session_deltas["staff_survey"]), pp - 0.7, rng)
    level3 = np.array([it[2] == 3 for it in ITEMS])
    ratings = np.where(level3[None, :], staff, ratings)
    scored = np.where(np.array([it[3] for it in ITEMS])[None, :], 6 - ratings, ratings)
    constructs = {}
    for name in ("content", "process", "context", "organizational_support"):
        cols = [i for i, it in enumerate(ITEMS) if it[1] == name]
        means = scored[:, cols].mean(axis=1)
        constructs[name] = {"mean": float(means.mean()), "share_at_least_4": float((means >= 4).mean())}
    item_means = {it[0]: float(scored[:, i].mean()) for i, it in enumerate(ITEMS)}
    item_top2 = {it[0]: float((scored[:, i] >= 4).mean()) for i, it in enumerate(ITEMS)}
    # Level 2: gains for participants.
    lp = PARAMETERS["learning"]
    pre_t = rng.normal(lp["pre_mean"], lp["pre_sd"], big)
    post_t = pre_t + rng.normal(lp["gain_mean"], lp["gain_sd"], big) + rng.normal(0, lp["noise_sd"], big)
    pre, post = np.clip(np.round(pre_t), 0, 30), np.clip(np.round(post_t), 0, 30)
    diff = post - pre
    sd_av = (pre.std(ddof=1) + post.std(ddof=1)) / 2
    # Level 4: marginal (population-averaged) implementation by month at participant schools.
    pr = PARAMETERS["practice"]
    u = rng.normal(0, pr["educator_sd"], big)
    g = rng.normal(0, pr["school_sd"], big)
    hours_c = rng.normal(0, 6.0, big)
    cond_c = rng.normal(0, 0.35, big)
    marginal = np.array([expit(practice_logit(m, 1.0, hours_c, cond_c, u, g)).mean() for m in range(len(MONTHS))])
    slope = float(np.polyfit(np.arange(len(MONTHS)), logit(marginal), 1)[0])
    # The population-averaged PL-hours slope: the change in logit E[p] per hour (+-2 hours), averaged over months.
    at = [
        [expit(practice_logit(m, 1.0, np.full(big, h), cond_c, u, g)).mean() for m in range(len(MONTHS))]
        for h in (-2.0, 2.0)
    ]
    hours_slope = float(np.mean((logit(np.array(at[1])) - logit(np.array(at[0]))) / 4.0))
    return {
        "reactions": {"constructs": constructs, "item_means": item_means, "item_top2_share": item_top2},
        "learning": {
            "mean_gain": float(diff.mean()),
            "sd_gain": float(diff.std(ddof=1)),
            "d_z": float(diff.mean() / diff.std(ddof=1)),
            "d_av": float(diff.mean() / sd_av),
            "comparison_mean_gain": lp["comparison_gain_mean"],
        },
        "practice_marginal": {
            "rate_by_month": dict(zip([str(m) for m in MONTHS], marginal.round(6).tolist())),
            "month_log_odds": slope,
            "hours_log_odds": hours_slope,
        },
    }


def generate(n_schools: int = 12, seed: int = 2025) -> tuple[dict[str, pd.DataFrame], dict]:
    """Generate the sample district's tables and its true parameters.

    Parameters
    ----------
    n_schools : int
        Number of schools (at least 3): two thirds participant, one third comparison.
    seed : int
        Seed of every random draw; the same seed gives the same district.

    Returns
    -------
    tables : dict of str to DataFrame
        One DataFrame per contract table, keyed by table name.
    truth : dict
        The true parameters and population estimands (see the module docstring).
    """
    r_school, r_edu, r_att, r_react, r_learn, r_cond, r_obs, r_stu, r_cost, r_comment = streams(seed, 10)
    schools = draw_schools(n_schools, r_school)
    educators = draw_educators(schools, r_edu)
    attendance = draw_attendance(educators, schools, r_att)
    observations, implementation = _observations(educators, schools, attendance, r_obs)
    students = _students(schools, educators, implementation, r_stu)
    sessions = pd.DataFrame(SESSIONS, columns=["session_id", "date", "format", "hours", "title", "focus"])
    items = survey_items()
    session_deltas, reactions = draw_reactions(attendance, educators, schools, r_react)
    tables = {
        "schools": schools.drop(columns=["principal_participation", "small"]),
        "educators": educators.drop(columns=["engagement"]),
        "sessions": sessions,
        "attendance": attendance,
        "costs": draw_costs(schools, educators, r_cost),
        "survey_items": items,
        "reactions": reactions,
        "learning": draw_learning(educators, r_learn),
        "conditions": _conditions(schools, r_cond),
        "observations": observations,
        "students": students,
    }
    pp = schools.set_index("school_id")["principal_participation"]
    said, comments_truth = draw_comments(reactions, educators, schools, pp, r_comment)
    tables.update(said)
    n_students = students.loc[students["year"].eq(2026)].groupby("school_id").size()
    tau = _school_effects(schools, implementation, n_students.reindex(schools["school_id"]).fillna(0).to_numpy())
    sp = PARAMETERS["students"]
    outcome_sd = float(
        np.sqrt(
            sp["ability_sd"] ** 2
            + sp["school_sd"] ** 2
            + sp["teacher_sd"] ** 2
            + sp["noise_sd"] ** 2
            + 100 * 0.12 * 0.88
            + 100 * 0.25
            + 225 * 0.13 * 0.87
        )
    )
    truth = {
        "seed": seed,
        "n_schools": n_schools,
        "parameters": PARAMETERS,
        "participant_schools": schools.loc[schools["group"].eq("participant"), "school_id"].tolist(),
        "comparison_schools": schools.loc[schools["group"].eq("comparison"), "school_id"].tolist(),
        "weak_school": schools["school_id"].iloc[2],
        "small_school": schools.loc[schools["small"], "school_id"].iloc[0],
        "principal_participation": dict(zip(schools["school_id"], schools["principal_participation"].round(6))),
        "school_conditions_latent": dict(
            zip(schools["school_id"], draw_school_conditions(schools["principal_participation"].to_numpy()).round(6))
        ),
        "spring_implementation_probability": implementation.round(6).to_dict(),
        "school_effect_points": tau.round(6).to_dict(),
        "outcomes": {
            "effect_points": sp["effect_points"],
            "outcome_sd_approx": outcome_sd,
            "effect_sd_approx": sp["effect_points"] / outcome_sd,
            "comparison_trend": 0.0,
        },
        "practice": {
            "month_log_odds_conditional": PARAMETERS["practice"]["month"],
            "hours_log_odds_conditional": PARAMETERS["practice"]["hours"],
            "comparison_month_log_odds": 0.0,
        },
        **_population_truth(
            seed,
            schools.loc[schools["group"].eq("participant"), "principal_participation"].to_numpy(),
            session_deltas,
        ),
        "comments": comments_truth,
    }
    return tables, truth


#: The sample plans' rationale (both samples cite the same research for the same program).
RATIONALE_YML = """\
rationale:
  summary: >-
    Workshops introduce a few talk moves and let teachers rehearse them; PLCs give teams protected time to
    plan each move and study students' reasoning; coaching cycles, video study and learning walks bring
    feedback into each classroom. Professional learning that is content-focused, active, sustained and
    collective changes teachers' knowledge and practice; coaching changes instruction and achievement; and
    where students elaborate and question each other's reasoning, they learn more. Each link is checked at
    Guskey's five levels.
  references:
    - citation: "Guskey, T. R. (2000). Evaluating professional development. Thousand Oaks, CA: Corwin Press."
      supports: "the evaluation: each level is needed, though not enough, for the next"
    - citation: "Desimone, L. M. (2009). Improving impact studies of teachers' professional development: Toward
        better conceptualizations and measures. Educational Researcher, 38(3), 181-199."
      supports: "activities -> teachers' learning -> classroom use -> student outcomes"
    - citation: "Garet, M. S., Porter, A. C., Desimone, L., Birman, B. F., & Yoon, K. S. (2001). What makes
        professional development effective? Results from a national sample of teachers. American Educational
        Research Journal, 38(4), 915-945."
      supports: "workshops and PLCs -> teachers' learning and practice"
    - citation: "Vescio, V., Ross, D., & Adams, A. (2008). A review of research on the impact of professional
        learning communities on teaching practice and student learning. Teaching and Teacher Education, 24(1),
        80-91."
      supports: "PLCs and protected planning time -> classroom use"
      url: "https://doi.org/10.1016/j.tate.2007.01.004"
    - citation: "Kraft, M. A., Blazar, D., & Hogan, D. (2018). The effect of teacher coaching on instruction and
        achievement: A meta-analysis of the causal evidence. Review of Educational Research, 88(4), 547-588."
      supports: "coaching cycles -> classroom use -> student outcomes"
      url: "https://doi.org/10.3102/0034654318759268"
    - citation: "Howe, C., Hennessy, S., Mercer, N., Vrikki, M., & Wheatley, L. (2019). Teacher-student dialogue
        during classroom teaching: Does it really impact on student outcomes? Journal of the Learning Sciences,
        28(4-5), 462-512."
      supports: "students explaining their reasoning -> student outcomes"
      url: "https://doi.org/10.1080/10508406.2019.1573730"
"""

PLAN_YML = (
    """\
# The evaluation plan of the synthetic sample district (nothing here describes a real district).
program: "Math Talk: students explain their reasoning"
school_year: 2025-26
description: >-
  A two-year professional learning program in mathematics discourse: summer and winter workshops,
  PLCs, coaching cycles, virtual video study and learning walks, for teachers, coaches and principals.
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
    mastery_share: 0.80
  organization:
    result: Every participant school protects weekly collaborative planning time
    measure: Share of participant schools rated developing (3) or better on protected planning time
    indicator: protected_time
    rating_at_least: 3
    target: 1.0
  practice:
    result: Students explain their reasoning in most classrooms
    measure: Share of walkthroughs in which the practice is observed, by May
    target: 0.60
    by_month: 5
  outcomes:
    result: Students in participant schools grow more in mathematics than similar students elsewhere
    measure: Covariate-adjusted effect on the spring mathematics scale score (Hedges' g)
    target: 0.10
"""
    + RATIONALE_YML
)


def write_sample(out: str | Path, n_schools: int = 12, seed: int = 2025) -> Path:
    """Write the sample district (CSV tables, ``plan.yml``, ``truth.json``) to folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables, truth = generate(n_schools, seed)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False, lineterminator="\n", float_format="%.10g")
    (out / "plan.yml").write_text(PLAN_YML, encoding="utf-8")
    (out / "codebook.yml").write_text(CODEBOOK_YML, encoding="utf-8")
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True, default=json_default) + "\n")
    return out


def json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return round(float(value), 6)
    raise TypeError(type(value))
