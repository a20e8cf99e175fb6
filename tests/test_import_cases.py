"""The survey import, case by case, on exports shaped as each tool documents them (tests/export_shapes.py).

Each case checks the codebook (``summary.codebook``, ``str(summary)``), the rows written (reactions.csv,
survey_items.csv), the messages (file, row, column, value) and the command's exit code (0 done, 1 a problem in
the data, 2 a usage error). A test marked ``xfail(strict=True, reason="BUG: ...")`` shows a bug still open;
a test headed "Regression test" guards a bug found in dce9237 and fixed since.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plevaluate.cli import main
from plevaluate.errors import ContractError, ContractWarning
from plevaluate.intake import ImportMapping, import_export, undo_import
from plevaluate.intake.coding import code_questions
from plevaluate.intake.exports import read_export
from plevaluate.intake.mapping import QuestionMap
from plevaluate.scales import NOT_A_RATING, SCALES, normal, recognized

from . import export_shapes as xs
from . import intake_fixtures as fx

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
QUALITY = ["Poor", "Fair", "Good", "Very good", "Excellent"]
USEFUL = ["Not at all useful", "Slightly useful", "Moderately useful", "Very useful", "Extremely useful"]
RATE = "How would you rate the session overall?"
USE = "How useful was the session for your teaching?"
CLEAR = "The follow-up materials were clear."
C1 = "The content is relevant to my classroom."
FIVE = [fx.email(f"E{i:04d}") for i in range(4, 9)]  # five educators' e-mails


# ----------------------------------------------------------------------------------------------
# The district and helpers
# ----------------------------------------------------------------------------------------------


def copy_sample(folder: Path, *, ignore: tuple[str, ...] = ()) -> Path:
    return fx.copy_sample(SAMPLE, folder, ignore=ignore)


@pytest.fixture
def district(tmp_path: Path) -> Path:
    return copy_sample(tmp_path / "district")


def snapshot(folder: Path) -> dict[str, str]:
    """Every file (hidden ones too) and folder under ``folder``: path -> SHA-256 (or "dir")."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def reactions(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "reactions.csv", dtype=str, keep_default_na=False)


def items(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "survey_items.csv", dtype=str, keep_default_na=False)


def added(folder: Path, before: pd.DataFrame) -> pd.DataFrame:
    """The reactions rows beyond the first ``len(before)`` (an import appends)."""
    now = reactions(folder)
    assert now.iloc[: len(before)][list(before.columns)].equals(before), "rows that were there changed"
    return now.iloc[len(before) :]


def educator(reply: xs.Reply) -> str:
    return reply.email.split("@")[0].upper()


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_mapping(path: Path, mapping: dict) -> Path:
    path.write_text(yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def set_plan_imports(folder: Path, **options: str) -> None:
    plan = (folder / "plan.yml").read_text(encoding="utf-8")
    plan += "imports:\n" + "".join(f"  {k}: {v}\n" for k, v in options.items())
    (folder / "plan.yml").write_text(plan, encoding="utf-8")


def coding_of(summary, text: str):
    return next(c for c in summary.codebook if c.question.text == text or text in c.question.texts)


def one_copy_each(rows: pd.DataFrame) -> None:
    """No answer twice: no repeated (response_id, item_id), one response per educator and session."""
    assert not rows.duplicated(["response_id", "item_id"]).any()
    per = rows.groupby(["educator_id", "session_id"])["response_id"].nunique()
    assert (per == 1).all(), per[per > 1]


def with_question(f: xs.Form, text: str, labels: list[str]) -> xs.Form:
    """``f`` with a new (non-grid) question answered ``labels[i % len(labels)]`` by reply i."""
    q = xs.Q(text)
    replies = [
        xs.Reply(r.submitted, {**r.answers, q: labels[i % len(labels)]}, r.email, r.name, r.finished)
        for i, r in enumerate(f.replies)
    ]
    return xs.Form([*f.questions, q], replies)


# ----------------------------------------------------------------------------------------------
# 1. One off-scale label in an existing agreement item
# ----------------------------------------------------------------------------------------------


def test_one_off_scale_label_stops_the_import_naming_column_row_and_label(district, tmp_path, capsys):
    f = xs.sample_form(SAMPLE, "PL02", n=10)
    c1 = next(q for q in f.questions if q.text == C1)
    f.replies[4].answers[c1] = "Somewhat agree"  # agreement-6/7 wording, not on C1's 1-5 agreement scale
    path = xs.google_download(f, tmp_path / "pl02.csv")
    before = snapshot(district)
    with pytest.raises(ContractError) as caught:
        import_export("google", path, district, session="PL02")
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "pl02.csv",
        6,  # header on row 1, the fifth response on row 6
        f"{xs.GRID} [{C1}]",
        "Somewhat agree",
    )
    message = str(caught.value)
    assert message.startswith("plevaluate could not import pl02.csv: 1 problem")
    assert f"row 6, column '{xs.GRID} [{C1}]', value 'Somewhat agree': a label of the agreement-5 scale" in message
    assert snapshot(district) == before
    code, out, err = cli(capsys, "import", "google", path, "--into", district, "--session", "PL02")
    assert (code, out) == (1, "") and "value 'Somewhat agree'" in err and "row 6" in err
    assert snapshot(district) == before


# Regression test: a bug found in dce9237, fixed in e5420e6: an existing rating item (C1, agreement 1-5) answered
# 'Agree', 'Kinda', 'Kinda', 'Mostly', 'Strongly agree' is skipped as 'not a rating question' and the import exits 0:
# one off-scale label stops the import, three drop the question's answers (the valid ones too) with only a 'not
# imported' line
def test_many_off_scale_labels_in_an_existing_item_stop_the_import_too(district, tmp_path):
    f = xs.form([C1], [["Agree"], ["Kinda"], ["Kinda"], ["Mostly"], ["Strongly agree"]], emails=FIVE)
    with pytest.raises(ContractError) as caught:
        import_export("google", xs.google_download(f, tmp_path / "k.csv"), district, session="PL02", dry_run=True)
    assert {(p.row, p.value) for p in caught.value.problems} == {(3, "Kinda"), (4, "Kinda"), (5, "Mostly")}


# Regression test: a bug found in dce9237, fixed in e5420e6: labels written with their number ('5 - Strongly agree',
# '4 - Agree' ...) for questions that match existing items C1 and C2 are neither coded nor an error: both questions
# are skipped as 'not a rating question' and the import exits 0 writing no reactions
def test_numbered_labels_of_an_existing_item_are_not_silently_skipped(district, tmp_path):
    c2 = "I learned strategies I can use right away."
    rows = [["5 - Strongly agree", "4 - Agree"], ["4 - Agree", "3 - Neither agree nor disagree"],
            ["5 - Strongly agree", "2 - Disagree"], ["1 - Strongly disagree", "4 - Agree"],
            ["3 - Neither agree nor disagree", "5 - Strongly agree"]]  # fmt: skip
    path = xs.google_download(xs.form([C1, c2], rows, emails=FIVE), tmp_path / "numbered.csv")
    try:
        summary = import_export("google", path, district, session="PL02", dry_run=True)
    except ContractError:
        return  # refused, naming the labels: not silent
    assert {c.question.text: c.status for c in summary.codebook} == {C1: "matched", c2: "matched"}
    for coding in summary.codebook:  # coded by the label after the number
        assert coding.labels == {v: SCALES["agreement-5"].code(v.split(" - ", 1)[1]) for v in coding.labels}


