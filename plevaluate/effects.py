"""Effect sizes, confidence intervals and multiple-comparison control, shared by every Guskey level.

Every function takes numbers (or arrays) and returns numbers: rounding and formatting belong to
the presentation layer. Formulas and the references they were checked against are in each
docstring; the tests compare them with published values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = [
    "bh_adjust",
    "cluster_mean_ci",
    "clustered_wilson",
    "hedges_omega",
    "improvement_index",
    "noncentral_t_ci",
    "paired_effects",
    "paired_effects_from",
    "smd_independent",
    "pooled_sd",
    "wilson_interval",
]


def pooled_sd(a, b) -> float:
    """The pooled within-group standard deviation of two samples:
    ``sqrt(((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2))``; NaN when a group has fewer than 2 values.

    >>> round(pooled_sd([1, 2, 3], [2, 4, 6]), 4)
    1.5811
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    return float(np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)))


def hedges_omega(n_total: float) -> float:
    """The small-sample correction of Cohen's d: ``omega = 1 - 3 / (4 N - 9)`` (WWC Procedures Handbook v5.0).

    ``N`` is the total sample size (n1 + n2); for paired designs WWC and Lakens (2013) use 2n.
    """
    return 1.0 - 3.0 / (4.0 * n_total - 9.0)


def improvement_index(g: float | np.ndarray) -> float | np.ndarray:
    """WWC improvement index: ``100 * (Phi(g) - 0.5)``, the expected change in percentile rank of an
    average comparison-group member had they received the intervention (WWC Procedures Handbook v5.0)."""
    return 100.0 * (stats.norm.cdf(g) - 0.5)


def noncentral_t_ci(t: float, df: float, ci: float = 0.95) -> tuple[float, float]:
    """Confidence limits for the noncentrality parameter of a t statistic, by inverting the noncentral t CDF.

    The standard interval for standardized mean differences (Steiger & Fouladi 1997; Cumming's ESCI,
    which Lakens 2013 uses): find ``ncp_low`` with ``P(T <= t | ncp_low) = 1 - a/2`` and ``ncp_high``
    with ``P(T <= t | ncp_high) = a/2``.
    """
    if not np.isfinite(t) or df <= 0:
        return float("nan"), float("nan")
    if t < 0:  # the interval of -t mirrored: scipy's CDF is exact more often for t > 0, and the limits stay symmetric
        low, high = noncentral_t_ci(-t, df, ci)
        return -high, -low
    alpha = 1.0 - ci
    # the normal approximation of the limits, ncp ~ t -+ z sqrt(1 + t^2 / (2 df)) (Hedges & Olkin 1985)
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    half = z * np.sqrt(1.0 + t**2 / (2.0 * df))
    wide = 10.0 + 2.0 * abs(t)
    return _ncp_limit(t, df, 1.0 - alpha / 2.0, t - half, half, wide), _ncp_limit(
        t, df, alpha / 2.0, t + half, half, wide
    )


def _ncp_limit(t: float, df: float, target: float, near: float, half: float, wide: float) -> float:
    """The noncentrality at which the noncentral t CDF at ``t`` is ``target``, searched in brackets around its normal
    approximation ``near``, narrow first, then ``t -+ wide``; the approximation itself when every search fails.

    scipy's noncentral t CDF is NaN far in its tail (t = 59.5, df = 2,844: at ncp = -60; t = 7.5, df = 2: at -7.9),
    and a search that strays there fails: a single bracket of t -+ (10 + 2|t|) failed for one t and not for the next
    float, so the interval jumped between the exact limits and the approximation. Each limit is searched on its own,
    so that one limit's failure does not take the other's exact value with it."""

    def gap(ncp: float) -> float:
        return stats.nct.cdf(t, df, ncp) - target

    brackets = [(near - k * half - 1.0, near + k * half + 1.0) for k in (0.25, 1.0, 4.0)] + [(t - wide, t + wide)]
    for low, high in brackets:
        if gap(low) * gap(high) < 0:  # NaN compares false
            try:
                return float(optimize.brentq(gap, low, high, xtol=1e-10))
            except ValueError:  # the CDF was NaN inside this bracket
                continue
    return float(near)


