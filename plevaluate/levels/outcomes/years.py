"""Level 5 over several school years (``Level.years``, `plevaluate.years.evaluate_years`): the effect on students
as group-time effects when schools joined the program in different years (`plevaluate.staggered`)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from ..._tidy import cohort_start
from ...errors import StatisticalWarning
from ...staggered import MIN_UNITS, school_panel, staggered_effects
from ...vocabulary import counted

if TYPE_CHECKING:
    from ...contract import District
    from ...evaluate import Evaluation

__all__ = ["years"]


def years(district: District, evaluations: Mapping[str, Evaluation]) -> dict[str, pd.DataFrame]:
    """``years_effects_event``, ``years_effects_cohort``, ``years_effects_cell`` (group-time) and
    ``years_effects_overall`` when estimable, and ``years_effects_about`` (the method, the control group, and what
    the estimator left out or doubts, or why no effect could be estimated)."""
    staggered, note = None, ""
    cohorts = cohort_start(district.schools).dropna()
    students = district.students
    if students is None or students.empty:
        note = "no students.csv: no effect on students can be estimated"
    elif cohorts.nunique() < 2:
        note = "every program school joined in the same year: the single-year level-5 analysis applies"
    else:
        panel = school_panel(students, district.schools)
        never = int((panel.groupby("school_id")["first_year"].first() == 0).sum())
        control = "nevertreated" if never >= MIN_UNITS else "notyettreated"
        if control == "notyettreated":
            note = (
                f"{counted(never, 'comparison school')}, fewer than the {MIN_UNITS} the estimator needs: schools that join "
                "later are the controls until they join"
            )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", StatisticalWarning)
                staggered = staggered_effects(panel, control=control, ci=district.plan.ci)
        except ValueError as exc:
            note = f"the staggered estimate could not be computed: {exc}"
        else:  # what the estimator left out or doubts is said in the report, never dropped silently
            said = [str(w.message) for w in caught if issubclass(w.category, StatisticalWarning)]
            note = "; ".join(filter(None, [note, *said]))
    about = pd.DataFrame(
        {
            "method": [staggered.method if staggered is not None else ""],
            "control": [staggered.control if staggered is not None else ""],
            "note": [note],
        }
    )
    if staggered is None:
        return {"years_effects_about": about}
    return {
        "years_effects_event": staggered.event_time,
        "years_effects_cohort": staggered.cohorts.assign(
            cohort=[f"{g - 1}-{g % 100:02d}" for g in staggered.cohorts["cohort"]]
        ),
        "years_effects_cell": staggered.group_time.assign(
            cohort=[f"{g - 1}-{g % 100:02d}" for g in staggered.group_time["cohort"]]
        ),
        "years_effects_overall": staggered.overall,
        "years_effects_about": about,
    }
