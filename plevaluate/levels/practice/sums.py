"""Level 4 from sums that parts of the observations add up, each educator's observations in one part.

Every rate level 4 shows is a share of observations with a design effect from educators' repeat observations
(`plevaluate.effects.clustered_wilson`): per group, the observations, those showing the practice, and over the
educators observed in it their counts ``m`` and practice counts ``s``: sum s^2, sum s m, sum m^2 and how many
(`rate_sums`); a part's sums add to the district's when each educator's observations are in one part. The
windows the level reads (the target month, the latest term) are rows of the month and term breakdowns, so a part
needs nothing of the others to be summed. The two GEE models need rounds: each step's sums at its coefficients
(`plevaluate.levels.practice.gee`), asked of every part (`fit_models`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..._tidy import coverage_counts
from ...effects import wilson_interval
from .gee import GEEData, GEEFit, GEESums, fit_gee, gee_data

__all__ = [
    "BREAKDOWNS",
    "MODELS",
    "ObservationSums",
    "fit_models",
    "model_rows",
    "ModelData",
    "model_step",
    "refine",
    "rate_sums",
    "rates_table",
    "rows_of",
    "summarize",
]

#: The breakdowns of the observations each part sums (name: group columns, and the rows it counts). A term's
#: ``term_order`` is summed with it (a term's label does not sort in time); a table drops it.
BREAKDOWNS: dict[str, tuple[tuple[str, ...], str]] = {
    "all": ((), "all"),
    "group": (("group",), "all"),
    "group+month": (("group", "month"), "all"),
    "group+term": (("group", "term", "term_order"), "all"),
    "school_id": (("school_id",), "all"),
    "school_id+month": (("school_id", "month"), "all"),
    "school_id+term": (("school_id", "term", "term_order"), "all"),
    "participant": (("participant",), "all"),
    "hours_band": (("hours_band",), "participants"),
    "level_of_use": (("level_of_use", "level_of_use_label"), "level_of_use"),
    "users": (("school_id", "term_order"), "using"),
}

_SUMS = ["rows", "n", "shown", "ss", "sm", "mm", "people"]


def rate_sums(obs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per group of ``by`` (sorted; a missing value is a group): rows, n (observations with the practice
    recorded), shown (those showing it), and over the educators observed in it (``m`` observations, ``s``
    showing): ss = sum s^2, sm = sum s m, mm = sum m^2, people = how many."""
    observed = obs["observed"].to_numpy(dtype=float, na_value=np.nan)
    educators = pd.factorize(obs["educator_id"])[0]
    if by:
        grouped = obs.groupby(list(by), observed=True, sort=True, dropna=False)
        group = grouped.ngroup().to_numpy()
        n_groups = int(group.max()) + 1 if len(group) else 0
    else:
        group, n_groups = np.zeros(len(obs), np.int64), 1
    valid = ~np.isnan(observed)
    g, who, y = group[valid], educators[valid], observed[valid]
    width = int(who.max()) + 1 if len(who) else 1
    pairs, index = np.unique(g.astype(np.int64) * width + who, return_inverse=True)
    owner = pairs // width
    m = np.bincount(index, minlength=len(pairs)).astype(float)
    s = np.bincount(index, weights=y, minlength=len(pairs))
    out = {
        "rows": np.bincount(group, minlength=n_groups).astype(float),
        "n": np.bincount(g, minlength=n_groups).astype(float),
        "shown": np.bincount(g, weights=y, minlength=n_groups),
        "ss": np.bincount(owner, weights=s * s, minlength=n_groups),
        "sm": np.bincount(owner, weights=s * m, minlength=n_groups),
        "mm": np.bincount(owner, weights=m * m, minlength=n_groups),
        "people": np.bincount(owner, minlength=n_groups).astype(float),
    }
    firsts = np.unique(group, return_index=True)[1]
    keys = {k: obs[k].iloc[firsts].reset_index(drop=True) for k in by}
    if not by and not len(obs):
        out = {k: v[:0] for k, v in out.items()}
    return pd.DataFrame({**keys, **out}, columns=[*by, *_SUMS])


def _added_sums(frames: list[pd.DataFrame], by: Sequence[str]) -> pd.DataFrame:
    """Parts' `rate_sums` added (parts hold different educators)."""
    every = pd.concat(frames, ignore_index=True)
    if not by:
        return every[_SUMS].sum().to_frame().T if len(every) else every
    return every.groupby(list(by), observed=True, sort=True, dropna=False)[_SUMS].sum().reset_index()


