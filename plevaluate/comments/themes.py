"""What a level's open-ended answers say: the share of commenters who raised each theme, district-wide, by school
and by role, the coders' agreement, and the quotes the evaluator approved.

A level that collects comments (reactions: level 1; organization: level 3) calls `level_tables` and publishes what
it returns under its own privacy rules (`PRIVACY`): a share is about the commenters of its group, so a group with
fewer than ``min_n`` commenters shows no share, and a quote from a school with fewer commenters than that is hidden
with it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..effects import wilson_interval
from ..privacy import Rule
from ..schema import TableSpec
from .agreement import agreement
from .codebook import codes_for_report
from .redact import for_district

if TYPE_CHECKING:
    from ..contract import District
    from ..results import LevelResult

__all__ = ["PRIVACY", "TABLES", "level_tables", "quote_texts", "theme_shares", "with_comments"]

#: The tables a level with comments adds, declared (`plevaluate.schema`).
TABLES = {
    "themes": TableSpec("measure", "level breakdown school_id role theme theme_name measure unit estimate ci_low ci_high ci_level n n_unit n_people n_missing method suppressed",
                        "the share of commenters who raised a theme in their open-ended answers, district, by school "
                        "and by role", n_unit="comments", unit="share"),
    "coding_agreement": TableSpec("measure", "level theme measure unit estimate ci_low ci_high ci_level n n_unit agree coder_a coder_b method",
                        "how far two coders agreed on a theme (Cohen's kappa) and on every theme (Krippendorff's alpha)",
                        n_unit="comments", unit="coefficient"),
    "quotes": TableSpec("diagnostic", "level school_id theme theme_name comment_id quote n_people suppressed",
                        "a comment the evaluator approved for quoting, redacted again before it is shown"),
}  # fmt: skip

_KEYS = ("level", "breakdown", "school_id", "role", "theme", "theme_name", "measure", "method")

#: How the comment tables are suppressed when published (`plevaluate.privacy.publish_levels`).
PRIVACY: tuple[Rule, ...] = (
    Rule("themes", ("n_people",), _KEYS, within=("breakdown", "theme"), unit="commenters", counts=("n",)),
    # a quote's school is hidden with its themes: a complementary-hidden school's commenter count, published beside its
    # quote, would let the smaller hidden school's be worked out from the district's. A hidden quote keeps only its
    # level: its school and theme would say that someone in a group below min_n raised that theme
    Rule(
        "quotes",
        ("n_people",),
        ("level",),
        follow=("themes", ("school_id", "theme")),
        unit="commenters",
    ),
    Rule("coding_agreement", ("n",), ("level", "theme", "measure", "coder_a", "coder_b"), unit="comments coded twice"),
)


def _people(comments: pd.DataFrame) -> pd.Series:
    """Who wrote each comment: the respondent key, or the comment itself when the export had none."""
    who = comments["respondent"] if "respondent" in comments else pd.Series(pd.NA, index=comments.index)
    return who.astype("string").fillna("comment:" + comments["comment_id"].astype(str))


def theme_shares(
    comments: pd.DataFrame, codes: pd.DataFrame, themes: dict[str, str], *, level: int, ci: float = 0.95
) -> pd.DataFrame:
    """The share of commenters who raised each theme: district, each school, each role.

    Parameters
    ----------
    comments : DataFrame
        comment_id, school_id, role, respondent (the contract's comments table, one level's rows).
    codes : DataFrame
        comment_id, theme: the themes applied (`plevaluate.comments.codebook.codes_for_report`).
    themes : dict
        Theme id -> name, in the order to report.

    Returns
    -------
    DataFrame in `TABLES`'s ``themes`` schema: ``estimate`` is commenters raising the theme over commenters in the
    group (a person counted once however many comments they wrote), with a Wilson interval; ``n`` the group's
    comments, ``n_people`` its commenters.

    Examples
    --------
    >>> notes = pd.DataFrame({"comment_id": ["a", "b", "c", "d"], "school_id": ["S1", "S1", "S2", "S2"],
    ...                       "role": "teacher", "respondent": ["p1", "p1", "p2", "p3"]})
    >>> codes = pd.DataFrame({"comment_id": ["a", "b", "c"], "theme": ["time", "time", "time"]})
    >>> out = theme_shares(notes, codes, {"time": "Time"}, level=3)
    >>> print(out[out.breakdown == "district"][["estimate", "n", "n_people"]].round(3).to_string(index=False))
     estimate  n  n_people
        0.667  4         3
    """
    frame = comments.assign(person=_people(comments).to_numpy())
    breakdowns = ["school_id", *(["role"] if "role" in frame and frame["role"].notna().any() else [])]
    mentioned = codes.merge(frame[["comment_id", "person", *breakdowns]], on="comment_id")
    mentioned = mentioned[mentioned["theme"].isin(list(themes))]
    # every group's counts at once (a pass over the mentions per school and theme took most of a minute at 2,000
    # schools): its comments, its commenters, and per theme the commenters who raised it in the group's comments
    everyone = mentioned.groupby("theme")["person"].nunique().to_dict()
    groups = [("district", None, len(frame), frame["person"].nunique(), everyone)]
    for column in breakdowns:
        counts = frame.groupby(column, sort=True)["person"].agg(["size", "nunique"])
        raised = mentioned.groupby([column, "theme"])["person"].nunique().unstack(fill_value=0)
        each = dict(zip(raised.index, raised.to_dict("records")))
        groups += [
            (column, key, n, people, each.get(key, {}))
            for key, n, people in zip(counts.index, counts["size"], counts["nunique"])
        ]
    rows = [
        {
            "level": level,
            "breakdown": breakdown,
            "school_id": key if breakdown == "school_id" else None,
            "role": key if breakdown == "role" else None,
            "theme": theme,
            "theme_name": name,
            "raised": int(raised.get(theme, 0)),
            "n": int(n),
            "n_people": int(people),
        }
        for breakdown, key, n, people, raised in groups
        for theme, name in themes.items()
    ]
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=list(TABLES["themes"].columns))
    low, high = wilson_interval(out["raised"], out["n_people"], ci)
    out = out.assign(
        measure="share_raising",
        unit="share",
        estimate=np.where(out["n_people"] > 0, out["raised"] / out["n_people"].where(out["n_people"] > 0), np.nan),
        ci_low=low,
        ci_high=high,
        ci_level=ci,
        n_unit="comments",
        n_missing=0,
        method="commenters raising the theme over commenters; Wilson interval",
        suppressed=False,
    )
    return out[list(TABLES["themes"].columns)]


def _approved(comments: pd.DataFrame, quotes: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.Series]:
    """The approved quotes of ``comments`` (joined to their comment) and the text each shows: the edited text where
    given, else the comment's."""
    if quotes is None or quotes.empty:
        return comments.iloc[:0], pd.Series(dtype="string")
    approved = quotes[quotes["approved"].astype("boolean").fillna(False).astype(bool)]
    chosen = comments.merge(approved, on="comment_id")
    edited = chosen["edited_text"].astype("string")
    return chosen, edited.where(edited.notna() & (edited.str.strip() != ""), chosen["text"])


