"""The codebook (``codebook.yml`` beside the data) and coding comments by its rules.

A codebook names the themes an evaluator looks for in open-ended answers: each with a definition, the levels whose
comments it codes (1, 3 or both), notes on what counts and what does not, the words or patterns that signal it, words that rule it out, and examples. Coding by
rule applies a theme to a comment when one of its keywords (whole words or phrases, any case) or patterns (regular
expressions) appears and none of its exclusions does; a comment may carry several themes or none. People's coding
(``comment_codes.csv``) takes precedence over the rules for every comment a person coded (`codes_for_report`).

Example ``codebook.yml``::

    themes:
      - id: time
        name: Time to collaborate
        levels: [3]
        definition: Protected time to plan with colleagues, or the lack of it.
        include: Schedules, common planning periods, release time.
        exclude: Time in the PL session itself.
        keywords: [planning time, common planning, no time, schedule]
        patterns: ['\\btime to (plan|meet)\\b']
        not_keywords: [session ran long]
        examples: ["We never get time to plan together."]
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from ..errors import ContractError, Problem
from ..gates import read_yaml

__all__ = ["CODEBOOK", "Codebook", "Theme", "code_comments", "codes_for_report", "read_codebook"]

#: The codebook's file name in a data folder.
CODEBOOK = "codebook.yml"

#: A group that repeats and holds a repeat: (a+)+, (\w*)*, (x+|y)+{2,} -- the shape of catastrophic backtracking.
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")

_Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class Theme(BaseModel):
    """One theme: an id (lower case, digits and underscores), its name and definition, and the rules that code it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: _Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    definition: str = ""
    include: str = ""
    exclude: str = ""
    levels: tuple[Literal[1, 3], ...] = (1, 3)
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    not_keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                compiled = re.compile(pattern)
            except re.error as error:
                raise ValueError(f"pattern {pattern!r} is not a regular expression ({error})") from None
            if compiled.search(""):
                raise ValueError(f"pattern {pattern!r} matches an empty comment, so it would code every comment")
            if _NESTED.search(pattern):
                raise ValueError(
                    f"pattern {pattern!r} repeats a group that itself repeats (like (a+)+): on a long comment such a "
                    "pattern can run for hours; write it without the nested repeat, or use keywords"
                )
        return patterns

    @field_validator("keywords", "not_keywords")
    @classmethod
    def _words(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        if any(not w.strip() for w in words):
            raise ValueError("a keyword is blank: it would match nothing or everything; remove it")
        return words

    @field_validator("name", "id")
    @classmethod
    def _printable(cls, text: str) -> str:
        if any(unicodedata.category(ch)[0] == "C" for ch in text):
            raise ValueError("control characters (a line break, a tab, a terminal escape) are not allowed here")
        return text

    def rule(self, words: tuple[str, ...]) -> re.Pattern | None:
        """One case-insensitive expression for ``words`` (whole words or phrases, longest first)."""
        if not words:
            return None
        alternatives = sorted({re.escape(w.strip()).replace(r"\ ", r"\s+") for w in words if w.strip()}, key=len)
        return re.compile(r"(?<!\w)(?:" + "|".join(reversed(alternatives)) + r")(?!\w)", re.IGNORECASE)


class Codebook(BaseModel):
    """The themes, in the order reports list them; theme ids are unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    themes: tuple[Theme, ...] = Field(min_length=1)

    @field_validator("themes")
    @classmethod
    def _unique(cls, themes: tuple[Theme, ...]) -> tuple[Theme, ...]:
        for what, values in (("ids", [t.id for t in themes]), ("names", [t.name.strip().casefold() for t in themes])):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"theme {what} must be unique; {', '.join(twice)} appear more than once")
        return themes

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def name(self, theme: str) -> str:
        return next((t.name for t in self.themes if t.id == theme), theme)


def read_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook through the read gate.

    Raises
    ------
    ContractError
        Listing every problem: the field (``themes.2.keywords``), the value and the fix.
    """
    path = Path(path)
    raw = read_yaml(path, what="codebook")
    try:
        return Codebook.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        problems = [
            Problem(
                path.name,
                error["msg"].removeprefix("Value error, ").rstrip("."),
                _fix(tuple(error["loc"])),
                column=".".join(str(p) for p in error["loc"]),
                value=None if error["type"] == "missing" else repr(error.get("input"))[:80],
            )
            for error in exc.errors()
        ]
        raise ContractError(problems, str(path.parent)) from None


def _fix(where: tuple) -> str:
    if where[-1:] == ("id",):
        return "use a short id of lower-case letters, digits and underscores, starting with a letter (e.g. time)."
    if not where or where[-1] == "themes":
        return "list the themes under 'themes:', each with an id and a name (see the codebook example in the docs)."
    return (
        "each theme takes id, name, definition, include, exclude, keywords, patterns, not_keywords and examples; "
        "check the spelling and the value."
    )


def code_comments(comments: pd.DataFrame, codebook: Codebook, *, text: str = "text") -> pd.DataFrame:
    """Apply the codebook's rules: one row per (comment, theme) that applies.

    Returns
    -------
    DataFrame with comment_id, theme, coder ("rules").

    Examples
    --------
    >>> book = Codebook(themes=[Theme(id="time", name="Time", keywords=["planning time"], not_keywords=["session"]),
    ...                         Theme(id="coach", name="Coaching", patterns=[r"\\bcoach(es|ing)?\\b"])])
    >>> notes = pd.DataFrame({"comment_id": ["c1", "c2", "c3"], "text": [
    ...     "No planning time at all", "My coach helped; planning time too", "The session ate our planning time"]})
    >>> code_comments(notes, book)[["comment_id", "theme"]].values.tolist()
    [['c1', 'time'], ['c2', 'time'], ['c2', 'coach']]
    """
    texts = comments[text].fillna("").astype(str)
    levels = comments["level"].astype(str) if "level" in comments else None
    rows = []
    for theme in codebook.themes:
        hit = pd.Series(False, index=comments.index)
        include = theme.rule(theme.keywords)
        rules = [include] if include is not None else []
        rules += [re.compile(pattern, re.IGNORECASE) for pattern in theme.patterns]
        for rule in rules:
            hit |= texts.map(lambda t, rule=rule: rule.search(t) is not None).astype(bool)
        exclude = theme.rule(theme.not_keywords)
        if exclude is not None:
            hit &= ~texts.map(lambda t, rule=exclude: rule.search(t) is not None).astype(bool)
        if levels is not None:  # a theme codes the comments of its own levels only
            hit &= levels.isin([str(level) for level in theme.levels])
        rows.append(pd.DataFrame({"comment_id": comments.loc[hit, "comment_id"], "theme": theme.id}))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["comment_id", "theme"])
    order = {c: i for i, c in enumerate(comments["comment_id"])}
    out = out.sort_values("comment_id", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return out.assign(coder="rules")


def codes_for_report(
    comments: pd.DataFrame, codebook: Codebook, human: pd.DataFrame | None, *, primary: str | None = None
) -> tuple[pd.DataFrame, str]:
    """The codes reports count: a person's for every comment that person coded, the rules' for the rest.

    ``primary`` names the coder whose codes count (by default the coder who coded the most comments; a second
    coder's codes measure agreement, `plevaluate.comments.agreement`). Returns the codes (comment_id, theme,
    coder) and a sentence saying who coded what, for the method column.
    """
    rules = code_comments(comments, codebook)
    if human is None or human.empty:
        return rules, f"coded by the codebook's rules ({len(comments):,} comments)"
    if primary is None:
        primary = str(
            human.groupby("coder")["comment_id"].nunique().sort_values(ascending=False, kind="stable").index[0]
        )
    mine = human[human["coder"] == primary]
    by_person = set(mine["comment_id"]) & set(comments["comment_id"])
    people = mine[mine["comment_id"].isin(by_person) & mine["theme"].notna()][["comment_id", "theme", "coder"]]
    out = pd.concat([people, rules[~rules["comment_id"].isin(by_person)]], ignore_index=True)
    words = (
        f"coded by a person ({len(by_person):,} comments) and by the codebook's rules "
        f"({len(comments) - len(by_person):,} comments)"
    )
    return out.drop_duplicates(["comment_id", "theme"]).reset_index(drop=True), words