def smd_independent(
    mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int, ci: float = 0.95
) -> dict[str, float]:
    """Cohen's d_s and Hedges' g_s for two independent groups.

    ``d_s = (M1 - M2) / S_pooled`` with ``S_pooled = sqrt(((n1-1) s1^2 + (n2-1) s2^2) / (n1 + n2 - 2))``;
    ``g_s = omega * d_s`` with ``omega = 1 - 3 / (4 (n1 + n2) - 9)``. The interval of d_s inverts the
    noncentral t of ``t = d_s / sqrt(1/n1 + 1/n2)``; the interval of g_s is that of d_s times omega.
    ``se_g`` is the WWC standard error ``sqrt((n1+n2)/(n1 n2) + g^2 / (2 (n1+n2)))``.

    Checked against Lakens (2013), movie ratings: d_s = 1.13, 95% CI [0.16, 2.06], g_s = 1.08.

    Returns
    -------
    dict with d, d_ci_low, d_ci_high, g, g_ci_low, g_ci_high, se_g, t, df, p_value.
    """
    df = n1 + n2 - 2
    if n1 < 2 or n2 < 2:
        return {
            k: float("nan")
            for k in ("d", "d_ci_low", "d_ci_high", "g", "g_ci_low", "g_ci_high", "se_g", "t", "df", "p_value")
        }
    pooled = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
    d = (mean1 - mean2) / pooled
    scale = np.sqrt(1.0 / n1 + 1.0 / n2)
    t = d / scale
    low, high = noncentral_t_ci(t, df, ci)
    omega = hedges_omega(n1 + n2)
    g = omega * d
    return {
        "d": d,
        "d_ci_low": low * scale,
        "d_ci_high": high * scale,
        "g": g,
        "g_ci_low": omega * low * scale,
        "g_ci_high": omega * high * scale,
        "se_g": float(np.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))),
        "t": t,
        "df": df,
        "p_value": float(2 * stats.t.sf(abs(t), df)),
    }


def paired_effects(pre: np.ndarray, post: np.ndarray, ci: float = 0.95) -> dict[str, float]:
    """Effect sizes for a pre/post (paired) design, after Lakens (2013).

    - ``d_z = mean(diff) / sd(diff)``; its interval inverts the noncentral t of ``t = d_z sqrt(n)`` with n - 1 df.
    - ``d_av = mean(diff) / ((sd_pre + sd_post) / 2)``, ``g_av = omega * d_av`` with ``omega = 1 - 3/(4*2n - 9)``.
      Its interval rescales the d_z interval by ``sd(diff) / sd_av`` (the approach of ESCI that Lakens reports).
    - the paired t-test of the gain.

    Checked against Lakens (2013), movie ratings: t(9) = 4.74, d_z = 1.50, d_av = 1.13, g_av = 1.08,
    d_av 95% CI [0.42, 1.80].

    Returns
    -------
    dict with n, mean_gain, sd_gain, gain_ci_low, gain_ci_high, t, df, p_value, d_z, d_z_ci_low,
    d_z_ci_high, d_av, d_av_ci_low, d_av_ci_high, g_av, g_av_ci_low, g_av_ci_high, sd_pre, sd_post.
    """
    pre, post = np.asarray(pre, float), np.asarray(post, float)
    diff = post - pre
    n = len(diff)
    if n < 2:
        return paired_effects_from(n, float("nan"), float("nan"), float("nan"), float("nan"), 1.0, ci)
    size = max(1.0, float(np.abs(pre).max()), float(np.abs(post).max()))
    return paired_effects_from(n, diff.mean(), diff.std(ddof=1), pre.std(ddof=1), post.std(ddof=1), size, ci)


