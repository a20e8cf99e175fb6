"""The data contract: every rule of issue #2, each asserting the message a user reads."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import plevaluate
from plevaluate import ContractError, ContractWarning, load


def read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def write(folder: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False, lineterminator="\n")


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Set the cell at CSV row ``row`` (header = row 1)."""
    frame = read(folder, table)
    frame.loc[row - 2, column] = value
    write(folder, table, frame)


def errors_of(folder: Path) -> str:
    with pytest.raises(ContractError) as caught:
        load(folder)
    return str(caught.value)


def test_tiny_district_loads_cleanly(tiny):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        district = load(tiny)
    assert district.has("observations") and len(district.schools) == 3


def test_missing_required_column(tiny):
    write(tiny, "schools", read(tiny, "schools").drop(columns=["group"]))
    message = errors_of(tiny)
    assert "schools.csv" in message
    assert "column 'group': required column 'group' is missing (required: school_id, school_name, group)" in message
    assert "Fix: Add a 'group' column." in message


def test_misspelled_column_suggests_the_contract_name(tiny):
    write(tiny, "observations", read(tiny, "observations").rename(columns={"school_id": "school"}))
    message = errors_of(tiny)
    assert "observations.csv" in message
    assert "required column 'school_id' is missing" in message
    assert "Did you mean 'school'? Rename that column to 'school_id'." in message


def test_case_difference_in_column_is_suggested(tiny):
    write(tiny, "schools", read(tiny, "schools").rename(columns={"group": "Group"}))
    assert "Did you mean 'Group'?" in errors_of(tiny)


@pytest.mark.parametrize(
    ("table", "column", "value", "expected"),
    [
        ("educators", "school_id", "S77", "expected a school_id listed in schools.csv"),
        ("attendance", "educator_id", "E9999", "expected a educator_id listed in educators.csv"),
        ("attendance", "session_id", "PL99", "expected a session_id listed in sessions.csv"),
        ("reactions", "item_id", "C9", "expected a item_id listed in survey_items.csv"),
    ],
)
def test_unknown_reference(tiny, table, column, value, expected):
    set_cell(tiny, table, 3, column, value)
    message = errors_of(tiny)
    assert f"{table}.csv:\n  - row 3, column '{column}', value '{value}': {expected}." in message
    assert f"add {value} to" in message


def test_unknown_reference_suggests_a_close_id(tiny):
    set_cell(tiny, "educators", 2, "school_id", "S001")
    assert "Did you mean 'S01'?" in errors_of(tiny)


def test_duplicate_primary_key(tiny):
    frame = read(tiny, "schools")
    frame.loc[2, "school_id"] = "S01"  # CSV row 4 repeats S01 of row 2
    write(tiny, "schools", frame)
    message = errors_of(tiny)
    assert "row 4, column 'school_id': expected each school_id once; school_id=S01 is also in row 2." in message


def test_duplicate_composite_key(tiny):
    frame = read(tiny, "attendance")
    write(tiny, "attendance", pd.concat([frame, frame.iloc[[0]]], ignore_index=True))
    message = errors_of(tiny)
    row = len(frame) + 2
    assert f"row {row}: expected each educator_id + session_id once" in message
    assert "is also in row 2" in message


def test_exact_duplicate_row_in_a_table_without_key(tiny):
    frame = read(tiny, "conditions")
    write(tiny, "conditions", pd.concat([frame, frame.iloc[[3]]], ignore_index=True))
    assert f"row {len(frame) + 2}: expected each row once; this row repeats an earlier one exactly" in errors_of(tiny)


def test_likert_response_outside_the_item_scale(tiny):
    set_cell(tiny, "reactions", 5, "response", "7")
    message = errors_of(tiny)
    assert "row 5, column 'response', value '7': expected a whole number from 1 to 5 (the scale of item" in message


def test_likert_scale_comes_from_the_item(tiny):
    items = read(tiny, "survey_items")
    items["scale_max"] = "7"
    write(tiny, "survey_items", items)
    set_cell(tiny, "reactions", 5, "response", "7")
    load(tiny)  # 7 is on a 1-7 scale


def test_non_numeric_score(tiny):
    set_cell(tiny, "learning", 2, "score", "12 pts")
    message = errors_of(tiny)
    assert "learning.csv:\n  - row 2, column 'score', value '12 pts': expected a number at least 0." in message
    assert "Remove text, units or thousands separators" in message


def test_unparseable_date(tiny):
    set_cell(tiny, "sessions", 3, "date", "Sept 10th")
    message = errors_of(tiny)
    assert "row 3, column 'date', value 'Sept 10th': expected a date such as 2025-09-15 (YYYY-MM-DD)" in message


