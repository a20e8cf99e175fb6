"""Level 4, participants' use of new knowledge and skills: are educators using the practice?

The district tracks ONE observable practice (the plan's ``observable_practice``) in every classroom
over time (observations.csv, ``practice_observed`` 0/1). This module gives:

- implementation rates per school and month / term, with Wilson intervals on the effective sample
  size (repeat observations of one educator are not independent; see `plevaluate.effects.clustered_wilson`);
- the district trend from a GEE logistic model with exchangeable working correlation within
  educator (Liang & Zeger 1986): the odds ratio per month with its robust (sandwich) interval,
  for participant and comparison schools and their ratio (the difference in trends). GEE
  coefficients are population-averaged: they describe the district's rate, not one teacher's;
- funnel-plot data: each school's rate against its number of observations, with exact binomial
  95% and 99.8% limits around the district rate (Spiegelhalter 2005), the honest way to compare
  schools of different sizes;
- dose-response: implementation by PL hours attended (bands, and the GEE slope) and by CBAM
  Levels of Use;
- the level 3 -> level 4 link: the school-level correlation of conditions (and principal
  participation) with implementation. It is correlational: schools with better conditions may
  differ in other ways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..._tidy import attended_hours, by_date, coverage_table, latest_term, stack, terms, window_words
from ...chain import Cell, from_target
from ...privacy import UNSUPPRESSED, suppress
from ...results import LevelResult, Note, noting_warnings, target_status
from ...vocabulary import LEVEL_OF_USE_NAMES
from .gee import GEEFit, gee_logistic
from .sums import (
    BREAKDOWNS,
    MODELS,
    ModelData,
    ObservationSums,
    model_rows,
    rate_sums,
    rates_table,
    refine,
    rows_of,
    summarize,
)

if TYPE_CHECKING:
    from ...contract import District

__all__ = [
    "HOUR_BANDS",
    "conditions_link",
    "dose_response",
    "evaluate_practice",
    "funnel",
    "funnel_curve",
    "funnel_limits",
    "gee_logistic",
    "implementation_rates",
    "observations_in_parts",
    "practice_users",
    "prepare_observations",
    "trend_model",
]

#: PL-hours bands for the dose-response table (lower bounds; the last band is open).
HOUR_BANDS = (0, 5, 10, 15, 20)


def _hours_band(hours: pd.Series, bands: Sequence[float]) -> pd.Series:
    edges = [*bands, np.inf]
    labels = [f"{lo:g} to under {hi:g} hours" for lo, hi in zip(edges[:-2], edges[1:-1])] + [f"{edges[-2]:g}+ hours"]
    return pd.cut(hours, edges, right=False, labels=labels)


def prepare_observations(district: District, *, bands: Sequence[float] = HOUR_BANDS) -> pd.DataFrame:
    """Observations with everything the level-4 analyses group by.

    Returns
    -------
    DataFrame
        observations.csv plus ``observed`` (0/1 float, NaN when not recorded), month ("2025-09"),
        month_index (months since the first observed month), term, term_order, group
        (participant / comparison, from schools.csv), participant (bool), pl_hours (the educator's
        PL hours attended: attendance minutes / 60, or the session's hours where minutes are
        missing), hours_band and level_of_use_label.
    """
    obs = district.observations.copy()
    obs["observed"] = obs["practice_observed"].astype("Float64").astype(float)
    dates = pd.to_datetime(obs["date"])
    obs["month"] = by_date(dates, lambda distinct: distinct.dt.strftime("%Y-%m"))
    months = dates.dt.year * 12 + dates.dt.month
    obs["month_index"] = (months - months.min()).astype(int)
    obs = obs.join(terms(dates))
    obs["group"] = obs["school_id"].map(district.schools.set_index("school_id")["group"])
    obs["participant"] = obs["group"].eq("participant")
    hours = pd.Series(0.0, index=pd.Index(district.educators["educator_id"].unique()))
    if district.attendance is not None:
        attended = district.attendance
        per_educator = attended_hours(attended, district.sessions).groupby(attended["educator_id"]).sum()
        hours = per_educator.reindex(hours.index).fillna(0.0)
    obs["pl_hours"] = obs["educator_id"].map(hours).fillna(0.0).astype(float)
    obs["hours_band"] = _hours_band(obs["pl_hours"], bands)
    if "level_of_use" in obs:
        obs["level_of_use_label"] = obs["level_of_use"].map(LEVEL_OF_USE_NAMES)
    return obs


def observations_in_parts(observations: pd.DataFrame, district: District) -> pd.DataFrame:
    """`prepare_observations` as `plevaluate.results.Parts` calls it (``observations`` is the district's own)."""
    return prepare_observations(district)


def implementation_rates(
    obs: pd.DataFrame, *, by: Sequence[str] = ("school_id", "month"), min_n: int = 10, ci: float = 0.95
) -> pd.DataFrame:
    """The share of observations showing the practice, per group, with a clustered Wilson interval.

    Source: `plevaluate.effects.clustered_wilson` (Wilson 1927 on the effective sample size n / deff, the design
    effect from educator-clustered observations; Kish 1965).

    Parameters
    ----------
    obs : DataFrame
        From `prepare_observations`.
    by : sequence of str
        Group columns (``()`` for the whole table).
    min_n : int
        Groups with fewer distinct educators observed are suppressed.

    Returns
    -------
    DataFrame
        level, <by>, measure (``implementation_rate``), estimate, ci_low, ci_high, n (observations),
        n_people (educators), n_missing (observations with no practice recorded), deff (design
        effect of repeat observations), method, suppressed. Rates always lie in [0, 1].

    Examples
    --------
    >>> obs = pd.DataFrame({"school_id": ["A"] * 4, "educator_id": list("abcd"), "observed": [1, 0, 1, 1.0]})
    >>> float(implementation_rates(obs, by=("school_id",), min_n=1)["estimate"].iloc[0])
    0.75
    """
    return suppress(rates_table(rate_sums(obs, by), by, ci), min_n, n="n_people")


def _combination(result, weights: dict[str, float], ci: float) -> dict[str, float]:
    """Estimate, se, CI and p of a linear combination of coefficients, exponentiated to an odds ratio."""
    vector = np.array([weights.get(name, 0.0) for name in result.params.index])
    estimate = float(vector @ result.params.to_numpy())
    se = float(np.sqrt(vector @ result.cov_params().to_numpy() @ vector))
    z = stats.norm.ppf(0.5 + ci / 2)
    return {
        "log_odds": estimate,
        "se": se,
        "estimate": float(np.exp(estimate)),
        "ci_low": float(np.exp(estimate - z * se)),
        "ci_high": float(np.exp(estimate + z * se)),
        "p_value": float(2 * stats.norm.sf(abs(estimate / se))),
    }


def trend_model(obs: pd.DataFrame, *, ci: float = 0.95) -> pd.DataFrame:
    """The monthly trend in implementation: GEE logistic, exchangeable correlation within educator.

    Source: a GEE logistic model (Liang & Zeger 1986) fitted by statsmodels, exchangeable working correlation
    within educators.

    With both participant and comparison schools, ``observed ~ month_index * participant``; the
    participant trend is ``exp(b_month + b_interaction)``, the comparison trend ``exp(b_month)``, and
    their ratio ``exp(b_interaction)`` is the difference in trends.

    Returns
    -------
    DataFrame
        level, measure (``trend_odds_ratio_per_month``), group (``participant``, ``comparison``,
        ``participant / comparison``), estimate (odds ratio per month), ci_low, ci_high, log_odds,
        se, p_value, n (observations), n_people (educators), working_correlation, method.
    """
    data = model_rows(obs, "trend")
    both = data["participant"].nunique() == 2
    formula = MODELS["trend"][0 if both else 1]
    counts = {
        bool(value): (len(part), int(part["educator_id"].nunique())) for value, part in data.groupby("participant")
    }
    return trend_table(gee_logistic(data, formula), counts, (len(data), int(data["educator_id"].nunique())), ci)


def trend_table(
    result: GEEFit, counts: Mapping[bool, tuple[int, int]], every: tuple[int, int], ci: float
) -> pd.DataFrame:
    """`trend_model`'s table from its fit: ``counts`` of observations and educators by participant (True/False)
    and of ``every`` observation."""
    formula = result.formula
    if "participant" in formula:
        combos = {
            "participant": ({"month_index": 1, "month_index:participant": 1}, counts[True]),
            "comparison": ({"month_index": 1}, counts[False]),
            "participant / comparison": ({"month_index:participant": 1}, every),
        }
    else:
        only = next(iter(counts))
        combos = {"participant" if only else "comparison": ({"month_index": 1}, every)}
    rows = [
        {"group": group, **_combination(result, weights, ci), "n": n, "n_people": people}
        for group, (weights, (n, people)) in combos.items()
    ]
    out = pd.DataFrame(rows)
    out.insert(0, "level", 4)
    out.insert(1, "measure", "trend_odds_ratio_per_month")
    out["working_correlation"] = result.working_correlation
    out["method"] = f"GEE logistic ({formula}), exchangeable within educator, robust SE"
    return out[
        [
            "level",
            "measure",
            "group",
            "estimate",
            "ci_low",
            "ci_high",
            "log_odds",
            "se",
            "p_value",
            "n",
            "n_people",
            "working_correlation",
            "method",
        ]
    ]


def dose_response(obs: pd.DataFrame, *, min_n: int = 10, ci: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Implementation by PL hours attended, at participant schools: bands and a modelled slope.

    Source: Wilson intervals by band (as `implementation_rates`) and a GEE logistic slope (Liang & Zeger 1986)
    by statsmodels.

    Returns
    -------
    (DataFrame, DataFrame)
        `implementation_rates` by ``hours_band``; and one row, measure ``hours_odds_ratio_per_10_hours``,
        from the GEE ``observed ~ month_index + pl_hours`` (month adjusted, so that hours do not stand
        in for time in the program), with log_odds_per_hour and its se.
    """
    data = model_rows(obs, "dose")
    if data["pl_hours"].nunique() < 2:
        raise ValueError(SAME_HOURS)
    bands = implementation_rates(rows_of(obs, BREAKDOWNS["hours_band"][1]), by=("hours_band",), min_n=min_n, ci=ci)
    result = gee_logistic(data, MODELS["dose"][0])
    return bands, dose_table(result, len(data), int(data["educator_id"].nunique()), ci)


SAME_HOURS = "every observed teacher attended the same PL hours, so hours cannot be compared"


def dose_table(result: GEEFit, n: int, people: int, ci: float) -> pd.DataFrame:
    """`dose_response`'s model row from its fit, of ``n`` observations of ``people`` educators."""
    per_hour = _combination(result, {"pl_hours": 1.0}, ci)
    per_ten = _combination(result, {"pl_hours": 10.0}, ci)
    return pd.DataFrame(
        [
            {
                "level": 4,
                "measure": "hours_odds_ratio_per_10_hours",
                "estimate": per_ten["estimate"],
                "ci_low": per_ten["ci_low"],
                "ci_high": per_ten["ci_high"],
                "p_value": per_ten["p_value"],
                "log_odds_per_hour": per_hour["log_odds"],
                "se_per_hour": per_hour["se"],
                "n": n,
                "n_people": people,
                "method": "GEE logistic (observed ~ month_index + pl_hours), exchangeable within "
                "educator; participant schools; correlational",
            }
        ]
    )


def funnel_limits(p0: float, n, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial control limits for a proportion around ``p0``, interpolated (Spiegelhalter 2005).

    The limit for probability q is ``(r - a) / n`` with ``r`` the smallest count whose binomial CDF
    reaches q and ``a = (F(r) - q) / (F(r) - F(r - 1))``, which makes the limits a smooth function of n
    (Spiegelhalter, "Funnel plots for comparing institutional performance", Stat Med 2005, appendix A.1.1).

    Returns
    -------
    (lower, upper)
        Arrays of the same shape as ``n``.
    """
    n = np.asarray(n, dtype=float)
    out = []
    for q in ((1 - level) / 2, (1 + level) / 2):
        r = stats.binom.ppf(q, n, p0)
        f_r, f_below = stats.binom.cdf(r, n, p0), stats.binom.cdf(r - 1, n, p0)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.where(f_r > f_below, (f_r - q) / (f_r - f_below), 0.0)
        out.append(np.clip((r - a) / n, 0, 1))
    return out[0], out[1]


def funnel_curve(p0: float, n_max: int, *, levels: Sequence[float] = (0.95, 0.998), points: int = 200) -> pd.DataFrame:
    """The funnel's limit lines for drawing: n from 1 to ``n_max`` and the limits at each level.

    Returns
    -------
    DataFrame
        n, p0, then low_95, high_95, low_998, high_998 (for the default levels).
    """
    n = np.unique(np.geomspace(1, max(int(n_max), 2), points).round().astype(int))
    out = pd.DataFrame({"n": n, "p0": p0})
    for level in levels:
        tag = f"{level * 100:g}".replace(".", "")
        out[f"low_{tag}"], out[f"high_{tag}"] = funnel_limits(p0, n, level)
    return out


def funnel(obs: pd.DataFrame, *, min_n: int = 10, levels: Sequence[float] = (0.95, 0.998)) -> pd.DataFrame:
    """Each school's implementation rate against its number of observations, with funnel limits.

    Source: exact binomial limits around the district rate (Spiegelhalter 2005, `funnel_limits`); phi is the
    mean squared z, Spiegelhalter's (2005) overdispersion factor.

    The district rate ``p0`` pools the observations given (pass the participant schools' for the
    program's funnel). A school outside the 99.8% limits differs from the district by more than chance
    would explain about 1 time in 500; outside 95%, about 1 in 20.

    Returns
    -------
    DataFrame
        school_id, n (observations), n_people, observed (count), estimate (rate), p0, low_95,
        high_95, low_998, high_998, z (standardized difference), position (``above 99.8%``,
        ``above 95%``, ``within``, ``below 95%``, ``below 99.8%``), phi (overdispersion: mean z^2,
        the same for every row), suppressed (fewer than ``min_n`` educators: no rate, no position).
    """
    data = obs.dropna(subset=["observed"])
    per = data.groupby("school_id", observed=True).agg(
        n=("observed", "size"), observed=("observed", "sum"), n_people=("educator_id", "nunique")
    )
    return funnel_table(per, float(data["observed"].mean()), min_n=min_n, levels=levels)


def funnel_table(per: pd.DataFrame, p0: float, *, min_n: int, levels: Sequence[float]) -> pd.DataFrame:
    """`funnel` from each school's counts (``per``: indexed by school_id, columns n, observed, n_people) and the
    district rate ``p0``."""
    per = per.copy()
    per["estimate"] = per["observed"] / per["n"]
    per["p0"] = p0
    for level in levels:
        low, high = funnel_limits(p0, per["n"].to_numpy(), level)
        tag = f"{level * 100:g}".replace(".", "")
        per[f"low_{tag}"], per[f"high_{tag}"] = low, high
    per["z"] = (per["estimate"] - p0) / np.sqrt(p0 * (1 - p0) / per["n"])
    wide, narrow = (f"{levels[-1] * 100:g}".replace(".", ""), f"{levels[0] * 100:g}".replace(".", ""))
    per["position"] = np.select(
        [
            per["estimate"] > per[f"high_{wide}"],
            per["estimate"] > per[f"high_{narrow}"],
            per["estimate"] < per[f"low_{wide}"],
            per["estimate"] < per[f"low_{narrow}"],
        ],
        [f"above {levels[-1]:.1%}", f"above {levels[0]:.0%}", f"below {levels[-1]:.1%}", f"below {levels[0]:.0%}"],
        "within",
    )
    per["position"] = per["position"].str.replace(".0%", "%", regex=False)
    per["phi"] = float((per["z"] ** 2).mean())
    out = suppress(per.reset_index(), min_n, n="n_people", columns=("estimate", "observed", "z"))
    out.loc[out["suppressed"], "position"] = pd.NA
    return out


def conditions_link(rates: pd.DataFrame, predictors: pd.DataFrame, *, ci: float = 0.95) -> pd.DataFrame:
    """School-level correlation of each level-3 measure with implementation (correlational, not causal).

    Source: Pearson's r with a Fisher (1921) z interval, and Spearman's rho beside it.

    Parameters
    ----------
    rates : DataFrame
        school_id and estimate (each school's implementation rate).
    predictors : DataFrame
        school_id and one column per level-3 measure (e.g. ``conditions_mean``, ``principal_participation``).

    Returns
    -------
    DataFrame
        level, measure (``correlation``), predictor, estimate (Pearson r), ci_low, ci_high (Fisher z),
        p_value, spearman_rho, n (schools), method.
    """
    merged = rates[["school_id", "estimate"]].dropna().merge(predictors, on="school_id")
    rows = []
    z = stats.norm.ppf(0.5 + ci / 2)
    for column in [c for c in predictors.columns if c != "school_id"]:
        pair = merged[["estimate", column]].dropna()
        n = len(pair)
        row = {"level": 4, "measure": "correlation", "predictor": column, "n": n}
        if n < 4 or pair[column].nunique() < 2:
            row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan, spearman_rho=np.nan)
        else:
            r, p = stats.pearsonr(pair[column], pair["estimate"])
            half = z / np.sqrt(n - 3)
            row.update(
                estimate=float(r),
                ci_low=float(np.tanh(np.arctanh(r) - half)),
                ci_high=float(np.tanh(np.arctanh(r) + half)),
                p_value=float(p),
                spearman_rho=float(stats.spearmanr(pair[column], pair["estimate"]).statistic),
            )
        row["method"] = "Pearson r across schools, Fisher z interval; correlational, not causal"
        rows.append(row)
    columns = [
        "level",
        "measure",
        "predictor",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "spearman_rho",
        "n",
        "method",
    ]
    return pd.DataFrame(rows, columns=columns)


def practice_users(obs: pd.DataFrame) -> pd.Series:
    """Per participant school: educators observed using the practice at least once in the latest term.

    A count for the cost analysis (cost per educator using the practice); it is never shown per school
    below the plan's ``min_n`` by the reports.
    """
    by, kind = BREAKDOWNS["users"]
    return users_from(rate_sums(rows_of(obs, kind), by), obs["term_order"].max())


def users_from(sums: pd.DataFrame, term_order) -> pd.Series:
    """`practice_users` from the ``users`` breakdown's sums and the latest term of any observation."""
    latest = sums[sums["term_order"] == term_order]
    return pd.Series(
        latest["people"].astype(int).to_numpy(),
        index=pd.Index(latest["school_id"], name="school_id"),
        name="educators_using_practice",
    )


def _target_window(
    months: pd.DataFrame, terms: pd.DataFrame, by_month: int | None
) -> tuple[tuple[str, str, object], str]:
    """The plan's target month (its latest occurrence among the participants' observations), else their latest
    term: which breakdown, its column and value, and its label. ``months``, ``terms``: the group+month sums and
    the participants' group+term sums."""
    if by_month is not None:
        observed = months.loc[months["group"].eq("participant"), "month"].astype(str)
        matching = observed[observed.str[5:7].astype(int) == by_month]
        if not matching.empty:
            month = matching.max()
            return ("month", "month", month), month
    latest = terms["term_order"].max()
    return ("term", "term_order", latest), str(terms.loc[terms["term_order"] == latest, "term"].iloc[0])


def headline(result: LevelResult, cell: Cell) -> dict | None:
    """`plevaluate.chain.from_target`, its measure naming the month (or term) the target is judged in: the chain
    said "share of classroom visits where the practice was seen" while the chart of schools compared by chance
    showed the whole term (a reader's review: 48% in May, 61% in the spring, for one school and one measure)."""
    row = from_target(result, cell)
    target = result.tables.get("target")
    if row is not None and target is not None and "window" in target and target["window"].notna().any():
        window = window_words(target["window"].dropna().iloc[0])
        row["measure"] = f"share of classroom visits in {window} where the practice was seen"
        if pd.notna(row.get("n")) and row.get("evidence"):  # what the result rests on, then the year's evidence: the
            # evidence said the whole year's observations, comparison schools' too, beside a result from 140 visits in
            # May to program classrooms (a reader's review)
            rates = result.tables.get("rates")
            compared = (
                cell.school_id is None
                and rates is not None
                and bool((rates["group"].eq("comparison") & rates["n"].gt(0)).any())
            )
            also = ", comparison schools' included" if compared else ""
            row["evidence"] = f"{int(row['n']):,} visits in {window}, of {row['evidence']} over the year{also}"
    return row


def evaluate_practice(
    district: District, *, ci: float | None = None, organization: LevelResult | None = None
) -> LevelResult:
    """Level 4 for the district and every school.

    Parameters
    ----------
    organization : LevelResult, optional
        Level 3 (`plevaluate.levels.organization.evaluate_organization`): its conditions ratings and principal
        participation are the predictors of the ``link`` table, which is left out without it.

    Returns
    -------
    LevelResult
        Tables:

        - ``rates``: `implementation_rates` for district x group, district x group x month and term,
          and school x month and term (``breakdown`` says which);
        - ``trend``: `trend_model`;
        - ``target``: the plan's target month (``by_month``; else the latest term): participant
          district and each school, with `plevaluate.results.target_status`;
        - ``funnel``: `funnel` of participant schools in the latest term;
        - ``dose_bands``, ``dose_model``: `dose_response`;
        - ``level_of_use``: rates by CBAM Level of Use, participant schools (when recorded);
        - ``link``: `conditions_link` of latest conditions and principal participation (participant schools).

        Its ``handoff`` (for later levels, in memory only) holds ``latest_rates``, each participant
        school's rate in the latest term (level 5's dose-response), and ``users``, `practice_users` (cost).
    """
    name = "participants' use of new knowledge and skills"
    if 4 in district.summaries:  # summed in parts where they are (a Dask cluster)
        _, sums = district.summaries[4]
        if isinstance(sums, ValueError):  # a data problem found in a part: reported as one found here
            raise sums
    elif district.observations is None:
        return LevelResult(4, name, evidence=False, notes=("no classroom observations were collected",))
    else:
        obs = prepare_observations(district)
        held = ModelData(obs)  # one part: the level's rounds asked of it here
        sums = refine(summarize(obs), lambda function, *args: [function(held, *args)])
    return practice_from(sums, district, organization, ci=district.plan.ci if ci is None else ci)


def practice_from(
    sums: ObservationSums, district: District, organization: LevelResult | None, *, ci: float
) -> LevelResult:
    """Level 4's tables, notes and handoff from its sums (`plevaluate.levels.practice.sums`)."""
    name = "participants' use of new knowledge and skills"
    plan = district.plan
    goal = plan.levels.practice
    min_n = UNSUPPRESSED  # statistics on the full data; privacy.publish_levels suppresses what is published
    notes: list[str] = []
    of = sums.rates

    def rates(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
        return suppress(rates_table(frame, by, ci), min_n, n="n_people")

    unobserved = sorted(set(district.schools["school_id"]) - set(of["school_id"]["school_id"]))
    if unobserved:
        notes += [
            Note("no classroom observations were recorded at this school", level=4, scope=school, kind="missing")
            for school in unobserved
        ]
    missing = int((of["all"]["rows"] - of["all"]["n"]).sum())
    if missing:
        notes.append(f"{missing} observation(s) with no practice recorded are left out of every rate")
    counts = np.repeat(sums.per_educator.index.to_numpy(), sums.per_educator.to_numpy())
    if counts.max() > 3 * np.median(counts):
        notes.append(
            f"one educator was observed {counts.max()} times (median {np.median(counts):g}); intervals "
            "account for repeat observations, but the rate leans toward that classroom"
        )
    shown = ("group", "group+month", "group+term", "school_id", "school_id+month", "school_id+term")
    table = stack((breakdown, rates(of[breakdown], BREAKDOWNS[breakdown][0][:2])) for breakdown in shown)
    # each school row carries its school's group: schools of a group add up to the group's rows (privacy margins)
    group_of = district.schools.set_index("school_id")["group"]
    table["group"] = table["group"].fillna(table["school_id"].map(group_of))
    ordered = ["level", "breakdown", "group", "school_id", "month", "term"]
    table = table[ordered + [c for c in table.columns if c not in ordered]]
    tables: dict[str, pd.DataFrame] = {"coverage": coverage_table(*sums.coverage, level=4), "rates": table}
    in_program = set(group_of.index[group_of.eq("participant")])
    terms_ = of["group+term"]
    participant_terms = terms_[terms_["group"].eq("participant")]
    last = terms_["term_order"].max()

    def at(breakdown: str, column: str, value) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The participants' sums of one month or term: theirs together, and each school's."""
        together = of[f"group+{breakdown}"]
        schools = of[f"school_id+{breakdown}"]
        schools = schools[(schools[column] == value) & schools["school_id"].isin(in_program)]
        return together[together["group"].eq("participant") & (together[column] == value)], schools

    with noting_warnings(notes):
        fit = sums.fits.get("trend")
        if isinstance(fit, ValueError):
            notes.append(f"trend not estimated: {fit}")
        elif fit is not None:
            by = of["participant"][of["participant"]["n"] > 0]
            counted = {bool(v): (int(n), int(p)) for v, n, p in zip(by["participant"], by["n"], by["people"])}
            every = (int(of["all"]["n"].sum()), int(of["all"]["people"].sum()))
            tables["trend"] = trend_table(fit, counted, every, ci)
        if participant_terms.empty:
            notes.append("no participant schools observed: no target, funnel or dose-response")
        else:
            window, label = _target_window(of["group+month"], participant_terms, goal.by_month)
            together, schools = at(*window)
            district_rate = rates(together, ()).assign(breakdown="district")
            target = pd.concat(
                [district_rate, rates(schools, ("school_id",)).assign(breakdown="school_id")], ignore_index=True
            )
            tables["target"] = target_status(target.assign(window=label), goal.target)
            latest = participant_terms["term_order"].max()
            _, latest_schools = at("term", "term_order", latest)
            counted = latest_schools[latest_schools["n"] > 0]
            term = participant_terms.loc[participant_terms["term_order"] == latest, "term"].iloc[0]
            if counted.empty:  # no school to place: an in-memory district whose latest visits all left it blank
                notes.append(f"no funnel: no participant school's visits in {term} say whether the practice was seen")
            else:
                per = pd.DataFrame(
                    {"n": counted["n"].astype(int).to_numpy(), "observed": counted["shown"].to_numpy(),
                     "n_people": counted["people"].astype(int).to_numpy()},
                    index=pd.Index(counted["school_id"], name="school_id"),
                )  # fmt: skip
                tables["funnel"] = funnel_table(per, float(per["observed"].sum() / per["n"].sum()), min_n=min_n,
                                                levels=(0.95, 0.998)).assign(term=term)  # fmt: skip
                tables["funnel_curve"] = funnel_curve(
                    tables["funnel"]["p0"].iloc[0], int(tables["funnel"]["n"].max() * 1.2)
                )
            if district.attendance is None or district.attendance.empty or district.sessions is None:
                notes.append("dose-response not estimated: no attendance records, so PL hours are not known")
            elif not sums.hours[0] < sums.hours[1]:
                notes.append(f"dose-response not estimated: {SAME_HOURS}")
            elif isinstance(sums.fits.get("dose"), ValueError):
                notes.append(f"dose-response not estimated: {sums.fits['dose']}")
            else:
                participants = of["group"][of["group"]["group"].eq("participant")]
                n, people = int(participants["n"].sum()), int(participants["people"].sum())
                tables["dose_bands"] = rates(of["hours_band"], ("hours_band",))
                tables["dose_model"] = dose_table(sums.fits["dose"], n, people, ci)
            if len(of["level_of_use"]):
                tables["level_of_use"] = rates(of["level_of_use"], ("level_of_use", "level_of_use_label"))
            link = _link_predictors(district, organization)
            if link is not None:
                tables["link"] = conditions_link(rates(latest_schools, ("school_id",)), link, ci=ci)
    meta = {
        "min_n": plan.min_n,
        "ci": ci,
        "observable_practice": plan.observable_practice,
        "target": goal.target,
        "by_month": goal.by_month,
        "observations": sums.observations,
    }
    _, spring = at("term", "term_order", last)
    handoff = {
        # computed on the full data (every school, however small): a regression over schools reveals no school's rate
        "latest_rates": rates(spring, ("school_id",)).dropna(subset=["estimate"]),
        "users": users_from(of["users"], last),
    }
    return LevelResult(4, name, tables, tuple(notes), meta, handoff=handoff)


def _link_predictors(district: District, organization: LevelResult | None) -> pd.DataFrame | None:
    """Level-3 measures per participant school (from level 3's result): latest mean conditions rating and
    principal participation."""
    if organization is None:
        return None
    frames = []
    participants = district.schools.loc[district.schools["group"] == "participant", "school_id"]
    ratings = organization.tables.get("ratings")
    if ratings is not None:
        latest = latest_term(ratings)
        frames.append(latest.groupby("school_id")["rating"].mean().rename("conditions_mean"))
    principals = organization.tables.get("principals")
    if principals is not None:
        frames.append(principals.set_index("school_id")["estimate"].rename("principal_participation"))
    if not frames:
        return None
    out = pd.concat(frames, axis=1).reset_index().rename(columns={"index": "school_id"})
    return out[out["school_id"].isin(participants)]


def run(district: District, upstream: Mapping[int, LevelResult]) -> LevelResult:
    return evaluate_practice(district, organization=upstream.get(3))