def paired_effects_from(
    n: int, mean: float, sd: float, sd_pre: float, sd_post: float, size: float, ci: float = 0.95
) -> dict[str, float]:
    """`paired_effects` from the pairs' count, the gains' mean and SD, the pre and post SDs and the scores' size
    (the largest absolute score, at least 1: a spread within floating-point noise of it is no spread)."""
    keys = (
        "mean_gain",
        "sd_gain",
        "gain_ci_low",
        "gain_ci_high",
        "t",
        "df",
        "p_value",
        "d_z",
        "d_z_ci_low",
        "d_z_ci_high",
        "d_av",
        "d_av_ci_low",
        "d_av_ci_high",
        "g_av",
        "g_av_ci_low",
        "g_av_ci_high",
        "sd_pre",
        "sd_post",
    )
    out = dict.fromkeys(keys, float("nan"))
    out["n"] = n
    if n < 2:
        return out
    sd_av = (sd_pre + sd_post) / 2
    half = stats.t.ppf(0.5 + ci / 2, n - 1) * sd / np.sqrt(n)
    out.update(mean_gain=mean, sd_gain=sd, gain_ci_low=mean - half, gain_ci_high=mean + half, df=n - 1)
    out.update(sd_pre=sd_pre, sd_post=sd_post)
    # a spread within floating-point noise of the scores' size is no spread: every gain equal (found by the shift
    # property test: scores moved by 0.65 left a standard deviation of 1e-14 and a d_z of 1e14)
    noise = 1e-9 * size
    if sd > noise:
        t = mean / (sd / np.sqrt(n))
        low, high = noncentral_t_ci(t, n - 1, ci)
        out.update(t=t, p_value=float(2 * stats.t.sf(abs(t), n - 1)), d_z=t / np.sqrt(n))
        out.update(d_z_ci_low=low / np.sqrt(n), d_z_ci_high=high / np.sqrt(n))
        if sd_av > noise:
            omega = hedges_omega(2 * n)
            d_av = mean / sd_av
            ratio = sd / sd_av
            out.update(d_av=d_av, g_av=omega * d_av)
            out.update(d_av_ci_low=out["d_z_ci_low"] * ratio, d_av_ci_high=out["d_z_ci_high"] * ratio)
            out.update(g_av_ci_low=omega * out["d_av_ci_low"], g_av_ci_high=omega * out["d_av_ci_high"])
    return out


def wilson_interval(successes, n, ci: float = 0.95):
    """Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3). Vectorized.

    statsmodels' ``proportion_confint(method="wilson")``; where n is 0 both limits are NaN, and the
    limits never leave [0, 1] nor exclude the estimate (at p = 0 or 1 rounding could otherwise put it
    a hair outside). Checked against Newcombe (1998), Table II: 81/263 gives 0.2553 to 0.3662.
    """
    from statsmodels.stats.proportion import proportion_confint

    successes = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        low, high = proportion_confint(successes, np.where(n > 0, n, 1), alpha=1 - ci, method="wilson")
        low = np.where(n > 0, np.clip(np.minimum(low, p), 0, 1), np.nan)
        high = np.where(n > 0, np.clip(np.maximum(high, p), 0, 1), np.nan)
    return low, high


