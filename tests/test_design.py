"""The design check (`plevaluate design`): MDES and power against PowerUpR, the share rule against simulation."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plevaluate import ContractError, load, registry
from plevaluate.cli import main
from plevaluate.design import check_design
from plevaluate.effects import clustered_wilson
from plevaluate.power import (
    detectable_share,
    mdes_blocked,
    mdes_cluster,
    power_blocked,
    power_cluster,
    schools_needed,
    variance_components,
)
from tests.conftest import SAMPLE, folder_hash

DATA = Path(__file__).parent / "data"

# PowerUpR (Bulus, Dong, Kelcey & Spybrook), man/cra2.Rd at commit 5580f7ea, "cross-checks for the main effect":
#   mdes.cra2(rho2=.17, n=15, J=20); power.cra2(es=.629, rho2=.17, n=15, J=20); mrss.cra2(es=.629, rho2=.17, n=15)
# and "cross-checks for cluster-randomized block design, treatment at level 2, with fixed effects across level 3
# blocks": mdes.bcra3f2(rho2=.10, n=20, J=44, K=5); power.bcra3f2(es=.145, ...); mrss.bcra3f2(es=.145, ...).
# Each MDES is the effect the power call checks (power .80 at alpha .05, two-tailed, P = .5).


def test_cluster_randomized_mdes_and_power_match_powerupr():
    assert mdes_cluster(20, 15, icc=0.17) == pytest.approx(0.629, abs=5e-4)
    assert power_cluster(0.629, 20, 15, icc=0.17) == pytest.approx(0.80, abs=5e-3)
    # PowerUpR's mrss rounds a real-valued J (20); the fewest whole schools reaching .629 is 21, as MDES(20) = .62901
    assert schools_needed(lambda j: mdes_cluster(j, 15, icc=0.17), 0.629) == 21
    assert schools_needed(lambda j: mdes_cluster(j, 15, icc=0.17), 0.630) == 20


def test_blocked_mdes_and_power_match_powerupr():
    assert mdes_blocked(44 * 5, 5, 20, icc=0.10) == pytest.approx(0.145, abs=5e-4)
    assert power_blocked(0.145, 44 * 5, 5, 20, icc=0.10) == pytest.approx(0.80, abs=5e-3)


def test_mdes_falls_with_schools_and_covariates_and_refuses_impossible_designs():
    base = mdes_cluster(20, 15, icc=0.17)
    assert mdes_cluster(40, 15, icc=0.17) < base
    assert mdes_cluster(20, 15, icc=0.17, r2_school=0.7, r2_student=0.5, covariates=1) < base
    with pytest.raises(ValueError, match="no degrees of freedom"):
        mdes_cluster(3, 15, icc=0.17, covariates=1)
    with pytest.raises(ValueError, match="more than two schools in a block"):
        mdes_blocked(10, 5, 20, icc=0.1)
    # the ICC caps what more students per school can do: with n infinite the MDES stays above M * sqrt(icc / (pPJ))
    assert schools_needed(lambda j: mdes_cluster(j, 15, icc=0.9), 0.001) is None


def test_the_detectable_share_is_confirmed_with_the_planned_power_by_the_reports_own_interval():
    """Simulate walkthroughs: 60 teachers, 4 visits each, teacher-to-teacher variation with an intraclass
    correlation of 0.3 (beta-binomial), the true share the check calls detectable; the report's own rule (a
    clustered Wilson interval wholly above the target) must confirm the target in about 80% of 2,000 runs."""
    target, teachers, visits, icc = 0.5, 60, 4, 0.3
    true = detectable_share(target, teachers * visits, deff=1 + (visits - 1) * icc)
    rng = np.random.default_rng(20261203)
    a = true * (1 - icc) / icc
    b = (1 - true) * (1 - icc) / icc
    clusters = np.repeat(np.arange(teachers), visits)
    confirmed = 0
    runs = 2000
    for _ in range(runs):
        p = rng.beta(a, b, teachers)
        flags = rng.random((teachers, visits)) < p[:, None]
        _, low, _, _ = clustered_wilson(flags.ravel(), clusters)
        confirmed += low > target
    assert confirmed / runs == pytest.approx(0.80, abs=0.04)


def test_sample_design_check_reads_rosters_and_names_what_would_change_it(sample_district):
    check = check_design(sample_district, registry.levels())
    rows = check.levels.set_index("level")
    assert list(rows.index) == [1, 2, 3, 4, 5]
    assert rows.loc[3, "verdict"] == "a census: no sampling error"
    assert rows.loc[5, "verdict"] == "cannot reliably detect the target"
    inputs = check.inputs.set_index("input")
    # ICC and R² come from the district's own pre-program scores (spring 2025) when the plan does not set them
    assert inputs.loc["intraclass correlation (school level)", "source"].startswith(
        "estimated from students.csv, spring 2025"
    )
    icc, r2_school, r2_student = (
        float(inputs.loc[name, "value"])
        for name in ("intraclass correlation (school level)", "R² of school-level covariates", "R² of student-level covariates")
    )  # fmt: skip
    assert 0.05 < icc < 0.3 and r2_school > 0.5 and r2_student > 0.5
    expected = mdes_cluster(
        12, _students(sample_district), icc=icc, p=8 / 12, r2_school=r2_school, r2_student=r2_student
    )
    assert rows.loc[5, "detectable"] == pytest.approx(expected, rel=1e-2)  # the inputs are shown rounded
    assert "schools in all" in rows.loc[5, "change"]
    assert rows.loc[4, "verdict"] == "can confirm the target"
    text = check.to_text()
    assert "Level 5 (student outcomes): cannot reliably detect the target" in text
    assert "Ruth" not in text and "E0001" not in text  # counts only: no names or IDs


def test_variance_components_are_the_one_way_anova_estimator_not_reml():
    """High School and Beyond mathematics (160 schools, 7,185 students). Raudenbush & Bryk (2002), Table 4.2, fit
    by REML: tau00 8.614, sigma² 39.148, ICC .180. The one-way ANOVA (method of moments) estimator the design check
    uses is a different estimator: sigma² = MSW agrees to the published digits, tau00 = (MSB - MSW) / n0 is 8.222,
    so its ICC is .1736, not .18 (#31). MSB and MSW are cross-checked against statsmodels' ANOVA table."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    hsb = pd.read_csv(DATA / "hsb_mathach.csv")
    tau, sigma = variance_components(hsb["mathach"], hsb["schoolid"])
    table = sm.stats.anova_lm(smf.ols("mathach ~ C(schoolid)", data=hsb).fit())
    msb, msw = table["mean_sq"].iloc[0], table["mean_sq"].iloc[1]
    sizes = hsb.groupby("schoolid").size()
    n0 = (len(hsb) - (sizes**2).sum() / len(hsb)) / (len(sizes) - 1)
    assert sigma == pytest.approx(msw, rel=1e-12) and tau == pytest.approx((msb - msw) / n0, rel=1e-12)
    assert sigma == pytest.approx(39.148, abs=0.01)  # the published within-school variance
    assert tau == pytest.approx(8.222, abs=0.001) and tau / (tau + sigma) == pytest.approx(0.1736, abs=0.0001)
    assert abs(tau - 8.614) > 0.3  # not the REML value: the docs must not say it is


def test_without_scores_the_published_defaults_are_used(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(SAMPLE, data)
    (data / "students.csv").unlink()
    (data / "plan.yml").write_text((data / "plan.yml").read_text() + "design:\n  students_per_school: 300\n")
    check = check_design(load(data), registry.levels())
    inputs = check.inputs.set_index("input")
    assert inputs.loc["intraclass correlation (school level)", "source"] == "default"
    assert inputs.loc["students per school (harmonic mean)", "source"] == "plan: design.students_per_school"
    assert check.levels.set_index("level").loc[5, "detectable"] == pytest.approx(
        mdes_cluster(12, 300, icc=0.2, p=8 / 12), rel=1e-12
    )


def _students(district) -> float:
    from scipy import stats

    return float(stats.hmean(district.students.groupby("school_id")["student_id"].nunique()))


def test_plan_settings_change_the_check_and_are_shown_as_the_plans(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(SAMPLE, data)
    plan = (data / "plan.yml").read_text()
    (data / "plan.yml").write_text(
        plan + "design:\n  icc: 0.05\n  r2_school: 0.7\n  r2_student: 0.5\n  covariates: 1\n"
        "  visits_per_teacher: 1\n  response_rate: 0.2\n"
    )
    check = check_design(load(data), registry.levels())
    rows = check.levels.set_index("level")
    assert rows.loc[5, "detectable"] < 0.3
    inputs = check.inputs.set_index("input")
    assert inputs.loc["intraclass correlation (school level)", "source"] == "plan: design.icc"
    assert "1 walkthroughs of each of" in rows.loc[4, "evidence"]
    (data / "plan.yml").write_text(plan + "design:\n  iccc: 0.05\n")
    with pytest.raises(ContractError, match="Did you mean .icc."):
        load(data)


def test_without_comparison_schools_level_5_is_not_checked_and_says_why(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(SAMPLE, data)
    plan = (data / "plan.yml").read_text().replace("comparison_design: matched", "comparison_design: none")
    (data / "plan.yml").write_text(plan)
    rows = check_design(load(data), registry.levels()).levels.set_index("level")
    assert rows.loc[5, "verdict"] == "not checked"
    assert "no comparison group" in rows.loc[5, "finding"]


def test_design_command_prints_the_check_and_never_writes_into_the_data_folder(tmp_path, capsys):
    before = folder_hash(SAMPLE)
    assert main(["design", str(SAMPLE), "--csv", str(tmp_path / "design.csv")]) == 0
    printed = capsys.readouterr().out
    assert "Design check for" in printed and "minimum detectable effect" in printed
    assert (tmp_path / "design.csv").read_text().startswith("level,name,target")
    assert main(["design", str(SAMPLE), "--csv", str(SAMPLE / "design.csv")]) == 2
    assert "inside the data folder" in capsys.readouterr().err
    assert folder_hash(SAMPLE) == before


def test_a_multi_year_plan_is_checked_for_its_first_year():
    """Before a rollout starts: the schools in the program in its first year, and that year's targets."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check = check_design(load(SAMPLE.parent / "sample-years"), registry.levels())
    rows = check.levels.set_index("level")
    assert rows.loc[4, "target"] == pytest.approx(0.40)  # plan.yml: targets: 2023-24: 0.40
    assert rows.loc[5, "evidence"].startswith("6 program and 12 comparison schools")
    assert check.inputs.set_index("input").loc["school year checked", "value"].startswith("2023-24")
