"""The codes every level shares: the conditions rubric's ratings, the Levels of Use, and who is in the program.

One home for each: the data contract reads these codes (`plevaluate.contract`), the levels compute with
them, the reports print their words. Nothing here reads a file.
"""

from __future__ import annotations

from types import MappingProxyType

import pandas as pd

__all__ = [
    "LEVEL_OF_USE_CODES",
    "LEVEL_OF_USE_NAMES",
    "RATING_LABELS",
    "RATING_WORDS",
    "SUBGROUP_WORDS",
    "counted",
    "in_program",
    "listed",
    "subgroup_words",
]

#: Conditions rubric labels and the 1-4 ratings they stand for.
RATING_LABELS = MappingProxyType({"not_yet": 1, "emerging": 2, "developing": 3, "deepening": 4})
#: Conditions rubric ratings in words (1 not yet ... 4 deepening), as reports print them.
RATING_WORDS = MappingProxyType({rating: label.replace("_", " ") for label, rating in RATING_LABELS.items()})
#: CBAM Levels of Use (Hall & Hord): roman labels and the 0-7 codes they stand for.
LEVEL_OF_USE_CODES = MappingProxyType({"0": 0, "i": 1, "ii": 2, "iii": 3, "iva": 4, "ivb": 5, "v": 6, "vi": 7})
#: The Levels of Use in words, by code.
LEVEL_OF_USE_NAMES = MappingProxyType(
    {
        0: "0 Non-use",
        1: "I Orientation",
        2: "II Preparation",
        3: "III Mechanical",
        4: "IVA Routine",
        5: "IVB Refinement",
        6: "V Integration",
        7: "VI Renewal",
    }
)


#: Students' yes/no flags (students.csv) in words, for those with the flag and those without, as reports print them.
SUBGROUP_WORDS = MappingProxyType(
    {
        "english_learner": ("English learners", "not English learners"),
        "disability": ("students with disabilities", "students without disabilities"),
        "econ_disadvantaged": ("economically disadvantaged students", "students not economically disadvantaged"),
    }
)


def counted(count: int, noun: str) -> str:
    """``count`` of ``noun``, the noun plural unless there is one (reports read "1 school(s) outside the limits").

    >>> counted(1, "school"), counted(3, "comparison school"), counted(1204, "school")
    ('1 school', '3 comparison schools', '1,204 schools')
    """
    return f"{int(count):,} {noun}{'' if int(count) == 1 else 's'}"


def listed(items) -> str:
    """Items as a sentence lists them.

    >>> listed(["grade 6"]), listed(["grade 6", "grade 7"]), listed(["a", "b", "c"])
    ('grade 6', 'grade 6 and grade 7', 'a, b and c')
    """
    items = [str(item) for item in items]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def subgroup_words(subgroup: str, value) -> str:
    """A level-5 subgroup (``subgroup``, ``value`` of its ``subgroups`` table) in words: a flag's two values as who
    they are, a grade as a grade; another column as ``column: value``. A report read "english learner: False".

    >>> subgroup_words("english_learner", "False"), subgroup_words("grade", "3"), subgroup_words("site", "north")
    ('not English learners', 'grade 3', 'site: north')
    """
    text = str(value)
    words = SUBGROUP_WORDS.get(str(subgroup))
    if words is not None and text.lower() in ("true", "false"):
        return words[0] if text.lower() == "true" else words[1]
    if text == "missing":
        return f"{str(subgroup).replace('_', ' ')}: not recorded"
    if subgroup == "grade":
        return f"grade {text}"
    return f"{str(subgroup).replace('_', ' ')}: {text}"


def in_program(educators: pd.DataFrame, schools: pd.DataFrame) -> pd.Series:
    """Whether each educator takes part in the program: the one rule every level uses.

    An educator is in the program when educators.csv says ``participant: true`` and not in it when it
    says ``false``. Where the flag is blank, or the column is absent, the school decides: educators of
    a ``participant`` school are in the program, those of a ``comparison`` school are not.

    Returns
    -------
    Series
        bool, indexed like ``educators``.

    Examples
    --------
    >>> e = pd.DataFrame({"educator_id": ["a", "b", "c"], "school_id": ["P", "P", "C"],
    ...                   "participant": pd.array([False, None, None], dtype="boolean")})
    >>> s = pd.DataFrame({"school_id": ["P", "C"], "group": ["participant", "comparison"]})
    >>> in_program(e, s).tolist()
    [False, True, False]
    """
    by_school = educators["school_id"].map(schools.set_index("school_id")["group"]).eq("participant")
    if "participant" not in educators:
        return by_school.astype(bool)
    flag = educators["participant"].astype("boolean")
    return flag.fillna(by_school).astype(bool)
