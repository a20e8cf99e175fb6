"""Level 4's GEE logistic model, fitted from sums that parts of the observations add up.

A GEE with exchangeable working correlation within groups (educators; Liang & Zeger 1986) is fitted by Fisher
scoring, alternating with statsmodels' moment estimator of the correlation. Each step needs, at the current
coefficients, a handful of sums over the observations and over the groups; with an exchangeable correlation a
group's inverse working covariance has a closed form (``R^-1 = (I - c J) / (1 - rho)``, ``c = rho / (1 - rho +
n rho)``), whose only group-specific number is ``c``, a function of the correlation and of the group's size. So
every sum a step needs (the information, the score, the correlation's moments, the sandwich's meat) is, for any
correlation, a combination of sums over the groups of each size (`GEESums`). Those sums add up across parts of
the data that keep each group whole: a part computes them at the coefficients it is given (`GEEData.sums`), and
the fit (`fit_gee`) needs one round of every part's sums per iteration. One process is one part (`gee_logistic`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["GEEData", "GEEFit", "GEESums", "fit_gee", "gee_data", "gee_logistic"]


@dataclass(frozen=True)
class GEEFit:
    """A GEE logistic fit: coefficients, their robust (sandwich) covariance, the working correlation, the formula."""

    params: pd.Series
    cov: pd.DataFrame
    working_correlation: float
    iterations: int
    formula: str = ""

    def cov_params(self) -> pd.DataFrame:
        return self.cov

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)


@dataclass(frozen=True)
class GEESums:
    """Sums over the observations of whole groups at one set of coefficients, added across parts (`combine`).

    With ``z`` an observation's design row scaled by ``sqrt(mu (1 - mu))`` and ``e`` its Pearson residual, and for
    each group its sums ``zs`` (of z), ``es`` (of e) and ``zes`` (of z e): ``zz`` = sum of z z', ``ze`` = sum of
    z e, ``ee`` = sum of e^2, and for the groups of each size (``sizes``): how many (``groups``), and the sums of
    zs zs' (``a``), es zs (``b``), zes zes' (``cc``), es zes zs' (``d``), es^2 zs zs' (``f``) and es^2 (``w``).
    """

    n: int
    zz: np.ndarray
    ze: np.ndarray
    ee: float
    sizes: np.ndarray
    groups: np.ndarray
    a: np.ndarray
    b: np.ndarray
    cc: np.ndarray
    d: np.ndarray
    f: np.ndarray
    w: np.ndarray

    @classmethod
    def combine(cls, parts: Iterable[GEESums]) -> GEESums:
        """The sums of every part (parts hold different groups)."""
        parts = list(parts)
        sizes = np.unique(np.concatenate([part.sizes for part in parts]))

        def by_size(name: str) -> np.ndarray:
            first = getattr(parts[0], name)
            out = np.zeros((len(sizes), *first.shape[1:]))
            for part in parts:
                np.add.at(out, np.searchsorted(sizes, part.sizes), getattr(part, name))
            return out

        return cls(
            sum(part.n for part in parts),
            sum(part.zz for part in parts),
            sum(part.ze for part in parts),
            float(sum(part.ee for part in parts)),
            sizes,
            by_size("groups"),
            *(by_size(name) for name in ("a", "b", "cc", "d", "f", "w")),
        )

    def _c(self, rho: float) -> np.ndarray:
        return rho / (1 - rho + self.sizes * rho)

    def information(self, rho: float) -> np.ndarray:
        """The model's information (the sandwich's bread) at correlation ``rho``."""
        return (self.zz - np.tensordot(self._c(rho), self.a, axes=1)) / (1 - rho)

    def score(self, rho: float) -> np.ndarray:
        return (self.ze - self._c(rho) @ self.b) / (1 - rho)

    def meat(self, rho: float) -> np.ndarray:
        """The sum over groups of each group's score times its transpose."""
        c = self._c(rho)
        cross = np.tensordot(c, self.d, axes=1)
        return (self.cc.sum(axis=0) - cross - cross.T + np.tensordot(c * c, self.f, axes=1)) / (1 - rho) ** 2

    def correlation(self, p: int) -> float:
        """statsmodels' ``Exchangeable.update``: within-group pairs of Pearson residuals over pairs minus
        parameters, scaled by the residual variance over observations minus parameters."""
        pairs = float((self.groups * self.sizes * (self.sizes - 1) / 2).sum())
        if pairs <= p:
            return 0.0
        scale = self.ee / (self.n - p)
        return float((self.w.sum() - self.ee) / 2) / scale / (pairs - p)


