"""Level 5 when schools join the program in different years: group-time average effects, never a plain TWFE.

With staggered adoption a two-way fixed-effects regression compares late joiners with early joiners whose
effects are still growing, and can give a weighted average with negative weights (Goodman-Bacon 2021). This
module estimates the group-time average effects of Callaway & Sant'Anna (2021), "Difference-in-differences with
multiple time periods", Journal of Econometrics 225(2), 200-230: for each cohort g (the first spring a school's
students had a program year behind them) and each spring t, the cohort's change in mean outcome since spring
g - 1 minus the change among schools not (yet) in the program, and aggregates them by event time (years since
joining), by cohort, and overall.

The estimator is csdid's `ATTgt` (the Python port of the authors' R package ``did``; MIT licence, kept up to
date): outcome regression without covariates (the unconditional parallel-trends estimator), analytic
influence-function standard errors clustered by school (deterministic: no bootstrap draws), pointwise intervals.
The unit is the school: each school's mean of the year's standardized outcome (student scores z-scored within
each spring across the district), so effects read in student-level SD units and inference respects that
schools, not students, join the program. `tests/test_staggered.py` reproduces the R package's published
minimum-wage example (``mpdta``) to its printed digits.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .errors import StatisticalWarning
from .held import HeldTable
from .vocabulary import counted

__all__ = ["MIN_UNITS", "StaggeredEffects", "school_panel", "staggered_effects"]

#: the fewest units (schools) a group may have: the R package did's rule (number of covariates + 5), which csdid
#: follows; below it for the never-treated controls the estimator refuses, for a cohort it warns
MIN_UNITS = 5


@dataclass(frozen=True)
class StaggeredEffects:
    """Group-time, event-time, cohort and overall effects, each a table with estimate, se, ci_low, ci_high."""

    group_time: pd.DataFrame
    event_time: pd.DataFrame
    cohorts: pd.DataFrame
    overall: pd.DataFrame
    control: str
    method: str


def school_panel(students: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """One row per school and spring: the mean of the year's standardized outcome, students counted.

    ``students``: student_id, school_id, year (the spring of the score), outcome. ``schools``: school_id, group,
    cohort (the year the school's first program school year starts: 2025 for 2025-26; blank for comparison
    schools). Returns school_id, year, first_year (the first spring after a program year: cohort + 1; 0 for
    schools never in the program), outcome (mean z-score), students.
    """
    if isinstance(students, HeldTable):  # held on a cluster's workers: each part's sums there, added here
        panel = _panel_in_parts(students)
    else:
        scores = _scores(students)
        by_year = scores.groupby("year")["outcome"]
        scores["z"] = (scores["outcome"] - by_year.transform("mean")) / by_year.transform("std")
        panel = (
            scores.groupby(["school_id", "year"], observed=True)
            .agg(outcome=("z", "mean"), students=("student_id", "nunique"))
            .reset_index()
        )
    cohort = pd.to_numeric(schools.set_index("school_id")["cohort"], errors="coerce")
    program = schools.set_index("school_id")["group"].eq("participant")
    first = (cohort + 1).where(program & cohort.notna(), 0)
    panel["first_year"] = panel["school_id"].map(first).fillna(0).astype(int)
    panel["year"] = panel["year"].astype(int)
    return panel


def _scores(students: pd.DataFrame) -> pd.DataFrame:
    """The rows with an outcome: the four columns read, not a copy of every column (a whole student table's worth in
    the client at 5,000 schools), the spring as a whole number."""
    scores = students.loc[students["outcome"].notna(), ["student_id", "school_id", "year", "outcome"]]
    return scores.assign(year=pd.to_numeric(scores["year"], errors="coerce").astype("Int64"))


def _panel_in_parts(students: HeldTable) -> pd.DataFrame:
    """`school_panel`'s school_id, year, outcome, students from a table held in parts by student (a student's rows in
    one part), in two rounds of sums: each spring's count and total (its mean), then each spring's squared
    deviations (its standard deviation) and each school's deviations, rows and students. A school's mean z-score is
    the sum of its deviations over its rows times the spring's standard deviation."""
    counts = pd.concat(students.map(_spring_sums)).groupby(level=0).sum()
    means = counts["sum"] / counts["count"]
    squares, schools = zip(*students.map(_deviation_sums, means)) if len(students.parts) else ((), ())
    squared = pd.concat(squares).groupby(level=0).sum()
    spread = np.sqrt(squared / (counts["count"] - 1))
    added = pd.concat(schools).groupby(level=[0, 1], sort=True).sum().reset_index()
    added["outcome"] = added["deviation"] / (added["rows"] * added["year"].map(spread).to_numpy(dtype=float))
    return added[["school_id", "year", "outcome", "students"]]


