"""Least squares with the standard errors an education evaluation needs, written out in numpy.

Students in one school are not independent, so a program effect needs standard errors that allow
for correlation within schools. Four choices, each named in every result (``se_type``):

- ``hc1``: heteroskedasticity-robust, ignoring clustering (MacKinnon & White 1985); df N - K.
- ``cr1``: cluster-robust with Stata's small-sample factor ``G/(G-1) * (N-1)/(N-K)`` and t(G - 1)
  reference distribution (Liang & Zeger 1986; Cameron & Miller 2015). Checked against Petersen's
  (2009) published clustered standard errors.
- ``cr2``: the bias-reduced linearization of Bell & McCaffrey (2002), with Satterthwaite degrees
  of freedom (Pustejovsky & Tipton 2018; R clubSandwich ``vcovCR(type = "CR2")`` with
  ``coef_test(test = "Satterthwaite")``). It is the small-sample method research partners expect
  when there are few clusters (districts often have 8-12 schools). Checked against clubSandwich's
  closed-form CR2 variance and df for the mean.
- ``cluster``: CR1 with 30 or more clusters, CR2 with fewer (the default).

CR2 adjusts each cluster's residuals by ``A_g = (I - H_gg)^(-1/2)``; with ``H_gg = U S^2 U'`` (thin SVD
of ``X_g L``, ``L L' = (X'X)^-1``) this is ``I + U ((1 - S^2)^(-1/2) - 1) U'``, so no n_g x n_g matrix
is ever formed. The Satterthwaite df for a contrast c is ``tr(B)^2 / ||B||_F^2`` with
``B = diag(w_g' w_g) - Q' (X'X)^-1 Q``, ``w_g = A_g X_g (X'X)^-1 c`` and ``q_g = X_g' w_g``
(Bell & McCaffrey 2002; Imbens & Kolesar 2016, eq. for df_BM).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["FEW_CLUSTERS", "LinearFit", "fit_ols"]

#: Below this many clusters ``se="cluster"`` uses CR2 with Satterthwaite df instead of CR1.
FEW_CLUSTERS = 30

_LABELS = {
    "hc1": "HC1 (heteroskedasticity-robust, clustering ignored)",
    "cr1": "CR1 cluster-robust, t(G-1)",
    "cr2": "CR2 cluster-robust (Bell-McCaffrey), Satterthwaite df",
}


@dataclass(frozen=True)
class LinearFit:
    """Coefficients, their covariance and degrees of freedom, and what produced them."""

    names: tuple[str, ...]
    params: np.ndarray
    vcov: np.ndarray
    df: np.ndarray
    se_type: str
    n: int
    n_clusters: int
    residuals: np.ndarray

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def test(self, name: str, ci: float = 0.95) -> dict[str, float]:
        """Estimate, se, df, t interval and two-sided p-value of one coefficient."""
        j = self.names.index(name)
        estimate, se, df = float(self.params[j]), float(self.se[j]), float(self.df[j])
        t = stats.t.ppf(0.5 + ci / 2, df) if np.isfinite(df) and df > 0 else np.nan
        p = float(2 * stats.t.sf(abs(estimate / se), df)) if se > 0 and df > 0 else np.nan
        return {
            "estimate": estimate,
            "se": se,
            "df": df,
            "ci_low": estimate - t * se,
            "ci_high": estimate + t * se,
            "p_value": p,
        }


def _cluster_index(clusters: np.ndarray) -> tuple[np.ndarray, int]:
    index = pd.factorize(pd.Series(np.asarray(clusters)), sort=True, use_na_sentinel=False)[
        0
    ]  # as np.unique numbers them
    return index, int(index.max()) + 1


def _meat(scores: np.ndarray, index: np.ndarray, groups: int) -> np.ndarray:
    sums = np.column_stack([np.bincount(index, weights=scores[:, j], minlength=groups) for j in range(scores.shape[1])])
    return sums.T @ sums


def fit_ols(y, X, names, *, clusters=None, se: str = "cluster") -> LinearFit:
    """Ordinary least squares with HC1, CR1 or CR2 standard errors.

    Source: HC1 (MacKinnon & White 1985), CR1 with Stata's small-sample factor and t(G - 1) (Liang & Zeger 1986;
    Cameron & Miller 2015), CR2 with Satterthwaite df (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018, as R
    clubSandwich).

    Parameters
    ----------
    y : array (n,)
    X : array (n, k), full column rank (an intercept column if wanted)
    names : sequence of k str
    clusters : array (n,), needed for the cluster-robust types
    se : ``"hc1"``, ``"cr1"``, ``"cr2"`` or ``"cluster"`` (CR1 with at least `FEW_CLUSTERS` clusters, else CR2)

    Raises
    ------
    ValueError
        When X is rank-deficient (say, a covariate that does not vary) or clusters are missing.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    n, k = X.shape
    if np.linalg.matrix_rank(X) < k:
        raise ValueError(f"the model cannot be estimated: its terms ({', '.join(names)}) are collinear or constant")
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ y
    resid = y - X @ beta
    if se == "hc1":
        meat = (X * resid[:, None]).T @ (X * resid[:, None])
        vcov = bread @ meat @ bread * n / (n - k)
        return LinearFit(tuple(names), beta, vcov, np.full(k, n - k, float), _LABELS["hc1"], n, 0, resid)
    if clusters is None:
        raise ValueError(f"se='{se}' needs clusters")
    index, groups = _cluster_index(clusters)
    if se == "cluster":
        se = "cr1" if groups >= FEW_CLUSTERS else "cr2"
    if groups < 2:
        raise ValueError("cluster-robust standard errors need at least 2 clusters")
    if se == "cr1":
        factor = groups / (groups - 1) * (n - 1) / (n - k)
        vcov = bread @ _meat(X * resid[:, None], index, groups) @ bread * factor
        return LinearFit(tuple(names), beta, vcov, np.full(k, groups - 1, float), _LABELS["cr1"], n, groups, resid)
    if se != "cr2":
        raise ValueError(f"se must be 'hc1', 'cr1', 'cr2' or 'cluster', not {se!r}")
    root = np.linalg.cholesky(bread)
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(groups + 1))
    adjusted = np.empty(n)
    factors: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for g in range(groups):
        rows = order[bounds[g] : bounds[g + 1]]
        u, s, _ = np.linalg.svd(X[rows] @ root, full_matrices=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(s**2 < 1 - 1e-10, 1 / np.sqrt(np.clip(1 - s**2, 1e-300, None)), 0.0) - 1.0
        factors.append((rows, u, scale))
        e = resid[rows]
        adjusted[rows] = e + u @ (scale * (u.T @ e))
    vcov = bread @ _meat(X * adjusted[:, None], index, groups) @ bread
    df = np.empty(k)
    for j in range(k):
        contrast = bread[:, j]
        w_norm = np.empty(groups)
        q = np.empty((k, groups))
        for g, (rows, u, scale) in enumerate(factors):
            v = X[rows] @ contrast
            w = v + u @ (scale * (u.T @ v))
            w_norm[g] = w @ w
            q[:, g] = X[rows].T @ w
        b = np.diag(w_norm) - q.T @ bread @ q
        df[j] = np.trace(b) ** 2 / np.sum(b * b)
    return LinearFit(tuple(names), beta, vcov, df, _LABELS["cr2"], n, groups, resid)