# Regression test: a bug found in dce9237, fixed in e5420e6: the summary of an import that found nothing to write in a
# folder that held none of its responses says 'nothing new: these responses had been imported already'
# (summary.already is {'reactions': 0}, a non-empty dict)
def test_nothing_written_is_not_told_as_imported_already_when_nothing_was_there(district, tmp_path):
    path = tmp_path / "header-only.csv"
    path.write_text('"Timestamp","Email Address","How useful was it?"\n', encoding="utf-8")
    summary = import_export("google", path, district, session="PL02")
    assert summary.responses == 0 and not summary.already.get("reactions")
    assert "imported already" not in str(summary)


# ----------------------------------------------------------------------------------------------
# 2. Poor ... Excellent, then a later export with a label off that scale
# ----------------------------------------------------------------------------------------------


def test_quality_labels_are_coded_on_quality_5_very_good_and_a_later_off_scale_label_is_an_error(district, tmp_path):
    full = with_question(xs.sample_form(SAMPLE, "PL02", n=12), RATE, QUALITY)
    first = full.with_replies(full.replies[:8])
    original = reactions(district)
    summary = import_export("google", xs.google_download(first, tmp_path / "round1.csv"), district, session="PL02")
    coding = coding_of(summary, RATE)
    assert (coding.status, coding.scale, coding.low, coding.high, coding.level) == (
        "new",
        "quality-5-very-good",
        1,
        5,
        1,
    )
    assert coding.labels == {"poor": 1, "fair": 2, "good": 3, "very good": 4, "excellent": 5}
    assert "quality-5-very-good (1-5): poor=1 x2, fair=2 x2, good=3 x2, very good=4 x1, excellent=5 x1" in str(summary)
    rows = added(district, original)
    mine = rows[rows["item_id"] == coding.item]
    expected = {educator(r): str(QUALITY.index(r.answers[xs.Q(RATE)]) + 1) for r in first.replies}
    assert dict(zip(mine["educator_id"], mine["response"])) == expected
    row = items(district).set_index("item_id").loc[coding.item]
    assert (row["scale_min"], row["scale_max"], row["level"], row["text"]) == ("1", "5", "1", RATE)

    # the same form downloaded later: four more responses, one of them "Very poor" (quality-6, not this scale)
    full.replies[10].answers[xs.Q(RATE)] = "Very poor"
    later = xs.google_download(full, tmp_path / "round2.csv")
    before = snapshot(district)
    with pytest.raises(ContractError) as caught:
        import_export("google", later, district, session="PL02")
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (12, RATE, "Very poor")
    assert "a label of the quality-5-very-good scale (poor, fair, good, very good, excellent)" in str(caught.value)
    assert snapshot(district) == before  # not a silent drop: nothing at all written


# ----------------------------------------------------------------------------------------------
# 3. A new question answered only Agree / Strongly agree
# ----------------------------------------------------------------------------------------------


def test_agree_and_strongly_agree_alone_ask_for_the_scale_then_import_with_it(district, tmp_path, capsys):
    f = with_question(xs.sample_form(SAMPLE, "PL02", n=6, grid=False), CLEAR, ["Agree", "Strongly agree"])
    path = xs.google_download(f, tmp_path / "pl02.csv")
    before = snapshot(district)
    code, out, err = cli(capsys, "import", "google", path, "--into", district, "--session", "PL02")
    assert code == 1 and out == ""
    assert (
        f"column '{CLEAR}': answers that tell which scale the form used, but they fit agreement-4, agreement-5" in err
    )
    assert f"Name the form's scale for this question in the mapping file (questions: '{CLEAR}': {{scale: " in err
    assert snapshot(district) == before
    mapping = write_mapping(tmp_path / "map.yml", {"questions": {CLEAR: {"scale": "agreement-5"}}})
    original = reactions(district)
    summary = import_export("google", path, district, session="PL02", mapping=mapping)
    coding = coding_of(summary, CLEAR)
    assert (coding.status, coding.scale, coding.labels) == ("new", "agreement-5", {"agree": 4, "strongly agree": 5})
    mine = added(district, original).query("item_id == @coding.item")
    assert dict(zip(mine["educator_id"], mine["response"])) == {
        educator(r): "4" if r.answers[xs.Q(CLEAR)] == "Agree" else "5" for r in f.replies
    }


def test_the_codebook_does_not_claim_every_point_was_chosen_when_two_were(district, tmp_path):
    text = "The coaching follow-up fit my schedule."
    f = xs.form([text], [["Agree"], ["Disagree"], ["Agree"], ["Agree"], ["Disagree"]], emails=FIVE)
    # fixed in this session: two labels alone (Disagree, Agree) say nothing about a neutral point, so the
    # question's scale is asked for instead of being read as agreement-4 with a note claiming every point was chosen
    with pytest.raises(ContractError, match="fit agreement-4, agreement-5, agreement-6, agreement-7"):
        import_export("google", xs.google_download(f, tmp_path / "ad.csv"), district, session="PL02", dry_run=True)


# ----------------------------------------------------------------------------------------------
# 4. The same responses, however they were downloaded, imported once
# ----------------------------------------------------------------------------------------------

