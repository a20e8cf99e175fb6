"""effects.py against published values; each test names its source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from plevaluate.effects import (
    bh_adjust,
    clustered_wilson,
    hedges_omega,
    improvement_index,
    paired_effects,
    smd_independent,
    wilson_interval,
)

# Lakens (2013), "Calculating and reporting effect sizes to facilitate cumulative science",
# Frontiers in Psychology 4:863, Table 1: ratings of two movies by ten people.
MOVIE_1 = np.array([9, 7, 8, 9, 8, 9, 9, 10, 9, 9], dtype=float)
MOVIE_2 = np.array([9, 6, 7, 8, 7, 9, 8, 8, 8, 7], dtype=float)


def test_lakens_independent_groups():
    # Lakens (2013): t(18) = 2.52, p = .022, d_s = 1.13, 95% CI [0.16, 2.06] (ESCI, noncentral t), g_s = 1.08.
    r = smd_independent(MOVIE_1.mean(), MOVIE_1.std(ddof=1), 10, MOVIE_2.mean(), MOVIE_2.std(ddof=1), 10)
    np.testing.assert_allclose([r["t"], r["p_value"]], [2.52, 0.022], atol=0.005)
    np.testing.assert_allclose([r["d"], r["d_ci_low"], r["d_ci_high"], r["g"]], [1.13, 0.16, 2.06, 1.08], atol=0.005)


def test_lakens_paired():
    # Lakens (2013): t(9) = 4.74, p = .001, d_z = 1.50, d_av = 1.13, g_av = 1.08; d_av 95% CI [0.42, 1.80] from ESCI.
    r = paired_effects(MOVIE_2, MOVIE_1)
    np.testing.assert_allclose([r["t"], r["d_z"], r["d_av"], r["g_av"]], [4.74, 1.50, 1.13, 1.08], atol=0.005)
    assert r["p_value"] == pytest.approx(0.001, abs=0.0006)
    # Our d_av interval rescales the noncentral-t d_z interval; ESCI's differs by under 0.01.
    np.testing.assert_allclose([r["d_av_ci_low"], r["d_av_ci_high"]], [0.42, 1.80], atol=0.01)
    assert r["d_z_ci_low"] < r["d_z"] < r["d_z_ci_high"]


def test_hedges_omega_wwc():
    # WWC Procedures Handbook v5.0: omega = 1 - 3 / (4N - 9); N = 20 gives 1 - 3/71.
    assert hedges_omega(20) == pytest.approx(1 - 3 / 71)


def test_improvement_index():
    # WWC: g = 0.25 is an improvement index of 100 * (Phi(0.25) - 0.5) = 9.87 percentile points.
    assert improvement_index(0.25) == pytest.approx(9.87, abs=0.01)
    assert improvement_index(0.0) == 0.0


def test_wilson_newcombe_1998():
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score, no continuity correction).
    low, high = wilson_interval([81, 15, 0, 1], [263, 148, 20, 29])
    np.testing.assert_allclose(low, [0.2553, 0.0624, 0.0, 0.0061], atol=5e-5)
    np.testing.assert_allclose(high, [0.3662, 0.1605, 0.1611, 0.1718], atol=5e-5)


def test_wilson_empty_group_is_nan():
    low, high = wilson_interval(0, 0)
    assert np.isnan(low) and np.isnan(high)


BH_P = [
    0.0001,
    0.0004,
    0.0019,
    0.0095,
    0.0201,
    0.0278,
    0.0298,
    0.0344,
    0.0459,
    0.3240,
    0.4262,
    0.5719,
    0.6528,
    0.7590,
    1.000,
]


def test_benjamini_hochberg_1995_example():
    # Benjamini & Hochberg (1995), JRSS B 57:289-300, section 4: 15 p-values, 4 rejected at q = 0.05.
    adjusted = bh_adjust(BH_P)
    assert (adjusted <= 0.05).sum() == 4
    # statsmodels' multipletests(method="fdr_bh") is an independent implementation of the same adjustment.
    np.testing.assert_allclose(adjusted, multipletests(BH_P, method="fdr_bh")[1])


def test_bh_keeps_nan_and_order():
    p = np.array([0.04, np.nan, 0.01, 0.03])
    adjusted = bh_adjust(p)
    assert np.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2, 3]], multipletests([0.04, 0.01, 0.03], method="fdr_bh")[1])


def test_clustered_wilson_widens_for_repeated_answers():
    flags = np.array([1, 1, 1, 0, 0, 0] * 10)
    clusters = np.repeat(np.arange(20), 3)  # each cluster answers alike three times
    p, low, high, deff = clustered_wilson(flags, clusters)
    p0, low0, high0, _ = clustered_wilson(flags)
    assert p == p0 and deff > 1.5
    assert high - low > high0 - low0


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-50, 50), min_size=4, max_size=30),
    st.floats(-1e3, 1e3),
    st.floats(0.1, 10),
)
def test_constant_shift_leaves_standardized_effects_unchanged(pre, shift, gain):
    pre = np.array(pre)
    post = pre + gain + np.sin(np.arange(len(pre)))  # a non-constant gain
    if np.std(post - pre) < 1e-6 or np.std(pre) < 1e-6:
        return
    a, b = paired_effects(pre, post), paired_effects(pre + shift, post + shift)
    np.testing.assert_allclose([a["d_z"], a["g_av"]], [b["d_z"], b["g_av"]], rtol=1e-6, atol=1e-9)


def test_pandas_input_is_accepted():
    r = paired_effects(pd.Series(MOVIE_2), pd.Series(MOVIE_1))
    assert r["n"] == 10
