"""plevaluate.comments.agreement against published values and other implementations; each test names its source."""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa

from plevaluate.comments.agreement import ALL_THEMES, agreement, disagreements
from plevaluate.errors import ContractError

COLUMNS = ["theme", "measure", "estimate", "ci_low", "ci_high", "n", "n_missing", "agree", "n_coders", "coder_a",
           "coder_b", "method"]  # fmt: skip


def from_table(table: dict[tuple[int, int], int], theme: str = "yes") -> pd.DataFrame:
    """Codes of coders 'A' and 'B' on one theme from a 2x2 table {(A applied, B applied): comments}."""
    rows, i = [], 0
    for (a, b), count in table.items():
        for _ in range(count):
            i += 1
            rows += [(f"c{i:03d}", "A", theme if a else None), (f"c{i:03d}", "B", theme if b else None)]
    return pd.DataFrame(rows, columns=["comment_id", "coder", "theme"])


def decisions_to_codes(decisions: dict[str, np.ndarray], themes: list[str], comments: list[str]) -> pd.DataFrame:
    """Codes from per-coder 0/1 arrays (comments x themes; a row of NaN: the coder did not code the comment)."""
    rows = []
    for coder, values in decisions.items():
        for i, comment in enumerate(comments):
            if np.isnan(values[i]).all():
                continue
            applied = [t for t, v in zip(themes, values[i]) if v == 1]
            rows += [(comment, coder, t) for t in applied] or [(comment, coder, None)]
    return pd.DataFrame(rows, columns=["comment_id", "coder", "theme"])


def kappa_row(out: pd.DataFrame, theme: str) -> pd.Series:
    return out[(out["theme"] == theme) & (out["measure"] == "cohen_kappa")].iloc[0]


def alpha_row(out: pd.DataFrame, theme: str) -> pd.Series:
    return out[(out["theme"] == theme) & (out["measure"] == "krippendorff_alpha")].iloc[0]


def test_kappa_wikipedia_worked_example():
    # Wikipedia, "Cohen's kappa", section Examples, "Simple example": 50 grant proposals read by readers A and B;
    # both yes 20, A yes B no 5, A no B yes 10, both no 15. p_o = 0.7, p_e = 0.5, kappa = 0.4.
    codes = from_table({(1, 1): 20, (1, 0): 5, (0, 1): 10, (0, 0): 15})
    row = kappa_row(agreement(codes, ["yes"], n_boot=0), "yes")
    np.testing.assert_allclose(row["estimate"], 0.4, atol=1e-12)
    assert (row["n"], row["agree"], row["n_missing"], row["coder_a"], row["coder_b"]) == (50, 35, 0, "A", "B")
    # the interval is statsmodels' asymptotic one (kappa_low, kappa_upp at its alpha = 0.025 each side)
    sm = cohens_kappa(np.array([[20, 5], [10, 15]]))
    np.testing.assert_allclose([row["ci_low"], row["ci_high"]], [sm.kappa_low, sm.kappa_upp], rtol=1e-12)


def test_kappa_standard_error_statpsych():
    # Bonett's R package statpsych, reference page of ci.kappa (citing Fleiss & Paik 2003), its example
    # ci.kappa(.05, 31, 12, 4, 58): Cohen kappa 0.6756757, SE 0.07344761, 95% CI [0.5317210, 0.8196303].
    codes = from_table({(0, 0): 31, (0, 1): 12, (1, 0): 4, (1, 1): 58})
    row = kappa_row(agreement(codes, ["yes"], n_boot=0), "yes")
    np.testing.assert_allclose([row["estimate"], row["ci_low"], row["ci_high"]], [0.6756757, 0.5317210, 0.8196303],
                               atol=5e-8)  # fmt: skip
    # another level scales the half-width by its normal quantile
    narrow = kappa_row(agreement(codes, ["yes"], ci=0.90, n_boot=0), "yes")
    np.testing.assert_allclose(narrow["ci_high"] - narrow["estimate"], 0.07344761 * stats.norm.ppf(0.95), atol=1e-7)
    assert "90% interval" in narrow["method"]


