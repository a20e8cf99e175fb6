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
is ever formed, and ``X_g'A_g e_g`` is a function of ``X_g'X_g`` and ``X_g'e_g`` alone (`ClusterSums.fit`). The Satterthwaite df for a contrast c is ``tr(B)^2 / ||B||_F^2`` with
``B = diag(w_g' w_g) - Q' (X'X)^-1 Q``, ``w_g = A_g X_g (X'X)^-1 c`` and ``q_g = X_g' w_g``
(Bell & McCaffrey 2002; Imbens & Kolesar 2016, eq. for df_BM).

CR1 and CR2 need no row once each cluster's sums are known (`ClusterSums`): ``b = (sum X_g'X_g)^-1 sum X_g'y_g``,
cluster g's score ``X_g'e_g = X_g'y_g - X_g'X_g b``, and CR2's adjustment and df are k x k functions of ``X_g'X_g``
(`ClusterSums._cr2`). `fit_ols` computes both that way, so a district evaluated
in parts, each part summing its own schools, gets the same numbers as one process (to rounding). The same sums
give the random-intercept model's REML fit (`ClusterSums.reml`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["FEW_CLUSTERS", "ClusterSums", "InterceptFit", "LinearFit", "fit_ols"]

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
    if se != "hc1":
        if clusters is None:
            raise ValueError(f"se='{se}' needs clusters")
        _, groups = _cluster_index(clusters)
        if se == "cluster":
            se = "cr1" if groups >= FEW_CLUSTERS else "cr2"
        if groups < 2:
            raise ValueError("cluster-robust standard errors need at least 2 clusters")
        if se not in ("cr1", "cr2"):
            raise ValueError(f"se must be 'hc1', 'cr1', 'cr2' or 'cluster', not {se!r}")
        return ClusterSums.of(y, X, names, clusters, center="mean").fit(se)
    return ClusterSums.of(y, X, names, np.zeros(n), hc1=True, center="mean").fit("hc1")