def quote_texts(district: District) -> pd.Series:
    """Every text an approved quote shows, of any level: what the quotes' redactor is built for (so the IDs a year's
    evaluation needs for it are those `plevaluate.comments.redact.findable` in these)."""
    comments = district.tables.get("comments")
    if comments is None:
        return pd.Series(dtype="string")
    return _approved(comments, district.tables.get("quotes"))[1]


def _quotes(comments: pd.DataFrame, codes: pd.DataFrame, district: District, themes: dict[str, str], level: int):
    """The approved quotes of this level's comments: edited text where given, redacted again, at most the plan's
    ``comments.quotes_per_theme`` per theme, each with its school's commenters (the privacy rule's count)."""
    columns = list(TABLES["quotes"].columns)
    chosen, shown = _approved(comments, district.tables.get("quotes"))
    if chosen.empty:
        return pd.DataFrame(columns=columns)
    redactor = for_district(district.educators, district.students, district.plan.comments.redact, texts=shown)
    text, _ = redactor.redact_all(shown)
    people = comments.assign(person=_people(comments).to_numpy()).groupby("school_id")["person"].nunique()
    everyone = _people(comments).nunique()
    first_theme = codes.drop_duplicates("comment_id").set_index("comment_id")["theme"]
    out = pd.DataFrame(
        {
            "level": level,
            "school_id": chosen["school_id"].to_numpy(),
            "theme": chosen["comment_id"].map(first_theme).to_numpy(),
            "comment_id": chosen["comment_id"].to_numpy(),
            "quote": text.to_numpy(),
            "n_people": chosen["school_id"].map(people).fillna(everyone).astype(int).to_numpy(),
        }
    )
    out["theme_name"] = out["theme"].map(themes)
    order = {theme: i for i, theme in enumerate(themes)}
    out = out.sort_values(["theme", "comment_id"], key=lambda s: s.map(order) if s.name == "theme" else s)
    out = out.groupby(out["theme"].fillna(""), sort=False).head(district.plan.comments.quotes_per_theme)
    return out.assign(suppressed=False)[columns].reset_index(drop=True)


def level_tables(district: District, level: int, *, ci: float | None = None) -> tuple[dict[str, pd.DataFrame], list]:
    """The comment tables of one level (``themes``, ``coding_agreement`` where two people coded, ``quotes``) and
    its notes; empty when the district has no comments for the level or no codebook."""
    comments = district.tables.get("comments")
    codebook = district.codebook
    if comments is None or codebook is None:
        return {}, []
    mine = comments[comments["level"].astype(str) == str(level)]
    if mine.empty:
        return {}, []
    ci = district.plan.ci if ci is None else ci
    human = district.tables.get("comment_codes")
    human = None if human is None else human[human["comment_id"].isin(mine["comment_id"])]
    codes, how = codes_for_report(mine, codebook, human, primary=district.plan.comments.primary_coder)
    themes = {t.id: t.name for t in codebook.themes if level in t.levels}
    shares = theme_shares(mine, codes, themes, level=level, ci=ci)
    shares["method"] = shares["method"] + "; " + how
    tables = {"themes": shares, "quotes": _quotes(mine, codes, district, themes, level)}
    notes = []
    if human is not None and human["coder"].nunique() >= 2:
        table = agreement(human, list(themes), ci=ci, rng=np.random.default_rng(0))
        tables["coding_agreement"] = table.assign(level=level, unit="coefficient", ci_level=ci, n_unit="comments")[
            list(TABLES["coding_agreement"].columns)
        ]
    return tables, notes


def with_comments(result: LevelResult, district: District, level: int) -> LevelResult:
    """``result`` with the level's comment tables added (`level_tables`); unchanged when there are none."""
    tables, notes = level_tables(district, level)
    if not tables:
        return result
    return replace(result, tables={**result.tables, **tables}, notes=(*result.notes, *notes))