@dataclass(frozen=True)
class GEEData:
    """One part's observations as a GEE reads them: outcome, design and group (every row of a group in the part).

    ``y``: 0/1 outcomes; ``x``: the design matrix (a row per observation); ``codes``: each row's group, 0 to
    groups - 1."""

    y: np.ndarray
    x: np.ndarray
    codes: np.ndarray

    def sums(self, beta: np.ndarray) -> GEESums:
        from scipy import sparse
        from scipy.special import expit

        count = np.bincount(self.codes)
        p = self.x.shape[1]
        if not len(self.y):
            empty = np.zeros((0, p, p))
            return GEESums(0, np.zeros((p, p)), np.zeros(p), 0.0, np.zeros(0, int), np.zeros(0),
                           empty, np.zeros((0, p)), empty, empty, empty, np.zeros(0))  # fmt: skip

        def by_group(values: np.ndarray) -> np.ndarray:
            if values.ndim == 1:
                return np.bincount(self.codes, weights=values, minlength=len(count))
            return np.column_stack(
                [np.bincount(self.codes, weights=values[:, j], minlength=len(count)) for j in range(p)]
            )

        mu = np.clip(expit(self.x @ beta), 1e-12, 1 - 1e-12)
        sd = np.sqrt(mu * (1 - mu))
        z, e = self.x * sd[:, None], (self.y - mu) / sd  # V^-1/2-scaled design and Pearson residuals
        zs, es, zes = by_group(z), by_group(e), by_group(z * e[:, None])
        sizes, size = np.unique(count, return_inverse=True)
        outer = zs[:, :, None] * zs[:, None, :]
        each = {  # per group, summed over the groups of each size at once (one sparse product)
            "groups": np.ones(len(count)),
            "a": outer,
            "b": zs * es[:, None],
            "cc": zes[:, :, None] * zes[:, None, :],
            "d": es[:, None, None] * zes[:, :, None] * zs[:, None, :],
            "f": es[:, None, None] ** 2 * outer,
            "w": es**2,
        }
        flat = np.column_stack([values.reshape(len(count), -1) for values in each.values()])
        one_hot = sparse.csr_array((np.ones(len(count)), (size, np.arange(len(count)))), shape=(len(sizes), len(count)))
        summed, start = one_hot @ flat, 0
        by_size = {}
        for name, values in each.items():
            width = int(np.prod(values.shape[1:], dtype=int))
            by_size[name] = summed[:, start : start + width].reshape((len(sizes), *values.shape[1:]))
            start += width
        return GEESums(len(self.y), z.T @ z, zes.sum(axis=0), float(e @ e), sizes, **by_size)


def gee_data(data: pd.DataFrame, formula: str, groups: str) -> tuple[GEEData, list[str]]:
    """The GEE's numbers for ``data`` (every row of a group present) and the design's column names."""
    import patsy

    data = data[_formula_columns(formula, data, groups)]  # not a copy of every column (level 4's largest peak)
    plain = data.drop(columns=[groups]).assign(**{c: data[c].astype(float) for c in data if data[c].dtype == bool})
    endog, exog = patsy.dmatrices(formula, plain, return_type="dataframe", NA_action="drop")
    codes = pd.factorize(data.loc[exog.index, groups])[0]
    return GEEData(endog.iloc[:, 0].to_numpy(float), exog.to_numpy(float), codes), list(exog.columns)


#: A step of Fisher scoring this small against the coefficients (`fit_gee`) ends it: the coefficients have converged
#: to what rounding allows.
STEP = 1e-12