@pytest.mark.parametrize("value", ["-2", "45000", "0", "1899-12-31", "2100-01-01"])
def test_a_number_or_a_far_year_in_a_date_column_is_an_error_not_a_crash(tiny, value):
    # '-2' once parsed as the year -2 and crashed load with pandas' OutOfBoundsDatetime (found by a messy-export trial)
    set_cell(tiny, "sessions", 3, "date", value)
    message = errors_of(tiny)
    assert f"row 3, column 'date', value '{value}': expected a date such as 2025-09-15 (YYYY-MM-DD)" in message


def test_us_dates_are_read(tiny):
    set_cell(tiny, "sessions", 3, "date", "9/10/2025")
    # one date with slashes, both numbers 12 or less: read month first (US exports), with a warning
    with pytest.warns(ContractWarning, match="could be month/day or day/month"):
        assert load(tiny).sessions.loc[3, "date"] == pd.Timestamp("2025-09-10")


def test_occasion_must_be_pre_or_post(tiny):
    set_cell(tiny, "learning", 4, "occasion", "middle")
    assert "row 4, column 'occasion', value 'middle': expected one of pre, post." in errors_of(tiny)


def test_post_score_without_pre_score_warns(tiny):
    frame = read(tiny, "learning")
    first_pre = frame.index[frame["occasion"] == "pre"][0]
    educator = frame.loc[first_pre, "educator_id"]
    write(tiny, "learning", frame.drop(index=first_pre))
    has_post = (read(tiny, "learning")["educator_id"] == educator).any()
    assert has_post
    with pytest.warns(ContractWarning, match=r"1 post score\(s\) have none"):
        load(tiny)


def test_negative_cost(tiny):
    set_cell(tiny, "costs", 2, "amount", "-500")
    message = errors_of(tiny)
    assert "costs.csv:\n  - row 2, column 'amount', value '-500': expected a number at least 0." in message
    assert "Record a refund or credit by reducing the cost line it refunds" in message


def test_empty_required_table(tiny):
    (tiny / "schools.csv").write_text("")
    message = errors_of(tiny)
    assert "schools.csv:\n  - expected a header row and data rows, but the file is empty." in message
    assert "Export schools.csv again: it is required (one row per school)." in message


def test_header_only_required_table_is_a_starter_folder_not_data(tiny):
    # A header with no rows is a folder not filled in yet (plevaluate init): a warning. Rows elsewhere that
    # name its IDs are still errors, each naming the ID that is not listed.
    (tiny / "educators.csv").write_text("educator_id,school_id,role\n")
    message = errors_of(tiny)
    assert "educators.csv:\n  - no rows yet: list one row per educator; no evidence collected yet" in message
    assert "attendance.csv:\n  - column 'educator_id': educators.csv to list the " in message
    assert "but it has no rows yet. Fix: Fill in educators.csv first." in message
    for table in ("attendance", "reactions", "learning", "observations", "students"):
        (tiny / f"{table}.csv").unlink(missing_ok=True)
    with pytest.warns(ContractWarning, match="no evidence collected yet"):
        district = load(tiny)
    assert district.educators.empty and list(district.educators.columns) == ["educator_id", "school_id", "role"]


def test_header_only_optional_table_means_no_evidence(tiny):
    (tiny / "observations.csv").write_text("observation_id,date,school_id,educator_id,practice_observed\n")
    with pytest.warns(ContractWarning, match="no evidence collected yet"):
        district = load(tiny)
    assert not district.has("observations")


def test_missing_optional_table_is_not_an_error(tiny):
    (tiny / "students.csv").unlink()
    district = load(tiny)
    assert district.students is None
    summary = district.summary().set_index("table")
    assert summary.loc["students.csv", "status"] == "no evidence collected"


def test_missing_required_table(tiny):
    (tiny / "educators.csv").unlink()
    assert "educators.csv:\n  - expected a required table (one row per educator)." in errors_of(tiny)


def test_windows_1252_export_loads_with_a_warning(tiny):
    frame = read(tiny, "schools")
    frame.loc[0, "school_name"] = "Escuela Peña"
    (tiny / "schools.csv").write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("cp1252"))
    with pytest.warns(ContractWarning, match="the file is Windows-1252"):
        district = load(tiny)
    assert district.schools["school_name"].iloc[0] == "Escuela Peña"