DOWNLOADS = {
    "google-download-MDT": ("dl.csv", lambda f, p: xs.google_download(f, p, name_question="Your name")),
    "google-download-GMT-6": ("dl6.csv", lambda f, p: xs.google_download(f, p, zone="GMT-6")),
    "sheet-csv": ("sheet.csv", xs.google_sheet),
    "excel-cp1252-no-seconds": ("excel.csv", lambda f, p: xs.excel_resaved(f, p, name_question="Your name")),
    "excel-utf8-bom-no-seconds": ("excel8.csv", lambda f, p: xs.excel_resaved(f, p, encoding="utf-8-sig")),
    "excel-utf16-unicode-text": ("unicode.txt", lambda f, p: xs.excel_resaved(f, p, encoding="utf-16")),
}
PAIRS = [
    ("google-download-MDT", "sheet-csv"),
    ("sheet-csv", "google-download-MDT"),
    ("google-download-MDT", "google-download-GMT-6"),
    ("google-download-MDT", "excel-cp1252-no-seconds"),
    ("excel-cp1252-no-seconds", "google-download-MDT"),
    ("sheet-csv", "excel-utf8-bom-no-seconds"),
    ("google-download-GMT-6", "excel-utf16-unicode-text"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}-then-{b}" for a, b in PAIRS])
def test_the_same_responses_downloaded_two_ways_are_imported_once(first, second, district, tmp_path):
    # a curly apostrophe in a question (cp1252 0x92) and accented names in a personal column
    f = with_question(xs.sample_form(SAMPLE, "PL02", n=10, names=True), "How would you rate today\u2019s session?",
                      QUALITY)  # fmt: skip
    original = reactions(district)
    name, make = DOWNLOADS[first]
    one = import_export("google", make(f, tmp_path / name), district, session="PL02")
    rows = added(district, original)
    assert one.written["reactions"] == len(rows) > 0 and one.linked == 10
    assert len(rows) == sum(bool(v) for r in f.replies for v in r.answers.values())
    name, make = DOWNLOADS[second]
    table = (district / "reactions.csv").read_bytes()
    two = import_export("google", make(f, tmp_path / name), district, session="PL02")
    assert two.written == {"reactions": 0} and two.already == {"reactions": len(rows)}
    assert "nothing new: these responses had been imported already" in str(two)
    assert (district / "reactions.csv").read_bytes() == table
    one_copy_each(added(district, original))
    for who in xs.NAMES:
        assert who not in (district / "reactions.csv").read_text(encoding="utf-8")


@pytest.mark.slow
def test_times_around_midnight_and_noon_are_recognised_across_downloads(district, tmp_path):
    # 12:05:01 AM is 0:05:01 in the Sheet; 12:05:01 PM is 12:05:01
    f = xs.form(
        [C1], [["Agree"], ["Disagree"], ["Strongly agree"]], emails=[fx.email(e) for e in ("E0004", "E0005", "E0006")]
    )
    times = [datetime.datetime(2025, 9, 10, 0, 5, 1), datetime.datetime(2025, 9, 10, 12, 5, 1),
             datetime.datetime(2025, 9, 10, 23, 59, 59)]  # fmt: skip
    f = f.with_replies([xs.Reply(t, r.answers, r.email) for t, r in zip(times, f.replies)])
    download = xs.google_download(f, tmp_path / "dl.csv")
    assert "2025/09/10 12:05:01 AM MDT" in download.read_text() and "2025/09/10 12:05:01 PM MDT" in download.read_text()
    original = reactions(district)
    assert import_export("google", download, district, session="PL02").written == {"reactions": 3}
    assert import_export("google", xs.google_sheet(f, tmp_path / "s.csv"), district, session="PL02").written == {
        "reactions": 0
    }
    assert import_export("google", xs.excel_resaved(f, tmp_path / "e.csv"), district, session="PL02").written == {
        "reactions": 0
    }
    one_copy_each(added(district, original))


def test_anonymous_responses_downloaded_two_ways_are_imported_once(district, tmp_path):
    f = with_question(xs.sample_form(SAMPLE, "PL02", n=8), RATE, QUALITY)
    f = f.with_replies([xs.Reply(r.submitted, r.answers) for r in f.replies])  # the form collects no e-mail
    original = reactions(district)
    one = import_export("google", xs.google_download(f, tmp_path / "dl.csv", email=False), district, session="PL02")
    assert one.anonymous == 8
    two = import_export("google", xs.excel_resaved(f, tmp_path / "x.csv", email=False), district, session="PL02")
    assert two.written == {"reactions": 0}
    rows = added(district, original)
    assert rows["response_id"].nunique() == 8 and not rows.duplicated(["response_id", "item_id"]).any()


def _use_form() -> xs.Form:
    return with_question(xs.sample_form(SAMPLE, "PL02", n=6), USE, USEFUL)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({USE: {"construct": "usefulness_x"}}, {USE: {"construct": "usefulness_y"}}),  # failed in dce9237
        ({USE: {"skip": True}}, {}),
        ({USE: {"item": "U1", "construct": "usefulness"}}, {USE: {"item": "U2", "construct": "usefulness"}}),
    ],
    ids=["construct-x-then-y", "skipped-then-not", "item-U1-then-U2"],
)
def test_the_same_file_with_a_corrected_mapping_keeps_one_copy_of_each_answer(first, second, district, tmp_path):
    f = _use_form()
    path = xs.google_download(f, tmp_path / "pl02.csv")
    original, original_items = reactions(district), items(district)
    one = import_export(
        "google", path, district, session="PL02", mapping=write_mapping(tmp_path / "1.yml", {"questions": first})
    )
    two = import_export(
        "google", path, district, session="PL02", mapping=write_mapping(tmp_path / "2.yml", {"questions": second})
    )
    assert f"this file was imported before (import {one.import_id}) with another mapping: its rows are replaced" in (
        two.notes
    )
    rows = added(district, original)
    one_copy_each(rows)
    use = coding_of(two, USE)
    assert use.status == "new" and use.scale == "usefulness-5"
    mine = rows[rows["item_id"] == use.item]
    assert dict(zip(mine["educator_id"], mine["response"])) == {
        educator(r): str(USEFUL.index(r.answers[xs.Q(USE)]) + 1) for r in f.replies
    }
    # every answer once: the grid's answers and the usefulness answer, under one item each
    assert len(rows) == sum(bool(v) for r in f.replies for v in r.answers.values())
    new_items = items(district).iloc[len(original_items) :]
    assert list(new_items["text"]) == [USE] and list(new_items["item_id"]) == [use.item]
    if "construct" in second.get(USE, {}):
        assert new_items["construct"].tolist() == [second[USE]["construct"]]
    assert "U1" not in set(reactions(district)["item_id"]) | set(items(district)["item_id"])
    assert import_export("google", path, district, session="PL02", mapping=tmp_path / "2.yml").written == {
        "reactions": 0
    }


@pytest.mark.slow
# Regression test: a bug found in dce9237, fixed in e5420e6: the same responses re-imported from another download (the
# linked Sheet's CSV) with a corrected mapping (question mapped to item U2 instead of U1) keep the U1 rows and add U2
# rows: each answer is counted under two items
def test_the_same_responses_from_another_download_with_a_corrected_mapping_keep_one_copy(district, tmp_path):
    f = _use_form()
    original = reactions(district)
    m1 = write_mapping(tmp_path / "1.yml", {"questions": {USE: {"item": "U1", "construct": "usefulness"}}})
    m2 = write_mapping(tmp_path / "2.yml", {"questions": {USE: {"item": "U2", "construct": "usefulness"}}})
    import_export("google", xs.google_download(f, tmp_path / "dl.csv"), district, session="PL02", mapping=m1)
    import_export("google", xs.google_sheet(f, tmp_path / "sheet.csv"), district, session="PL02", mapping=m2)
    rows = added(district, original)
    assert sorted(set(rows["item_id"]) & {"U1", "U2"}) == ["U2"]  # the corrected item only
    one_copy_each(rows)
    assert len(rows) == sum(bool(v) for r in f.replies for v in r.answers.values())


# Regression test: a bug found by the hostile tester, fixed in this session (the item U1 stayed behind).
def test_a_corrected_mapping_from_another_download_leaves_no_unanswered_item_behind(district, tmp_path):
    f = _use_form()
    m1 = write_mapping(tmp_path / "1.yml", {"questions": {USE: {"item": "U1", "construct": "usefulness"}}})
    m2 = write_mapping(tmp_path / "2.yml", {"questions": {USE: {"item": "U2", "construct": "usefulness"}}})
    import_export("google", xs.google_download(f, tmp_path / "dl.csv"), district, session="PL02", mapping=m1)
    import_export("google", xs.google_sheet(f, tmp_path / "sheet.csv"), district, session="PL02", mapping=m2)
    assert "U1" not in set(reactions(district)["item_id"])
    assert "U1" not in set(items(district)["item_id"])


# ----------------------------------------------------------------------------------------------
# 5. Qualtrics .sav: a school choice question, ratings from value labels
# ----------------------------------------------------------------------------------------------


