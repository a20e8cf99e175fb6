"""The sample district's open-ended answers: synthetic comments with known themes and planted personal details.

Participants answer the session survey's open question ("What was most useful, and what would you change?",
level 1) and the spring staff survey's ("What gets in the way of using this in your classroom?", level 3). Each
comment is built from phrases of one or two themes (or none), most of them in the codebook's words, about one in
eight a paraphrase the codebook's rules do not know: so rule-based coding recovers most themes and misses some,
against a known truth. At level 3, schools whose principal rarely takes part mention planning time and their
principal's support more often (the pattern the district report lines up with level 3 conditions).

About one comment in ten gets a planted personal detail: a colleague's name (from educators.csv), an e-mail
address, a phone number or a link. The comments are stored after the same redaction `plevaluate import` runs, so
none of it reaches comments.csv; ``truth.json`` lists what was planted where, for the tests.

Two coders (``AR``, ``JT``) code a share of the comments (JT half of AR's) with realistic slips; ``quotes.csv`` approves a few
comments for quoting, one of them at the small school (never shown: fewer than ``min_n`` commenters) and one
not approved.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .comments.redact import Redactor

__all__ = ["CODEBOOK_YML", "QUESTIONS", "THEMES", "draw_comments"]

QUESTIONS = {
    1: "What was most useful in this session, and what would you change?",
    3: "What gets in the way of using this in your classroom?",
}

#: Theme id -> (level, phrases in the codebook's words, paraphrases its rules do not know).
THEMES = {
    "rehearsal": (1, ["rehearsing the talk moves with colleagues was the most useful part",
                      "the practice rounds where we tried each talk move helped",
                      "role playing partner talk made it concrete",
                      "I liked getting to rehearse the moves before trying them with students"],
                  ["trying it out on each other first was great"]),
    "video": (1, ["the classroom videos of real students talking were the best part",
                  "watching the lesson video showed what it looks like",
                  "more video examples please",
                  "seeing student work samples from real classrooms helped"],
              ["seeing other teachers' lessons in action was eye opening"]),
    "pacing": (1, ["it felt rushed at the end",
                   "too much content for one afternoon",
                   "the pace was too fast for the new moves",
                   "the session ran long and we lost focus"],
               ["we barely got through everything"]),
    "fit": (1, ["the examples were not relevant to my grade level",
                "hard to apply to high school classes",
                "the examples were all elementary",
                "it did not fit my subject area"],
            ["I teach older students so I had to adapt all of it"]),
    "planning_time": (3, ["there is no time to plan together",
                          "our common planning time keeps getting cancelled",
                          "PLC time is taken over by other meetings",
                          "we need protected planning time every week"],
                      ["our team never sits down together anymore"]),
    "principal_support": (3, ["our principal never mentions it",
                              "feedback from the principal after walkthroughs would help",
                              "the principal joined our walkthroughs and that made it a priority",
                              "school leadership has other priorities this year"],
                          ["the front office does not follow up on any of this"]),
    "coaching": (3, ["my coach modeled a lesson and that helped",
                     "the coaching cycle gave me useful feedback",
                     "we need more coaching cycles",
                     "the coach helps me plan the talk moves"],
                 ["having someone watch and debrief with me made the difference"]),
    "materials": (3, ["the curriculum does not leave room for discussion",
                      "we need materials with talk prompts",
                      "the textbook pacing guide is too tight for discussion",
                      "sentence stem resources would help"],
                  ["nothing in our adopted program supports this"]),
}  # fmt: skip

#: The sample's codebook: each theme's definition and the words its rules look for.
CODEBOOK_YML = """\
# The sample district's codebook for open-ended answers (synthetic; see plevaluate.sample_comments).
themes:
  - id: rehearsal
    name: Rehearsing the moves
    levels: [1]
    definition: Practising the talk moves during the session (rehearsal, role play, practice rounds).
    include: Any mention of trying the moves with colleagues before the classroom.
    exclude: Practice in the classroom itself.
    keywords: [rehearsing, rehearse, practice rounds, role playing, role play]
    examples: ["Rehearsing the talk moves with colleagues was the most useful part."]
  - id: video
    name: Seeing real classrooms
    levels: [1]
    definition: Classroom video and student work from real classrooms.
    keywords: [video, videos, student work samples, real classrooms]
    examples: ["The classroom videos of real students talking were the best part."]
  - id: pacing
    name: Pacing of the session
    levels: [1]
    definition: The session was rushed, long or overloaded.
    keywords: [rushed, too much content, pace was too fast, ran long]
    examples: ["Too much content for one afternoon."]
  - id: fit
    name: Fit to grade and subject
    levels: [1]
    definition: The examples did not fit the participant's grade level or subject.
    keywords: [grade level, high school, all elementary, subject area]
    examples: ["Hard to apply to high school classes."]
  - id: planning_time
    name: Time to plan together
    levels: [3]
    definition: Protected collaborative planning time, or the lack of it.
    include: Common planning, PLC time, team meetings being cancelled.
    exclude: Time in the PL session itself.
    keywords: [time to plan, planning time, PLC time]
    examples: ["Our common planning time keeps getting cancelled."]
  - id: principal_support
    name: Principal's support
    levels: [3]
    definition: Whether the principal and school leaders make the practice a priority, join walkthroughs and give
      feedback.
    keywords: [principal, leadership]
    examples: ["The principal joined our walkthroughs and that made it a priority."]
  - id: coaching
    name: Coaching
    levels: [3]
    definition: Coaching cycles, modelling and feedback from a coach.
    keywords: [coach, coaching, coaching cycle, coaching cycles]
    examples: ["The coaching cycle gave me useful feedback."]
  - id: materials
    name: Materials and curriculum
    levels: [3]
    definition: Curriculum, pacing guides and materials that help or hinder classroom discussion.
    keywords: [curriculum, materials, textbook, sentence stem, resources]
    examples: ["We need materials with talk prompts."]