def test_utf8_byte_order_mark(tiny):
    text = (tiny / "schools.csv").read_text(encoding="utf-8")
    (tiny / "schools.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    district = load(tiny)
    assert list(district.schools.columns[:3]) == ["school_id", "school_name", "group"]


def test_whitespace_around_ids_and_headers_is_normalized_with_a_warning(tiny):
    frame = read(tiny, "schools")
    frame.loc[1, "school_id"] = " S02 "
    frame = frame.rename(columns={"group": " group "})
    write(tiny, "schools", frame)
    with pytest.warns(ContractWarning) as caught:
        district = load(tiny)
    messages = " ".join(str(w.message) for w in caught)
    assert "spaces were removed from ' group '" in messages
    assert "spaces were removed from 1 value(s), first in row 3 (' S02 ')" in messages
    assert "S02" in set(district.schools["school_id"])


def test_numeric_looking_ids_keep_leading_zeros(tiny):
    for table in ("schools", "educators", "conditions", "observations", "students", "costs", "reactions", "comments"):
        frame = read(tiny, table)
        frame["school_id"] = frame["school_id"].replace({"S01": "007", "S02": "0042", "S09": "9"})
        write(tiny, table, frame)
    district = load(tiny)
    assert list(district.schools["school_id"]) == ["007", "0042", "9"]
    assert district.school("007").schools["school_id"].iloc[0] == "007"


def test_ragged_csv(tiny):
    lines = (tiny / "sessions.csv").read_text().splitlines()
    lines[3] = lines[3] + ",extra"
    (tiny / "sessions.csv").write_text("\n".join(lines) + "\n")
    message = errors_of(tiny)
    assert "sessions.csv:\n  - row 4: expected 6 fields like the header, found 7." in message
    assert "A value probably contains an unquoted comma" in message


def test_unreadable_csv_binary(tiny):
    (tiny / "sessions.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    assert "expected a CSV text file, but it is an Excel workbook (.xlsx or .xls) saved with a .csv name" in errors_of(
        tiny
    )


def test_unclosed_quote(tiny):
    (tiny / "sessions.csv").write_text('session_id,date,format,hours\nPL01,2025-08-20,workshop,"6\n')
    assert "a readable CSV file" in errors_of(tiny)


def test_every_problem_is_listed_at_once(tiny):
    set_cell(tiny, "sessions", 2, "hours", "lots")
    set_cell(tiny, "learning", 2, "occasion", "mid")
    set_cell(tiny, "costs", 3, "amount", "-1")
    with pytest.raises(ContractError) as caught:
        load(tiny)
    files = {p.file for p in caught.value.problems}
    assert files == {"sessions.csv", "learning.csv", "costs.csv"}
    assert str(caught.value).startswith(f"plevaluate could not load {tiny}: 3 problems in 3 files.")


def test_extra_columns_are_kept_and_near_misses_warned(tiny):
    frame = read(tiny, "schools")
    frame["principal_note"] = "x"
    frame["enrolment"] = "300"
    write(tiny, "schools", frame)
    with pytest.warns(ContractWarning, match="Did you mean 'enrollment'"):
        district = load(tiny)
    assert {"principal_note", "enrolment"} <= set(district.schools.columns)


def test_category_case_is_normalized_with_a_warning(tiny):
    set_cell(tiny, "sessions", 2, "format", "Learning Walk")
    with pytest.warns(ContractWarning, match="'Learning Walk' -> 'learning_walk'"):
        district = load(tiny)
    assert district.sessions.loc[2, "format"] == "learning_walk"


def test_misnamed_table_file_is_suggested(tiny):
    (tiny / "observations.csv").rename(tiny / "observation.csv")
    with pytest.warns(ContractWarning, match="not read. Fix: Did you mean observations.csv"):
        district = load(tiny)
    assert not district.has("observations")


def test_rubric_labels_and_levels_of_use_are_mapped(tiny):
    set_cell(tiny, "conditions", 2, "rating", "Developing")
    set_cell(tiny, "observations", 2, "level_of_use", "IVB")
    district = load(tiny)
    assert district.conditions.loc[2, "rating"] == 3
    assert district.observations.loc[2, "level_of_use"] == 5


def test_types_after_loading(sample_district):
    d = sample_district
    assert str(d.students["year"].dtype) == "Int64"
    assert d.sessions["date"].dtype.kind == "M"
    assert d.observations["practice_observed"].dtype == "boolean"
    assert d.schools.index.name == "csv_row" and d.schools.index[0] == 2


def test_school_view(sample_district):
    view = sample_district.school("S03")
    assert set(view.observations["school_id"]) == {"S03"}
    assert set(view.learning["educator_id"]) <= set(view.educators["educator_id"])
    with pytest.raises(KeyError, match="did you mean S03"):
        sample_district.school("S3")


def test_not_a_folder(tmp_path):
    with pytest.raises(ContractError, match="expected|a folder of CSV tables"):
        load(tmp_path / "nowhere")


def test_tables_spec_covers_the_design():
    assert set(plevaluate.TABLES) == {
        "schools",
        "educators",
        "sessions",
        "attendance",
        "costs",
        "survey_items",
        "reactions",
        "learning",
        "conditions",
        "observations",
        "students",
        "comments",
        "comment_codes",
        "quotes",
    }


@pytest.mark.parametrize(
    "text",
    [
        "school_id,school_name,group\n1,2,3\n4,5,6\n",
        "school_id,school_name,group\n1,2,3\n4,5,6",  # no line break at the end
        "school_id,school_name,group\r\n1,2,3\r\n\r\n4,5,6\r\n",  # Windows line breaks, a blank line
        "school_id,school_name,group\n\n1,2,3\n\n\n4,,6\n\n",
        "school_id,school_name,group\n",  # a header and no rows
        "school_id\n1\n\n2\n",  # required columns missing: no table either way
        "school_id, school_name ,group\n 1 ,2,3\n",  # spaces are kept in values, removed (with a warning) from names
        "school_id,school_name,group\nPeña,Ø,ü\n",
        # a header with letters of two bytes: its line was cut by byte, so 'group' came back as 'group\nS0' + ...
        "school_id,school_name,group,año_de_creación,niños_inscritos\nS01,Ø,participant,1,2\n",
    ],
)
@pytest.mark.parametrize("block", [1, 9, 1 << 23])
def test_plain_csv_files_read_by_pandas_give_the_csv_modules_table(text, block, monkeypatch):
    # Files with no quotes and every line as wide as the header are read by pandas' C parser (the fast path of
    # loading); the table, its row numbers and the problems found must be what the csv module's reading gives.
    import csv
    import io

    from plevaluate import contract
    from plevaluate.contract import TABLES, _from_records, _from_rows, _plain_csv, _Read

    monkeypatch.setattr(contract, "PLAIN_BLOCK", block)  # lines checked a block at a time: any block, one answer
    spec = TABLES["schools"]
    plain = _plain_csv(contract._in_blocks(text.encode("utf-8")))
    assert plain is not None
    fast = _from_rows(*plain, _Read(spec, None, ""))
    records = list(enumerate(csv.reader(io.StringIO(text, newline=""), strict=True), start=1))
    slow = _from_records(records, _Read(spec, None, ""))
    if slow.frame is None:
        assert fast.frame is None
    else:
        pd.testing.assert_frame_equal(fast.frame.astype(object), slow.frame)
    assert fast.problems == slow.problems


@pytest.mark.parametrize(
    "text",
    ['a,b\n"1,2",3\n', "a,b,c\n1,2\n", "a,b,c\n,,\n1,2,3\n", "a,b\r1,2\r", "a,b\n1,2\n3,4\n5,6\n7,8\n9,10,11\n"],
)
@pytest.mark.parametrize("block", [1, 4, 1 << 23])
def test_files_with_quotes_short_rows_or_blank_cells_only_are_read_by_the_csv_module(text, block, monkeypatch):
    from plevaluate import contract

    monkeypatch.setattr(contract, "PLAIN_BLOCK", block)  # a wide row in the last block is still seen
    assert (
        contract._plain_csv(contract._in_blocks(text.encode("utf-8"))) is None
    )  # the csv module reads them and words every problem (tests above)


@settings(max_examples=300, deadline=None)
@given(
    body=st.lists(
        st.sampled_from(["row", "row", "row", "blank", "any"]).flatmap(
            lambda kind: {  # rows of three fields (readable), blank lines, or any line (most are not readable)
                "row": st.lists(
                    st.lists(st.sampled_from(["a", "é", " ", "\t"]), max_size=4).map("".join), min_size=3, max_size=3
                ).map(",".join),
                "blank": st.sampled_from(["", "\r"]),
                "any": st.lists(st.sampled_from(["a", "é", ",", " ", "\t", "\r\n", "\n"]), max_size=12).map("".join),
            }[kind]
        ),
        max_size=12,
    ),
    block=st.sampled_from([1, 2, 3, 7, 20]),
)
def test_lines_checked_in_blocks_give_what_the_whole_file_gives(body, block):
    # `_plain_lines` checks a file's lines a block at a time (bounded memory on a large file): any cut of the file
    # gives the whole file's answer, and every table it reads is the csv module's
    import csv
    import io

    from plevaluate import contract
    from plevaluate.contract import TABLES, _from_records, _from_rows, _plain_csv, _Read

    text = "school_id,school_name,group\n" + "\n".join(body)
    whole = _plain_csv(contract._in_blocks(text.encode("utf-8")))
    saved = contract.PLAIN_BLOCK
    contract.PLAIN_BLOCK = block
    try:
        cut = _plain_csv(contract._in_blocks(text.encode("utf-8")))
    finally:
        contract.PLAIN_BLOCK = saved
    assert (whole is None) == (cut is None)
    event("read by pandas" if whole is not None else "left to the csv module")
    if whole is not None:
        assert whole[0] == cut[0] and list(whole[2]) == list(cut[2])
        pd.testing.assert_frame_equal(whole[1], cut[1])
        spec = TABLES["schools"]
        fast = _from_rows(*cut, _Read(spec, None, ""))
        records = list(enumerate(csv.reader(io.StringIO(text, newline=""), strict=True), start=1))
        slow = _from_records(records, _Read(spec, None, ""))
        assert (fast.frame is None) == (slow.frame is None) and fast.problems == slow.problems
        if fast.frame is not None:
            pd.testing.assert_frame_equal(fast.frame.astype(object), slow.frame)


def test_the_sample_loads_to_the_same_tables_through_either_reader(sample_district, monkeypatch):
    from plevaluate import contract

    monkeypatch.setattr(contract, "_plain_csv", lambda blocks, parse=None: None)
    slow = contract.load(Path(__file__).resolve().parents[1] / "data" / "sample")
    for name, table in sample_district.tables.items():
        pd.testing.assert_frame_equal(table, slow.tables[name], obj=name)


@pytest.mark.parametrize("block", [1, 64, 1 << 23])
def test_a_table_read_in_blocks_is_typed_and_checked_as_the_csv_module_reads_it(block, monkeypatch):
    # `_plain_csv` reads a large file a block at a time, each block's columns factorized on their own and joined; the
    # typed table and every problem (a warning counted over the whole column, with its first row; an error on its
    # own row) must be what the whole file read by the csv module gives, wherever the blocks are cut
    from plevaluate import contract
    from plevaluate.contract import TABLES, _from_records, _plain_csv, _Read, _type_columns

    monkeypatch.setattr(contract, "PLAIN_BLOCK", block)
    rows = ["student_id,school_id,year,outcome,prior_score,period,extra"]
    for k in range(60):
        sid = f" ST{k:03d}" if k % 17 == 3 else f"ST{k:03d}"  # padded IDs, counted across blocks
        outcome = "4OO" if k == 41 else ("n/a" if k % 23 == 5 else str(400 + k))  # an error late, blanks
        period = ["pre", "post", "Post", "PRE"][k % 4]  # normalized spellings, counted across blocks
        year = "2024" if k != 52 else "20x4"
        rows.append(f"{sid},S{k % 3:02d},{year},{outcome},{300 + k},{period},x{k % 5}")
        if k % 9 == 0:
            rows.append("")  # blank lines: no rows, but counted in the row numbers
    text = "\n".join(rows) + "\n"
    spec = TABLES["students"]

    def typed(read):
        return _type_columns(read), [str(p) for p in read.problems]

    plain = _plain_csv(contract._in_blocks(text.encode("utf-8")))
    assert plain is not None
    fast = contract._from_rows(*plain, _Read(spec, None, ""))
    import csv
    import io

    records = list(enumerate(csv.reader(io.StringIO(text, newline=""), strict=True), start=1))
    slow = _from_records(records, _Read(spec, None, ""))
    (fast_frame, fast_problems), (slow_frame, slow_problems) = typed(fast), typed(slow)
    pd.testing.assert_frame_equal(fast_frame, slow_frame)
    assert fast_problems == slow_problems
    assert any("spaces were removed from 4 value(s), first in row 6" in p for p in fast_problems)
    assert any("30 value(s) were normalized, e.g. row 5 'Post'" in p for p in fast_problems)
    assert any("row 48, column 'outcome', value '4OO'" in p for p in fast_problems)  # the 42nd row, 5 blank lines
    assert any("row 60, column 'year', value '20x4'" in p for p in fast_problems)


def test_blocks_parsed_elsewhere_and_finished_in_any_order_give_the_reading_of_this_process(monkeypatch):
    # a load on a cluster parses a file's blocks after the first on the workers (`load(..., client=)`), a few out at
    # once (IN_FLIGHT), finishing in any order: taken in the file's order, they give this process's reading; a block
    # found not plain returns None, as here, and the blocks still out are cancelled; a block whose reading does not
    # come back (its workers kept dying) is parsed here, with a LostProcessWarning
    import random
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from plevaluate import contract
    from plevaluate.contract import _plain_block, _plain_csv
    from plevaluate.errors import LostProcessWarning

    monkeypatch.setattr(contract, "PLAIN_BLOCK", 16)
    monkeypatch.setattr(contract, "IN_FLIGHT", 3)
    rows = ["student_id,school_id,year,outcome"] + [f"ST{k:03d},S{k % 7:02d},2024,{400 + k % 11}" for k in range(200)]
    text = "\n".join(rows[:90] + [""] + rows[90:]) + "\n"
    here = _plain_csv(contract._in_blocks(text.encode("utf-8")))
    delays = random.Random(4)
    out, cancelled, lock = [], [], threading.Lock()

    def slowly(block, width):
        time.sleep(delays.random() / 200)
        return _plain_block(block, width)

    with ThreadPoolExecutor(4) as pool:

        def parse(block, width):
            future = pool.submit(slowly, block, width)
            with lock:
                out.append(future)
                assert sum(not f.done() for f in out) <= contract.IN_FLIGHT + 1
            return future

        there = _plain_csv(contract._in_blocks(text.encode("utf-8")), parse)
        assert len(out) > 50  # a block of about one line each
        assert here[0] == there[0] and list(here[2]) == list(there[2])
        pd.testing.assert_frame_equal(here[1], there[1])

        class Future:  # a reading not taken yet when a block before it is found not plain
            def __init__(self, reading):
                self.reading = reading

            def result(self):
                return self.reading

            def cancel(self):
                cancelled.append(self)

        quoted = text.replace("ST010,", '"ST010",')
        assert _plain_csv(contract._in_blocks(quoted.encode("utf-8")), lambda b, w: Future(_plain_block(b, w))) is None
        assert len(cancelled) == contract.IN_FLIGHT  # the readings behind the quoted block's, never taken

        class Lost(Future):  # a block whose workers kept dying (Dask raises KilledWorker): parsed here instead
            def result(self):
                raise RuntimeError("Attempted to run task '_plain_block-1' on 4 different workers")

        sent = []

        def losing(block, width):
            sent.append(block)
            return (Lost if len(sent) in (3, 40) else Future)(_plain_block(block, width))

        with pytest.warns(
            LostProcessWarning, match=r"parsed in this process: its task on the cluster was lost \(RuntimeError\)"
        ):
            again = _plain_csv(contract._in_blocks(text.encode("utf-8")), losing)
        assert here[0] == again[0] and list(here[2]) == list(again[2])
        pd.testing.assert_frame_equal(here[1], again[1])

        class Stopped(Future):  # Ctrl-C while a reading is waited on: it and every reading behind it are cancelled
            def result(self):
                raise KeyboardInterrupt

        cancelled.clear()
        sent.clear()

        def stopping(block, width):
            sent.append(block)
            return (Stopped if len(sent) == 5 else Future)(_plain_block(block, width))

        with pytest.raises(KeyboardInterrupt):
            _plain_csv(contract._in_blocks(text.encode("utf-8")), stopping)
        assert len(cancelled) == contract.IN_FLIGHT + 1 and isinstance(cancelled[0], Stopped)


@pytest.mark.parametrize("block", [1, 40, 1 << 23])
def test_a_byte_order_mark_that_begins_a_row_or_a_block_is_data_as_the_csv_module_reads_it(
    block, tmp_path, monkeypatch
):
    # pandas drops a byte-order mark that begins what it parses; a block after the header, or after a cut, begins
    # with a row: there the mark is data, warned of as an invisible character (a review found it dropped)
    import csv
    import io

    from plevaluate import contract
    from plevaluate.contract import TABLES, _from_records, _Read, _read_csv, _type_columns

    monkeypatch.setattr(contract, "PLAIN_BLOCK", block)
    mark = "\ufeff"
    text = "school_id,school_name,group\n\ufeffS01,A,participant\n" + "".join(
        f"{mark if k == 7 else ''}S{k:02d},N{k},comparison\n" for k in range(2, 12)
    )
    path = tmp_path / "schools.csv"
    path.write_text(text, encoding="utf-8")
    spec = TABLES["schools"]
    read = _read_csv(path, spec)
    records = list(enumerate(csv.reader(io.StringIO(text, newline=""), strict=True), start=1))
    slow = _from_records(records, _Read(spec, None, ""))
    pd.testing.assert_frame_equal(_type_columns(read), _type_columns(slow))
    assert [str(p) for p in read.problems] == [str(p) for p in slow.problems]
    assert any("U+FEFF" in str(p) and "first in row 2" in str(p) for p in read.problems)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(-3, 12) | st.integers(-(2**63), 2**63 - 1), max_size=60))
