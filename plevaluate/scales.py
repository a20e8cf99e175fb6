"""The scale library: rating scales as survey tools write them, each point with the spellings tools use.

A survey export holds answers as labels ("Strongly agree"); the data contract holds numbers (1-5).
`SCALES` lists the common families, each named ``<family>-<points>`` and each mirroring published
answer anchors:

- **agreement** 4 and 6 points (no neutral point), 5 and 7 (with one): Likert (1932), *A technique for the
  measurement of attitudes*; the anchors of Vagias (2006), *Likert-type scale response anchors* (Clemson
  University), "Level of Agreement"; Qualtrics' and SurveyMonkey's agreement answer sets;
- **frequency** 4-7 points: Vagias (2006) "Frequency" ("Never, Rarely, Sometimes, Often, Always");
- **quality** 4-7 points: Vagias (2006) "Level of Quality" ("Poor, Fair, Good, Very good, Excellent", here
  ``quality-5-very-good``, the same five words as the SF-36 general-health item, Ware & Sherbourne 1992) and the
  symmetric "Very poor ... Excellent" forms (``quality-5``, ``quality-6``);
- **satisfaction** 4-7 points: Vagias (2006) "Level of Satisfaction";
- **usefulness** 4 and 5 points: Vagias (2006) "Level of Usefulness" style ("Not at all useful ... Extremely
  useful");
- **yes-no**: a two-point answer (no = 1, yes = 2), as Google Forms, Microsoft Forms and Qualtrics offer it.

Labels are compared case- and whitespace-insensitively, curly quotes straightened (`normal`). "N/A", "Not
applicable", "Prefer not to say" and the like (`NOT_A_RATING`) are missing answers, never a score.

`fitting` lists the scales a question's labels fit; `choose` picks one the way an import codes a question
(its own labels only, never pooled with other questions): a single fitting scale, else the shortest one whose
every point was used; when the labels would be coded differently by scales no answer tells apart, there is no
choice, and the caller asks the user to name the scale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "NOT_A_RATING",
    "SCALES",
    "Choice",
    "Scale",
    "choose",
    "custom",
    "fitting",
    "label_key",
    "normal",
    "recognized",
]

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


_NUMBERED = re.compile(r"^(?:\(?\d{1,2}\)?\s*[-=.:)]\s*|\d{1,2}\s+(?=[^\d\s]))|\s*(?:[-=]\s*\d{1,2}|\(\d{1,2}\))$")


def label_key(label: object) -> str:
    """A label as a scale point is looked up: `normal`, and a point's number written with it dropped
    ("5 - Strongly agree", "(1) Never", "Strongly agree (5)": forms and exports often number the points).

    >>> label_key("5 = Strongly  Agree")
    'strongly agree'
    """
    key = normal(label)
    stripped = _NUMBERED.sub("", key).strip()
    return stripped if stripped and re.search(r"[^\W\d_]", stripped) else key


@dataclass(frozen=True)
class Scale:
    """One rating scale: its name ("agreement-5") and, for each point from low to high, the accepted labels."""

    name: str
    points: tuple[frozenset[str], ...]
    source: str = ""

    @property
    def family(self) -> str:
        return re.sub(r"-\d+(-.*)?$", "", self.name)

    def __len__(self) -> int:
        return len(self.points)

    def code(self, label: str) -> int | None:
        """1 for the lowest point ... n for the highest; None if the label is not on this scale."""
        for key in dict.fromkeys((normal(label), label_key(label))):
            found = next((i for i, forms in enumerate(self.points, start=1) if key in forms), None)
            if found is not None:
                return found
        return None

    def labels(self) -> frozenset[str]:
        return frozenset().union(*self.points)

    def first_labels(self) -> list[str]:
        """One spelling of each point, low to high (for messages and the codebook)."""
        return [sorted(forms, key=len)[0] for forms in self.points]


def _scale(name: str, *points: str | Sequence[str], source: str = "") -> Scale:
    forms = tuple(frozenset(normal(f) for f in ((p,) if isinstance(p, str) else p)) for p in points)
    return Scale(name, forms, source)


_NEUTRAL_AGREE = ("neither agree nor disagree", "neither agree or disagree", "neutral", "undecided")
_NEUTRAL_SATISFIED = ("neither satisfied nor dissatisfied", "neither satisfied or dissatisfied", "neutral")
_SOMEWHAT_DISAGREE = ("somewhat disagree", "slightly disagree", "mildly disagree")
_SOMEWHAT_AGREE = ("somewhat agree", "slightly agree", "mildly agree")
_SD, _D, _A, _SA = "strongly disagree", "disagree", "agree", "strongly agree"
_VAGIAS = "Vagias (2006), Likert-type scale response anchors, Clemson University"
_AGREE = f"Likert (1932); {_VAGIAS}, Level of Agreement; Qualtrics and SurveyMonkey agreement answer sets"

#: The scale library, by name.
SCALES: Mapping[str, Scale] = MappingProxyType(
    {
        scale.name: scale
        for scale in (
            _scale("agreement-4", _SD, _D, _A, _SA, source=_AGREE + " (no neutral point)"),
            _scale("agreement-5", _SD, _D, _NEUTRAL_AGREE, _A, _SA, source=_AGREE),
            _scale(
                "agreement-6", _SD, _D, _SOMEWHAT_DISAGREE, _SOMEWHAT_AGREE, _A, _SA, source=_AGREE + " (no neutral)"
            ),
            _scale("agreement-7", _SD, _D, _SOMEWHAT_DISAGREE, _NEUTRAL_AGREE, _SOMEWHAT_AGREE, _A, _SA, source=_AGREE),
            _scale("frequency-4", "never", "sometimes", "often", "always", source=f"{_VAGIAS}, Frequency"),
            _scale(
                "frequency-5",
                "never",
                "rarely",
                "sometimes",
                ("often", "usually"),
                "always",
                source=f"{_VAGIAS}, Frequency",
            ),
            _scale(
                "frequency-6",
                "never",
                "almost never",
                "sometimes",
                "often",
                "almost always",
                "always",
                source=f"{_VAGIAS}, Frequency",
            ),
            _scale(
                "frequency-7",
                "never",
                "rarely",
                "occasionally",
                "sometimes",
                ("frequently", "often"),
                "usually",
                "always",
                source=f"{_VAGIAS}, Frequency",
            ),
            _scale("quality-4", "poor", "fair", "good", "excellent", source=f"{_VAGIAS}, Level of Quality"),
            _scale(
                "quality-5-very-good",
                "poor",
                "fair",
                "good",
                "very good",
                "excellent",
                source=f"{_VAGIAS}, Level of Quality; SF-36 item 1 (Ware & Sherbourne 1992); SurveyMonkey's quality set",
            ),
            _scale(
                "quality-5", "very poor", "poor", "fair", "good", "excellent", source=f"{_VAGIAS}, Level of Quality"
            ),
            _scale(
                "quality-6",
                "very poor",
                "poor",
                "fair",
                "good",
                "very good",
                "excellent",
                source=f"{_VAGIAS}, Level of Quality",
            ),
            _scale(
                "quality-7",
                "very poor",
                "poor",
                "below average",
                "average",
                "above average",
                "good",
                "excellent",
                source=f"{_VAGIAS}, Level of Quality",
            ),
            _scale(
                "usefulness-4",
                "not at all useful",
                "slightly useful",
                "moderately useful",
                "very useful",
                source=f"{_VAGIAS}, usefulness anchors",
            ),
            _scale(
                "usefulness-5",
                "not at all useful",
                "slightly useful",
                "moderately useful",
                "very useful",
                "extremely useful",
                source=f"{_VAGIAS}, usefulness anchors",
            ),
            _scale(
                "satisfaction-4",
                "very dissatisfied",
                "dissatisfied",
                "satisfied",
                "very satisfied",
                source=f"{_VAGIAS}, Level of Satisfaction",
            ),
            _scale(
                "satisfaction-5",
                "very dissatisfied",
                "dissatisfied",
                _NEUTRAL_SATISFIED,
                "satisfied",
                "very satisfied",
                source=f"{_VAGIAS}, Level of Satisfaction",
            ),
            _scale(
                "satisfaction-6",
                "very dissatisfied",
                "dissatisfied",
                "somewhat dissatisfied",
                "somewhat satisfied",
                "satisfied",
                "very satisfied",
                source=f"{_VAGIAS}, Level of Satisfaction",
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
                source=f"{_VAGIAS}, Level of Satisfaction",
            ),
            _scale(
                "yes-no", "no", "yes", source="a two-point answer as Google Forms, Microsoft Forms, Qualtrics offer"
            ),
        )
    }
)


def custom(name: str, labels: Sequence[str | Sequence[str]]) -> Scale:
    """A scale a mapping file defines: its labels from low to high (a list at a point gives its spellings)."""
    return _scale(name, *labels, source="defined in the mapping file")


def recognized(label: str, scales: Iterable[Scale]) -> bool:
    """Whether a label is a point of any of ``scales``."""
    keys = {normal(label), label_key(label)}
    return any(keys & scale.labels() for scale in scales)


def fitting(labels: Iterable[str], scales: Iterable[Scale], points: int | None = None) -> list[Scale]:
    """The scales holding every one of ``labels`` (of ``points`` points if given), shortest first."""
    keys = {label_key(label) for label in labels}
    found = [s for s in scales if keys <= s.labels() and (points is None or len(s) == points)]
    return sorted(found, key=len)


@dataclass(frozen=True)
class Choice:
    """The scale `choose` found for a question, or why there is none.

    ``scale`` is None when no scale holds the labels (``fits`` empty) or when scales that hold them would code
    them differently and no answer tells them apart (``ambiguous``: the user names one). ``longer`` lists the
    longer scales of the chosen one's family that would code the labels differently (points no one chose)."""

    scale: Scale | None
    fits: tuple[Scale, ...]
    longer: tuple[Scale, ...] = ()
    why: str = ""  # how the scale was chosen, in words (for the codebook)

    @property
    def ambiguous(self) -> bool:
        return self.scale is None and len(self.fits) > 1