def test_kappa_matches_scikit_learn(rng):
    # a second implementation: sklearn.metrics.cohen_kappa_score on the comments both coders coded
    themes, comments = ["time", "coach", "materials"], [f"c{i}" for i in range(80)]
    a = (rng.random((80, 3)) < [0.2, 0.5, 0.7]).astype(float)
    b = np.where(rng.random((80, 3)) < 0.8, a, 1 - a)
    b[:10] = np.nan  # B did not code the first ten
    out = agreement(decisions_to_codes({"A": a, "B": b}, themes, comments), themes, n_boot=0)
    for j, theme in enumerate(themes):
        row = kappa_row(out, theme)
        np.testing.assert_allclose(row["estimate"], cohen_kappa_score(a[10:, j], b[10:, j]), rtol=1e-12)
        assert (row["n"], row["n_missing"], row["agree"]) == (70, 10, int((a[10:, j] == b[10:, j]).sum()))


def test_krippendorff_2011_published_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: nominal data, 4 observers,
    # 12 units, missing values; alpha (nominal) = 0.743. Called on the package that `agreement` uses.
    nan = np.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    np.testing.assert_allclose(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), 0.743,
                               atol=5e-4)  # fmt: skip


def test_alpha_of_binary_decisions_by_hand():
    # Units are comment x theme. ana/ben decide (1,1), (0,0) on c1; (1,1), (1,0) on c2; (0,0), (0,1) on c3 for
    # themes (time, coach). Coincidences: o_00 = 4, o_11 = 4, o_01 = o_10 = 2; n_0 = n_1 = 6, n = 12.
    # alpha = 1 - (n - 1) (o_01 + o_10) / (2 n_0 n_1) = 1 - 11 * 4 / 72 = 7 / 18. For coach alone:
    # o_00 = 2, o_01 = o_10 = 2, n_0 = 4, n_1 = 2, n = 6: alpha = 1 - 5 * 4 / 16 = -1/4. Cohen's kappa of coach:
    # p_o = 1/3, p_e = 1/9 + 4/9 = 5/9, kappa = (1/3 - 5/9) / (4/9) = -1/2. cleo coded c4 alone: left out.
    codes = pd.DataFrame(
        {
            "comment_id": ["c1", "c2", "c2", "c3", "c1", "c2", "c3", "c4"],
            "coder": ["ana", "ana", "ana", "ana", "ben", "ben", "ben", "cleo"],
            "theme": ["time", "time", "coach", None, "time", "time", "coach", "coach"],
        }
    )
    out = agreement(codes, ["time", "coach"], n_boot=0)
    assert list(out.columns) == COLUMNS
    assert out[["theme", "measure"]].values.tolist() == [
        ["time", "cohen_kappa"],
        ["time", "krippendorff_alpha"],
        ["coach", "cohen_kappa"],
        ["coach", "krippendorff_alpha"],
        [ALL_THEMES, "krippendorff_alpha"],
    ]
    np.testing.assert_allclose(out["estimate"], [1.0, 1.0, -0.5, -0.25, 7 / 18], atol=1e-12)
    np.testing.assert_array_equal(out["agree"], [3, 3, 1, 1, 4])
    np.testing.assert_array_equal(out["n"], [3] * 5)
    np.testing.assert_array_equal(out["n_missing"], [0, 1, 0, 1, 1])  # c4 pairs with nothing
    np.testing.assert_array_equal(out["n_coders"], [2, 3, 2, 3, 3])
    assert out["coder_a"].fillna("-").tolist() == ["ana", "-", "ana", "-", "-"]


