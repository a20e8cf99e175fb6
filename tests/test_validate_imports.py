"""Rules checked at loading that survey imports rely on: one e-mail per educator, one scale per construct, and
staff-survey answers (Guskey level 3) given without a session, placed in a school year by their own date."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import plevaluate
from plevaluate import ContractError, ContractWarning, load
from plevaluate.levels.organization import evaluate_organization
from plevaluate.years import evaluated_years, school_years, year_view

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_YEARS = ROOT / "data" / "sample-years"


def read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def write(folder: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False, lineterminator="\n")


def copy(source: Path, tmp_path: Path) -> Path:
    folder = tmp_path / source.name
    shutil.copytree(source, folder)
    return folder


def quietly_load(folder: Path) -> plevaluate.District:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)
        return load(folder)


def problems_of(folder: Path) -> list[plevaluate.Problem]:
    with pytest.raises(ContractError) as caught:
        quietly_load(folder)
    return [p for p in caught.value.problems if p.severity == "error"]


def level_3_rows(reactions: pd.DataFrame, items: pd.DataFrame) -> pd.Series:
    return reactions["item_id"].isin(items.loc[items["level"] == "3", "item_id"])


def without_sessions(folder: Path, date: str | None = None) -> pd.Series:
    """Blank the session of every level-3 answer, dated ``date`` (else the date of the session it was given at)."""
    reactions, items = read(folder, "reactions"), read(folder, "survey_items")
    staff = level_3_rows(reactions, items)
    held = read(folder, "sessions").set_index("session_id")["date"]
    reactions["date"] = ""
    reactions.loc[staff, "date"] = date if date is not None else reactions.loc[staff, "session_id"].map(held)
    reactions.loc[staff, "session_id"] = ""
    write(folder, "reactions", reactions)
    return staff


# ---- one e-mail per educator ------------------------------------------------------------------


def test_shared_email_is_an_error_naming_both_rows_but_not_the_address(tmp_path):
    folder = copy(SAMPLE, tmp_path)
    educators = read(folder, "educators")
    educators["email"] = ""
    educators.loc[0, "email"] = "Sam.Haddad@district.example"  # CSV row 2
    educators.loc[3, "email"] = "  sam.haddad@DISTRICT.example "  # CSV row 5: the same, in other case and spaces
    educators.loc[1, "email"] = "alex.lopez@district.example"
    write(folder, "educators", educators)
    with pytest.raises(ContractError) as caught:
        quietly_load(folder)
    found = [p for p in caught.value.problems if p.column == "email"]
    assert sorted(p.row for p in found) == [2, 5]
    for problem in found:
        assert problem.file == "educators.csv" and problem.severity == "error"
        assert problem.value == "(an e-mail address)"
        assert problem.fix.startswith("give each educator their own e-mail, or leave it blank; survey imports link")
    assert "also in row(s) 5" in found[0].expected and "also in row(s) 2" in found[1].expected
    assert "haddad" not in str(caught.value).lower()  # personal data is never printed


def test_blank_and_distinct_emails_load(tmp_path):
    folder = copy(SAMPLE, tmp_path)
    educators = read(folder, "educators")
    educators["email"] = ""
    educators.loc[:4, "email"] = [f"person{i}@district.example" for i in range(5)]
    write(folder, "educators", educators)
    assert quietly_load(folder).educators["email"].notna().sum() == 5


# ---- one scale per construct ------------------------------------------------------------------


def test_construct_mixing_scales_is_one_error_listing_its_items(tmp_path):
    folder = copy(SAMPLE, tmp_path)
    items = read(folder, "survey_items")
    items.loc[items["item_id"] == "C2", "scale_max"] = "7"  # CSV row 3
    write(folder, "survey_items", items)
    found = [p for p in problems_of(folder) if p.file == "survey_items.csv"]
    assert len(found) == 1
    (problem,) = found
    assert problem.column == "construct" and problem.value == "content"
    assert "construct 'content' (level 1) mixes scales: row 2 (C1) 1-5; row 3 (C2) 1-7; row 4 (C3) 1-5" in (
        problem.expected
    )
    assert problem.fix.startswith(
        "put items on different scales in different constructs (a construct's mean needs one scale), or correct "
        "scale_min/scale_max"
    )


def test_blank_scale_is_the_default_and_levels_are_separate_constructs(tmp_path):
    folder = copy(SAMPLE, tmp_path)
    items = read(folder, "survey_items")
    items.loc[items["item_id"] == "C1", ["scale_min", "scale_max"]] = ""  # 1-5 by default, like C2 and C3
    staff = items["level"] == "3"
    items.loc[staff, "construct"] = "content"  # a level-3 construct of the same name, on its own scale
    items.loc[staff, "scale_max"] = "7"
    write(folder, "survey_items", items)
    assert quietly_load(folder).survey_items["scale_max"].isna().sum() == 1


@pytest.mark.parametrize("source", [SAMPLE, SAMPLE_YEARS], ids=["sample", "sample-years"])
def test_the_samples_still_load(source):
    assert quietly_load(source).has("reactions")


# ---- staff-survey answers without a session ---------------------------------------------------


@pytest.mark.slow
def test_staff_survey_without_sessions_gives_the_same_level_3(tmp_path, sample_evaluation):
    folder = copy(SAMPLE, tmp_path)
    staff = without_sessions(folder, date="2026-05-01")  # inside the plan's school year 2025-26
    district = quietly_load(folder)
    assert district.reactions["session_id"].isna().sum() == staff.sum() > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = plevaluate.evaluate(district)
    before, after = sample_evaluation.levels[3].tables["staff_survey"], result.levels[3].tables["staff_survey"]
    pd.testing.assert_frame_equal(after, before)
    assert any("tied to no session" in str(note) for note in result.levels[3].notes)
    assert not any("of attendees answered" in str(note) for note in result.levels[3].notes)
    pd.testing.assert_frame_equal(
        result.levels[1].tables["constructs"], sample_evaluation.levels[1].tables["constructs"]
    )
    result.publish()  # the publication gate copes with answers that name no session


def test_staff_survey_alone_needs_no_sessions_file(tmp_path):
    folder = copy(SAMPLE, tmp_path)
    staff = without_sessions(folder, date="2026-05-01")
    write(folder, "reactions", read(folder, "reactions")[staff.to_numpy()])
    (folder / "sessions.csv").unlink()
    (folder / "attendance.csv").unlink()
    for name in ("comments", "comment_codes", "quotes"):  # session comments name sessions
        (folder / f"{name}.csv").unlink()
    district = quietly_load(folder)
    result = evaluate_organization(district)
    table = result.tables["staff_survey"]
    assert set(table["breakdown"]) == {"district", "school_id"} and table["estimate"].notna().all()


def test_level_1_answer_without_a_session_is_an_error_naming_its_row(tmp_path):
    folder = copy(SAMPLE, tmp_path)
    reactions = read(folder, "reactions")
    reactions["date"] = "2026-05-01"
    reactions.loc[0, "session_id"] = ""  # CSV row 2: item C1, a level-1 item
    write(folder, "reactions", reactions)
    (problem,) = problems_of(folder)
    assert (problem.file, problem.row, problem.column) == ("reactions.csv", 2, "session_id")
    assert "item C1 is a level-1 item" in problem.expected
    assert problem.fix == (
        "give the session the answer is about; only staff-survey (level-3) items may be answered without a session."
    )


@pytest.mark.parametrize("with_column", [True, False], ids=["blank-date", "no-date-column"])
def test_staff_survey_answer_needs_a_date(tmp_path, with_column):
    folder = copy(SAMPLE, tmp_path)
    reactions, items = read(folder, "reactions"), read(folder, "survey_items")
    row = int(level_3_rows(reactions, items).to_numpy().argmax())
    reactions.loc[row, "session_id"] = ""
    if with_column:
        reactions["date"] = ""
    write(folder, "reactions", reactions)
    (problem,) = problems_of(folder)
    assert (problem.file, problem.row, problem.column) == ("reactions.csv", row + 2, "date")
    assert problem.fix == "give the survey's date."


def test_staff_survey_dated_outside_the_school_year_is_warned_about(tmp_path):
    folder = copy(SAMPLE, tmp_path)
    without_sessions(folder, date="2027-05-01")
    with pytest.warns(ContractWarning, match=r"reactions\.csv.*dates in the school year 2025-26"):
        load(folder)


@pytest.mark.slow
def test_years_place_staff_survey_answers_by_their_own_date(tmp_path):
    folder = copy(SAMPLE_YEARS, tmp_path)
    without_sessions(folder)  # each year's staff survey, dated as the session it was given at
    original, moved = quietly_load(SAMPLE_YEARS), quietly_load(folder)
    assert school_years(moved) == school_years(original)
    assert evaluated_years(moved) == evaluated_years(original)
    for year in evaluated_years(original):
        before, after = year_view(original, year), year_view(moved, year)
        assert len(after.reactions) == len(before.reactions)
        assert after.reactions["session_id"].isna().any()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            staff_before = evaluate_organization(before).tables["staff_survey"]
            staff_after = evaluate_organization(after).tables["staff_survey"]
        pd.testing.assert_frame_equal(staff_after, staff_before)