def _codes(scale: Scale, keys: Iterable[str]) -> tuple[int | None, ...]:
    return tuple(scale.code(k) for k in sorted(keys))


def _contiguous(scale: Scale, keys: Iterable[str]) -> bool:
    """Whether every point between the lowest and the highest label used was used (no unused point inside)."""
    codes = {scale.code(k) for k in keys}
    return codes == set(range(min(codes), max(codes) + 1))


def choose(labels: Iterable[str], scales: Iterable[Scale], points: int | None = None) -> Choice:
    """The scale a question whose answers used ``labels`` is coded on (its own labels only).

    One scale holds them: that one. Several: the shortest whose every point was used (a complete answer set
    is read on the scale it completes; longer scales of its family are listed, since a form could have
    offered points no one chose); else, when three or more points were chosen, the only one with no unused
    point between the lowest and highest labels used (Disagree, Neutral, Agree, Strongly agree: agreement-5,
    since on agreement-7 no one would have chosen "Somewhat disagree" or "Somewhat agree" though answers lie
    on both sides of each; two labels alone, Disagree and Agree, say nothing about a neutral point); else any,
    if all code the labels alike. Otherwise none: ambiguous, and the user names the scale.

    >>> choose(["Disagree", "Strongly disagree", "Agree", "Strongly agree"], SCALES.values()).scale.name
    'agreement-4'
    >>> choose(["Disagree", "Neutral", "Agree", "Strongly agree"], SCALES.values()).scale.name
    'agreement-5'
    >>> choose(["Agree", "Strongly agree"], SCALES.values()).ambiguous
    True
    """
    keys = {label_key(label) for label in labels}
    fits = tuple(fitting(keys, scales, points))
    if not fits:
        return Choice(None, ())
    complete = [s for s in fits if all(forms & keys for forms in s.points)]
    # an unused point inside the answers is evidence only when three or more points were chosen
    consistent = [s for s in fits if _contiguous(s, keys)] if len({fits[0].code(k) for k in keys}) >= 3 else []
    if len(fits) == 1:
        chosen, why = fits[0], "the only scale holding its labels"
    elif complete:
        chosen, why = complete[0], "every point of it was chosen"
    elif len(consistent) == 1:
        chosen, why = consistent[0], "the only scale with no unused point between the answers chosen"
    elif len({_codes(s, keys) for s in fits}) == 1:
        chosen, why = fits[0], "every scale holding its labels codes them alike"
    else:
        return Choice(None, fits)
    longer = tuple(s for s in fits if len(s) > len(chosen) and _codes(s, keys) != _codes(chosen, keys))
    return Choice(chosen, fits, longer, why)