def _cluster_variance_of_means(
    resid: np.ndarray, group: np.ndarray, n_groups: int, clusters: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """CR1 variance of each group's mean with observations clustered (Liang & Zeger 1986), from the
    residuals around the group means, and each group's number of clusters (NaN with fewer than 2)."""
    codes = pd.factorize(pd.Series(clusters, dtype=object) if clusters.dtype == object else clusters)[0]
    width = int(codes.max()) + 2 if len(codes) else 1
    pairs, index = np.unique(group.astype(np.int64) * width + (codes + 1), return_inverse=True)
    owner = pairs // width
    sums = np.bincount(index, weights=resid, minlength=len(pairs))
    count = np.bincount(owner, minlength=n_groups)
    n = np.bincount(group, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.bincount(owner, weights=sums**2, minlength=n_groups) / n**2 * count / (count - 1)
    return np.where(count >= 2, var, np.nan), count


def grouped_mean_and_variance(values, group, n_groups: int, clusters=None, clustered=None):
    """`mean_and_variance` of every group at once: arrays (mean, variance of the mean, df) over ``n_groups``
    groups numbered 0.. (``group``, one per value); ``clustered`` says which groups use ``clusters``
    (all by default)."""
    values, group = np.asarray(values, dtype=float), np.asarray(group)
    n = np.bincount(group, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(group, weights=values, minlength=n_groups) / n
        resid = values - mean[group]
        s2 = np.bincount(group, weights=resid**2, minlength=n_groups) / (n - 1)
        var, df = s2 / n, n - 1
    if clusters is not None:
        cr1, count = _cluster_variance_of_means(resid, group, n_groups, np.asarray(clusters))
        use = np.ones(n_groups, bool) if clustered is None else np.asarray(clustered, bool)
        var = np.where(use, np.where(np.isfinite(cr1), np.maximum(cr1, s2 / n), s2 / n), var)
        df = np.where(use, np.maximum(count - 1, 1), df)
    few = n < 2
    return mean, np.where(few, np.nan, var), np.where(few, np.nan, df)


def grouped_share_and_deff(flags, group, n_groups: int, clusters=None, clustered=None):
    """`share_and_deff` of every group at once: arrays (share, n, design effect)."""
    flags, group = np.asarray(flags, dtype=float), np.asarray(group)
    n = np.bincount(group, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.bincount(group, weights=flags, minlength=n_groups) / n
    deff = np.ones(n_groups)
    if clusters is not None and len(flags):
        cr1, count = _cluster_variance_of_means(flags - p[group], group, n_groups, np.asarray(clusters))
        use = np.ones(n_groups, bool) if clustered is None else np.asarray(clustered, bool)
        ok = use & (p > 0) & (p < 1) & np.isfinite(cr1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cr0 = cr1 * (count - 1) / count / (p * (1 - p) / n)  # CR1 back to CR0, over the binomial variance
        deff = np.where(ok, np.maximum(1.0, cr0), 1.0)
    return p, n, deff


def cluster_mean_ci(values, clusters=None, ci: float = 0.95) -> tuple[float, float, float]:
    """Mean with a t interval; with ``clusters`` the standard error is cluster-robust (CR1) with G - 1 df.

    Source: the cluster-robust (CR1) variance of a mean (Liang & Zeger 1986) with t on G - 1 df (Cameron &
    Miller 2015).

    Used where one educator answers several surveys: responses within an educator are not independent.
    Returns (mean, ci_low, ci_high).
    """
    mean, var, df = mean_and_variance(values, clusters)
    if np.isnan(df):
        return mean, float("nan"), float("nan")
    low, high = t_interval(mean, var, df, ci)
    return mean, float(low), float(high)


def mean_and_variance(values, clusters=None) -> tuple[float, float, float]:
    """The mean, the variance of the mean and its degrees of freedom, as `cluster_mean_ci` uses them:
    var/n on n - 1 df, or with ``clusters`` the CR1 variance (at least var/n) on G - 1 df (at least 1).
    Fewer than two values: (mean or NaN, NaN, NaN)."""
    values = np.asarray(values, dtype=float)
    mean, var, df = grouped_mean_and_variance(values, np.zeros(len(values), np.int64), 1, clusters)
    return float(mean[0]), float(var[0]), float(df[0])


def t_interval(mean, var, df, ci: float = 0.95):
    """``mean -/+ t(df) * sqrt(var)``; vectorized over groups (NaN where df is NaN)."""
    half = stats.t.ppf(0.5 + ci / 2, df) * np.sqrt(var)
    return mean - half, mean + half


def clustered_wilson(flags, clusters=None, ci: float = 0.95) -> tuple[float, float, float, float]:
    """A share with a Wilson interval; with ``clusters``, on the effective sample size n / deff.

    The design effect ``deff`` is the cluster-robust (CR0) variance of the share over its binomial
    variance ``p(1-p)/n`` (at least 1), so repeated answers by the same educator do not pass for
    independent ones (Kish 1965). With one observation per cluster it is exactly 1 and the interval is
    the plain Wilson interval.
    Returns (share, ci_low, ci_high, deff).
    """
    p, n, deff = share_and_deff(flags, clusters)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), float("nan")
    low, high = wilson_interval(p * n / deff, n / deff, ci)
    return p, float(low), float(high), deff


def share_and_deff(flags, clusters=None) -> tuple[float, int, float]:
    """The share, its n and the design effect `clustered_wilson` puts the Wilson interval on (n / deff)."""
    flags = np.asarray(flags, dtype=float)
    p, n, deff = grouped_share_and_deff(flags, np.zeros(len(flags), np.int64), 1, clusters)
    return float(p[0]), int(n[0]), float(deff[0])


def bh_adjust(p_values) -> np.ndarray:
    """Benjamini-Hochberg (1995) adjusted p-values (false discovery rate); NaN stays NaN.

    statsmodels' ``multipletests(method="fdr_bh")`` over the p-values present: ``p_adj(i) = min_{j >= i}
    (m / j) p(j)`` over the sorted p-values, capped at 1. Rejecting ``p_adj <= q`` controls the FDR at q.
    Checked against the 15 p-values of Benjamini & Hochberg (1995), where 4 hypotheses are rejected at q = 0.05.
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return out