def test_keys_repeated_are_found_by_sorting_as_pandas_duplicated_finds_them(keys):
    # _check_keys flags a row whose key an earlier row has by sorting the keys (bounded memory), not a hash table
    from plevaluate.contract import _repeated

    keys = np.array(keys, dtype=np.int64)
    assert _repeated(keys).tolist() == pd.Series(keys).duplicated(keep="first").tolist()


def test_rows_compared_by_codes_match_pandas_duplicated_even_when_the_combined_numbers_would_overflow():
    # _check_keys compares rows through one combined number per row; wide columns force the renumbering branch
    from plevaluate.contract import _row_key

    rng = np.random.default_rng(5)
    huge = np.array([0, 2**40, 2**41, 2**41 + 1, -1])  # few distinct codes, but a huge largest one
    codes = [rng.integers(-1, 3, 300), rng.choice(huge, 300), rng.integers(-1, 2, 300), rng.choice(huge, 300)]
    expected = pd.DataFrame({i: c for i, c in enumerate(codes)}).duplicated(keep=False).to_numpy()
    assert (pd.Series(_row_key(codes)).duplicated(keep=False).to_numpy() == expected).all()
    assert expected.any() and not expected.all()


def test_a_load_hands_the_memory_of_its_parsing_back(tiny, monkeypatch):
    """The files' bytes, their text and the typing's steps are freed at the end of a load but kept by the allocator
    (at 5,000 schools the process held 2.41 GB after the load, 1.59 GB once handed back): a load ends by handing them
    back (`plevaluate._outputs.hand_back_memory`), once, after the tables are typed and checked, when it read at
    least `HAND_BACK_ROWS` rows (a small one has little to hand back); a load that fails raises its problems first."""
    import plevaluate.contract as contract

    calls = []
    monkeypatch.setattr(contract, "hand_back_memory", lambda: calls.append(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load(tiny)
        assert calls == []  # a few hundred rows
        monkeypatch.setattr(contract, "HAND_BACK_ROWS", 100)
        district = load(tiny)
    assert calls == [1] and not district.schools.empty
    (tiny / "schools.csv").write_text("nothing,useful\n")
    with pytest.raises(ContractError):
        load(tiny)
    assert calls == [1]


def test_a_block_whose_client_closed_is_parsed_here_and_a_frozen_scheduler_counts_as_no_workers(monkeypatch):
    # a hostile review killed the scheduler mid-load: the client closed, its submit raised, and the cancelling of the
    # blocks still out raised again (a ClosedClientError traceback); and it froze the scheduler (SIGSTOP): the watch
    # for a cluster without workers waited for its answer for ever, and the load with it; a second review found the
    # load waiting for ever on a block done whose reading the frozen scheduler never handed over, and on one sent as
    # the client closed (it stays pending)
    import asyncio
    import concurrent.futures
    import threading
    import time
    import weakref

    from plevaluate import cluster, contract
    from plevaluate.contract import _plain_csv
    from plevaluate.errors import LostProcessWarning

    monkeypatch.setattr(contract, "PLAIN_BLOCK", 64)
    rows = ["student_id,school_id,year,outcome"] + [f"ST{k:03d},S{k % 7:02d},2024,{400 + k % 11}" for k in range(80)]
    text = "\n".join(rows) + "\n"
    here = _plain_csv(contract._in_blocks(text.encode("utf-8")))

    class Closed:  # a client whose scheduler is gone
        def submit(self, *args, **kwargs):
            raise RuntimeError("Client is closed. Can't send submit message")

    with pytest.warns(LostProcessWarning, match=r"its task on the cluster was lost \(RuntimeError\)"):
        there = _plain_csv(contract._in_blocks(text.encode("utf-8")), contract.on_cluster(Closed(), weakref.WeakSet()))
    assert here[0] == there[0] and list(here[2]) == list(there[2])
    pd.testing.assert_frame_equal(here[1], there[1])

    class Held:  # a reading on a closed client: cancelling it raises
        def result(self):
            return None  # the block is not plain: the rest are cancelled

        def cancel(self):
            raise RuntimeError("Client is closed. Can't send cancel-keys message")

    assert _plain_csv(contract._in_blocks(text.encode("utf-8")), lambda block, width: Held()) is None

    class Frozen:  # a scheduler that never answers, unless asked with a time limit
        cancelled: list = []

        def nthreads(self, callback_timeout=None):
            time.sleep(3600 if callback_timeout is None else callback_timeout)
            raise TimeoutError

        def cancel(self, futures, force=False):
            self.cancelled.extend(futures)

        class scheduler:  # noqa: N801 - distributed.Client.scheduler's address
            address = "tcp://frozen:8786"

    class Waiting:
        def done(self):
            return False

    loop = asyncio.new_event_loop()  # a client's loop, in its own thread, as Dask's
    threading.Thread(target=loop.run_forever, daemon=True).start()

    class Fetching:  # a task done, whose reading a frozen scheduler never hands over (or one sent as it closed)
        def done(self):
            return True

        async def fetch(self):
            await asyncio.sleep(3600)

    class Running:
        status = "running"

        class loop:  # noqa: N801 - distributed.Client.loop
            asyncio_loop = loop

        def gather(self, future, asynchronous=None):  # as distributed.Client.gather(asynchronous=True): a coroutine
            return future.fetch()

    given_up, closed = threading.Event(), Running()
    threading.Timer(0.3, given_up.set).start()
    with pytest.raises(concurrent.futures.CancelledError, match="given up"):  # lost: `came_back` parses it here
        contract._Sent(Fetching(), Running(), given_up).result()
    closed.status = "closed"
    with pytest.raises(concurrent.futures.CancelledError, match="given up"):
        contract._Sent(Fetching(), closed, None).result()

    class Failed(Fetching):  # any other error is the task's own
        async def fetch(self):
            raise ValueError("the task's own error")

    with pytest.raises(ValueError, match="the task's own error"):
        contract._Sent(Failed(), Running(), None).result()

    class Slow(Fetching):  # a reading that takes longer than a second to arrive (a slow network) still arrives: it
        async def fetch(self):  # is fetched once, not again each second (`Future.result(timeout=1)` fetched it
            await asyncio.sleep(2.5)  # again each second, for ever: measured with a reading 1.5 s to unpickle)
            return "the reading"

    assert contract._Sent(Slow(), Running(), threading.Event()).result() == "the reading"
    started = time.monotonic()  # once given up, not a second more for each reading (a review: 77 s after a give-up)
    with pytest.raises(concurrent.futures.CancelledError, match="given up"):
        contract._Sent(Slow(), Running(), given_up).result()
    assert time.monotonic() - started < 0.5

    class Reset(Fetching):  # the connection closed as the reading was fetched (its scheduler killed): lost
        async def fetch(self):
            raise OSError("Connection reset by peer")

    with pytest.raises(concurrent.futures.CancelledError, match="lost: OSError while fetching"):
        contract._Sent(Reset(), Running(), None).result()
    errored = Reset()
    errored.status = "error"  # an OSError of the task's own is its own
    with pytest.raises(OSError, match="reset by peer"):
        contract._Sent(errored, Running(), None).result()
    loop.call_soon_threadsafe(loop.stop)

    monkeypatch.setattr(cluster, "ANSWER", 0.1)
    waiting, frozen = Waiting(), Frozen()
    with pytest.warns(
        LostProcessWarning,
        match=r"tcp://frozen:8786 had no workers for 0.5 s \(or its scheduler did not answer\): 1 of",
    ):
        with cluster.deserted(frozen, lambda: [waiting], patience=0.5) as given_up:
            assert given_up.wait(10)
    assert frozen.cancelled[0] is waiting
    assert not [t for t in threading.enumerate() if t.name == "plevaluate-deserted"]


def test_a_huge_cell_is_quoted_in_part(tmp_path):
    """A hostile review: a students.csv whose outcome cell held 20 MB of digits made the error 20,971,722 bytes long,
    and a 100 KB school_id was printed twice (its value, and the fix naming it). A value is quoted to 60
    characters, with its length."""
    from tests.conftest import write_tiny

    folder = write_tiny(tmp_path / "d")
    path = folder / "students.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    header = lines[0].split(",")
    cells[header.index("outcome")] = "9" * 200_000
    cells[header.index("school_id")] = "S" * 100_000
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    with pytest.raises(ContractError) as raised:
        load(folder)
    message = str(raised.value)
    assert len(message) < 5_000, len(message)
    assert "(200,000 characters)" in message and "(100,000 characters)" in message


def test_a_kind_of_problem_lists_its_rows_in_order():
    """A hostile review: a file read in blocks on a cluster listed a problem's rows as the blocks came back (rows
    450001, 400001, 6, 350001). They are listed in row order, whatever the order they were found in."""
    from plevaluate.errors import Problem, format_problems

    found = [
        Problem("students.csv", "a number", "fix the score", row=row, column="outcome", value="x")
        for row in (450001, 400001, 6, 350001)
    ]
    text = format_problems(found)
    assert "4 rows: row 6 ('x'), row 350001 ('x'), row 400001 ('x'), row 450001 ('x')" in text, text