def rates_table(sums: pd.DataFrame, by: Sequence[str], ci: float) -> pd.DataFrame:
    """`plevaluate.levels.practice.implementation_rates` from `rate_sums` (before suppression): the share,
    its design effect (CR1 variance of the share with educators as clusters, back to CR0, over the binomial
    variance; at least 1) and the Wilson interval on n / design effect."""
    n, people = sums["n"].to_numpy(float), sums["people"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = sums["shown"].to_numpy(float) / n
        around = sums["ss"].to_numpy(float) - 2 * rate * sums["sm"].to_numpy(float) + rate**2 * sums["mm"].to_numpy()
        cr1 = np.where(people >= 2, around / n**2 * people / (people - 1), np.nan)
        cr0 = cr1 * (people - 1) / people / (rate * (1 - rate) / n)
    ok = (rate > 0) & (rate < 1) & np.isfinite(cr1)
    deff = np.where(ok, np.maximum(1.0, cr0), 1.0)
    low, high = wilson_interval(rate * n / deff, n / deff, ci)
    rows = {k: sums[k].tolist() for k in by}
    rows |= {"estimate": rate, "ci_low": low, "ci_high": high, "n": n, "n_people": people,
             "n_missing": sums["rows"].to_numpy(float) - n, "deff": np.where(n > 0, deff, np.nan)}  # fmt: skip
    table = pd.DataFrame(rows, columns=[*by, "estimate", "ci_low", "ci_high", "n", "n_people", "n_missing", "deff"])
    table = table.astype({"n": int, "n_people": int, "n_missing": int})
    table.insert(0, "level", 4)
    table.insert(1 + len(by), "measure", "implementation_rate")
    table["method"] = "share of observations; Wilson interval on n / design effect (clustered by educator)"
    return table


@dataclass(frozen=True)
class ObservationSums:
    """Level 4's sums of some educators' observations (`summarize`), added across parts (`combine`).

    ``rates``: `rate_sums` of each of `BREAKDOWNS`; ``coverage``: `plevaluate._tidy.coverage_counts`;
    ``per_educator``: how many educators have each number of observations; ``hours``: the least and most PL hours
    of a participant's observation with the practice recorded; ``fits``: the GEE models' fits, or why one could
    not be fitted (`fit_models`, once every part is summed)."""

    rates: dict[str, pd.DataFrame]
    coverage: tuple[tuple[float, float], pd.DataFrame]
    per_educator: pd.Series
    hours: tuple[float, float]
    fits: dict[str, GEEFit | ValueError] = field(default_factory=dict)

    @classmethod
    def combine(cls, parts: Iterable[ObservationSums]) -> ObservationSums:
        parts = list(parts)
        rates = {name: _added_sums([p.rates[name] for p in parts], by) for name, (by, _) in BREAKDOWNS.items()}
        district = tuple(np.sum([p.coverage[0] for p in parts], axis=0).tolist())
        schools = pd.concat([p.coverage[1] for p in parts]).groupby(level=0, sort=True).sum()
        per_educator = pd.concat([p.per_educator for p in parts]).groupby(level=0, sort=True).sum()
        low = min((p.hours[0] for p in parts), default=np.inf)
        high = max((p.hours[1] for p in parts), default=-np.inf)
        return cls(rates, (district, schools), per_educator, (low, high))

    @property
    def observations(self) -> int:
        return int(self.rates["all"]["rows"].sum())


def rows_of(obs: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The observations a breakdown counts (`BREAKDOWNS`): ``all``; ``participants`` with the practice
    recorded; ``level_of_use``: participants' with a Level of Use; ``using``: participants' showing the practice."""
    valid = obs["observed"].notna()
    if kind == "participants":
        return obs[obs["participant"] & valid]
    if kind == "level_of_use":
        if "level_of_use_label" not in obs:
            return obs.iloc[:0].assign(level_of_use=pd.Series(dtype=object), level_of_use_label=pd.Series(dtype=object))
        return obs[obs["participant"] & obs["level_of_use"].notna()]
    if kind == "using":
        return obs[obs["participant"] & (obs["observed"] == 1)]
    return obs


def summarize(obs: pd.DataFrame, layout=None) -> ObservationSums:
    """One part's sums (`plevaluate.levels.practice.prepare_observations`' rows of some educators)."""
    rates = {name: rate_sums(rows_of(obs, kind), by) for name, (by, kind) in BREAKDOWNS.items()}
    hours = obs.loc[obs["participant"] & obs["observed"].notna(), "pl_hours"]
    return ObservationSums(
        rates,
        coverage_counts(obs, records="observation_id", people="educator_id"),
        obs.groupby("educator_id").size().value_counts().sort_index(),
        (float(hours.min()), float(hours.max())) if len(hours) else (np.inf, -np.inf),
    )


#: The GEE models of level 4: the rows each reads and its formula (the trend's with or without comparison schools).
MODELS = {
    "trend": ("observed ~ month_index * participant", "observed ~ month_index"),
    "dose": ("observed ~ month_index + pl_hours",),
}


def model_rows(obs: pd.DataFrame, model: str) -> pd.DataFrame:
    """The observations a model reads, with the columns it reads."""
    if model == "trend":
        data = obs.loc[obs["observed"].notna(), ["observed", "month_index", "participant", "educator_id"]]
        return data.assign(participant=data["participant"].astype(int))
    rows = obs["participant"].astype(bool) & obs["observed"].notna()
    return obs.loc[rows, ["observed", "educator_id", "month_index", "pl_hours"]]


class ModelData:
    """One part's observations as the GEE models read them (`model_rows`), each formula's numbers made once, at the
    first step, and summed at each step's coefficients (`model_step`): what a part holds for `refine` (`Parts.hold`)."""

    def __init__(self, obs: pd.DataFrame):
        self.rows = {model: model_rows(obs, model) for model in MODELS}
        self.made: dict[str, GEEData] = {}

    def __sizeof__(self) -> int:  # what Dask counts of a held part (its own estimate of an object is a few bytes)
        frames = sum(int(rows.memory_usage(index=True).sum()) for rows in self.rows.values())
        return frames + sum(data.y.nbytes + data.x.nbytes + data.codes.nbytes for data in self.made.values())

    def sums(self, model: str, formula: str, beta: np.ndarray) -> GEESums:
        if formula not in self.made:
            self.made[formula] = gee_data(self.rows[model], formula, "educator_id")[0]
        return self.made[formula].sums(beta)


def model_step(held: ModelData, model: str, formula: str, beta: np.ndarray) -> GEESums:
    """A part's sums for one step of a model (what `refine` asks of every part)."""
    return held.sums(model, formula, beta)


def refine(sums: ObservationSums, ask: Callable[..., list]) -> ObservationSums:
    """``sums`` with the GEE models fitted from every part (`fit_models`; ``ask``: `plevaluate.results.Parts.refine`)."""
    return fit_models(sums, lambda model, formula: lambda beta: ask(model_step, model, formula, beta))


def fit_models(
    sums: ObservationSums, steps: Callable[[str, str], Callable[[np.ndarray], Iterable[GEESums]]]
) -> ObservationSums:
    """``sums`` with the GEE models fitted (`fit_gee`): ``steps(model, formula)`` gives the function that asks every
    part for its sums at a step's coefficients (`model_data`'s `GEEData.sums` in each part); a model that cannot be
    fitted keeps why (the `ValueError` one process raises)."""
    fits: dict[str, GEEFit | ValueError] = {}
    groups = sums.rates["group"]
    counted = groups[groups["n"] > 0]
    both = len(counted) and counted["group"].eq("participant").any() and not counted["group"].eq("participant").all()
    for model, formulas in MODELS.items():
        formula = formulas[0] if model == "dose" or both else formulas[1]
        rows = sums.rates["all"] if model == "trend" else groups[groups["group"].eq("participant")]
        n, shown, people = (float(rows[c].sum()) for c in ("n", "shown", "people"))
        try:
            if model == "dose" and not sums.hours[0] < sums.hours[1]:
                continue  # the level says so, before any model
            if not 0 < shown < n:
                value = shown / n if n else float("nan")
                raise ValueError(f"the trend cannot be modelled: every observation has observed = {value:g}")
            if people < 2:
                raise ValueError("a GEE needs observations of at least 2 educator_id values")
            at = steps(model, formula)
            fits[model] = fit_gee(lambda beta, at=at: GEESums.combine(at(beta)), _names(formula), formula)
        except ValueError as error:
            fits[model] = error
    return replace(sums, fits=fits)


def _names(formula: str) -> list[str]:
    """The design's column names of a formula of numeric columns (patsy's: ``Intercept``, ``a``, ``a:b``)."""
    import patsy

    return [term.name() for term in patsy.ModelDesc.from_formula(formula).rhs_termlist]