def test_sav_school_choice_is_skipped_and_ratings_are_coded_from_value_labels(district, tmp_path):
    schools = pd.read_csv(SAMPLE / "schools.csv", dtype=str)["school_name"].tolist()[:4]
    agreement = {float(i): label for i, label in enumerate(xs.AGREEMENT, start=1)}
    who = [f"E{i:04d}" for i in range(4, 12)]
    columns = {
        "Q1": ("Which school do you work in?", [float(i % 4 + 1) for i in range(8)],
               {float(i): s for i, s in enumerate(schools, start=1)}),
        "Q2_1": (f"{xs.GRID} - {C1}", [float(i % 5 + 1) for i in range(8)], {**agreement, 6.0: "N/A"}),
        # recode values reversed in Qualtrics: 1 = Strongly agree; coded by the label, never the number
        "Q2_2": (f"{xs.GRID} - The session felt rushed.", [1.0, 2.0, 5.0, 4.0, 1.0, None, 3.0, 2.0],
                 {float(i): label for i, label in enumerate(reversed(xs.AGREEMENT), start=1)}),
        # a new question whose answers alone (Agree, Strongly agree) would not tell the scale; its labels do
        "Q3": (CLEAR, [4.0, 5.0] * 4, agreement),
        "Q4": ("What is your role?", [1.0, 2.0] * 4, {1.0: "Teacher", 2.0: "Coach", 3.0: "Principal"}),
    }  # fmt: skip
    path = xs.qualtrics_sav(tmp_path / "pl02.sav", columns, [fx.email(e) for e in who])
    original, original_items = reactions(district), items(district)
    summary = import_export("qualtrics", path, district, session="PL02")
    school = coding_of(summary, "Which school do you work in?")
    assert school.status == "skipped" and school.reason.startswith("a choice question: its value labels (")
    assert schools[0] in school.reason
    assert "[skipped] Which school do you work in?\n      a choice question" in str(summary)
    assert coding_of(summary, "What is your role?").status == "skipped"
    rows = added(district, original)
    assert "Which school do you work in?" not in set(items(district)["text"])
    assert len(items(district)) == len(original_items) + 1  # the new question only
    c1, rushed, clear = (
        coding_of(summary, C1),
        coding_of(summary, "The session felt rushed."),
        coding_of(summary, CLEAR),
    )
    assert (c1.item, c1.scale, rushed.item, rushed.scale) == ("C1", "agreement-5", "P4", "agreement-5")
    assert (clear.status, clear.scale, clear.labels) == ("new", "agreement-5", {"agree": 4, "strongly agree": 5})
    got = {(e, i): v for e, i, v in zip(rows["educator_id"], rows["item_id"], rows["response"])}
    for n, e in enumerate(who):
        assert got[(e, "C1")] == str(n % 5 + 1)
        code = columns["Q2_2"][1][n]
        if code is None:
            assert (e, "P4") not in got
        else:
            assert got[(e, "P4")] == str(6 - int(code))  # 1 = Strongly agree is 5
        assert got[(e, clear.item)] == str(int(columns["Q3"][1][n]))
    assert set(rows["item_id"]) == {"C1", "P4", clear.item}


# ----------------------------------------------------------------------------------------------
# 6. The import history: --list, --undo
# ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_list_and_undo_of_the_latest_import_restore_every_file_byte_for_byte(district, tmp_path, capsys):
    code, out, _ = cli(capsys, "import", "--list", "--into", district)
    assert code == 0 and "no imports recorded" in out
    original = snapshot(district)
    a = xs.google_download(xs.sample_form(SAMPLE, "PL02", n=6), tmp_path / "pl02.csv")
    code, out, _ = cli(capsys, "import", "google", a, "--into", district, "--session", "PL02")
    assert code == 0 and "recorded as import 1 (undo: plevaluate import --undo 1" in out
    after_a = snapshot(district)
    b = xs.qualtrics_csv(with_question(xs.sample_form(SAMPLE, "PL03", n=5), RATE, QUALITY), tmp_path / "pl03.csv")
    code, out, _ = cli(capsys, "import", "qualtrics", b, "--into", district, "--session", "PL03")
    assert code == 0 and "recorded as import 2" in out and "wrote 1 row(s) to survey_items.csv" in out
    code, out, _ = cli(capsys, "import", "--list", "--into", district)
    assert code == 0
    lines = out.splitlines()
    assert re.search(r"^\s+1\s.*google\s+pl02\.csv\s+session PL02: wrote \d+ row\(s\) to reactions\.csv", lines[1])
    assert re.search(r"^\s+2\s.*qualtrics\s+pl03\.csv\s+session PL03: wrote 1 row\(s\) to survey_items\.csv", lines[2])
    code, out, _ = cli(capsys, "import", "--undo", "2", "--into", district)
    assert code == 0 and "undid import 2" in out and "restored byte for byte" in out
    assert snapshot(district) == after_a
    code, out, _ = cli(capsys, "import", "--undo", "1", "--into", district)
    assert code == 0 and snapshot(district) == original  # the history folder is gone too
    code, out, err = cli(capsys, "import", "--undo", "1", "--into", district)
    assert code == 1 and "an import numbered 1" in err


@pytest.mark.slow
def test_undoing_an_earlier_import_removes_exactly_its_rows_and_keeps_a_later_ones(district, tmp_path, capsys):
    original = reactions(district)
    a = xs.sample_form(SAMPLE, "PL02", n=6)
    b = with_question(xs.sample_form(SAMPLE, "PL03", n=5), RATE, QUALITY[::-1])
    import_export("google", xs.google_download(a, tmp_path / "a.csv"), district, session="PL02")
    after_a = reactions(district)
    second = import_export("google", xs.google_sheet(b, tmp_path / "b.csv"), district, session="PL03")
    item = coding_of(second, RATE).item
    b_rows = reactions(district).iloc[len(after_a) :]
    code, out, _ = cli(capsys, "import", "--undo", "1", "--into", district)
    assert code == 0 and "undid import 1 (google a.csv, session PL02): its rows removed, later imports kept" in out
    expected = pd.concat([original, b_rows], ignore_index=True)
    pd.testing.assert_frame_equal(reactions(district)[list(expected.columns)], expected)
    assert item in set(items(district)["item_id"])  # the later import's new item stays
    code, out, _ = cli(capsys, "import", "--list", "--into", district)
    listed = out.splitlines()[1:]
    assert len(listed) == 1 and re.search(r"^\s+2\s.*google\s+b\.csv\s+session PL03", listed[0])
    code, out, _ = cli(capsys, "import", "--undo", "2", "--into", district)
    assert code == 0
    pd.testing.assert_frame_equal(reactions(district)[list(original.columns)], original)
    assert item not in set(items(district)["item_id"])


@pytest.mark.slow
# Regression test: a bug found in dce9237, fixed in e5420e6: undoing an earlier import that added a new item which a
# later import also answered fails: undo_import removes the item from survey_items.csv (it subtracts the undone rows'
# item_ids from the items in use instead of looking at the rows that stay), so the folder no longer validates and the
# undo is refused
def test_undoing_an_earlier_import_keeps_its_new_item_when_a_later_import_answered_it(district, tmp_path):
    original = reactions(district)
    a = with_question(xs.sample_form(SAMPLE, "PL02", n=6), RATE, QUALITY)
    b = with_question(xs.sample_form(SAMPLE, "PL03", n=5), RATE, QUALITY[::-1])
    first = import_export("google", xs.google_download(a, tmp_path / "a.csv"), district, session="PL02")
    after_a = reactions(district)
    second = import_export("google", xs.google_sheet(b, tmp_path / "b.csv"), district, session="PL03")
    assert coding_of(second, RATE).item == coding_of(first, RATE).item and coding_of(second, RATE).status == "matched"
    b_rows = reactions(district).iloc[len(after_a) :]
    undo_import(district, 1)
    expected = pd.concat([original, b_rows], ignore_index=True)
    pd.testing.assert_frame_equal(reactions(district)[list(expected.columns)], expected)
    assert coding_of(first, RATE).item in set(items(district)["item_id"])


@pytest.mark.slow
# Regression test: a bug found in dce9237, fixed in e5420e6: undoing both imports leaves a response in the folder:
# import 2 replaced (resubmission, latest wins) a response import 1 wrote; undoing import 1 and then import 2 restores
# that response of the undone import 1
def test_undoing_every_import_after_a_resubmission_leaves_the_folder_as_it_was(district, tmp_path):
    original = reactions(district)
    f = xs.sample_form(SAMPLE, "PL02", n=4)
    import_export("google", xs.google_download(f, tmp_path / "a.csv"), district, session="PL02")
    again = xs.Reply(f.replies[-1].submitted + datetime.timedelta(hours=2), {q: "Agree" for q in f.questions},
                     f.replies[1].email)  # fmt: skip
    two = import_export("google", xs.google_download(f.with_replies([again]), tmp_path / "b.csv"), district,
                        session="PL02")  # fmt: skip
    assert any("1 earlier response(s) in the folder set aside" in n for n in two.notes)
    undo_import(district, 1)
    undo_import(district, 2)
    pd.testing.assert_frame_equal(reactions(district)[list(original.columns)], original)