"""

_FILLER_START = ["", "", "", "Overall good. ", "Honestly, ", "Thanks. ", "Good day. "]
_NOTHING = ["Nothing to add.", "No comment.", "All good, thanks.", "Fine."]
_PARAPHRASE = 0.12
_PLANT = 0.10


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _compose(themes: list[str], rng: np.random.Generator) -> tuple[str, list[str]]:
    if not themes:
        return str(rng.choice(_NOTHING)), []
    parts = []
    for theme in themes:
        _, phrases, paraphrases = THEMES[theme]
        pool = paraphrases if rng.random() < _PARAPHRASE else phrases
        parts.append(_sentence(str(rng.choice(pool))))
    start = str(rng.choice(_FILLER_START))
    text = " ".join(parts)
    return start + (text[0].lower() + text[1:] if start.endswith(", ") else text), themes


def _plant(text: str, colleague: str, rng: np.random.Generator) -> tuple[str, str]:
    """A personal detail added to a comment, and the planted string."""
    first, last = colleague.split(" ", 1)
    kind = rng.integers(0, 5)
    if kind == 0:
        planted = colleague
        return f"{text} Thanks to {planted} for the help!", planted
    if kind == 1:
        planted = last
        return f"{text} Ms. {planted} already does this well.", planted
    if kind == 2:
        planted = f"{first.lower()}.{last.lower().replace(' ', '')}@mathtalk-district.example.org"
        return f"{text} Email me at {planted} about it.", planted
    if kind == 3:
        planted = f"(555) 01{rng.integers(0, 10)}-{rng.integers(1000, 10000)}"
        return f"{text} Call me at {planted}.", planted
    planted = f"https://drive.example.org/talk-{rng.integers(100, 999)}"
    return f"{text} My slides: {planted}", planted


def _chances(level: int, weakness: np.ndarray) -> dict[str, np.ndarray]:
    """Each theme's chance of being raised, per comment (level 3 depends on the school's principal)."""
    mine = [t for t, (lvl, _, _) in THEMES.items() if lvl == level]
    if level == 1:
        base = {"rehearsal": 0.40, "video": 0.30, "pacing": 0.22, "fit": 0.15}
        return {t: np.full(len(weakness), base[t]) for t in mine}
    return {
        "planning_time": 0.20 + 0.45 * weakness,
        "principal_support": 0.12 + 0.35 * weakness,
        "coaching": np.full(len(weakness), 0.30),
        "materials": np.full(len(weakness), 0.20),
    }


def draw_comments(
    reactions: pd.DataFrame,
    educators: pd.DataFrame,
    schools: pd.DataFrame,
    principal_participation: pd.Series,
    rng: np.random.Generator,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """The comments, comment_codes and quotes tables (comments redacted) and their truth.

    ``reactions`` are the survey answers (one response_id per submitted survey), ``principal_participation`` the
    schools' (by school_id, 0 to 1).
    """
    edu = educators.set_index("educator_id")
    surveys = reactions.drop_duplicates("response_id")[["response_id", "session_id", "educator_id", "school_id"]]
    staff = surveys["session_id"].eq(surveys["session_id"].max()).to_numpy()  # the spring staff survey
    rows, truth_themes, planted = [], {}, {}
    for level, picked in ((1, surveys[~staff]), (3, surveys[staff])):
        share = 0.30 if level == 1 else 0.90
        picked = picked[rng.random(len(picked)) < share].reset_index(drop=True)
        weakness = 1 - picked["school_id"].map(principal_participation).to_numpy(dtype=float)
        chances = _chances(level, weakness)
        for i, row in enumerate(picked.itertuples(index=False)):
            themes = [t for t, p in chances.items() if rng.random() < p[i]][:2]
            text, themes = _compose(themes, rng)
            comment_id = f"C{len(rows) + 1:05d}"
            if rng.random() < _PLANT:
                colleagues = edu.index[(edu["school_id"] == row.school_id) & (edu.index != row.educator_id)]
                colleague = str(edu.loc[rng.choice(colleagues), "name"]) if len(colleagues) else "Jordan Smith"
                text, planted[comment_id] = _plant(text, colleague, rng)
            truth_themes[comment_id] = themes
            rows.append(
                {
                    "comment_id": comment_id,
                    "level": level,
                    "question": QUESTIONS[level],
                    "session_id": None if level == 3 else row.session_id,
                    "school_id": row.school_id,
                    "role": edu.loc[row.educator_id, "role"],
                    "respondent": row.educator_id,
                    "date": "2026-04-08" if level == 3 else None,
                    "text": text,
                }
            )
    comments = pd.DataFrame(rows)
    redactor = Redactor.build(names=educators["name"].dropna().astype(str))
    comments["text"] = redactor.redact_all(comments["text"])[0].to_numpy()
    codes = _coding(comments, truth_themes, rng)
    quotes, picks = _quotes(comments, truth_themes, planted, schools, rng)
    truth = {
        "themes": truth_themes,
        "planted": planted,
        "paraphrase_share": _PARAPHRASE,
        "quotes": picks,
    }
    return {"comments": comments, "comment_codes": codes, "quotes": quotes}, truth


def _coding(comments: pd.DataFrame, truth: dict[str, list[str]], rng: np.random.Generator) -> pd.DataFrame:
    """Coder AR codes three comments in five, coder JT half of AR's again; each misses a theme now and then and
    rarely adds one that is not there."""
    ids = comments["comment_id"].to_numpy()
    levels = dict(zip(comments["comment_id"], comments["level"]))
    first = ids[rng.random(len(ids)) < 0.6]
    second = first[rng.random(len(first)) < 0.5]
    rows = []
    for coder, chosen, miss, extra in (("AR", first, 0.06, 0.015), ("JT", second, 0.10, 0.025)):
        for comment_id in chosen:
            applied = []
            for theme, (level, _, _) in THEMES.items():
                if level != levels[comment_id]:
                    continue
                present = theme in truth[comment_id]
                if (present and rng.random() >= miss) or (not present and rng.random() < extra):
                    applied.append(theme)
            rows += [{"comment_id": comment_id, "coder": coder, "theme": t} for t in applied]
            if not applied:
                rows.append({"comment_id": comment_id, "coder": coder, "theme": None})
    return pd.DataFrame(rows, columns=["comment_id", "coder", "theme"])


def _quotes(comments, truth, planted, schools, rng) -> tuple[pd.DataFrame, dict]:
    """Approve one comment per theme at participant schools of ordinary size (a planted name among them, so the
    quote shows it redacted), one at the small school, and leave one unapproved."""
    small = set(schools.loc[schools["small"], "school_id"])
    ordinary = comments[~comments["school_id"].isin(small)]
    rows, picks = [], {"approved": [], "small_school": None, "not_approved": None, "with_planted": None}
    for theme in THEMES:
        taken = set(picks["approved"])  # a comment raising two themes is approved once
        candidates = [c for c in ordinary["comment_id"] if theme in truth[c] and c not in planted and c not in taken]
        if candidates:
            chosen = str(rng.choice(candidates))
            rows.append({"comment_id": chosen, "approved": True, "edited_text": None})
            picks["approved"].append(chosen)
    with_name = [c for c in ordinary["comment_id"] if c in planted and truth[c]]
    if with_name:
        rows.append({"comment_id": with_name[0], "approved": True, "edited_text": None})
        picks["with_planted"] = with_name[0]
        picks["approved"].append(with_name[0])
    at_small = [c for c in comments.loc[comments["school_id"].isin(small), "comment_id"] if truth[c]]
    if at_small:
        rows.append({"comment_id": at_small[0], "approved": True, "edited_text": None})
        picks["small_school"] = at_small[0]
    taken = {r["comment_id"] for r in rows}
    rest = [c for c in ordinary["comment_id"] if truth[c] and c not in taken]
    rows.append({"comment_id": rest[0], "approved": False, "edited_text": None})
    picks["not_approved"] = rest[0]
    return pd.DataFrame(rows, columns=["comment_id", "approved", "edited_text"]), picks