def test_alpha_matches_the_package_on_a_reliability_matrix(rng):
    # three coders, some comments coded by one, two or three of them: alpha over all comment x theme decisions
    # equals the package's alpha of the reliability matrix (coders x units, NaN where a coder did not code)
    themes, comments = ["time", "coach"], [f"c{i}" for i in range(40)]
    truth = (rng.random((40, 2)) < 0.4).astype(float)
    decisions = {}
    for coder in ("ana", "ben", "cleo"):
        values = np.where(rng.random((40, 2)) < 0.85, truth, 1 - truth)
        values[rng.random(40) < 0.3] = np.nan
        decisions[coder] = values
    out = agreement(decisions_to_codes(decisions, themes, comments), themes, n_boot=0)
    matrix = np.array([v.ravel() for v in decisions.values()])  # units: (comment, theme) in comment-major order
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    np.testing.assert_allclose(alpha_row(out, ALL_THEMES)["estimate"], expected, rtol=1e-12)
    for j, theme in enumerate(themes):
        by_theme = krippendorff.alpha(reliability_data=matrix[:, j::2], level_of_measurement="nominal")
        np.testing.assert_allclose(alpha_row(out, theme)["estimate"], by_theme, rtol=1e-12)
    coded = np.array([~np.isnan(v[:, 0]) for v in decisions.values()]).sum(axis=0)
    assert alpha_row(out, ALL_THEMES)["n"] == (coded >= 2).sum()
    assert alpha_row(out, ALL_THEMES)["n_missing"] == (coded == 1).sum()


def test_bootstrap_interval_is_seeded_and_brackets_the_estimate(rng):
    themes, comments = ["time", "coach"], [f"c{i}" for i in range(60)]
    a = (rng.random((60, 2)) < 0.5).astype(float)
    b = np.where(rng.random((60, 2)) < 0.85, a, 1 - a)
    codes = decisions_to_codes({"A": a, "B": b}, themes, comments)
    first = agreement(codes, themes, rng=np.random.default_rng(7), n_boot=200)
    pd.testing.assert_frame_equal(first, agreement(codes, themes, rng=7, n_boot=200))
    alpha = alpha_row(first, ALL_THEMES)
    assert alpha["ci_low"] < alpha["estimate"] < alpha["ci_high"]
    assert "percentile bootstrap interval over comments (200 resamples)" in alpha["method"]
    assert agreement(codes, themes, n_boot=0)[["ci_low", "ci_high"]].iloc[1::2].isna().all().all()


def test_disagreements_are_the_decisions_to_reconcile():
    codes = pd.DataFrame(
        {
            "comment_id": [1, 1, 2, 3, 1, 2, 2, 3, 4],
            "coder": ["ana", "ana", "ana", "ana", "ben", "ben", "ben", "ben", "ben"],
            "theme": ["time", "coach", None, "time", "coach", "time", "materials", "time", "coach"],
        }
    )
    out = disagreements(codes, ["time", "coach", "materials"])
    assert out.values.tolist() == [
        [1, "time", "ana", "ben"],
        [2, "time", "ben", "ana"],
        [2, "materials", "ben", "ana"],
    ]  # comment 4 was coded by ben alone: nothing to reconcile
    kappas = agreement(codes, ["time", "coach", "materials"], n_boot=0)
    kappas = kappas[kappas["measure"] == "cohen_kappa"]
    assert (kappas["n"] - kappas["agree"]).sum() == len(out)
    assert disagreements(codes.query("theme != 'materials'"), ["coach"]).empty