# Regression test: a bug found in dce9237, fixed in e5420e6: undoing (row by row) an import that replaced an earlier
# import of the same file under another mapping puts the earlier import back in the history but not its rows: only its
# rows the replacing import did not write again come back
@pytest.mark.slow
def test_undoing_a_replacing_import_brings_back_the_rows_of_the_import_it_replaced(district, tmp_path):
    f = _use_form()
    path = xs.google_download(f, tmp_path / "pl02.csv")
    m1 = write_mapping(tmp_path / "1.yml", {"questions": {USE: {"item": "U1", "construct": "usefulness"}}})
    m2 = write_mapping(tmp_path / "2.yml", {"questions": {USE: {"item": "U2", "construct": "usefulness"}}})
    import_export("google", path, district, session="PL02", mapping=m1)
    after_first = reactions(district)
    import_export("google", path, district, session="PL02", mapping=m2)
    later = xs.google_download(xs.sample_form(SAMPLE, "PL03", n=3), tmp_path / "pl03.csv")
    import_export("google", later, district, session="PL03")
    undo_import(district, 2)  # not the latest: row by row; import 1 is listed again
    now = reactions(district)
    pl03 = now[now["session_id"].eq("PL03") & ~now["response_id"].isin(after_first["response_id"])]
    assert len(pl03) > 0
    expected = pd.concat([after_first, pl03[after_first.columns]], ignore_index=True)
    assert sorted(map(tuple, now[list(after_first.columns)].values)) == sorted(map(tuple, expected.values))


# ----------------------------------------------------------------------------------------------
# 7. One person's second response
# ----------------------------------------------------------------------------------------------


def _twice(f: xs.Form) -> tuple[xs.Form, xs.Reply, xs.Reply]:
    """``f`` with reply 1's person answering again an hour later; the later response written first in the file."""
    earlier = f.replies[1]
    again = xs.Reply(earlier.submitted + datetime.timedelta(hours=1), {q: "Strongly disagree" for q in f.questions},
                     earlier.email)  # fmt: skip
    return f.with_replies([again, *f.replies]), earlier, again


def test_a_second_response_from_one_person_keeps_the_later_by_timestamp(district, tmp_path):
    f, earlier, again = _twice(xs.sample_form(SAMPLE, "PL02", n=6))
    original = reactions(district)
    summary = import_export("google", xs.google_download(f, tmp_path / "pl02.csv"), district, session="PL02")
    assert summary.responses == 7
    note = "resubmissions (latest wins, the plan's imports.resubmissions): 1 response(s) of the export"
    assert any(n.startswith(note) for n in summary.notes) and note in str(summary)
    rows = added(district, original)
    one_copy_each(rows)
    assert rows["educator_id"].nunique() == 6
    mine = rows[rows["educator_id"] == educator(again)]
    assert set(mine["response"]) == {"1"} and len(mine) == len(f.questions)  # the later answers, all of them


def test_a_second_response_is_an_error_when_the_plan_says_so(district, tmp_path, capsys):
    set_plan_imports(district, resubmissions="error")
    f, _, _ = _twice(xs.sample_form(SAMPLE, "PL02", n=6))
    path = xs.google_download(f, tmp_path / "pl02.csv")
    before = snapshot(district)
    code, out, err = cli(capsys, "import", "google", path, "--into", district, "--session", "PL02")
    assert code == 1 and out == ""
    assert re.search(r"pl02\.csv:\n  - 2 rows: row 2, row 4: one response per person to session PL02, but this "
                     r"respondent has 2", err)  # fmt: skip
    assert "imports.resubmissions to latest or first" in err
    assert snapshot(district) == before


# Regression test: a bug found in dce9237, fixed in e5420e6: a later, cumulative download of the same form (the first
# response, already imported, and the same person's later resubmission) leaves both responses in the folder: the
# export's copy of the earlier response is set aside but the folder's copy is not removed
def test_a_resubmission_in_a_later_cumulative_download_replaces_the_imported_response(district, tmp_path):
    f = xs.sample_form(SAMPLE, "PL02", n=6)
    original = reactions(district)
    import_export("google", xs.google_download(f.with_replies(f.replies[:4]), tmp_path / "a.csv"), district,
                  session="PL02")  # fmt: skip
    again = xs.Reply(f.replies[-1].submitted + datetime.timedelta(minutes=30), {q: "Agree" for q in f.questions},
                     f.replies[1].email)  # fmt: skip
    import_export("google", xs.google_download(f.with_replies([*f.replies, again]), tmp_path / "b.csv"), district,
                  session="PL02")  # fmt: skip
    rows = added(district, original)
    one_copy_each(rows)


# ----------------------------------------------------------------------------------------------
# 8. The staff survey (level 3)
# ----------------------------------------------------------------------------------------------

COACH = "My coach visits my classroom at least twice a month."


def _staff_form(start: datetime.datetime, rows: list[list[str]] | None = None) -> xs.Form:
    level3 = items(SAMPLE).query("level == '3'")["text"].tolist()
    rows = rows or [[xs.AGREEMENT[(i + j) % 5] for j in range(4)] for i in range(6)]
    emails = [fx.email(f"E{i:04d}") for i in range(4, 4 + len(rows))]
    return xs.form([*level3, COACH], rows, emails=emails, start=start)


def test_a_staff_survey_has_no_session_is_dated_and_its_new_questions_are_level_3(district, tmp_path, capsys):
    f = _staff_form(datetime.datetime(2026, 3, 2, 7, 45, 12))
    path = xs.google_download(f, tmp_path / "staff.csv")
    original, original_items = reactions(district), items(district)
    code, out, _ = cli(capsys, "import", "google", path, "--into", district, "--staff-survey")
    assert code == 0 and "[matched O1 by text]" in out and "organizational_support, level 3" in out
    rows = added(district, original)
    assert len(rows) == 6 * 4 and set(rows["session_id"]) == {""} and set(rows["date"]) == {"2026-03-02"}
    assert set(rows["item_id"]) - {"O1", "O2", "O3"} and rows["educator_id"].nunique() == 6
    new = items(district).iloc[len(original_items) :]
    assert new["text"].tolist() == [COACH] and new["level"].tolist() == ["3"]


def test_a_survey_of_level_3_items_without_session_is_read_as_a_staff_survey(district, tmp_path, capsys):
    path = xs.google_download(_staff_form(datetime.datetime(2026, 3, 2, 7, 45, 12)), tmp_path / "staff.csv")
    original = reactions(district)
    code, out, _ = cli(capsys, "import", "google", path, "--into", district)
    assert code == 0
    assert "note: no session given and every question matched a level-3 item: read as a staff survey" in out
    rows = added(district, original)
    assert set(rows["session_id"]) == {""} and set(rows["date"]) == {"2026-03-02"}


def test_level_1_questions_without_a_session_ask_for_session_or_staff_survey(district, tmp_path, capsys):
    path = xs.google_download(xs.sample_form(SAMPLE, "PL02", n=4), tmp_path / "pl02.csv")
    before = snapshot(district)
    code, out, err = cli(capsys, "import", "google", path, "--into", district)
    assert code == 1 and out == ""
    assert "pl02.csv:\n  - what the survey was about. Fix: Give --session SESSION_ID for a session's survey, or " in err
    assert "--staff-survey for a staff survey" in err
    assert snapshot(district) == before


