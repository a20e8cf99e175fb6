"""Real district data in: survey-tool exports, Excel workbooks, the starter kit (issue #15)."""

from __future__ import annotations

import csv
import datetime
import shutil
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from plevaluate import evaluate, load
from plevaluate.cli import main
from plevaluate.contract import TABLES
from plevaluate.errors import ContractError, ContractWarning
from plevaluate.intake import ImportMapping, import_export, import_history, undo_import
from plevaluate.levels.reactions import evaluate_reactions
from plevaluate.scales import SCALES, choose
from plevaluate.starter import ITEM_BANK, write_starter

from . import intake_fixtures as fx

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SECRET = "district-held secret, 2026"


def quiet_load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)
        return load(path)


@pytest.fixture
def district(tmp_path: Path) -> Path:
    """The sample district without reactions.csv, its educators' e-mails in the private email column."""
    return fx.copy_sample(SAMPLE, tmp_path / "district", ignore=("reactions.csv",))


@pytest.fixture
def anonymous_district(district: Path) -> Path:
    """The same, without the email column: respondents get pseudonymous keys."""
    educators = pd.read_csv(district / "educators.csv", dtype=str, keep_default_na=False)
    educators.drop(columns="email").to_csv(district / "educators.csv", index=False)
    return district


def reactions(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "reactions.csv", dtype=str, keep_default_na=False)


def files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file())


# ----------------------------------------------------------------------------------------------
# Each source, on a fixture with the real export's header shape
# ----------------------------------------------------------------------------------------------

SOURCES = [
    ("google", "google.csv", fx.google),
    ("msforms", "msforms.xlsx", fx.msforms),
    ("qualtrics", "qualtrics.csv", fx.qualtrics_csv),
    ("qualtrics", "qualtrics.tsv", fx.qualtrics_tsv),
    ("qualtrics", "qualtrics.sav", fx.sav),
    ("surveymonkey", "surveymonkey.csv", fx.surveymonkey_csv),
    ("surveymonkey", "surveymonkey.xlsx", fx.surveymonkey_xlsx),
    ("surveymonkey", "surveymonkey.sav", lambda d, s, o: fx.sav(d, s, o, tool="surveymonkey")),
]


@pytest.mark.slow
@pytest.mark.parametrize(("source", "name", "make"), SOURCES, ids=[s[1] for s in SOURCES])
def test_each_source_imports_the_sessions_answers_exactly(source, name, make, district, tmp_path):
    export = make(SAMPLE, "PL02", tmp_path / name)
    summary = import_export(source, export, district, session="PL02")
    expected = fx.answers(SAMPLE, "PL02").melt(id_vars=["response_id", "educator_id"], var_name="item_id")
    expected = expected[expected["value"] != ""]
    got = reactions(district)
    assert summary.responses == expected["response_id"].nunique() == got["response_id"].nunique()
    # SurveyMonkey's fixture has an open-ended "Any other comments?" (every 7th response): kept as comments (#33)
    comments = {"comments": summary.comments} if source == "surveymonkey" and not name.endswith(".sav") else {}
    assert summary.comments == (len(range(0, summary.responses, 7)) if comments else 0)
    assert summary.linked == summary.responses and summary.written == {"reactions": len(expected), **comments}
    assert set(summary.matched.values()) == set(expected["item_id"]) and not summary.added
    pairs = lambda f, v: sorted(zip(f["educator_id"], f["item_id"], f[v].astype(float)))  # noqa: E731
    assert pairs(got, "response") == pairs(expected, "value")
    assert set(got["session_id"]) == {"PL02"}
    school = pd.read_csv(district / "educators.csv", dtype=str).set_index("educator_id")["school_id"]
    assert (got["school_id"] == got["educator_id"].map(school)).all()
    quiet_load(district)  # the folder still validates
    # the same export again (a duplicated download): nothing added, and the summary says so
    again = import_export(source, export, district, session="PL02")
    assert again.written == {"reactions": 0, **dict.fromkeys(comments, 0)} and reactions(district).equals(got)


