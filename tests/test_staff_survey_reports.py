"""Level 3 measured by the staff survey alone, and the rough texts of reports on incomplete data.

A district that rates no conditions (no conditions.csv) but asks its staff the level-3 survey items has level-3
evidence: the district report, the chain of evidence and the board summary say what the staff survey shows,
reported without a target (the plan's level-3 target is a share of schools at a conditions rating). Anonymous
answers have no role ("role not known", never ``<NA>`` nor "all respondents"); construct keys are shown as
words; a dose-response that cannot be estimated says why in plain words.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

import plevaluate
from plevaluate import registry
from plevaluate.chain import chain_sentence
from plevaluate.evaluate import evaluate
from plevaluate.levels.organization import sections as organization_sections
from plevaluate.levels.outcomes import implementation_dose
from plevaluate.levels.reactions import sections as reactions_sections
from plevaluate.render import render
from tests.conftest import SAMPLE


def _evaluate(folder: Path) -> plevaluate.Evaluation:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate(plevaluate.load(folder)).publish()


def _text(path: Path) -> str:
    text = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").get_text(" ")
    return re.sub(r"\s+", " ", text)


def _level3(ev: plevaluate.Evaluation, scope: str) -> pd.Series:
    return ev.chain[(ev.chain["scope"] == scope) & (ev.chain["level"] == 3)].iloc[0]


@pytest.fixture(scope="module")
def no_conditions(tmp_path_factory) -> Path:
    """The sample district without its conditions ratings: level 3's only evidence is the staff survey."""
    folder = tmp_path_factory.mktemp("staff-only") / "district"
    shutil.copytree(SAMPLE, folder)
    (folder / "conditions.csv").unlink()
    return folder


@pytest.fixture(scope="module")
def staff_only(no_conditions) -> plevaluate.Evaluation:
    return _evaluate(no_conditions)


@pytest.fixture(scope="module")
def staff_only_reports(no_conditions, tmp_path_factory) -> dict[str, str]:
    """The district report, board summary and one school's report of the staff-only district, as text."""
    out = tmp_path_factory.mktemp("staff-only-reports")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = render(no_conditions, out, schools=["S02"], workers=2, formats=("html",))
    assert not summary.failures and not summary.findings, (summary.failures, summary.findings)
    return {p.stem: _text(p) for p in out.glob("*.html") if p.name != "index.html"}