# Regression test: a bug found in dce9237, fixed in e5420e6: a second administration of the staff survey (spring,
# after fall) is taken for resubmissions: every fall response of the same people is deleted from reactions.csv
# (resubmissions are scoped to 'staff', whatever the date)
def test_a_staff_survey_given_in_fall_and_in_spring_keeps_both(district, tmp_path):
    original = reactions(district)
    fall = _staff_form(datetime.datetime(2025, 10, 1, 9, 0, 5))
    spring = _staff_form(datetime.datetime(2026, 4, 1, 9, 0, 5), [["Agree"] * 4] * 6)
    import_export("google", xs.google_download(fall, tmp_path / "fall.csv"), district, staff_survey=True)
    import_export("google", xs.google_download(spring, tmp_path / "spring.csv"), district, staff_survey=True)
    rows = added(district, original)
    assert sorted(set(rows["date"])) == ["2025-10-01", "2026-04-01"] and len(rows) == 2 * 6 * 4


# Regression test: a bug found in dce9237, fixed in e5420e6: --date YYYY-MM-DD (and the mapping's date:) is read by
# wall_clock, whose zone pattern takes the day for a UTC offset: --date 2026-03-15 writes 2026-03-01 (the '-15'
# dropped as an offset), and --date 2026-03-25 stops with exit 2 'plevaluate: offset must be a timedelta strictly
# between -timedelta(hours=24) and timedelta(hours=24) ...'
@pytest.mark.parametrize("day", ["2026-03-15", "2026-03-25"])
def test_a_staff_survey_date_given_with_date_is_written_as_given(day, district, tmp_path, capsys):
    path = xs.google_download(_staff_form(datetime.datetime(2026, 3, 2, 7, 45, 12)), tmp_path / "staff.csv")
    original = reactions(district)
    code, _, err = cli(capsys, "import", "google", path, "--into", district, "--staff-survey", "--date", day)
    assert code == 0, err
    assert set(added(district, original)["date"]) == {day}


@pytest.mark.parametrize("day", ["2026-13-45", "03/25/2026", "tomorrow"])
def test_a_date_that_is_not_yyyy_mm_dd_is_refused_naming_date(day, district, tmp_path, capsys):
    path = xs.google_download(_staff_form(datetime.datetime(2026, 3, 2, 7, 45, 12)), tmp_path / "staff.csv")
    before = snapshot(district)
    code, out, err = cli(capsys, "import", "google", path, "--into", district, "--staff-survey", "--date", day)
    assert code == 1 and out == "" and "--date:" in err and f"value '{day}'" in err, err
    assert snapshot(district) == before


def test_the_same_responses_downloaded_two_ways_are_imported_once_with_a_time_zone(district, tmp_path):
    f = with_question(xs.sample_form(SAMPLE, "PL02", n=5), RATE, QUALITY)
    f = f.with_replies([xs.Reply(r.submitted, r.answers) for r in f.replies])  # the form collects no e-mail
    mapping = write_mapping(tmp_path / "tz.yml", {"time_zone": "America/Chicago"})
    original = reactions(district)
    # time_zone: a time with an offset is converted to the zone; one without is read as in it. Chicago in August
    # is GMT-5, so the download's 3:00 PM GMT-5 and the Sheet's 15:00 are one moment (fixed in this session: the
    # test first wrote GMT-6 beside a Sheet in GMT-5, two moments an hour apart)
    download = xs.google_download(f, tmp_path / "dl.csv", zone="GMT-5", email=False)
    import_export("google", download, district, session="PL02", mapping=mapping)
    two = import_export("google", xs.google_sheet(f, tmp_path / "sheet.csv", email=False), district, session="PL02",
                        mapping=mapping)  # fmt: skip
    assert two.written == {"reactions": 0}
    assert added(district, original)["response_id"].nunique() == 5


def test_the_same_responses_under_another_session_are_refused_naming_the_first_import(district, tmp_path):
    f = xs.sample_form(SAMPLE, "PL02", n=4)
    import_export("google", xs.google_download(f, tmp_path / "a.csv"), district, session="PL02")
    before = snapshot(district)
    with pytest.raises(ContractError) as caught:
        import_export("google", xs.google_sheet(f, tmp_path / "b.csv"), district, session="PL03")
    message = str(caught.value)
    assert (
        "b.csv:\n  - row 2: responses to session PL03, but 4 of them are in the folder already as responses to session PL02"
        in (message)
    )
    assert f"undo it (plevaluate import --undo 1 --into {district}) and import again" in message
    assert snapshot(district) == before


# ----------------------------------------------------------------------------------------------
# 9. The mapping file
# ----------------------------------------------------------------------------------------------


def test_mapping_file_errors_say_did_you_mean(district, tmp_path, capsys):
    path = xs.google_download(xs.sample_form(SAMPLE, "PL02", n=4), tmp_path / "pl02.csv")
    before = snapshot(district)
    cases = [
        ({"sesion": "PL02"}, ["a known key, but 'sesion' is not one", "Did you mean 'session'?"]),
        ({"questions": {CLEAR: {"scale": "agreemnt-5"}}},
         ["a known scale, but 'agreemnt-5' is neither in the scale library", "Did you mean 'agreement-5'?"]),
        ({"questions": {CLEAR: {"constuct": "x"}}}, ["'constuct' is not one", "Did you mean 'construct'?"]),
    ]  # fmt: skip
    for n, (mapping, wanted) in enumerate(cases):
        code, out, err = cli(capsys, "import", "google", path, "--into", district, "--session", "PL02", "--mapping",
                             write_mapping(tmp_path / f"m{n}.yml", mapping))  # fmt: skip
        assert code == 1 and out == "", err
        for text in wanted:
            assert text in err, (text, err)
    assert snapshot(district) == before


def test_a_question_one_word_from_an_item_is_an_error_naming_the_item(district, tmp_path, capsys):
    near = "The content is relevant to your classroom."
    f = xs.form([near, "The session was well organized"], [["Agree", "Agree"], ["Strongly agree", "Neutral"]],
                emails=[fx.email("E0004"), fx.email("E0005")])  # fmt: skip
    path = xs.google_download(f, tmp_path / "near.csv")
    code, out, err = cli(capsys, "import", "google", path, "--into", district, "--session", "PL02")
    assert code == 1 and f"column '{near}': a question matching an item, but its text is close to item C1" in err
    assert f"Did you mean item C1? Map it in the mapping file (questions: '{near}': C1)" in err
    # mapped as told, it imports; the missing full stop alone is matched
    mapping = write_mapping(tmp_path / "map.yml", {"questions": {near: "C1"}})
    summary = import_export("google", path, district, session="PL02", mapping=mapping)
    assert summary.matched == {near: "C1", "The session was well organized": "P1"}
    assert "[matched P1 ignoring punctuation] The session was well organized" in str(summary)
    assert "[matched C1 by the mapping]" in str(summary) and not summary.added


# Regression test: a bug found in dce9237, fixed in e5420e6: a question one word away from an item ('The session was
# well planned.' for P1 'The session was well organized.', 'The content is relevant to my teaching.' for C1) is
# imported silently as a new item: the near-match cutoff (0.88) misses one-word changes in short items
@pytest.mark.parametrize(
    ("text", "item"),
    [("The session was well planned.", "P1"), ("The content is relevant to my teaching.", "C1")],
)
def test_a_one_word_change_in_a_short_item_is_caught(text, item, district, tmp_path):
    f = xs.form([text], [["Agree"], ["Strongly agree"], ["Neutral"]], emails=[fx.email(f"E000{i}") for i in (4, 5, 6)])
    with pytest.raises(ContractError, match=f"Did you mean item {item}\\?"):
        import_export("google", xs.google_download(f, tmp_path / "near.csv"), district, session="PL02", dry_run=True)