@dataclass(frozen=True)
class ClusterSums:
    """Each cluster's sums of one linear model's data: its rows ``n``, ``X_g'1``, ``1'y_g``, ``X_g'X_g``, ``X_g'y_g``
    and ``y_g'y_g``.

    Least squares with CR1 standard errors (`fit`) and the random-intercept model by REML (`reml`) follow from them
    without a single row, and the sums of
    disjoint parts of the data combine into the whole's (`combine`), so a district too large for one process can be
    summed school by school where its rows are and fitted where the sums meet. They hold no row of the data, but a
    cluster's sums describe its members (a cluster of one is its row): they are internal, never published.

    Attributes
    ----------
    names : tuple of str
        The k columns of X.
    clusters : array (G,)
        Each cluster's key, in sorted order.
    n : array (G,)
    x : array (G, k)
        Each cluster's column sums ``X_g'1``.
    y : array (G,)
        Each cluster's ``1'y_g``.
    xx : array (G, k, k)
    xy : array (G, k)
    yy : array (G,)
    rows : array (k + 1, k + 1, k, k), optional
        HC1's sums over every row, whatever its cluster: ``sum z_a z_b x x'`` with ``z = (y, x)``.
    shift, y_shift, intercept : optional
        The point the sums are centred at (`of`'s ``center``) and the intercept column that absorbs it.

    Examples
    --------
    >>> X = np.column_stack([np.ones(6), [0.0, 1, 2, 3, 4, 5]])
    >>> y = np.array([1.0, 3, 2, 5, 4, 6])
    >>> school = np.array(["a", "a", "b", "b", "c", "c"])
    >>> whole = ClusterSums.of(y, X, ["const", "x"], school)
    >>> parts = ClusterSums.combine([ClusterSums.of(y[:2], X[:2], ["const", "x"], school[:2]),
    ...                              ClusterSums.of(y[2:], X[2:], ["const", "x"], school[2:])])
    >>> bool(np.allclose(parts.fit().vcov, whole.fit().vcov)), round(float(whole.fit().params[1]), 4)  # 15.5 / 17.5
    (True, 0.8857)
    """

    names: tuple[str, ...]
    clusters: np.ndarray
    n: np.ndarray
    x: np.ndarray
    y: np.ndarray
    xx: np.ndarray
    xy: np.ndarray
    yy: np.ndarray
    rows: np.ndarray | None = None
    shift: np.ndarray | None = None
    y_shift: float = 0.0
    intercept: int | None = None

    @classmethod
    def of(cls, y, X, names, clusters, *, hc1: bool = False, center=None) -> ClusterSums:
        """The sums of ``y`` (n,) and ``X`` (n, k) within each of ``clusters`` (n,): one pass per pair of columns,
        so no n x k x k array is formed. ``hc1=True`` adds `rows` (HC1's sums, `fit`).

        ``center``: sum ``y - y_shift`` and ``X - shift`` instead (`shift`, `y_shift`; the column named ``intercept``, or
        of ones, is never shifted), so a covariate whose mean dwarfs its spread (scale scores near 2,500, a year)
        keeps its digits: the sums of squares of the raw values would cancel them away. The fit is the same model
        (least squares and its sandwich estimators are equivariant under this change of the intercept), so `fit` and
        `reml` report the coefficients of the model as given. ``"mean"``: the columns' means (rows at hand); or
        ``(y_shift, shift)``: the same point for every part of a district summed in parts (their sums combine only
        when centred alike). Needs an intercept column."""
        y = np.asarray(y, dtype=float)
        X = np.asarray(X, dtype=float)
        k = X.shape[1]
        if len(names) != k:
            raise ValueError(f"{len(names)} names for {k} columns of X")
        shift, y_shift, intercept = None, 0.0, None
        if center is not None:
            if "intercept" in names:
                intercept = list(names).index("intercept")
            else:
                ones = [j for j in range(k) if len(X) and np.all(X[:, j] == 1.0)]
                intercept = ones[0] if ones else None
            if isinstance(center, str):
                if center != "mean":
                    raise ValueError(f"center is 'mean' or (y_shift, shift), not {center!r}")
                if intercept is not None and len(X):
                    shift, y_shift = X.mean(axis=0), float(y.mean())
            else:
                if intercept is None:
                    raise ValueError("centred sums need an intercept column (named 'intercept')")
                y_shift, shift = float(center[0]), np.array(center[1], dtype=float)
            if shift is not None:
                shift[intercept] = 0.0
                X, y = X - shift, y - y_shift
            else:
                intercept = None
        index, keys = pd.factorize(pd.Series(np.asarray(clusters)), sort=True, use_na_sentinel=False)
        keys = np.asarray(keys)
        groups = len(keys)
        n = np.bincount(index, minlength=groups).astype(float)
        x = np.column_stack([np.bincount(index, weights=X[:, j], minlength=groups) for j in range(k)])
        xx = np.empty((groups, k, k))
        for i in range(k):
            for j in range(i, k):
                xx[:, i, j] = xx[:, j, i] = np.bincount(index, weights=X[:, i] * X[:, j], minlength=groups)
        xy = np.column_stack([np.bincount(index, weights=X[:, j] * y, minlength=groups) for j in range(k)])
        yy = np.bincount(index, weights=y * y, minlength=groups)
        totals = np.bincount(index, weights=y, minlength=groups)
        rows = None
        if hc1:  # sum over rows of z_a z_b x x' with z = (y, X): HC1's meat for any coefficients (`fit`)
            z = np.column_stack([y, X])
            rows = np.empty((k + 1, k + 1, k, k))
            for a in range(k + 1):
                for b in range(a, k + 1):
                    rows[a, b] = rows[b, a] = (X * (z[:, a] * z[:, b])[:, None]).T @ X
        return cls(
            tuple(names),
            keys,
            n,
            x.reshape(groups, k),
            totals,
            xx,
            xy.reshape(groups, k),
            yy,
            rows,
            shift,
            y_shift,
            intercept,
        )

    @classmethod
    def combine(cls, parts) -> ClusterSums:
        """The sums of the data the ``parts`` were computed from, together; a cluster found in several parts adds up."""
        parts = list(parts)
        if not parts:
            raise ValueError("no sums to combine")
        names = parts[0].names
        if any(part.names != names for part in parts):
            raise ValueError(f"sums of different models cannot be combined: {sorted({p.names for p in parts})}")
        origin = parts[0]
        if any(
            (part.shift is None) != (origin.shift is None)
            or (part.shift is not None and not np.array_equal(part.shift, origin.shift))
            or part.y_shift != origin.y_shift
            for part in parts
        ):
            raise ValueError("sums centred at different points cannot be combined: centre every part alike")
        index, keys = pd.factorize(
            pd.Series(np.concatenate([part.clusters for part in parts])), sort=True, use_na_sentinel=False
        )
        keys = np.asarray(keys)
        groups = len(keys)

        def total(field: str) -> np.ndarray:
            stacked = np.concatenate([getattr(part, field) for part in parts])
            out = np.zeros((groups, *stacked.shape[1:]))
            np.add.at(out, index, stacked)
            return out

        rows = None if any(part.rows is None for part in parts) else sum(part.rows for part in parts)
        totals = (total(field) for field in ("n", "x", "y", "xx", "xy", "yy"))
        return cls(names, keys, *totals, rows, origin.shift, origin.y_shift, origin.intercept)

    def _back(self) -> tuple[np.ndarray, np.ndarray]:
        """``A`` and ``a`` with ``b = A b~ + a``: the coefficients of the model as given from those of the centred sums
        (the intercept absorbs the shifts: ``b_0 = b~_0 - shift'b~ + y_shift``)."""
        k = len(self.names)
        change, offset = np.eye(k), np.zeros(k)
        if self.shift is not None:
            change[self.intercept] -= self.shift
            offset[self.intercept] = self.y_shift
        return change, offset

    @property
    def raw_x(self) -> np.ndarray:
        """Each cluster's column sums ``X_g'1`` of the data as given (`x` is of the centred data)."""
        return self.x if self.shift is None else self.x + self.n[:, None] * self.shift

    def residuals(self, params) -> np.ndarray:
        """Each cluster's sum of residuals ``1'(y_g - X_g b)`` for the coefficients ``params`` of the model as given."""
        change, offset = self._back()
        centred = np.linalg.solve(change, np.asarray(params, dtype=float) - offset)
        return self.y - self.x @ centred

    def fit(self, se: str = "cr1") -> LinearFit:
        """Least squares from the sums, with CR1, CR2 or HC1 standard errors: ``fit_ols(..., se=se)`` is this.

        ``"hc1"`` (sums made with ``hc1=True``): clusters ignored, ``N/(N-K)`` times the sandwich whose meat
        ``sum e_i^2 x_i x_i' = sum_ab g_a g_b sum z_a z_b x x'`` with ``g = (1, -b)`` and ``z = (y, x)`` (`rows`).

        ``"cr1"``: Stata's small-sample factor ``G/(G-1) * (N-1)/(N-K)``, t(G - 1) (Liang & Zeger 1986; Cameron &
        Miller 2015). ``"cr2"``: Bell & McCaffrey (2002) with Satterthwaite df, as R clubSandwich; each cluster's
        adjustment ``(I - H_gg)^(-1/2)`` acts on its rows only through ``X_g``, so it is a function of the k x k
        ``L'X_g'X_g L`` (``L L' = (X'X)^-1``; `_cr2`) and needs no row."""
        groups, k = len(self.clusters), len(self.names)
        n = int(self.n.sum())
        if se not in ("cr1", "cr2", "hc1"):
            raise ValueError(f"se must be 'cr1', 'cr2' or 'hc1' from cluster sums, not {se!r}")
        if se == "hc1" and self.rows is None:
            raise ValueError("HC1 needs the sums of each row's products: make them with ClusterSums.of(..., hc1=True)")
        if groups < 2 and se != "hc1":
            raise ValueError("cluster-robust standard errors need at least 2 clusters")
        xtx = self._full_rank()
        bread = np.linalg.inv(xtx)
        beta = bread @ self.xy.sum(axis=0)
        change, offset = self._back()
        if se == "hc1":
            gamma = np.concatenate([[1.0], -beta])
            meat = np.einsum("a,b,abij->ij", gamma, gamma, self.rows)
            vcov = bread @ meat @ bread * n / (n - k)
            df, label, groups = np.full(k, n - k, float), _LABELS["hc1"], 0
        else:
            scores = self.xy - self.xx @ beta  # each cluster's X_g'e_g
            if se == "cr2":
                vcov, df = self._cr2(bread, scores, change)
            else:
                vcov = bread @ (scores.T @ scores) @ bread * groups / (groups - 1) * (n - 1) / (n - k)
                df = np.full(k, groups - 1, float)
            label = _LABELS[se]
        return LinearFit(self.names, change @ beta + offset, change @ vcov @ change.T, df, label, n, groups)

    def _cr2(self, bread: np.ndarray, scores: np.ndarray, contrasts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """CR2's covariance and each coefficient's Satterthwaite df from the sums.

        With ``Z_g = X_g L`` and ``Z_g'Z_g = V diag(lam) V'`` (lam are the squared singular values of `fit_ols`'s
        SVD), a function f of ``H_gg = Z_g Z_g'`` with f(0) = 0 is ``Z_g V diag(f(lam)/lam) V'Z_g'``; so
        ``X_g'A_g e_g = s_g + B_g L V diag(a(lam)) V'L's_g`` with ``B_g = X_g'X_g``, ``s_g = X_g'e_g`` and
        ``a(lam) = ((1 - lam)^(-1/2) - 1) / lam = 1 / (sqrt(1 - lam) (1 + sqrt(1 - lam)))``, never a division by lam.
        For the df of contrast c (`fit_ols`'s docstring): ``w_g'w_g = c'B_g c + sum t^2 / (1 - lam)`` with
        ``t = V'L'B_g c``, ``q_g = B_g c + B_g L V diag(a(lam)) t``, and the G x G matrix
        ``D = diag(w'w) - Q'(X'X)^-1 Q`` enters only through its trace and ``||D||_F^2 = sum (w'w)^2 -
        2 sum w'w q'Mq + tr((M QQ')^2)``, all k x k. A direction of leverage 1 (a cluster of one row, say) is not
        adjusted, as in the row-wise SVD. Each coefficient's df is its contrast's (``contrasts``' row: `_back`)."""
        root = np.linalg.cholesky(bread)
        gram = np.einsum("ji,gjk,kl->gil", root, self.xx, root)  # Z_g'Z_g = L'B_g L
        lam, vec = np.linalg.eigh(gram)
        lam = np.clip(lam, 0.0, None)
        inside = lam < 1 - 1e-10
        rest = np.sqrt(np.where(inside, 1 - lam, 1.0))
        adjust = np.where(inside, 1 / (rest * (1 + rest)), 0.0)  # a(lam)
        inflate = np.where(inside, 1 / np.where(inside, 1 - lam, 1.0), 0.0)  # 1 / (1 - lam)
        lift = np.einsum("gij,jk,gkl->gil", self.xx, root, vec)  # B_g L V

        def adjusted(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """``u + B_g L V diag(a) V'L'u`` for each cluster's ``u`` (G, k), and ``V'L'u``."""
            t = np.einsum("gji,kj,gk->gi", vec, root, vectors)  # V'L'u
            return vectors + np.einsum("gij,gj->gi", lift, adjust * t), t

        meat_scores, _ = adjusted(scores)
        vcov = bread @ (meat_scores.T @ meat_scores) @ bread
        df = np.empty(len(self.names))
        for j in range(len(self.names)):
            contrast = bread @ contrasts[j]  # M c for the coefficient's contrast c (a unit vector without centring)
            bc = self.xx @ contrast  # B_g M c
            q, t = adjusted(bc)
            w_norm = bc @ contrast + np.sum(inflate * t * t, axis=1)
            mq = q @ bread  # rows: (M q_g)'
            quad = np.sum(mq * q, axis=1)  # q_g'M q_g
            mp = bread @ (q.T @ q)
            trace = w_norm.sum() - np.trace(mp)
            frobenius = np.sum(w_norm**2) - 2 * np.sum(w_norm * quad) + np.sum(mp * mp.T)
            df[j] = trace**2 / frobenius
        return vcov, df

    def _full_rank(self) -> np.ndarray:
        """The summed X'X, once the terms are not collinear or constant: the smallest eigenvalue of X'X scaled to unit
        diagonal (the cosines between the columns) above 1e-10, i.e. no column within about 1e-5 radians of the
        others' span. Sums cannot be checked as rows are (`fit_ols` checks the rank of X), and a singular X'X is
        not always refused by the arithmetic: a constant covariate of 5.0 beside the intercept gave numbers."""
        xtx = self.xx.sum(axis=0)
        scale = np.sqrt(np.diag(xtx))
        if not np.all(scale > 0) or np.linalg.eigvalsh(xtx / np.outer(scale, scale)).min() < 1e-10:
            raise ValueError(
                f"the model cannot be estimated: its terms ({', '.join(self.names)}) are collinear or constant"
            )
        return xtx

    def reml(self) -> InterceptFit:
        """The REML fit of the random-intercept model ``y = X b + u_g + e`` (one variance for the clusters' intercepts,
        ``tau``, one for the rows, ``sigma2``), from the sums alone.

        With ``lambda = tau / sigma2`` the fixed effects and ``sigma2`` have closed forms in each cluster's
        ``n_g``, ``X_g'1``, ``1'y_g`` and the totals ``X'X``, ``X'y``, ``y'y``, so the REML criterion is a function
        of lambda alone (Harville 1977; the profiled criterion of lme4, Bates et al. 2015, eq. 41):
        ``(N - p) log RSS(lambda) + sum_g log(1 + n_g lambda) + log det X'V^-1 X`` (V scaled by sigma2). It is
        evaluated at zero and on a grid of log lambda from e^-14 to e^8 (further, to e^40, while its last point is the
        best) and refined by Brent's method around the best grid point, so a second, worse optimum cannot be mistaken for the answer; each evaluation costs
        O(clusters x p^2), never a pass over the rows. The fixed effects' covariance is lme4's,
        ``sigma2 (X'V^-1 X)^-1`` at the optimum. Checked against R lme4 (statsmodels' ``lme00`` and ``lme01``).
        """
        from scipy.optimize import brentq, minimize_scalar

        k = len(self.names)
        big_n = float(self.n.sum())
        if big_n <= k:
            raise ValueError(f"the mixed model needs more rows ({big_n:g}) than terms ({k})")
        if len(self.clusters) < 2:
            raise ValueError("the mixed model needs at least 2 clusters: one cannot have a variance between them")
        xtx, xty, yty = self._full_rank(), self.xy.sum(axis=0), float(self.yy.sum())

        def parts(lam: float) -> tuple[np.ndarray, np.ndarray, float]:
            w = lam / (1.0 + self.n * lam)
            a = xtx - (self.x * w[:, None]).T @ self.x
            b = xty - self.x.T @ (w * self.y)
            beta = np.linalg.solve(a, b)
            return a, beta, yty - float((w * self.y) @ self.y) - float(b @ beta)

        def criterion(lam: float) -> float:
            try:
                a, _, rss = parts(lam)
            except np.linalg.LinAlgError:
                return np.inf
            sign, logdet = np.linalg.slogdet(a)
            if sign <= 0 or rss <= 0:
                return np.inf
            return (big_n - k) * np.log(rss) + float(np.log1p(self.n * lam).sum()) + logdet

        grid = np.exp(np.linspace(-14.0, 8.0, 45))
        values = np.array([criterion(lam) for lam in grid])
        while int(np.argmin(values)) == len(grid) - 1 and np.log(grid[-1]) < 40:  # clusters almost all of the variance
            more = np.exp(np.log(grid[-1]) + np.linspace(0.5, 8.0, 16))
            grid, values = np.concatenate([grid, more]), np.concatenate([values, [criterion(lam) for lam in more]])
        if not np.isfinite(values).any():
            if parts(0.0)[2] <= 1e-12 * max(yty, 1e-300):  # nothing left to split between clusters and rows
                raise ValueError(
                    "the mixed model cannot be estimated: its terms predict every value exactly (an outcome that does "
                    "not vary, say), so there is no variance to split between schools and students"
                )
            raise ValueError(f"the mixed model cannot be estimated: its terms ({', '.join(self.names)}) are collinear")
        best = int(np.argmin(values))
        low, high = np.log(grid[max(best - 1, 0)]), np.log(grid[min(best + 1, len(grid) - 1)])
        found = minimize_scalar(
            lambda t: criterion(np.exp(t)), bounds=(low, high), method="bounded", options={"xatol": 1e-10}
        )
        lam = float(np.exp(found.x)) if found.fun <= values[best] else float(grid[best])

        def slope(t: float) -> float:
            """d criterion / d log lambda: (N - p) dRSS/RSS + sum n_g/(1 + n_g lam) - tr(A^-1 sum w'_g x_g x_g'), times
            lam, with dRSS = -sum w'_g r_g^2 (r_g: cluster g's residual sum) and w'_g = 1 / (1 + n_g lam)^2."""
            lam = np.exp(t)
            a, beta, rss = parts(lam)
            dw = 1.0 / (1.0 + self.n * lam) ** 2
            r = self.y - self.x @ beta
            leverage = np.einsum("gi,gi->g", self.x, np.linalg.solve(a, self.x.T).T)
            return lam * (
                -(big_n - k) * float(dw @ (r * r)) / rss
                + float((self.n / (1 + self.n * lam)).sum())
                - float(dw @ leverage)
            )

        # the criterion is flat at its optimum, so a minimizer finds lambda to about the square root of its rounding
        # (1e-6 when schools differ little): the root of the slope is found to rounding itself, so two sums of the same
        # data added in another order give the same fit
        try:
            ends = [np.log(lam) - 1e-3, np.log(lam) + 1e-3]
            if slope(ends[0]) < 0 < slope(ends[1]):
                lam = float(np.exp(brentq(slope, *ends, xtol=1e-14, rtol=4 * np.finfo(float).eps)))
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            pass
        if criterion(0.0) <= criterion(lam):
            lam = 0.0
        a, beta, rss = parts(lam)
        change, offset = self._back()
        sigma2 = rss / (big_n - k)
        llf = -0.5 * (
            float(np.log1p(self.n * lam).sum())
            + np.linalg.slogdet(a)[1]
            + (big_n - k) * (1 + np.log(2 * np.pi * sigma2))
        )
        vcov = change @ (sigma2 * np.linalg.inv(a)) @ change.T
        return InterceptFit(self.names, change @ beta + offset, vcov, lam * sigma2, sigma2, llf, self)


@dataclass(frozen=True)
class InterceptFit:
    """A random-intercept model fitted by REML from each cluster's sums (`ClusterSums.reml`).

    Attributes
    ----------
    names : as the sums'
    params : array (k,)
        The fixed effects.
    vcov : array (k, k)
        Their covariance, ``sigma2 (X'V^-1 X)^-1`` (lme4's ``vcov``).
    tau, sigma2 : float
        The clusters' intercept variance and the rows' variance.
    llf : float
        The REML log-likelihood (lme4's ``logLik(REML = TRUE)``).
    sums : ClusterSums
        What it was fitted from (each cluster's key and sums: `effects`).
    """

    names: tuple[str, ...]
    params: np.ndarray
    vcov: np.ndarray
    tau: float
    sigma2: float
    llf: float
    sums: ClusterSums

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def effects(self) -> tuple[np.ndarray, np.ndarray]:
        """Each cluster's predicted intercept (BLUP, ``tau / (sigma2 + n_g tau) * 1'(y_g - X_g b)``) and its conditional
        variance given the data, ``tau sigma2 / (sigma2 + n_g tau)`` (lme4's ``ranef(condVar = TRUE)``)."""
        sums = self.sums
        shrink = self.tau / (self.sigma2 + sums.n * self.tau)
        return shrink * sums.residuals(self.params), self.sigma2 * shrink