@pytest.fixture(scope="module")
def rough(tmp_path_factory) -> Path:
    """The sample with a third of its survey responses anonymous (no educator_id) and attendance.csv a header only."""
    folder = tmp_path_factory.mktemp("rough") / "district"
    shutil.copytree(SAMPLE, folder)
    reactions = pd.read_csv(folder / "reactions.csv", dtype=str, keep_default_na=False)
    responses = reactions["response_id"].unique()
    anonymous = np.random.default_rng(1).choice(responses, len(responses) // 3, replace=False)
    reactions.loc[reactions["response_id"].isin(anonymous), "educator_id"] = ""
    reactions.to_csv(folder / "reactions.csv", index=False)
    attendance = pd.read_csv(folder / "attendance.csv", dtype=str)
    attendance.iloc[:0].to_csv(folder / "attendance.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def rough_evaluation(rough) -> plevaluate.Evaluation:
    return _evaluate(rough)


# ---- level 3 from the staff survey ----


def _staff_share(ev: plevaluate.Evaluation, school_id: str | None = None) -> pd.Series:
    staff = ev.table(3, "staff_survey")
    rows = staff[(staff["construct"] == "organizational_support") & (staff["measure"] == "share_at_least")]
    if school_id is None:
        return rows[rows["breakdown"] == "district"].iloc[0]
    return rows[(rows["breakdown"] == "school_id") & (rows["school_id"] == school_id)].iloc[0]


@pytest.mark.render
def test_district_level3_headline_is_the_staff_survey(staff_only):
    row, share = _level3(staff_only, "district"), _staff_share(staff_only)
    assert row["status"] == "reported" and pd.isna(row["target"])  # the plan sets no staff-survey target
    np.testing.assert_allclose(
        row[["estimate", "ci_low", "ci_high"]].astype(float), share[["estimate", "ci_low", "ci_high"]].astype(float)
    )
    assert row["measure"].startswith("staff survey: share of staff who agree the organization supports the change")
    assert "organizational support" in row["measure"] and "organizational_support" not in row["measure"]
    assert row["evidence"] == "90 staff survey responses from 90 educators (no conditions ratings)"
    assert row["status_detail"].startswith(f"{share['estimate']:.0%} of staff agree the organization supports")
    sentence = staff_only.sentences.set_index("scope")["sentence"]["district"]
    assert "no evidence yet" not in sentence and "not measured" not in sentence
    assert f"At level 3 there is no target to judge against: {share['estimate']:.0%} of staff agree" in sentence


def test_school_level3_headline_is_the_staff_survey_and_respects_suppression(staff_only):
    coverage = staff_only.table(3, "staff_survey_coverage").set_index("school_id")
    for school in staff_only.schools.loc[staff_only.schools["group"] == "participant", "school_id"]:
        row, share = _level3(staff_only, school), _staff_share(staff_only, school)
        if bool(share["suppressed"]):  # a hidden school stays hidden: no value, its hidden status
            assert row["status"] in ("too few people to report", "hidden to protect a smaller group"), school
            assert pd.isna(row["estimate"]), school
        elif isinstance(share["coded"], str):  # fewer than min_n on one side: only a bound, in words
            assert row["status"] == "reported" and pd.isna(row["estimate"]), school
            assert row["status_detail"].startswith(f"under {share['bound']:.0%} of staff agree"), school
        else:
            assert row["status"] == "reported" and row["estimate"] == pytest.approx(share["estimate"]), school
        if not bool(coverage.loc[school, "suppressed"]):
            people = int(coverage.loc[school, "n_people"])
            assert row["evidence"].startswith(f"{people} staff survey responses"), school
        sentence = staff_only.sentences.set_index("scope")["sentence"][school]
        assert "no evidence yet" not in sentence, school
    assert (staff_only.chain["status"] != "not yet measured").all()


def test_the_sample_with_conditions_reads_as_before(published):
    row = _level3(published, "district")
    assert row["measure"] == "protected time rated developing (3) or better: share of schools"
    assert row["status"] == "not met" and row["evidence"].startswith("144 conditions ratings")
    school = _level3(published, "S03")
    assert school["unit"] == "rating" and school["status"] == "not met"
    assert all("no target to judge against" not in s for s in published.sentences["sentence"])


def test_chain_sentence_says_a_level_reported_without_a_target():
    rows = pd.DataFrame(
        [
            {"level": 2, "level_name": "Learning", "status": "met", "status_detail": "", "unit": "sd"},
            {
                "level": 3,
                "level_name": "Organization support",
                "status": "reported",
                "unit": "share",
                "status_detail": "40% of staff agree the organization supports the change (staff survey)",
            },
        ]  # fmt: skip
    )
    text = chain_sentence(
        rows.assign(estimate=[0.6, 0.4], ci_low=np.nan, ci_high=np.nan, target=[0.5, np.nan]), registry.levels()
    )
    assert text.endswith(
        "At level 3 there is no target to judge against: 40% of staff agree the organization supports the change "
        "(staff survey)."
    )


@pytest.mark.render
def test_reports_say_what_the_staff_survey_shows(staff_only, staff_only_reports):
    share = _staff_share(staff_only)
    said = f"{share['estimate']:.0%} of staff agree the organization supports the change"
    district, board = staff_only_reports["district-report"], staff_only_reports["board-summary"]
    school = staff_only_reports["school-s02-jefferson-elementary"]
    assert "No conditions ratings were collected for the district, so level 3 rests on the staff survey: " + said in (
        district
    )
    assert "Agree (mean 4 or higher)" in district  # the staff survey's table, district and by school
    for text in (district, board):
        assert "organization support not measured" not in text and "no evidence yet" not in text
        assert f"At level 3 there is no target to judge against: {said}" in text
    assert "reported without a target" in board
    mine = _staff_share(staff_only, "S02")
    assert f"under {mine['bound']:.0%} of staff agree the organization supports the change" in school
    assert "No conditions ratings were collected for this school, so level 3 rests on the staff survey" in school
    for name, text in staff_only_reports.items():
        assert "organizational_support" not in text, name
        assert "organizational support" in text or name in ("board-summary", "logic-model"), name  # the plan's words


# ---- rough texts ----


@pytest.mark.render
def test_anonymous_answers_are_role_not_known(rough_evaluation):
    html = reactions_sections.district(rough_evaluation).html
    text = re.sub(r"\s+", " ", BeautifulSoup(html, "html.parser").get_text(" "))
    assert "role not known" in text and "<NA>" not in text
    assert "role all respondents" not in text  # an anonymous answer is not every respondent
    assert '"role not known": answers given without an educator ID' in text


def test_construct_keys_are_words_in_the_reports(published):
    school = organization_sections.school(published, "S07").html
    assert "organizational support" in school and "organizational_support" not in school
    district = reactions_sections.district(published).html
    for construct in published.table(1, "reliability")["construct"]:
        assert str(construct).replace("_", " ") in district


def test_level5_dose_response_with_one_rate_says_why():
    data = pd.DataFrame(
        {
            "school_id": [f"S{i}" for i in range(4) for _ in range(5)],
            "outcome": np.arange(20.0),
            "prior_score": np.arange(20.0) % 7,
        }
    )
    rates = pd.DataFrame({"school_id": [f"S{i}" for i in range(4)], "estimate": 0.5})
    with pytest.raises(ValueError, match="every school with students had the same implementation rate"):
        implementation_dose(data, rates)


def test_no_attendance_dose_response_says_why(rough_evaluation):
    notes = " ".join(rough_evaluation.notes()["text"])
    assert "Singular matrix" not in notes
    assert "dose-response not estimated: no attendance records" in notes