def test_help_mapping_prints_every_key(capsys):
    code, out, _ = cli(capsys, "import", "--help-mapping")
    assert code == 0
    for model in (ImportMapping, QuestionMap):
        for name in model.model_fields:
            assert re.search(rf"^\s*{name}(:|\s)", out, re.M), name
    assert all(name in out for name in SCALES)


# ----------------------------------------------------------------------------------------------
# 10. Workbooks
# ----------------------------------------------------------------------------------------------


def test_msforms_workbook_with_a_merged_title_row(district, tmp_path):
    f = xs.sample_form(SAMPLE, "PL02", n=6, grid=False, names=True)
    path = xs.msforms(f, tmp_path / "ms.xlsx", title="Planning one talk move: feedback")
    original = reactions(district)
    summary = import_export("msforms", path, district, session="PL02")
    assert "the header is on row 2 (row 1 and above: a title, passed over)" in summary.notes
    assert "note: the header is on row 2" in str(summary) and set(summary.personal) == {"Email", "Name"}
    assert len(added(district, original)) == sum(bool(v) for r in f.replies for v in r.answers.values())


def test_msforms_workbook_with_a_helper_sheet_first(district, tmp_path):
    f = xs.sample_form(SAMPLE, "PL02", n=6, grid=False)
    path = xs.msforms(f, tmp_path / "ms.xlsx", title="Feedback", helper_first=True)
    original = reactions(district)
    summary = import_export("msforms", path, district, session="PL02")
    assert "read the sheet 'Sheet1' (the workbook has 2: Lookups, Sheet1)" in summary.notes
    assert len(added(district, original)) == sum(bool(v) for r in f.replies for v in r.answers.values())


LEARNING_MAPPING = {
    "table": "learning",
    "columns": {"educator_id": "Teacher", "assessment_id": {"value": "MKT-9"}, "max_score": {"value": "30"},
                "date": "Date"},
    "wide": {"column": "score", "by": "occasion", "from": {"Pre-test": "pre", "Post-test": "post"}},
}  # fmt: skip


def test_excel_date_serials_in_a_csv_sheet_are_named_and_converted_in_a_workbook(district, tmp_path, capsys):
    import openpyxl

    mapping = write_mapping(tmp_path / "map.yml", LEARNING_MAPPING)
    sheet = tmp_path / "scores.csv"
    sheet.write_text("Teacher,Date,Pre-test,Post-test\r\nE0004,45889,12,20\r\nE0005,45889,15,18\r\n", encoding="utf-8")
    before = snapshot(district)
    code, out, err = cli(capsys, "import", "sheet", sheet, "--into", district, "--mapping", mapping)
    assert code == 1 and "row 2, column 'Date', value '45889'" in err
    assert "look like Excel date serials (45889 is 2025-08-20 in Excel's usual 1900 date system)" in err
    assert snapshot(district) == before
    book = openpyxl.Workbook()
    book.active.append(["Teacher", "Date", "Pre-test", "Post-test"])
    book.active.append(["E0004", 45889, 12, 20])
    book.active.append(["E0005", 45889, 15, 18])
    book.save(tmp_path / "scores.xlsx")
    summary = import_export("sheet", tmp_path / "scores.xlsx", district, mapping=mapping)
    assert summary.written == {"learning": 4}
    got = pd.read_csv(district / "learning.csv", dtype=str).query("assessment_id == 'MKT-9'")
    assert set(got["date"]) == {"2025-08-20"} and sorted(got["score"]) == ["12", "15", "18", "20"]


# ----------------------------------------------------------------------------------------------
# 11. The wrong source
# ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_export_named_as_the_wrong_tool_is_refused(district, tmp_path, capsys):
    f = xs.sample_form(SAMPLE, "PL02", n=3)
    google = xs.google_download(f, tmp_path / "google.csv")
    before = snapshot(district)
    for source in ("msforms", "qualtrics", "surveymonkey"):
        code, out, err = cli(capsys, "import", source, google, "--into", district, "--session", "PL02")
        assert code == 1 and "but it looks like a Google Forms export (a first column Timestamp)" in err, err
        assert "Import it as google: plevaluate import google google.csv" in err
    others = {
        "Microsoft Forms": xs.msforms(f, tmp_path / "ms.xlsx"),
        "Qualtrics": xs.qualtrics_csv(f, tmp_path / "q.csv"),
        "SurveyMonkey": xs.surveymonkey_csv(f, tmp_path / "sm.csv"),
    }
    for tool, path in others.items():
        code, _, err = cli(capsys, "import", "google", path, "--into", district, "--session", "PL02")
        assert code == 1 and f"a Google Forms export, but it looks like a {tool} export" in err, err
    plain = tmp_path / "plain.csv"
    plain.write_text("Teacher,Rating\nE0004,Agree\nE0005,Strongly agree\n", encoding="utf-8")
    code, _, err = cli(capsys, "import", "google", plain, "--into", district, "--session", "PL02")
    assert code == 1 and "a Google Forms export: a first column Timestamp" in err and "no such header" in err
    sav = xs.qualtrics_sav(tmp_path / "q.sav", {"Q1": (C1, [4.0], {4.0: "Agree"})}, [fx.email("E0004")])
    code, _, err = cli(capsys, "import", "google", sav, "--into", district, "--session", "PL02")
    assert code == 1 and "SPSS .sav files come from Qualtrics or SurveyMonkey" in err
    assert snapshot(district) == before


def test_each_documented_shape_imports(district, tmp_path):
    f = xs.sample_form(SAMPLE, "PL02", n=5, names=True)
    answered = sum(bool(v) for r in f.replies for v in r.answers.values())
    shapes = [
        ("qualtrics", xs.qualtrics_tsv(f, tmp_path / "q.tsv")),
        ("surveymonkey", xs.surveymonkey_csv(f, tmp_path / "sm.csv")),
    ]
    for n, (source, path) in enumerate(shapes):
        session = ("PL04", "PL05")[n]
        summary = import_export(source, path, district, session=session)
        # SurveyMonkey's open-ended "Any other comments?" ("Loved it" twice) is kept as comments (issue #33)
        comments = {"comments": 2} if source == "surveymonkey" else {}
        assert summary.written == {"reactions": answered, **comments} and summary.linked == 5, (source, summary)
        assert set(summary.matched.values()) >= {"C1", "P4"}
    assert "[open-ended] Any other comments?" in str(summary) and not summary.skipped


# ----------------------------------------------------------------------------------------------
# 12. Partial responses
# ----------------------------------------------------------------------------------------------


def _partial_form() -> xs.Form:
    f = xs.sample_form(SAMPLE, "PL03", n=8, grid=True)
    for n, blank in ((2, 4), (5, 6)):
        r = f.replies[n]
        r.finished = False
        for q in f.questions[-blank:]:
            r.answers[q] = ""
    return f