def fit_gee(
    sums_at: Callable[[np.ndarray], GEESums], names: list[str], formula: str, *, tol: float = 1e-10, maxiter: int = 100
) -> GEEFit:
    """Fisher scoring from the data's sums at each step's coefficients (``sums_at(beta)``, every part's sums
    combined): the coefficients at each step, then the correlation at the new coefficients (statsmodels' order),
    until the score's norm is below ``tol`` or a step moves no coefficient by more than `STEP` of the largest (the
    score is a sum over every observation, and its rounding alone grows with them: at 2,000 schools it stayed at
    2e-10, above ``tol``, while each step moved the coefficients by 1e-14, so a converged trend was reported as not
    converging in one process and as converged from the parts' sums, whose rounding differs; found by a hostile
    review); the sandwich at the last coefficients and correlation.

    Raises
    ------
    ValueError
        When the fit does not converge in ``maxiter`` steps.
    """
    p = len(names)
    beta, rho = np.zeros(p), 0.0
    sums = sums_at(beta)
    for iteration in range(1, maxiter + 1):
        score = sums.score(rho)
        step = np.linalg.solve(sums.information(rho), score)
        beta = beta + step
        sums = sums_at(beta)
        rho = sums.correlation(p)
        still = np.sqrt(float(score @ score)) >= tol and np.abs(step).max() > STEP * (1 + np.abs(beta).max())
        if iteration > 1 and not still:
            break
    else:
        raise ValueError(f"the GEE logistic model ({formula}) did not converge in {maxiter} iterations")
    inverse = np.linalg.inv(sums.information(rho))
    robust = inverse @ sums.meat(rho) @ inverse
    covariance = pd.DataFrame(robust, index=names, columns=names)
    return GEEFit(pd.Series(beta, index=names), covariance, float(rho), iteration, formula)


def gee_logistic(
    data: pd.DataFrame, formula: str, *, groups: str = "educator_id", tol: float = 1e-10, maxiter: int = 100
) -> GEEFit:
    """Fit a GEE logistic model with exchangeable working correlation within ``groups``.

    Robust (sandwich) standard errors, as R ``gee(..., family=binomial, corstr="exchangeable")`` and
    statsmodels' ``GEE`` (Liang & Zeger 1986): the same estimating equations, Fisher scoring for the
    coefficients alternating with statsmodels' moment estimator of the exchangeable correlation (its
    ``Exchangeable.update``), each step from sums over observations and over groups of each size (`GEESums`)
    instead of statsmodels' loop over every educator (at 2,000 schools, 30,000 of them). The data as one part
    (`fit_gee`). Checked against R gee's published output for statsmodels' ``gee_logistic_1`` data and against
    statsmodels' GEE on the sample in the tests.

    Raises
    ------
    ValueError
        When the outcome does not vary (every observation shows the practice, or none does), fewer than
        2 groups are observed, or the fit does not converge.
    """
    outcome = formula.split("~")[0].strip()
    values = data[outcome].dropna()
    if values.nunique() < 2:
        raise ValueError(f"the trend cannot be modelled: every observation has {outcome} = {values.iloc[0]:g}")
    if data[groups].nunique() < 2:
        raise ValueError(f"a GEE needs observations of at least 2 {groups} values")
    part, names = gee_data(data, formula, groups)
    return fit_gee(part.sums, names, formula, tol=tol, maxiter=maxiter)


def _formula_columns(formula: str, data: pd.DataFrame, groups: str) -> list[str]:
    """The columns of ``data`` a patsy ``formula`` reads, and ``groups``; every column when a term is an expression
    of columns (``np.log(x)``) rather than a column."""
    import patsy

    desc = patsy.ModelDesc.from_formula(formula)
    codes = {factor.code for term in desc.lhs_termlist + desc.rhs_termlist for factor in term.factors}
    if not codes <= set(data.columns):
        return list(data.columns)
    return [c for c in data.columns if c in codes or c == groups]
