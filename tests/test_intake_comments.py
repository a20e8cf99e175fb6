"""Open-ended answers imported as comments (issue #33): one row of comments.csv per answer, redacted before it is
stored, keyed so a second import adds nothing, undone with the import, never written by a dry run.

The exports are built by tests/export_shapes.py (each tool's documented header shape); the planted name is an
educator's of the sample district (educators.csv), the e-mail address and the phone number are invented.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from plevaluate.intake import import_export, import_history, undo_import

from . import export_shapes as xs
from . import intake_fixtures as fx

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
OPEN = "What else should the facilitators know?"
NAME = "Alex Lopez"  # E0002 in the sample's educators.csv
EMAIL = "coach.k@lincoln-pd.org"
PHONE = "555-123-4567"
ANSWERS = [
    f"{NAME} explained the routines clearly.",
    f"Write to me at {EMAIL} about the next session",
    "",
    f"Call {PHONE} to set up a visit",
    "More time to plan the talk moves.",
]
KEPT = 4  # the non-blank answers


@pytest.fixture
def district(tmp_path: Path) -> Path:
    """The sample district without its own comments (and the codes and quotes that name them)."""
    return fx.copy_sample(SAMPLE, tmp_path / "district", ignore=("comments.csv", "comment_codes.csv", "quotes.csv"))


def with_open_question(f: xs.Form, text: str = OPEN, answers: list[str] = ANSWERS) -> xs.Form:
    """``f`` with an open-ended (non-grid) question, reply i answering ``answers[i]``."""
    q = xs.Q(text)
    replies = [xs.Reply(r.submitted, {**r.answers, q: answers[i]}, r.email, r.name, r.finished)
               for i, r in enumerate(f.replies)]  # fmt: skip
    return xs.Form([*f.questions, q], replies)


def session_form() -> xs.Form:
    return with_open_question(xs.sample_form(SAMPLE, "PL02", n=len(ANSWERS), names=True))


#: Each tool whose export shape tests/export_shapes.py builds with free text: (source, file name, builder).
TOOLS = [
    ("google", "google.csv", xs.google_download),
    ("google", "sheet.csv", xs.google_sheet),
    ("msforms", "msforms.xlsx", xs.msforms),
    ("qualtrics", "qualtrics.csv", xs.qualtrics_csv),
    ("qualtrics", "qualtrics.tsv", xs.qualtrics_tsv),
    ("surveymonkey", "surveymonkey.csv", lambda f, out: xs.surveymonkey_csv(f, out, comment=None)),
]


def comments(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "comments.csv", dtype=str, keep_default_na=False)


def educators(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "educators.csv", dtype=str, keep_default_na=False).set_index("educator_id")


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
    }


def assert_redacted(rows: pd.DataFrame) -> None:
    text = "\n".join(rows["text"])
    for planted in (NAME, "Lopez", EMAIL, PHONE):
        assert planted not in text, planted
    assert "[name] explained the routines clearly." in text
    assert "Write to me at [email] about the next session" in text
    assert "Call [phone] to set up a visit" in text
    assert "More time to plan the talk moves." in text


@pytest.mark.parametrize(("source", "name", "make"), TOOLS, ids=[t[1] for t in TOOLS])
def test_open_ended_answers_become_redacted_comments(source, name, make, district, tmp_path):
    f = session_form()
    path = make(f, tmp_path / name)
    summary = import_export(source, path, district, session="PL02")
    rows = comments(district)
    assert len(rows) == KEPT and summary.written["comments"] == KEPT and summary.comments == KEPT
    assert set(rows["level"]) == {"1"} and set(rows["session_id"]) == {"PL02"} and set(rows["question"]) == {OPEN}
    assert set(rows["date"]) == {""}  # a session survey's answers take the session's date, as its reactions do
    assert rows["comment_id"].is_unique
    assert_redacted(rows)
    # respondent, school and role are the linked educator's, as the response's reactions rows have them
    people = educators(district)
    answered = [r.email.split("@")[0].upper() for r, a in zip(f.replies, ANSWERS) if a]
    assert rows["respondent"].tolist() == answered
    assert rows["school_id"].tolist() == people.loc[answered, "school_id"].tolist()
    assert rows["role"].tolist() == people.loc[answered, "role"].tolist()
    reactions = pd.read_csv(district / "reactions.csv", dtype=str, keep_default_na=False)
    mine = reactions[reactions["educator_id"].isin(answered) & reactions["session_id"].eq("PL02")]
    assert set(zip(mine["educator_id"], mine["school_id"])) == set(zip(rows["respondent"], rows["school_id"]))
    # the codebook names the question open-ended without echoing an answer; the summary counts the redactions
    printed = str(summary)
    assert f"[open-ended] {OPEN}" in printed and "4 answer(s) (not shown)" in printed
    assert "4 comments kept; 3 redacted: 1 name, 1 e-mail, 1 phone number" in printed
    assert all(a[:20] not in printed for a in ANSWERS if a)
    assert not any(OPEN in s for s in summary.skipped)


def test_the_same_export_imported_again_adds_no_comment(district, tmp_path):
    f = session_form()
    import_export("google", xs.google_download(f, tmp_path / "google.csv"), district, session="PL02")
    first = comments(district)
    again = import_export("google", xs.google_download(f, tmp_path / "google.csv"), district, session="PL02")
    assert again.written.get("comments", 0) == 0 and again.already.get("comments") == KEPT
    # the same responses downloaded another way (the linked Sheet): recognised, so their comments are too
    other = import_export("google", xs.google_sheet(f, tmp_path / "sheet.csv"), district, session="PL02")
    assert other.already.get("comments") == KEPT
    assert comments(district).equals(first)


def test_undo_removes_the_comments_and_history_records_them(district, tmp_path):
    before = snapshot(district)
    summary = import_export("surveymonkey", xs.surveymonkey_csv(session_form(), tmp_path / "sm.csv", comment=None),
                            district, session="PL02")  # fmt: skip
    assert len(comments(district)) == KEPT
    assert "comments.csv" in import_history(district) or str(summary.import_id) in import_history(district)
    undo_import(district, summary.import_id)
    assert not (district / "comments.csv").exists() or comments(district).empty
    after = {k: v for k, v in snapshot(district).items() if not k.startswith(".plevaluate-imports")}
    assert after == {k: v for k, v in before.items() if not k.startswith(".plevaluate-imports")}


def test_undo_of_an_earlier_import_keeps_a_later_imports_comments(district, tmp_path):
    first = import_export("google", xs.google_download(session_form(), tmp_path / "a.csv"), district, session="PL02")
    later = with_open_question(xs.sample_form(SAMPLE, "PL03", n=3), "Anything else?", ["Good pacing", "", "Thanks"])
    import_export("google", xs.google_download(later, tmp_path / "b.csv"), district, session="PL03")
    assert len(comments(district)) == KEPT + 2
    undo_import(district, first.import_id)
    rows = comments(district)
    assert rows["text"].tolist() == ["Good pacing", "Thanks"] and set(rows["session_id"]) == {"PL03"}


def test_a_dry_run_writes_nothing_but_counts_the_comments(district, tmp_path):
    path = xs.qualtrics_csv(session_form(), tmp_path / "q.csv")
    before = snapshot(district)
    summary = import_export("qualtrics", path, district, session="PL02", dry_run=True)
    assert snapshot(district) == before
    assert summary.written["comments"] == KEPT and "would write 4 row(s) to comments.csv" in str(summary)


def test_a_staff_surveys_comments_are_level_3_dated_without_session(district, tmp_path):
    level3 = pd.read_csv(SAMPLE / "survey_items.csv", dtype=str).query("level == '3'")["text"].tolist()
    rows = [[xs.AGREEMENT[(i + j) % 5] for j in range(len(level3))] for i in range(len(ANSWERS))]
    emails = [fx.email(f"E{i:04d}") for i in range(4, 4 + len(rows))]
    f = xs.form(level3, rows, emails=emails, start=datetime.datetime(2026, 3, 2, 7, 45, 12))
    path = xs.google_download(with_open_question(f, "What support do you still need?"), tmp_path / "staff.csv")
    summary = import_export("google", path, district, staff_survey=True)
    found = comments(district)
    assert summary.comments == KEPT and set(found["level"]) == {"3"} and set(found["session_id"]) == {""}
    assert set(found["date"]) == {"2026-03-02"} and set(found["question"]) == {"What support do you still need?"}
    assert found["respondent"].tolist() == ["E0004", "E0005", "E0007", "E0008"]
    assert_redacted(found)


def test_surveymonkeys_open_ended_response_column_is_kept_even_when_answers_repeat(district, tmp_path):
    # the export's own "Any other comments?" over "Open-Ended Response", answered "Loved it" twice in five replies:
    # the tool says it is open-ended, so it is not taken for a choice question
    path = xs.surveymonkey_csv(xs.sample_form(SAMPLE, "PL02", n=5), tmp_path / "sm.csv")
    summary = import_export("surveymonkey", path, district, session="PL02")
    rows = comments(district)
    assert rows["text"].tolist() == ["Loved it", "Loved it"] and set(rows["question"]) == {"Any other comments?"}
    assert rows["comment_id"].is_unique and summary.comments == 2


def test_a_question_the_mapping_skips_gives_no_comment(district, tmp_path):
    mapping = tmp_path / "skip.yml"
    mapping.write_text(yaml.safe_dump({"questions": {OPEN: {"skip": True}}}), encoding="utf-8")
    path = xs.google_download(session_form(), tmp_path / "google.csv")
    summary = import_export("google", path, district, session="PL02", mapping=mapping)
    assert not (district / "comments.csv").exists() and summary.comments == 0
    assert f"{OPEN}: skipped by the mapping file" in summary.skipped


def test_an_anonymous_import_keeps_comments_without_respondent(district, tmp_path):
    path = xs.google_download(session_form(), tmp_path / "google.csv")
    import_export("google", path, district, session="PL02", anonymous=True)
    rows = comments(district)
    assert len(rows) == KEPT and set(rows["respondent"]) == {""} and set(rows["role"]) == {""}
    assert_redacted(rows)
