"""Rating scales as survey tools write them: the labels of the common English Likert scales, in order.

A survey export holds answers as labels ("Strongly agree"); the data contract holds numbers (1-5).
`SCALES` lists the common scales (agreement, frequency, quality, usefulness, satisfaction; 4 to 7
points, with or without a neutral point), each position with the spellings tools use for it.
Labels are compared case- and whitespace-insensitively (`normal`). "N/A", "Not applicable",
"Prefer not to say" and the like (`NOT_A_RATING`) are missing answers, never a score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["NOT_A_RATING", "SCALES", "Scale", "choose", "custom", "normal", "recognized"]

#: Answers that mean "no rating": missing, not a score.
NOT_A_RATING = frozenset(
    {
        "n/a",
        "na",
        "n.a.",
        "not applicable",
        "does not apply",
        "prefer not to say",
        "prefer not to answer",
        "i prefer not to answer",
        "don't know",
        "do not know",
        "i don't know",
        "not sure",
        "no opinion",
    }
)


def normal(label: object) -> str:
    """A label compared as people read it: case, surrounding and repeated spaces, curly quotes ignored.

    >>> normal("  Strongly   AGREE ")
    'strongly agree'
    """
    text = str(label).replace("\u2019", "'").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip().casefold()


@dataclass(frozen=True)
class Scale:
    """One rating scale: its name ("agreement-5") and, for each point from low to high, the accepted labels."""

    name: str
    points: tuple[frozenset[str], ...]

    @property
    def family(self) -> str:
        return self.name.rsplit("-", 1)[0]

    def __len__(self) -> int:
        return len(self.points)

    def code(self, label: str) -> int | None:
        """1 for the lowest point ... n for the highest; None if the label is not on this scale."""
        key = normal(label)
        return next((i for i, forms in enumerate(self.points, start=1) if key in forms), None)

    def labels(self) -> frozenset[str]:
        return frozenset().union(*self.points)


def _scale(name: str, *points: str | Sequence[str]) -> Scale:
    return Scale(name, tuple(frozenset(normal(f) for f in ((p,) if isinstance(p, str) else p)) for p in points))


_NEUTRAL_AGREE = ("neither agree nor disagree", "neither agree or disagree", "neutral", "undecided")
_NEUTRAL_SATISFIED = ("neither satisfied nor dissatisfied", "neither satisfied or dissatisfied", "neutral")
_SOMEWHAT_DISAGREE = ("somewhat disagree", "slightly disagree", "mildly disagree")
_SOMEWHAT_AGREE = ("somewhat agree", "slightly agree", "mildly agree")
_SD, _D, _A, _SA = "strongly disagree", "disagree", "agree", "strongly agree"

#: The common scales, by name.
SCALES: Mapping[str, Scale] = MappingProxyType(
    {
        scale.name: scale
        for scale in (
            _scale("agreement-4", _SD, _D, _A, _SA),
            _scale("agreement-5", _SD, _D, _NEUTRAL_AGREE, _A, _SA),
            _scale("agreement-6", _SD, _D, _SOMEWHAT_DISAGREE, _SOMEWHAT_AGREE, _A, _SA),
            _scale("agreement-7", _SD, _D, _SOMEWHAT_DISAGREE, _NEUTRAL_AGREE, _SOMEWHAT_AGREE, _A, _SA),
            _scale("frequency-4", "never", "sometimes", "often", "always"),
            _scale("frequency-5", "never", "rarely", "sometimes", ("often", "usually"), "always"),
            _scale("frequency-6", "never", "almost never", "sometimes", "often", "almost always", "always"),
            _scale(
                "frequency-7",
                "never",
                "rarely",
                "occasionally",
                "sometimes",
                ("frequently", "often"),
                "usually",
                "always",
            ),
            _scale("quality-4", "poor", "fair", "good", "excellent"),
            _scale("quality-5", "very poor", "poor", "fair", "good", "excellent"),
            _scale("quality-6", "very poor", "poor", "fair", "good", "very good", "excellent"),
            _scale("quality-7", "very poor", "poor", "below average", "average", "above average", "good", "excellent"),
            _scale("usefulness-4", "not at all useful", "slightly useful", "moderately useful", "very useful"),
            _scale(
                "usefulness-5",
                "not at all useful",
                "slightly useful",
                "moderately useful",
                "very useful",
                "extremely useful",
            ),
            _scale("satisfaction-4", "very dissatisfied", "dissatisfied", "satisfied", "very satisfied"),
            _scale(
                "satisfaction-5", "very dissatisfied", "dissatisfied", _NEUTRAL_SATISFIED, "satisfied", "very satisfied"
            ),
            _scale(
                "satisfaction-6",
                "very dissatisfied",
                "dissatisfied",
                "somewhat dissatisfied",
                "somewhat satisfied",
                "satisfied",
                "very satisfied",
            ),
            _scale(
                "satisfaction-7",
                "very dissatisfied",
                "dissatisfied",
                "somewhat dissatisfied",
                _NEUTRAL_SATISFIED,
                "somewhat satisfied",
                "satisfied",
                "very satisfied",
            ),
        )
    }
)


def custom(name: str, labels: Sequence[str | Sequence[str]]) -> Scale:
    """A scale a mapping file defines: its labels from low to high (a list at a point gives its spellings)."""
    return _scale(name, *labels)


def recognized(label: str, scales: Iterable[Scale]) -> bool:
    """Whether a label is a point of any of ``scales``."""
    key = normal(label)
    return any(key in scale.labels() for scale in scales)


def choose(
    labels: Iterable[str], scales: Iterable[Scale], points: int | None = None
) -> tuple[Scale | None, list[Scale]]:
    """The scale for a question whose answers used ``labels``: the shortest scale of the family that holds
    them all (``points`` forces the length, e.g. from the item's scale_min/scale_max), and the longer scales of
    that family that would hold them too (a 4-point reading of answers that never used the neutral point
    could be a 5-point scale: the caller says so)."""
    keys = {normal(label) for label in labels}
    fitting = [s for s in scales if keys <= s.labels() and (points is None or len(s) == points)]
    if not fitting:
        return None, []
    fitting.sort(key=len)
    first = fitting[0]
    return first, [s for s in fitting[1:] if s.family == first.family]