def test_google_forms_messy_export(district, tmp_path):
    # A question added mid-year (blank for earlier responses), blank answers, a label with a trailing space and
    # odd case, an "N/A", a repeated row, non-ASCII names in a Name question.
    path = fx.google(SAMPLE, "PL01", tmp_path / "google.csv")
    rows = list(csv.reader(path.open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    header += ["Your name", "How much do you agree with each statement? [I will try this in my class next week.]",
               "I e-mail families about our math talk routines."]  # fmt: skip
    for i, row in enumerate(body):
        row += [fx.person(i)["name"], "" if i < 40 else fx.AGREEMENT[3 + i % 2], fx.AGREEMENT[i % 5]]
    body[3][2] = "strongly AGREE "  # trailing space, odd case
    body[4][3] = ""  # a blank answer
    body[5][4] = "N/A"  # not a score
    body.append(list(body[7]))  # the same response twice in one export
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *body])

    summary = import_export("google", path, district, session="PL01")
    got = reactions(district)
    new_item, mentions_email = summary.added  # a question that mentions e-mail is a question, not a personal column
    assert mentions_email.endswith("(new_agreement_5, agreement-5): I e-mail families about our math talk routines.")
    item_id = new_item.split()[0]
    # a new row of a grid: its construct is proposed from the grid's question, its scale from the grid's rows
    assert new_item == f"{item_id} (agree_statement, agreement-5): I will try this in my class next week."
    assert (got["item_id"] == item_id).sum() == len(body) - 1 - 40  # only those who were asked
    assert "Your name" in summary.personal and "Email Address" in summary.personal
    assert "1 row(s) repeat an earlier response in the export; read once" in summary.notes
    assert summary.responses == len(body) - 1
    first_c1 = got[(got["educator_id"] == fx.answers(SAMPLE, "PL01").loc[3, "educator_id"]) & (got["item_id"] == "C2")]
    assert first_c1["response"].tolist() == ["5"]
    na = got[(got["educator_id"] == fx.answers(SAMPLE, "PL01").loc[5, "educator_id"]) & (got["item_id"] == "C3")]
    assert na["response"].tolist() == [""]  # answered N/A: a row with no score
    items = pd.read_csv(district / "survey_items.csv", dtype=str).set_index("item_id")
    assert items.loc[item_id, ["construct", "scale_min", "scale_max", "level"]].tolist() == [
        "agree_statement",
        "1",
        "5",
        "1",
    ]
    for who in fx.FIRST + fx.LAST:
        assert who not in files_text(district)

    again = import_export("google", path, district, session="PL01")
    assert again.written == {"reactions": 0} and again.already["reactions"] == len(got)
    assert "nothing new: these responses had been imported already" in str(again)
    assert reactions(district).equals(got)


def test_an_unrecognized_label_is_an_error_naming_column_row_and_label(district, tmp_path):
    path = fx.google(SAMPLE, "PL01", tmp_path / "google.csv")
    rows = list(csv.reader(path.open(encoding="utf-8")))
    rows[6][5] = "Agreee"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    before = files_text(district)
    with pytest.raises(ContractError) as caught:
        import_export("google", path, district, session="PL01")
    message = str(caught.value)
    assert "google.csv:" in message and "row 7" in message and "value 'Agreee'" in message
    assert rows[0][5] in message and "a label of the agreement-5 scale" in message
    assert files_text(district) == before  # nothing written


def test_scales_are_recognized_in_any_case_and_spacing_and_ambiguity_is_reported():
    assert SCALES["agreement-5"].code("  Neither agree  nor DISAGREE ") == 3
    assert SCALES["frequency-5"].code("Often") == 4 and SCALES["quality-4"].code("excellent") == 4
    choice = choose(["Agree", "Strongly agree", "Disagree"], SCALES.values())  # no unused point inside agreement-4
    assert choice.scale.name == "agreement-4" and [s.name for s in choice.longer] == [
        "agreement-5",
        "agreement-6",
        "agreement-7",
    ]
    assert choose(["Agree", "Neutral", "Disagree"], SCALES.values()).scale.name == "agreement-5"
    assert choose(["Agree", "Neutral"], SCALES.values()).ambiguous  # two points chosen: 5 or 7 points?
    assert choose(["Agree", "Sometimes"], SCALES.values()).fits == ()
    assert choose(["Agree", "Strongly agree"], SCALES.values()).ambiguous  # 4, 5, 6 or 7 points: the user says