def test_undefined_kappa_is_missing_with_a_reason_not_an_error():
    codes = from_table({(1, 1): 4, (0, 0): 3}, theme="time")
    codes = pd.concat([codes, codes.drop_duplicates(["comment_id", "coder"]).assign(theme="everyone")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = agreement(codes, ["time", "never", "everyone"], n_boot=50)
    never, everyone = kappa_row(out, "never"), kappa_row(out, "everyone")
    assert np.isnan([never["estimate"], never["ci_low"], never["ci_high"], everyone["estimate"]]).all()
    assert never["method"].startswith("kappa undefined: neither coder applied this theme to any of the 7 comments")
    assert everyone["method"].startswith("kappa undefined: both coders applied this theme to every one of the 7")
    assert (never["n"], never["agree"]) == (7, 7)
    assert np.isnan(alpha_row(out, "never")["estimate"])
    assert alpha_row(out, "never")["method"].startswith("alpha undefined: this theme's decisions")
    assert kappa_row(out, "time")["estimate"] == 1.0


def test_no_comment_coded_by_both_coders():
    codes = pd.DataFrame({"comment_id": ["c1", "c2"], "coder": ["ana", "ben"], "theme": ["time", None]})
    out = agreement(codes, ["time"], n_boot=10)
    assert out["estimate"].isna().all()
    assert kappa_row(out, "time")["method"] == "kappa undefined: no comment was coded by both ana and ben"
    assert alpha_row(out, ALL_THEMES)["method"] == "alpha undefined: no comment was coded by two coders or more"
    assert disagreements(codes, ["time"]).empty


def test_the_pair_of_coders():
    # dan shares 3 comments with ana, ben 2; named coders override the choice
    rows = [(f"c{i}", "ana", "time") for i in range(4)]
    rows += [("c0", "ben", "time"), ("c1", "ben", None), ("c0", "dan", "time"), ("c1", "dan", None)]
    rows += [("c2", "dan", "time")]
    codes = pd.DataFrame(rows, columns=["comment_id", "coder", "theme"])
    row = kappa_row(agreement(codes, ["time"], n_boot=0), "time")
    assert (row["coder_a"], row["coder_b"], row["n"], row["n_missing"]) == ("ana", "dan", 3, 1)
    assert "the two of 3 coders with the most comments in common" in row["method"]
    named = kappa_row(agreement(codes, ["time"], coders=("ben", "ana"), n_boot=0), "time")
    assert (named["coder_a"], named["coder_b"], named["n"], named["n_missing"]) == ("ben", "ana", 2, 2)
    assert disagreements(codes, ["time"], coders=["ben", "ana"]).values.tolist() == [["c1", "time", "ana", "ben"]]


def test_codes_of_themes_not_measured_are_left_out_and_counted():
    codes = from_table({(1, 1): 3, (0, 1): 1, (0, 0): 2}, theme="time")
    codes = pd.concat([codes, pd.DataFrame({"comment_id": ["c001"], "coder": ["A"], "theme": ["coach "]})])
    out = agreement(codes, ["time"], n_boot=0)
    assert out["theme"].tolist() == ["time", "time", ALL_THEMES]
    assert alpha_row(out, ALL_THEMES)["method"].endswith("; 1 codes of themes not measured left out (coach)")
    pd.testing.assert_frame_equal(out.iloc[:2], agreement(codes.iloc[:-1], ["time"], n_boot=0).iloc[:2])


def test_bad_input_lists_every_problem():
    with pytest.raises(ContractError) as error:
        agreement(pd.DataFrame({"comment": ["c1"], "coder": ["ana"]}), [], ci=95)
    message = str(error.value)
    assert "Codes take comment_id, coder and theme" in message
    assert "column 'comment_id'" in message and "column 'theme'" in message
    assert "themes: at least one theme id" in message
    assert "value '95': ci: a confidence level between 0 and 1. Fix: Use 0.95 for 95% intervals." in message
    codes = pd.DataFrame({"comment_id": ["c1", None], "coder": ["ana", "ana"], "theme": ["time", "time"]})
    with pytest.raises(ContractError) as error:
        disagreements(codes, ["time"], coders=("ana", "zoe"))
    message = str(error.value)
    assert "row 3, column 'comment_id': a comment and a coder on every row" in message
    assert "comments coded by at least two coders. Fix: Add a second coder's codes." in message
    assert "value 'ana, zoe': coders: two different coders who appear in the codes. Fix: Name two of ana." in message


codes_strategy = st.lists(
    st.tuples(st.integers(0, 7), st.sampled_from(["ana", "ben", "cleo"]), st.sampled_from(["time", "coach", None])),
    min_size=4,
    max_size=40,
)


@settings(max_examples=30, deadline=None)
@given(rows=codes_strategy, seed=st.integers(0, 2**16))
def test_row_order_does_not_change_the_result(rows, seed):
    codes = pd.DataFrame(rows, columns=["comment_id", "coder", "theme"])
    if codes["coder"].nunique() < 2:
        return
    shuffled = codes.sample(frac=1, random_state=seed).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = agreement(codes, ["time", "coach"], n_boot=10)
        again = agreement(shuffled, ["time", "coach"], n_boot=10)
    pd.testing.assert_frame_equal(out, again)
    pd.testing.assert_frame_equal(disagreements(codes, ["time", "coach"]), disagreements(shuffled, ["time", "coach"]))
