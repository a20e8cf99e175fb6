"""Levels 3 and 4 on reference data, on the sample district (truth.json), properties and awkward input."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import plevaluate
from plevaluate import figures, registry
from plevaluate.levels.organization import (
    condition_ratings,
    conditions_target,
    principal_participation,
    structure_means,
)
from plevaluate.levels.practice import (
    conditions_link,
    evaluate_practice,
    funnel,
    funnel_limits,
    gee_logistic,
    implementation_rates,
    prepare_observations,
    trend_model,
)
from plevaluate.levels.practice import sections as practice_sections
from plevaluate.privacy import publish_levels
from tests.conftest import ROOT, SAMPLE


@pytest.fixture(scope="module")
def level3(sample_evaluation):
    return sample_evaluation.levels[3]


@pytest.fixture(scope="module")
def level4(sample_evaluation):
    return sample_evaluation.levels[4]


# ---- reference values from outside the project ----


def test_gee_logistic_matches_r_gee():
    # Data: statsmodels' test file genmod/tests/results/gee_logistic_1.csv (copied to tests/data; columns Id, Y,
    # X1-X3). Reference: R package gee, gee(Y ~ X1 + X2 + X3, id=Id, family=binomial, corstr="exchangeable"),
    # coefficients and robust SEs as recorded in statsmodels' test_gee.py::TestGEE::test_logistic.
    data = pd.read_csv(ROOT / "tests" / "data" / "gee_logistic_1.csv", header=None, names=["Id", "Y", "X1", "X2", "X3"])
    result = gee_logistic(data, "Y ~ X1 + X2 + X3", groups="Id")
    r_coef = [0.0178982283915449, 1.13118798191788, -1.86133518416017, 1.08944256230299]
    r_se = [0.127045031730155, 0.165470678232842, 0.192052750030501, 0.173174779369249]
    np.testing.assert_allclose(result.params.to_numpy(), r_coef, atol=1e-6)
    np.testing.assert_allclose(result.bse.to_numpy(), r_se, atol=1e-6)


def test_a_gee_fitted_from_parts_equals_the_one_fitted_whole():
    # Each step's sums add up across parts that keep each group whole (`GEESums.combine`): the fit from 1, 2, 5
    # parts and from one part per group equals the whole fit (R gee's data above, every 7th row dropped so that
    # groups have different sizes: parts then hold different sizes, which combine must align).
    from plevaluate.levels.practice.gee import GEESums, fit_gee, gee_data

    data = pd.read_csv(ROOT / "tests" / "data" / "gee_logistic_1.csv", header=None, names=["Id", "Y", "X1", "X2", "X3"])
    data = data.drop(index=data.index[::7])  # groups of several sizes
    formula = "Y ~ X1 + X2 + X3"
    whole = gee_logistic(data, formula, groups="Id")
    rng = np.random.default_rng(5)
    ids = data["Id"].unique()
    for count in (1, 2, 5, len(ids)):
        part_of = dict(zip(ids, rng.permutation(len(ids)) % count))
        parts = [gee_data(data[data["Id"].map(part_of) == k], formula, "Id")[0] for k in range(count)]
        names = gee_data(data, formula, "Id")[1]
        fit = fit_gee(lambda beta, parts=parts: GEESums.combine(p.sums(beta) for p in parts), names, formula)
        np.testing.assert_allclose(fit.params.to_numpy(), whole.params.to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(fit.cov.to_numpy(), whole.cov.to_numpy(), rtol=1e-9)
        assert fit.working_correlation == pytest.approx(whole.working_correlation, rel=1e-9)
        assert len({int(s) for part in parts for s in part.sums(whole.params.to_numpy()).sizes}) >= 3


def test_a_gee_whose_score_rounding_stays_above_the_tolerance_still_converges():
    # The score is a sum over every observation; at 2,000 schools its rounding alone stayed at 2e-10, above the 1e-10
    # tolerance, while each step moved the coefficients by 1e-14: one process said the trend "did not converge in 100
    # iterations" and the cluster, whose sums round differently, showed it (a hostile review). Here R gee's data
    # above, 200 copies (a score of 60,000 observations), with rounding of 1e-9 added to each step's score: the fit
    # converges, to the coefficients and covariance it has without it.
    from plevaluate.levels.practice.gee import fit_gee, gee_data

    data = pd.read_csv(ROOT / "tests" / "data" / "gee_logistic_1.csv", header=None, names=["Id", "Y", "X1", "X2", "X3"])
    copies = pd.concat([data.assign(Id=data["Id"] + 10_000 * k) for k in range(200)], ignore_index=True)
    formula = "Y ~ X1 + X2 + X3"
    part, names = gee_data(copies, formula, "Id")
    exact = fit_gee(part.sums, names, formula)
    rng = np.random.default_rng(11)

    class Rounded:  # the data's sums, with a score that does not fall below its rounding
        def __init__(self, sums):
            self.sums = sums

        def score(self, rho):
            return self.sums.score(rho) + 1e-9 * rng.standard_normal(len(names))

        def __getattr__(self, name):
            return getattr(self.sums, name)

    fit = fit_gee(lambda beta: Rounded(part.sums(beta)), names, formula)
    assert fit.iterations <= exact.iterations + 2
    np.testing.assert_allclose(fit.params.to_numpy(), exact.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(fit.cov.to_numpy(), exact.cov.to_numpy(), rtol=1e-9)


def test_implementation_rate_interval_is_wilson():
    # One observation per educator: no design effect, so the interval must be the plain Wilson interval, as
    # computed by statsmodels' proportion_confint(method="wilson") (an independent implementation).
    from statsmodels.stats.proportion import proportion_confint

    obs = pd.DataFrame(
        {"school_id": "A", "educator_id": [f"E{i}" for i in range(40)], "observed": [1.0] * 13 + [0.0] * 27}
    )
    row = implementation_rates(obs, by=("school_id",)).iloc[0]
    np.testing.assert_allclose([row["ci_low"], row["ci_high"]], proportion_confint(13, 40, method="wilson"))
    assert row["deff"] == 1.0


def _binomial_limit(p0: float, n: int, q: float) -> float:
    """Spiegelhalter (2005), appendix A.1.1, from the binomial pmf summed by hand (no scipy)."""
    cdf, r = 0.0, -1
    below = 0.0
    while cdf < q:
        r += 1
        below = cdf
        cdf += math.comb(n, r) * p0**r * (1 - p0) ** (n - r)
    alpha = (cdf - q) / (cdf - below)
    return (r - alpha) / n


@pytest.mark.parametrize("p0,n", [(0.5, 57), (0.3, 20), (0.12, 200), (0.65, 9)])
def test_funnel_limits_match_binomial_quantiles(p0, n):
    for level in (0.95, 0.998):
        low, high = funnel_limits(p0, [n], level)
        assert low[0] == pytest.approx(_binomial_limit(p0, n, (1 - level) / 2), abs=1e-9)
        assert high[0] == pytest.approx(_binomial_limit(p0, n, (1 + level) / 2), abs=1e-9)
        # without interpolation the limit is the binomial quantile itself: it lies one step below it at most
        r = stats.binom.ppf((1 + level) / 2, n, p0)
        assert (r - 1) / n <= high[0] <= r / n


def test_correlation_interval_matches_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=12)
    rates = pd.DataFrame({"school_id": [f"S{i}" for i in range(12)], "estimate": x + rng.normal(size=12)})
    link = conditions_link(rates, pd.DataFrame({"school_id": rates["school_id"], "conditions_mean": x})).iloc[0]
    reference = stats.pearsonr(x, rates["estimate"])  # scipy's Fisher-z interval
    interval = reference.confidence_interval(0.95)
    np.testing.assert_allclose(
        [link["estimate"], link["ci_low"], link["ci_high"]], [reference.statistic, interval.low, interval.high]
    )
    assert "correlational" in link["method"]


# ---- level 3 on the sample ----


def test_weak_school_is_flagged(level3, truth):
    flags = level3["flags"].set_index("school_id")
    assert flags.loc[truth["weak_school"], "flagged"]
    assert flags.loc[truth["weak_school"], "latest_mean"] == flags["latest_mean"].min()
    flagged = [note for note in level3.notes if note.kind == "flag"]
    assert any(note.scope == truth["weak_school"] and "below developing" in note for note in flagged)


def test_principal_participation_from_raw_files(level3, sample_district):
    # Independently: count each principal's sessions in attendance.csv over the sessions in sessions.csv.
    educators = pd.read_csv(SAMPLE / "educators.csv", dtype=str)
    attendance = pd.read_csv(SAMPLE / "attendance.csv", dtype=str)
    offered = len(pd.read_csv(SAMPLE / "sessions.csv"))
    principals = educators[educators["role"] == "principal"].set_index("school_id")["educator_id"]
    table = level3["principals"].set_index("school_id")["estimate"]
    for school, educator in principals.items():
        attended = attendance.loc[attendance["educator_id"] == educator, "session_id"].nunique()
        assert table[school] == pytest.approx(attended / offered)


def _grid_participation(attendance, educators, sessions, role="principal", by=("role",)):
    """The participation tables as they were computed from every educator x session (the reference: obviously right,
    16 million rows at 20,000 schools)."""
    people = educators.drop_duplicates("educator_id")[["educator_id", "school_id", "role"]]
    grid = people.merge(sessions[["session_id"]].drop_duplicates(), how="cross")
    seen = attendance[["educator_id", "session_id"]].drop_duplicates().assign(attended=True)
    grid = grid.merge(seen, on=["educator_id", "session_id"], how="left")
    grid["attended"] = grid["attended"].astype("boolean").fillna(False).astype(bool)
    principals = grid[grid["role"] == role].groupby(["school_id", "educator_id"], observed=True)["attended"]
    per_school = (
        principals.agg(["sum", "size"])
        .groupby("school_id", observed=True)
        .agg(sessions_attended=("sum", "mean"), n=("size", "max"), principals=("sum", "size"))
    )
    if "participant" in educators:
        flags = educators.drop_duplicates("educator_id").set_index("educator_id")["participant"]
        grid["participant"] = grid["educator_id"].map(flags)
    shares = grid.groupby([*by, "educator_id"], observed=True, dropna=False)["attended"].mean()
    return per_school, shares.groupby(list(by), observed=True, dropna=False).agg(["mean", "size"])


@pytest.mark.parametrize("seed", range(6))
def test_participation_counted_from_attendance_equals_the_educator_by_session_grid(seed):
    # principal_participation and role_participation count each educator's sessions from attendance.csv, not from a
    # grid of every educator by every session; hostile rows: attendance at a session not offered, by an educator not
    # listed, twice at one session; an educator listed twice; no role; no participant flag; a school with two
    # principals; a principal who attended nothing
    from plevaluate.levels.organization import role_participation

    rng = np.random.default_rng(seed)
    n_people = int(rng.integers(5, 40))
    educators = pd.DataFrame(
        {
            "educator_id": [f"E{i}" for i in rng.integers(0, n_people, n_people + 3)],
            "school_id": [f"S{i}" for i in rng.integers(0, 4, n_people + 3)],
            "role": rng.choice(["principal", "teacher", "coach", None], n_people + 3, p=[0.3, 0.5, 0.1, 0.1]),
            "participant": pd.array(rng.choice([True, False, None], n_people + 3), dtype="boolean"),
        }
    ).astype({"educator_id": "string", "school_id": "string", "role": "string"})
    sessions = pd.DataFrame(
        {"session_id": pd.array([f"PL{i}" for i in range(int(rng.integers(1, 6)))], dtype="string")}
    )
    n_rows = int(rng.integers(0, 120))
    attendance = pd.DataFrame(
        {
            "educator_id": pd.array([f"E{i}" for i in rng.integers(0, n_people + 5, n_rows)], dtype="string"),
            "session_id": pd.array([f"PL{i}" for i in rng.integers(0, 7, n_rows)], dtype="string"),
        }
    )
    per_school, shares = _grid_participation(attendance, educators, sessions, by=("participant", "role"))
    table = principal_participation(attendance, educators, sessions).set_index("school_id")
    assert list(table.index) == list(per_school.index)
    for column in ("sessions_attended", "n", "principals"):
        assert list(table[column]) == list(per_school[column]), column
    assert (table["estimate"] == per_school["sessions_attended"] / per_school["n"]).all()
    roles = role_participation(attendance, educators, sessions, by=("participant", "role"), min_n=1)
    assert list(roles["estimate"]) == list(shares["mean"]) and list(roles["n"]) == list(shares["size"])


def test_conditions_structure_means_and_target(level3, sample_district):
    ratings = level3["ratings"]
    assert set(ratings["term"]) == {"2025-26 fall", "2025-26 winter", "2025-26 spring"}
    structures = level3["structures"]
    district = structures[(structures["breakdown"] == "district") & (structures["term"] == "2025-26 spring")]
    for row in district.itertuples():
        school = structures[
            (structures["breakdown"] == "school_id")
            & (structures["structure"] == row.structure)
            & (structures["term"] == row.term)
        ]
        members = school[school["school_id"].isin(sample_district.schools.query("group == 'participant'")["school_id"])]
        assert row.estimate == pytest.approx(members["estimate"].mean())
        assert row.n == len(members) and row.ci_low < row.estimate < row.ci_high
    target = level3["target"]
    share = target[target["breakdown"] == "district"].iloc[0]
    at = target[target["breakdown"] == "school_id"]["at_least"].astype(bool)
    assert share["estimate"] == pytest.approx(at.mean()) and share["n"] == len(at) == 8
    assert share["status"] in {"met", "not met", "met, not conclusive", "not met, not conclusive"}
    assert (level3["change"]["change"] == level3["change"]["latest_rating"] - level3["change"]["first_rating"]).all()
    assert "staff_survey" in level3.tables


def test_conditions_target_by_structure_and_single_term():
    ratings = pd.DataFrame(
        {
            "school_id": ["A", "A", "B", "B"],
            "group": "participant",
            "structure": "planning",
            "indicator_id": ["x", "y", "x", "y"],
            "term": "2025-26 fall",
            "term_order": 1,
            "rating": [3, 4, 2, 2],
            "n_ratings": 1,
        }
    )
    table = conditions_target(ratings, structure="planning", rating_at_least=3, target=1.0)
    assert table.iloc[0]["estimate"] == 0.5 and table.iloc[0]["status"] == "not met"
    means = structure_means(ratings)
    assert means.loc[means["breakdown"] == "district", "estimate"].iloc[0] == pytest.approx(2.75)


# ---- level 4 on the sample ----


def test_growth_and_hours_slope_recover_truth(level4, truth):
    trend = level4["trend"].set_index("group")
    true_growth = truth["practice_marginal"]["month_log_odds"]  # population-averaged, as GEE estimates
    z = stats.norm.ppf(0.975)
    low, high = trend.loc["participant", "log_odds"] + np.array([-z, z]) * trend.loc["participant", "se"]
    assert low <= true_growth <= high
    # comparison schools have no trend in truth; the estimate's interval covers an odds ratio of 1
    assert trend.loc["comparison", "ci_low"] <= 1 <= trend.loc["comparison", "ci_high"]
    assert truth["practice"]["comparison_month_log_odds"] == 0.0
    model = level4["dose_model"].iloc[0]
    low, high = model["log_odds_per_hour"] + np.array([-z, z]) * model["se_per_hour"]
    assert low <= truth["practice_marginal"]["hours_log_odds"] <= high


def test_funnel_flags_the_weak_school_and_hides_the_small_one(level4, published, truth):
    table = level4["funnel"].set_index("school_id")
    assert table.loc[truth["weak_school"], "position"].startswith("below")
    assert not table["suppressed"].any()  # the internal store is complete; publishing hides
    table = published[4]["funnel"].set_index("school_id")
    small = table.loc[truth["small_school"]]
    assert small["suppressed"] and np.isnan(small["estimate"]) and pd.isna(small["position"])
    assert table.loc[truth["weak_school"], "position"].startswith("below")
    rates = published[4]["rates"]
    hidden = rates[rates["school_id"] == truth["small_school"]]
    assert hidden["suppressed"].all() and hidden["estimate"].isna().all()


def test_level4_target_and_link(level4, sample_district):
    target = level4["target"]
    assert (target["window"] == "2026-05").all()  # the plan's by_month: 5
    assert target.iloc[0]["target"] == sample_district.plan.levels.practice.target
    link = level4["link"].set_index("predictor")
    assert set(link.index) == {"conditions_mean", "principal_participation"}
    assert link["n"].max() == 8  # every participant school: statistics use the full data, small schools too
    assert level4["level_of_use"]["level_of_use_label"].str.contains("Mechanical").any()


def test_the_headline_names_its_month_and_the_funnel_says_its_term_differs(published):
    """A reader's review: one school's practice read 48% in the chain (May visits) and 61% on the funnel (the spring
    term), and neither said which visits it counted."""
    chain = published.chain[published.chain["level"] == 4]
    judged = chain["scope"].isin(["district", *published.table(4, "target")["school_id"].dropna()])
    assert judged.sum() == 9
    assert set(chain.loc[judged, "measure"]) == {"share of classroom visits in May 2026 where the practice was seen"}
    assert published.table(4, "funnel")["term"].eq("2025-26 spring").all()
    # the evidence says what the result rests on first: the district's evidence was the year's 2,028 observations,
    # comparison schools' included, beside a result from 140 visits in May to program classrooms (a reader's review)
    evidence = chain.set_index("scope")["evidence"]
    assert evidence["district"] == (
        "140 visits in May 2026, of 2,028 classroom observations of 266 educators over the year, comparison schools' "
        "included"
    )
    assert evidence["S01"] == "24 visits in May 2026, of 212 classroom observations of 27 educators over the year"
    school = practice_sections.school(published, "S01").as_text()
    assert "every visit of the 2025-26 spring term, not only those of May 2026" in school
    assert "observations in the school, the 2025-26 spring term" in str(
        figures.funnel_chart(published.table(4, "funnel"), published.table(4, "funnel_curve")).axes[0].get_xlabel()
    )


def test_level3s_evidence_says_its_count_includes_the_comparison_schools(published, sample_district):
    """A reader's review: level 3's district evidence counted every school's conditions ratings (144, comparison
    schools' too) beside a share of the 8 program schools, without saying so; level 4's evidence says it."""
    row = published.chain[(published.chain["scope"] == "district") & (published.chain["level"] == 3)].iloc[0]
    ratings = len(sample_district.conditions)
    assert (
        sample_district.conditions["school_id"]
        .isin(sample_district.schools.loc[sample_district.schools["group"] == "comparison", "school_id"])
        .any()
    )
    assert row["evidence"] == (
        f"{ratings:,} conditions ratings, with principal participation and the staff survey, comparison schools' "
        "included"
    )
    assert row["n"] == 8


def test_rates_sum_and_range(level4):
    rates = level4["rates"]
    shown = rates["estimate"].dropna()
    assert shown.between(0, 1).all()
    by_school = rates[rates["breakdown"] == "school_id"]["n"].sum()
    by_group = rates[rates["breakdown"] == "group"]["n"].sum()
    assert by_school == by_group  # every observation belongs to one school and one group


# ---- properties ----

observations = st.lists(
    st.tuples(st.sampled_from(["S1", "S2", "S3"]), st.integers(0, 14), st.integers(1, 9), st.booleans()),
    min_size=1,
    max_size=120,
)


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"school_id": s, "educator_id": f"{s}-E{e}", "month": f"2025-{m:02d}", "observed": float(o)}
            for s, e, m, o in rows
        ]
    )


@settings(max_examples=40, deadline=None)
@given(observations, st.integers(1, 12), st.randoms(use_true_random=False))
def test_rates_properties(rows, min_n, random):
    frame = _frame(rows)
    rates = implementation_rates(frame, by=("school_id", "month"), min_n=min_n)
    shuffled = frame.sample(frac=1, random_state=random.randint(0, 1000))
    pd.testing.assert_frame_equal(rates, implementation_rates(shuffled, by=("school_id", "month"), min_n=min_n))
    shown = rates[~rates["suppressed"]]
    assert shown["estimate"].between(0, 1).all()
    assert (shown["ci_low"] <= shown["estimate"]).all() and (shown["estimate"] <= shown["ci_high"]).all()
    assert rates.loc[rates["n_people"] < min_n, ["estimate", "ci_low", "ci_high"]].isna().all().all()
    table = funnel(frame, min_n=min_n)
    assert table.loc[table["suppressed"], "estimate"].isna().all()
    pd.testing.assert_frame_equal(table, funnel(shuffled, min_n=min_n))


# ---- awkward input: notes, not crashes ----


def _with_observations(district, observations):
    return dataclasses.replace(district, tables={**district.tables, "observations": observations})


def test_school_with_no_observations_month_with_one_and_an_educator_seen_fifty_times(sample_district):
    obs = sample_district.observations
    obs = obs[obs["school_id"] != "S02"]  # a school with no observations
    one = obs.iloc[[0]].assign(observation_id="X1", date=pd.Timestamp("2026-06-10"))  # a month with one observation
    many = pd.concat([obs.iloc[[5]]] * 50, ignore_index=True)  # one educator observed fifty more times
    many["observation_id"] = [f"M{i}" for i in range(50)]
    many["date"] = pd.Timestamp("2026-03-02")
    district = _with_observations(sample_district, pd.concat([obs, one, many], ignore_index=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate_practice(district)
    notes = " ".join(result.notes)
    assert [(n.scope, str(n)) for n in result.notes if n.kind == "missing"] == [
        ("S02", "no classroom observations were recorded at this school")
    ]
    everyone = pd.concat([obs, one, many])
    times = int((everyone["educator_id"] == many["educator_id"].iloc[0]).sum())  # 50 + the educator's own visits
    assert f"one educator was observed {times} times" in notes
    published, _ = publish_levels({4: result}, 10, registry.levels())
    june = published[4]["rates"][(published[4]["rates"]["month"] == "2026-06")]
    assert june["suppressed"].all() and june["estimate"].isna().all() and june["n_people"].isna().all()
    assert any("school-month value(s) not shown" in note for note in published[4].notes)
    school = result["rates"][result["rates"]["breakdown"] == "school_id"]
    assert "S02" not in set(school["school_id"])
    assert school["ci_high"].dropna().le(1).all()


def test_practice_that_never_varies_is_a_note_not_a_crash(sample_district):
    obs = sample_district.observations.assign(practice_observed=pd.array([True] * len(sample_district.observations)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate_practice(_with_observations(sample_district, obs))
    assert any("trend not estimated" in note for note in result.notes)
    assert "trend" not in result.tables


def test_no_observations_is_no_evidence(sample_district):
    district = dataclasses.replace(
        sample_district, tables={k: v for k, v in sample_district.tables.items() if k != "observations"}
    )
    assert not evaluate_practice(district).evidence


def test_prepare_observations_hours(sample_district):
    obs = prepare_observations(sample_district)
    attendance = pd.read_csv(SAMPLE / "attendance.csv", dtype={"educator_id": str})
    hours = attendance.groupby("educator_id")["minutes"].sum() / 60
    first = obs.iloc[0]
    assert first["pl_hours"] == pytest.approx(hours.get(first["educator_id"], 0.0))
    assert obs["month_index"].min() == 0 and obs["month_index"].max() == 8


def test_trend_with_one_group_only(sample_district):
    obs = prepare_observations(sample_district)
    table = trend_model(obs[obs["participant"]])
    assert table["group"].tolist() == ["participant"]


def test_condition_ratings_average_repeat_ratings():
    conditions = pd.DataFrame(
        {
            "school_id": "A",
            "date": pd.to_datetime(["2025-10-01", "2025-10-20"]),
            "structure": "s",
            "indicator_id": "i",
            "rating": [2.0, 3.0],
        }
    )
    ratings = condition_ratings(conditions)
    assert ratings["rating"].tolist() == [2.5] and ratings["n_ratings"].tolist() == [2]


def test_principal_participation_school_without_principal():
    educators = pd.DataFrame({"educator_id": ["a", "b"], "school_id": ["A", "B"], "role": ["principal", "teacher"]})
    sessions = pd.DataFrame({"session_id": ["P1", "P2"]})
    attendance = pd.DataFrame({"educator_id": ["a"], "session_id": ["P1"]})
    table = principal_participation(attendance, educators, sessions)
    assert table["school_id"].tolist() == ["A"] and table["estimate"].tolist() == [0.5]


def test_level_results_render(level3, level4):
    for result in (level3, level4):
        html = result._repr_html_()
        assert f"Level {result.level}" in html


def test_load_sample_still_clean():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plevaluate.load(SAMPLE)


def test_gee_logistic_equals_statsmodels_gee_on_the_sample(sample_district):
    # The same estimating equations as statsmodels' GEE (Binomial, Exchangeable, robust covariance), solved in
    # closed form per educator instead of statsmodels' loop over educators: the level-4 trend and dose models of
    # the sample agree with statsmodels to its own convergence tolerance.
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from plevaluate.levels.practice import prepare_observations

    obs = prepare_observations(sample_district).dropna(subset=["observed"])
    obs = obs.assign(participant=obs["participant"].astype(int), pl_hours=obs["pl_hours"].astype(float))
    for data, formula in (
        (obs, "observed ~ month_index * participant"),
        (obs[obs["participant"] == 1], "observed ~ month_index + pl_hours"),
    ):
        ours = gee_logistic(data, formula)
        theirs = smf.gee(formula, "educator_id", data, family=sm.families.Binomial(),
                         cov_struct=sm.cov_struct.Exchangeable()).fit(ctol=1e-10)  # fmt: skip
        np.testing.assert_allclose(ours.params.to_numpy(), theirs.params.to_numpy(), rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(ours.bse.to_numpy(), theirs.bse.to_numpy(), rtol=1e-6)
        np.testing.assert_allclose(ours.working_correlation, float(theirs.cov_struct.dep_params), rtol=1e-6)


def test_a_school_at_the_plans_rating_everywhere_is_not_flagged_for_no_growth():
    """Readers' reviews: schools rated 4 (deepening, the rubric's top) on every indicator in every term, and then one at
    3.8 of 4 (4, 4, 4, 3), were listed as needing support for "no growth since the first term". A school with every
    indicator at or above the plan's rating (3 here) is not flagged for standing still; one with an indicator below it
    still is."""
    from plevaluate.levels.organization.compute import flag_schools

    ratings = {"top": (4, 4, 4, 4), "near top": (4, 4, 4, 3), "at the bar": (3, 3, 3, 3), "one below": (4, 4, 3, 2)}
    rows = [
        {"school_id": school, "structure": "planning", "indicator_id": f"i{k}", "term": term, "term_order": order,
         "rating": rating, "group": "participant"}
        for school, each in ratings.items()
        for k, rating in enumerate(each)
        for order, term in enumerate(("fall", "spring"))
    ]  # fmt: skip
    flags = flag_schools(pd.DataFrame(rows), rating_at_least=3).set_index("school_id")
    for school in ("top", "near top", "at the bar"):
        assert not flags.loc[school, "flagged"] and flags.loc[school, "reason"] == "", school
    assert flags.loc["one below", "flagged"] and flags.loc["one below", "reason"] == "no growth since the first term"