def test_unmatched_question_with_mapping_and_custom_scale(district, tmp_path):
    path = tmp_path / "forms.csv"
    path.write_text(
        "Timestamp,How ready do you feel to lead a number talk?,Rate the snacks\n"
        "2025/08/20 3:00:00 PM MDT,Very ready,Good\n"
        "2025/08/20 3:01:00 PM MDT,Not at all ready,Excellent\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "map.yml"
    mapping.write_text(
        "scales:\n  readiness: [Not at all ready, Somewhat ready, Ready, Very ready]\n"
        "questions:\n"
        "  How ready do you feel to lead a number talk?: {item: R1, construct: readiness, scale: readiness}\n"
        "  Rate the snacks: {skip: true}\n",
        encoding="utf-8",
    )
    summary = import_export("google", path, district, session="PL01", mapping=mapping)
    assert summary.added == ["R1 (readiness, readiness): How ready do you feel to lead a number talk?"]
    assert reactions(district)["response"].tolist() == ["4", "1"]
    assert summary.anonymous == 2 and "Rate the snacks: skipped by the mapping file" in summary.skipped


def test_numeric_qualtrics_values_use_the_items_scale(district, tmp_path):
    path = fx.qualtrics_csv(SAMPLE, "PL03", tmp_path / "numeric.csv", numeric=True)
    summary = import_export("qualtrics", path, district, session="PL03")
    assert summary.written["reactions"] == (fx.answers(SAMPLE, "PL03").iloc[:, 2:] != "").sum().sum()


@pytest.mark.slow
def test_no_personal_data_enters_the_folder(anonymous_district, tmp_path):
    folder = anonymous_district
    before = files_text(folder)  # educators.csv's own name column is private data already there
    people = []
    for source, name, make in SOURCES:
        session = "PL04" if source != "msforms" else "PL05"
        export = make(SAMPLE, session, tmp_path / name)
        summary = import_export(source, export, folder, session=session, secret=SECRET)
        assert summary.pseudonymous == summary.responses and summary.linked == 0
    answers = fx.answers(SAMPLE, "PL04")
    for i in range(len(answers)):
        who = fx.person(i)
        people += [who["name"], who["first"], who["last"], who["ip"], who["lat"], who["lon"], who["custom"]]
    people += [fx.email(e) for e in answers["educator_id"]] + ["@district.example", SECRET]
    text = files_text(folder)
    found = sorted({p for p in people if p in text and p not in before})
    assert found == [], found[:10]
    got = reactions(folder)
    # one key per person, the same from every tool and every session: it links surveys without naming anyone
    assert got["respondent"].str.match(r"^p-[0-9a-f]{16}$").all()
    assert got.loc[got["session_id"] == "PL04", "respondent"].nunique() == len(answers)
    both = set(answers["educator_id"]) & set(fx.answers(SAMPLE, "PL05")["educator_id"])
    shared = set(got.loc[got["session_id"] == "PL04", "respondent"]) & set(
        got.loc[got["session_id"] == "PL05", "respondent"]
    )
    assert len(shared) == len(both) > 0
    assert got["educator_id"].eq("").all()


def test_the_command_prints_what_it_read_and_wrote(district, tmp_path, capsys):
    export = fx.qualtrics_csv(SAMPLE, "PL01", tmp_path / "qualtrics.csv")
    assert main(["import", "qualtrics", str(export), "--into", str(district), "--session", "PL01"]) == 0
    out = capsys.readouterr().out
    n = len(fx.answers(SAMPLE, "PL01"))
    assert f"read {n} response(s): {n} linked to educators by e-mail" in out
    assert "wrote " in out and "row(s) to reactions.csv" in out
    # the codebook comes first: each question -> item, construct, level, scale, and label=code x count
    assert out.index("codebook") < out.index("read ")
    assert "[matched C1 by text] How much do you agree with each statement? - The content is relevant to my" in out
    assert "content, level 1, agreement-5 (1-5): " in out and "strongly agree=5 x" in out
    assert "recorded as import 1 (undo: plevaluate import --undo 1" in out
    assert "personal columns dropped (never written): IPAddress, RecipientLastName, RecipientFirstName, " in out
    assert main(["import", "qualtrics", str(export), "--into", str(district), "--session", "PL99"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("plevaluate could not import qualtrics.csv: 1 problem") and "Add a row for PL99 to" in err


def test_a_secret_inside_the_data_folder_is_refused(anonymous_district, tmp_path, capsys):
    export = fx.google(SAMPLE, "PL01", tmp_path / "google.csv")
    (anonymous_district / "secret.txt").write_text(SECRET)
    code = main(["import", "google", str(export), "--into", str(anonymous_district), "--session", "PL01",
                 "--secret-file", str(anonymous_district / "secret.txt")])  # fmt: skip
    assert code == 2 and "is inside the data folder" in capsys.readouterr().err
    code = main(["import", "google", str(export), "--into", str(anonymous_district), "--session", "PL01"])
    assert code == 1 and "PLEVALUATE_SECRET" in capsys.readouterr().err


@pytest.mark.slow
def test_level_1_results_equal_those_from_the_hand_built_table(district, tmp_path):
    # Every session of the sample, each from a different tool; then level 1 is computed from the import and
    # from the sample's own reactions.csv (without its blank answers, which an export leaves blank).
    makers = {
        "google": fx.google,
        "msforms": fx.msforms,
        "qualtrics": fx.qualtrics_csv,
        "surveymonkey": fx.surveymonkey_csv,
    }
    sessions = sorted(pd.read_csv(SAMPLE / "reactions.csv", dtype=str)["session_id"].unique())
    for n, session in enumerate(sessions):
        source = list(makers)[n % len(makers)]
        export = makers[source](SAMPLE, session, tmp_path / f"{session}.{'xlsx' if source == 'msforms' else 'csv'}")
        import_export(source, export, district, session=session)
    hand = tmp_path / "hand"
    shutil.copytree(district, hand)
    original = pd.read_csv(SAMPLE / "reactions.csv", dtype=str, keep_default_na=False)
    original[original["response"] != ""].to_csv(hand / "reactions.csv", index=False)
    imported, built = evaluate_reactions(quiet_load(district)), evaluate_reactions(quiet_load(hand))
    assert set(imported.tables) == set(built.tables)
    for name, table in built.tables.items():
        other = imported.tables[name]
        keys = list(table.select_dtypes(exclude="number").columns)
        pd.testing.assert_frame_equal(
            table.sort_values(keys).reset_index(drop=True), other.sort_values(keys).reset_index(drop=True), obj=name
        )
    assert imported.notes == built.notes


# ----------------------------------------------------------------------------------------------
# The generic sheet: walkthrough forms and pre/post assessments
# ----------------------------------------------------------------------------------------------


def test_walkthrough_sheet_with_the_starter_mapping(district, tmp_path):
    kit = tmp_path / "kit"
    write_starter(kit)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Form Responses 1"
    questions = ["Timestamp", "Email Address", "Date of the visit", "School", "Teacher ID",
                 "Was the practice observed?", "Rating (1-4)", "Level of use", "Your role", "Notes"]  # fmt: skip
    sheet.append(questions)
    schools = pd.read_csv(district / "schools.csv", dtype=str)
    for i in range(6):
        sheet.append([datetime.datetime(2026, 3, 2, 9, i), "coach@district.example", datetime.date(2026, 3, 2),
                      schools["school_name"][0], "E0004", "Yes" if i % 2 else "No", i % 4 + 1, "III",
                      "coach", f"talked with {fx.person(i)['name']}"])  # fmt: skip
    book.save(tmp_path / "walks.xlsx")
    before = len(pd.read_csv(district / "observations.csv"))
    summary = import_export("sheet", tmp_path / "walks.xlsx", district, mapping=kit / "kit" / "walkthrough_mapping.yml")
    after = pd.read_csv(district / "observations.csv", dtype=str)
    assert summary.written == {"observations": 6} and len(after) == before + 6
    added = after.tail(6)
    assert set(added["school_id"]) == {schools["school_id"][0]} and added["observation_id"].str.startswith("o-").all()
    assert "Email Address" in summary.personal and "Notes: not in the mapping file" in summary.skipped
    assert "talked with" not in files_text(district) and "coach@district.example" not in files_text(district)
    assert import_export(
        "sheet", tmp_path / "walks.xlsx", district, mapping=kit / "kit" / "walkthrough_mapping.yml"
    ).written == {"observations": 0}


def test_pre_post_assessment_sheet_in_wide_form(district, tmp_path):
    sheet = tmp_path / "scores.csv"
    sheet.write_text("Teacher,Pre-test,Post-test\nE0004,12,20\nE0005,15,\nE0006,x,22\n", encoding="utf-8")
    mapping = tmp_path / "map.yml"
    mapping.write_text(
        "table: learning\ncolumns:\n  educator_id: Teacher\n  assessment_id: {value: MKT-2}\n  max_score: {value: '30'}\n"
        "wide:\n  column: score\n  by: occasion\n  from: {Pre-test: pre, Post-test: post}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError) as caught:
        import_export("sheet", sheet, district, mapping=mapping)
    assert "scores.csv (as learning.csv):\n  - row 4, column 'score', value 'x': expected a number" in str(caught.value)
    sheet.write_text("Teacher,Pre-test,Post-test\nE0004,12,20\nE0005,15,\nE0006,14,22\n", encoding="utf-8")
    summary = import_export("sheet", sheet, district, mapping=mapping)
    added = pd.read_csv(district / "learning.csv", dtype=str).query("assessment_id == 'MKT-2'")
    assert summary.written == {"learning": 5} and sorted(added["occasion"]) == ["post", "post", "pre", "pre", "pre"]


# ----------------------------------------------------------------------------------------------
# Excel workbooks as data
# ----------------------------------------------------------------------------------------------


def sample_workbook(path: Path) -> Path:
    """The sample district as one workbook, typed as a person would keep it: numbers, dates and flags as such."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for spec in TABLES.values():
        file = SAMPLE / spec.filename
        if not file.exists():
            continue
        rows = list(csv.reader(file.open(encoding="utf-8")))
        kinds = {c.name: c.kind for c in spec.columns}
        sheet = book.create_sheet(spec.name)
        sheet.append(rows[0])
        for row in rows[1:]:
            cells = []
            for name, value in zip(rows[0], row):
                kind = kinds.get(name)
                if value == "":
                    cells.append(None)
                elif kind in ("number", "integer"):
                    cells.append(float(value) if "." in value else int(value))
                elif kind == "date":
                    cells.append(datetime.date.fromisoformat(value))
                elif kind == "bool" and value.lower() in ("true", "false"):
                    cells.append(value.lower() == "true")
                else:
                    cells.append(value)
            sheet.append(cells)
    book.save(path)
    shutil.copy(SAMPLE / "plan.yml", path.parent / "plan.yml")
    shutil.copy(SAMPLE / "codebook.yml", path.parent / "codebook.yml")  # beside the workbook, as plan.yml is
    return path


@pytest.mark.slow
def test_a_workbook_of_the_sample_loads_to_the_same_tables(tmp_path):
    book = sample_workbook(tmp_path / "district.xlsx")
    from_csv, from_book = quiet_load(SAMPLE), quiet_load(book)
    assert set(from_csv.tables) == set(from_book.tables)
    for name, frame in from_csv.tables.items():
        pd.testing.assert_frame_equal(frame, from_book.tables[name], obj=name)


@pytest.mark.slow
def test_an_import_into_a_workbook_district_appends_to_its_sheets_and_undoes_byte_for_byte(tmp_path):
    book = sample_workbook(tmp_path / "district.xlsx")
    wb = openpyxl.load_workbook(book)
    sheet = wb["educators"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=1, column=len(header) + 1, value="email")
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=len(header) + 1, value=fx.email(sheet.cell(row=row, column=1).value))
    wb.save(book)
    before = book.read_bytes()
    others = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and p != book}
    session_rows = (pd.read_csv(SAMPLE / "reactions.csv", dtype=str)["session_id"] == "PL03").sum()
    (tmp_path / "exports").mkdir()
    export = fx.google(SAMPLE, "PL03", tmp_path / "exports" / "pl03.csv")
    summary = import_export("google", export, book, session="PL03")
    assert summary.written["reactions"] > 0 and summary.import_id == 1
    grown = quiet_load(book).reactions
    assert len(grown) == len(quiet_load(SAMPLE).reactions) + summary.written["reactions"]
    assert summary.written["reactions"] <= session_rows  # (the sample's own PL03 rows have other response IDs)
    again = import_export("google", export, book, session="PL03")
    assert not any(again.written.values())  # the same export again adds nothing
    assert import_history(book).count("pl03.csv") == 1
    undo_import(book, 1)
    assert book.read_bytes() == before  # the workbook restored byte for byte
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and p != book} == others
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".plevaluate-imports")]  # no history is left


@pytest.mark.slow
def test_a_bad_cell_in_a_sheet_is_named_by_sheet_row_and_column(tmp_path):
    book_path = sample_workbook(tmp_path / "district.xlsx")
    book = openpyxl.load_workbook(book_path)
    book["observations"]["E5"] = "maybe"
    book["schools"].title = "Schools.csv"  # sheet names as file names, any case
    book.save(book_path)
    with pytest.raises(ContractError) as caught:
        load(book_path)
    assert "district.xlsx, sheet observations:\n  - row 5, column 'practice_observed', value 'maybe'" in str(
        caught.value
    )


def test_xlsx_files_in_place_of_csvs(tmp_path):
    folder = tmp_path / "district"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("truth.json"))
    book = openpyxl.Workbook()
    rows = list(csv.reader((folder / "schools.csv").open(encoding="utf-8")))
    for row in rows:
        book.active.append([int(v) if v.isdigit() else v for v in row])
    book.save(folder / "schools.xlsx")
    with pytest.raises(ContractError, match="one file per table, but schools is given as"):
        load(folder)
    (folder / "schools.csv").unlink()
    pd.testing.assert_frame_equal(quiet_load(folder).schools, quiet_load(SAMPLE).schools)


# ----------------------------------------------------------------------------------------------
# The starter kit
# ----------------------------------------------------------------------------------------------


def test_init_then_validate_passes_with_no_evidence_warnings(tmp_path, capsys):
    folder = tmp_path / "new"
    assert main(["init", str(folder)]) == 0
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "no evidence collected yet" in out and "OK:" in out
    items = pd.read_csv(folder / "survey_items.csv", dtype=str)
    assert len(items) == len(ITEM_BANK) and set(items["level"]) == {"1", "3"}
    bank = (folder / "kit" / "item_bank.md").read_text(encoding="utf-8")
    assert all(text in bank for _, _, text, _, _ in ITEM_BANK)
    plan = (folder / "plan.yml").read_text(encoding="utf-8")
    for key in ("min_n:", "comparison_design:", "reactions:", "outcomes:", "discount_rate:", "observable_practice:"):
        assert key in plan
    book = openpyxl.load_workbook(folder / "kit" / "tables.xlsx")
    assert book.sheetnames == list(TABLES)
    assert "Required." in book["schools"]["A1"].comment.text
    assert main(["init", str(folder)]) == 2  # never over a folder with anything in it
    # a workbook kept next to plan.yml validates too
    shutil.copy(folder / "kit" / "tables.xlsx", tmp_path / "tables.xlsx")
    shutil.copy(folder / "plan.yml", tmp_path / "plan.yml")
    with pytest.warns(ContractWarning, match="no evidence collected yet"):
        load(tmp_path / "tables.xlsx")


def test_a_starter_folder_takes_an_import_once_schools_and_educators_are_in(tmp_path):
    folder = tmp_path / "new"
    write_starter(folder)
    shutil.copy(SAMPLE / "schools.csv", folder / "schools.csv")
    educators = pd.read_csv(SAMPLE / "educators.csv", dtype=str, keep_default_na=False)
    educators["email"] = educators["educator_id"].map(fx.email)
    educators.to_csv(folder / "educators.csv", index=False)
    (folder / "sessions.csv").write_text("session_id,date,format,hours\nPL01,2025-08-20,workshop,6\n")
    summary = import_export("google", fx.google(SAMPLE, "PL01", tmp_path / "g.csv", grid=False), folder, session="PL01")
    # the bank's wording differs from the sample's for C3 and P3: those become new items, listed
    assert summary.matched and summary.linked == summary.responses
    assert {a.split(":")[1].strip() for a in summary.added} >= {"The content fits our curriculum."}

    write_starter(tmp_path / "empty")
    with pytest.raises(ValueError, match="schools.csv lists no schools yet"):
        evaluate(quiet_load(tmp_path / "empty"))


def test_one_import_at_a_time(district, tmp_path):
    from plevaluate.intake import _one_at_a_time

    export = fx.google(SAMPLE, "PL01", tmp_path / "google.csv")
    before = sorted(p.name for p in district.iterdir())
    with _one_at_a_time(district):  # another import holding the folder
        with pytest.raises(ValueError, match="wait for that import to finish"):
            import_export("google", export, district, session="PL01")
    assert sorted(p.name for p in district.iterdir()) == before  # no lock file left behind
    assert not (district / "reactions.csv").exists()
    assert import_export("google", export, district, session="PL01").written["reactions"] > 0


def test_every_mapping_key_is_documented_in_the_help_and_the_docs(capsys):
    from plevaluate.intake.mapping import QuestionMap

    # the mapping file is documented in the program evaluator's guide (it was the README's until #30)
    readme = (Path(__file__).resolve().parents[1] / "docs" / "evaluator.md").read_text(encoding="utf-8")
    assert main(["import", "--help-mapping"]) == 0
    printed = capsys.readouterr().out
    for model in (ImportMapping, QuestionMap):
        for name, spec in model.model_fields.items():
            key = spec.alias or name
            assert key in printed, key
            assert f"`{key}`" in readme or f"{key}:" in readme, key


def test_an_external_reference_column_links_respondents_and_is_never_written(anonymous_district, tmp_path):
    # Qualtrics' ExternalReference holding each invitee's educator_id: linked without e-mails in educators.csv
    path = fx.qualtrics_csv(SAMPLE, "PL04", tmp_path / "q.csv")
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    column = rows[0].index("ExternalReference")
    people = fx.answers(SAMPLE, "PL04")["educator_id"]
    for row, educator in zip(rows[3:], people):
        row[column] = educator.lower()  # any case
    rows[4][column] = "E9999"  # not in educators.csv
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    mapping = tmp_path / "map.yml"
    mapping.write_text("respondent_id_question: ExternalReference\n")
    with pytest.raises(ContractError) as caught:
        import_export("qualtrics", path, anonymous_district, session="PL04", mapping=mapping)
    message = str(caught.value)
    assert "row 5" in message and "ExternalReference" in message and "E9999" not in message  # an ID: not echoed
    rows[4][column] = people[1]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    summary = import_export("qualtrics", path, anonymous_district, session="PL04", mapping=mapping)
    assert summary.linked == summary.responses and "ExternalReference" in summary.personal
    assert "linked to educators by their ID (ExternalReference)" in str(summary)
    got = reactions(anonymous_district)
    assert set(got.loc[got["session_id"] == "PL04", "educator_id"]) >= set(people) - {people[1]}


def test_a_missing_workbook_district_is_not_told_to_run_init(tmp_path, capsys):
    export = fx.google(SAMPLE, "PL01", tmp_path / "g.csv")
    assert main(["import", "google", str(export), "--into", str(tmp_path / "district.xlsx"), "--session", "PL01"]) == 1
    err = capsys.readouterr().err
    assert "Check the workbook's path" in err and "plevaluate init " + str(tmp_path) not in err