@pytest.mark.slow
@pytest.mark.parametrize("rule", [None, "keep", "drop"])
def test_partial_qualtrics_responses_follow_the_plan(rule, district, tmp_path):
    if rule:
        set_plan_imports(district, partial_responses=rule)
    f = _partial_form()
    original = reactions(district)
    summary = import_export("qualtrics", xs.qualtrics_csv(f, tmp_path / "q.csv"), district, session="PL03")
    rows = added(district, original)
    partial = [educator(f.replies[2]), educator(f.replies[5])]
    if rule == "drop":
        assert "2 partial response(s) (Finished = False) left out: the plan's imports.partial_responses is drop" in (
            summary.notes
        )
        assert not rows["educator_id"].isin(partial).any() and rows["educator_id"].nunique() == 6
    else:
        assert "2 partial response(s) (Finished = False) kept with the answers given: the plan's " in str(summary)
        for n in (2, 5):
            mine = rows[rows["educator_id"] == educator(f.replies[n])]
            assert len(mine) == sum(bool(v) for v in f.replies[n].answers.values()) > 0


# ----------------------------------------------------------------------------------------------
# 13. --dry-run
# ----------------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_prints_the_codebook(district, tmp_path, capsys):
    f = with_question(xs.sample_form(SAMPLE, "PL02", n=6), RATE, QUALITY)
    path = xs.google_download(f, tmp_path / "pl02.csv")
    before = snapshot(district)
    code, out, _ = cli(capsys, "import", "google", path, "--into", district, "--session", "PL02", "--dry-run")
    assert code == 0 and snapshot(district) == before
    assert "-- dry run, nothing written:" in out and "codebook (question -> item" in out
    assert "would write 1 row(s) to survey_items.csv" in out and re.search(
        r"would write \d+ row\(s\) to reactions", out
    )
    assert "quality-5-very-good (1-5): poor=1" in out and "recorded as import" not in out


def test_usage_errors_exit_2(district, tmp_path, capsys):
    path = xs.google_download(xs.sample_form(SAMPLE, "PL02", n=2), tmp_path / "g.csv")
    assert cli(capsys, "import", "google", path)[0] == 2  # no --into
    assert cli(capsys, "import", "google", path, "--into", district, "--list")[0] == 2
    assert cli(capsys, "import", "--into", district)[0] == 2  # no source
    code, _, err = cli(capsys, "import", "google", path, "--into", district, "--session", "PL02", "--staff-survey")
    assert code == 1 and "both a session and --staff-survey were given" in err


# ----------------------------------------------------------------------------------------------
# Property: each question on the scale its own labels fit; an off-scale label is named, and never
# changes another question's codes
# ----------------------------------------------------------------------------------------------

OFF_SCALE = ["Agreee", "Somewhat good", "Kinda", "Mostly agree", "Very goood", "Sort of useful", "Meh",
             "Strongly agreed", "Fairly often", "Quite satisfied", "Neutral-ish", "Excelent"]  # fmt: skip
NEW_TEXTS = [
    "How would you describe the pacing of the first block?",
    "Rate the shared planning template we tried.",
    "How often will you use partner talk next month?",
    "How satisfied are you with the room setup?",
]


@pytest.fixture(scope="module")
def slim(tmp_path_factory) -> Path:
    """The sample district without the tables an import never reads (faster to load), for many dry runs."""
    folder = tmp_path_factory.mktemp("slim") / "district"
    return copy_sample(folder, ignore=("reactions.csv", "students.csv", "observations.csv", "attendance.csv",
                                       "learning.csv"))  # fmt: skip


@st.composite
def answer_sets(draw):
    k = draw(st.integers(2, 4))
    n = draw(st.integers(6, 9))
    scales, columns = [], []
    for _ in range(k):
        scale = SCALES[draw(st.sampled_from(sorted(SCALES)))]
        used = draw(st.lists(st.integers(0, len(scale) - 1), min_size=1, max_size=len(scale), unique=True))
        cells = []
        for _ in range(n):
            if draw(st.integers(0, 9)) == 0:
                cells.append("")  # not answered
                continue
            point = draw(st.sampled_from(used))
            spelling = draw(st.sampled_from(sorted(scale.points[point])))
            cells.append(draw(st.sampled_from([spelling, spelling.capitalize(), spelling.upper()])))
        if not any(cells):
            cells[0] = sorted(scale.points[used[0]])[0]
        scales.append(scale)
        columns.append(cells)
    injected = draw(st.lists(st.integers(0, k - 1), max_size=k - 1, unique=True))
    injections = {
        q: draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(OFF_SCALE)), min_size=1, max_size=2,
                         unique_by=lambda t: t[0]))
        for q in injected
    }  # fmt: skip
    return scales, columns, injections


def _fit_codes(labels: set[str]) -> set[tuple]:
    """How the library scales holding every label would code them (one tuple per way)."""
    keys = sorted({normal(v) for v in labels})
    return {tuple(s.code(v) for v in keys) for s in SCALES.values() if set(keys) <= s.labels()}


def test_off_scale_labels_are_sound_test_data():
    for label in OFF_SCALE:
        assert not recognized(label, SCALES.values()) and normal(label) not in NOT_A_RATING


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=answer_sets())
def test_each_question_is_coded_on_its_own_scale_and_off_scale_labels_are_named(case, slim):
    scales, columns, injections = case
    texts = NEW_TEXTS[: len(columns)]
    emails = [fx.email(f"E{i:04d}") for i in range(4, 4 + len(columns[0]))]
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore", ContractWarning)
        clean = xs.form(texts, [list(row) for row in zip(*columns)], emails=emails)
        path = xs.google_download(clean, Path(tmp) / "clean.csv")
        # 1. no injection: every question coded on a scale holding all its labels, each code that scale's
        mapping = ImportMapping()
        try:
            summary = import_export("google", path, slim, session="PL02", dry_run=True)
        except ContractError as exc:
            named = {}
            for problem in exc.problems:
                assert "answers that tell which scale the form used" in problem.expected, problem
                j = texts.index(problem.column)
                labels = {v for v in columns[j] if v}
                assert len(_fit_codes(labels)) > 1, (labels, problem)  # truly ambiguous
                named[texts[j]] = QuestionMap(scale=scales[j].name)
            mapping = ImportMapping(questions=named)
            summary = import_export("google", path, slim, session="PL02", dry_run=True, mapping=mapping)
        codes = {}
        for j, text in enumerate(texts):
            coding = coding_of(summary, text)
            scale = SCALES[coding.scale]
            labels = {normal(v) for v in columns[j] if v}
            assert labels <= scale.labels() and set(coding.labels) == labels
            assert all(coding.labels[v] == scale.code(v) for v in labels)
            assert sum(coding.counts.values()) == sum(bool(v) for v in columns[j])
            if text in mapping.questions:
                assert scale.name == scales[j].name
            codes[text] = dict(coding.labels)
        if not injections:
            return
        # 2. off-scale labels injected: the import stops naming each one (row, column, label), writes nothing
        dirty_columns = [list(c) for c in columns]
        for j, cells in injections.items():
            for row, label in cells:
                dirty_columns[j][row] = label
        dirty = xs.form(texts, [list(row) for row in zip(*dirty_columns)], emails=emails)
        dirty_path = xs.google_download(dirty, Path(tmp) / "dirty.csv")
        before = snapshot(slim)
        with pytest.raises(ContractError) as caught:
            import_export("google", dirty_path, slim, session="PL02", mapping=mapping)
        assert snapshot(slim) == before
        found = {(p.row, p.column, p.value) for p in caught.value.problems}
        wanted = {(row + 2, texts[j], label) for j, cells in injections.items() for row, label in cells}
        assert found == wanted
        # 3. the other questions' codes are unchanged by the injected labels (the codebook of the dirty export)
        export = read_export("google", dirty_path)
        codings, _, _ = code_questions(export, items(slim), mapping, staff=False, known_scales={}, schools=None)
        for coding in codings:
            if texts.index(coding.question.text) not in injections:
                assert coding.labels == codes[coding.question.text]