def _spring_sums(part: pd.DataFrame) -> pd.DataFrame:
    return _scores(part).groupby("year")["outcome"].agg(["count", "sum"])


def _deviation_sums(part: pd.DataFrame, means: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    scores = _scores(part)
    deviation = scores["outcome"] - scores["year"].map(means).to_numpy(dtype=float)
    squared = (deviation**2).groupby(scores["year"]).sum()
    schools = (
        scores.assign(deviation=deviation)
        .groupby(["school_id", "year"], observed=True)
        .agg(deviation=("deviation", "sum"), rows=("deviation", "size"), students=("student_id", "nunique"))
    )
    return squared, schools


def _aggregate(model, kind: str, key: str) -> tuple[pd.DataFrame, tuple[float, float]]:
    """csdid's ``aggte`` of ``kind`` (dynamic, group, simple): its table (``key``, estimate, se) and overall
    (estimate, se); analytic SEs, no bootstrap draws."""
    result = model.aggte(typec=kind, bstrap=False).atte
    table = pd.DataFrame(
        {
            key: np.asarray(result["egt"], dtype=int) if result["egt"] is not None else [],
            "estimate": np.asarray(result["att_egt"], dtype=float) if result["att_egt"] is not None else [],
            "se": np.asarray(result["se_egt"], dtype=float).ravel() if result["se_egt"] is not None else [],
        }
    ) if key else pd.DataFrame()  # fmt: skip
    return table, (float(result["overall_att"]), float(result["overall_se"]))


def _ci(table: pd.DataFrame, ci: float) -> pd.DataFrame:
    """Intervals with a few-schools correction. csdid's influence-function variance of a difference of group
    means divides each group's sum of squares by its size n, not n - 1; with six schools a group that understates
    the SE by about 10%. So the SE is multiplied by sqrt(m / (m - 1)), m the smaller of the treated and control
    schools compared, and the critical value is a t with G - 2 degrees of freedom, G the schools compared (as for
    a two-sample t test; Cameron & Miller 2015 on few clusters). csdid's own SE is kept in ``se``; the simulation
    in tests/test_years.py checks the coverage."""
    units = table["schools"].to_numpy(dtype=float)
    small = np.minimum(table["treated_schools"], table["control_schools"]).to_numpy(dtype=float)
    df = np.maximum(units - 2, 1)
    factor = np.sqrt(small / np.maximum(small - 1, 1))
    half = stats.t.ppf(0.5 + ci / 2, df) * table["se"].to_numpy() * factor
    table["ci_low"] = table["estimate"] - half
    table["ci_high"] = table["estimate"] + half
    return table


def _controls(cohort: int, year: int, sizes: pd.Series, control: str) -> int:
    """Control schools of a group-time effect: never treated; with ``notyettreated`` also those not yet in the
    program in ``year`` (joining after it), other than the cohort itself, as `did`'s ``att_gt`` defines the
    not-yet-treated group: "units that have not yet participated in the treatment in that time period"."""
    n = int(sizes.get(0, 0))
    if control == "notyettreated":
        n += int(sizes[(sizes.index > year) & (sizes.index != cohort)].sum())
    return n


def staggered_effects(
    panel: pd.DataFrame,
    *,
    outcome: str = "outcome",
    unit: str = "school_id",
    time: str = "year",
    group: str = "first_year",
    control: str = "nevertreated",
    ci: float = 0.95,
) -> StaggeredEffects:
    """Callaway & Sant'Anna group-time effects on a balanced panel, aggregated by event time, cohort and overall.

    ``group`` is the first treated period (0: never treated). ``control`` is ``"nevertreated"`` (comparison
    schools) or ``"notyettreated"`` (also schools that join later, before they join). Pre-program event times
    (negative) are placebo checks of parallel trends: they should be near zero.
    """
    if control not in ("nevertreated", "notyettreated"):
        raise ValueError(f"control must be 'nevertreated' or 'notyettreated', not {control!r}")
    data = panel[[unit, time, group, outcome]].dropna(subset=[outcome]).copy()
    periods = data[time].nunique()
    seen = data.groupby(unit)[time].nunique()
    gaps = seen[seen < periods]
    if len(gaps):  # the estimator needs each unit in every period; say who is left out rather than let csdid drop them
        listed = ", ".join(str(u) for u in gaps.index[:10]) + (" ..." if len(gaps) > 10 else "")
        warnings.warn(
            StatisticalWarning(
                f"{counted(len(gaps), 'school')} {'lacks' if len(gaps) == 1 else 'lack'} scores in some springs and "
                f"{'is' if len(gaps) == 1 else 'are'} left out of the staggered estimate, "
                f"which compares each school with itself in every spring: {listed}"
            ),
            stacklevel=2,
        )
        data = data[~data[unit].isin(gaps.index)]
    sizes = data.groupby(group)[unit].nunique()
    small = sizes[sizes < MIN_UNITS]
    if control == "nevertreated" and (sizes.get(0, 0) < MIN_UNITS):
        raise ValueError(
            f"{sizes.get(0, 0)} never-treated units (comparison schools): the estimator needs at least {MIN_UNITS} "
            "as controls; compare with schools that join later instead (control='notyettreated')"
        )
    if len(small[small.index != 0]):
        listed = ", ".join(f"{g} ({n})" for g, n in small.items() if g != 0)
        warnings.warn(
            StatisticalWarning(
                f"cohorts with fewer than {MIN_UNITS} schools: {listed}; their group-time effects rest on very few "
                "schools and their intervals may be too narrow"
            ),
            stacklevel=2,
        )
    from csdid.att_gt import ATTgt

    codes, _ = pd.factorize(data[unit])  # csdid wants a numeric unit id
    data["_unit"] = codes + 1
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # csdid warns about small groups in its own words; we report counts
        model = ATTgt(
            yname=outcome,
            tname=time,
            idname="_unit",
            gname=group,
            data=data,
            control_group=control,
            xformla=f"{outcome}~1",
        ).fit(est_method="reg", bstrap=False)
        results = model.results
        group_time = pd.DataFrame(
            {
                "cohort": np.asarray(results["group"], dtype=int),
                "year": np.asarray(results["year"], dtype=int),
                "estimate": np.asarray(results["att"], dtype=float),
                "se": np.asarray(results["se"], dtype=float),
            }
        )
        event, dynamic_overall = _aggregate(model, "dynamic", "event_time")
        cohorts, group_overall = _aggregate(model, "group", "cohort")
        _, simple_overall = _aggregate(model, "simple", "")
    group_time["event_time"] = group_time["year"] - group_time["cohort"]
    group_time["post"] = group_time["event_time"] >= 0
    group_time["treated_schools"] = group_time["cohort"].map(sizes).astype(int)
    group_time["control_schools"] = [
        _controls(g, t, sizes, control) for g, t in zip(group_time["cohort"], group_time["year"])
    ]
    # an aggregate compares every contributing cohort's schools with the fewest controls any of its cells had
    treated = sizes.drop(index=0, errors="ignore")
    for table, key in ((event, "event_time"), (cohorts, "cohort")):
        cells = group_time[group_time["post"]] if key == "cohort" else group_time
        parts = cells.groupby(key)
        table["treated_schools"] = [
            int(treated.reindex(parts.get_group(k)["cohort"].unique()).sum()) for k in table[key]
        ]
        table["control_schools"] = [int(parts.get_group(k)["control_schools"].min()) for k in table[key]]
    group_time["schools"] = group_time["treated_schools"] + group_time["control_schools"]
    event["schools"] = event["treated_schools"] + event["control_schools"]
    cohorts["schools"] = cohorts["treated_schools"] + cohorts["control_schools"]
    overall = pd.DataFrame(
        {
            "aggregation": ["cohort", "event time", "simple"],
            "meaning": [
                "each cohort's average effect, averaged over cohorts by their size (Callaway & Sant'Anna's overall ATT)",
                "each year-since-joining's effect, averaged over those years",
                "every post-joining cohort-year, weighted by size",
            ],
            "estimate": [group_overall[0], dynamic_overall[0], simple_overall[0]],
            "se": [group_overall[1], dynamic_overall[1], simple_overall[1]],
            "schools": int(sizes.sum()),
            "treated_schools": int(treated.sum()),
            "control_schools": int(group_time.loc[group_time["post"], "control_schools"].min()),
        }
    )
    method = (
        "Callaway & Sant'Anna (2021) group-time average effects (csdid, outcome regression, "
        f"{'never-treated' if control == 'nevertreated' else 'not-yet-treated'} schools as controls), "
        "analytic standard errors clustered by school, pointwise intervals with a few-schools correction "
        "(SE x sqrt(m/(m-1)), m the smaller of treated and control schools; t with G-2 degrees of freedom)"
    )
    return StaggeredEffects(
        group_time=_ci(group_time, ci),
        event_time=_ci(event, ci),
        cohorts=_ci(cohorts, ci),
        overall=_ci(overall, ci),
        control=control,
        method=method,
    )
