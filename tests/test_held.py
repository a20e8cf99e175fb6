"""#34: a district loaded on a Dask cluster keeps its students there (`plevaluate.held.HeldTable`).

``load(DATA, client=...)`` validates students.csv, then cuts it by student into parts held on the workers; this
process keeps the parts' futures only. What the evaluation reads of the students is computed on each part where it
is and must equal what it reads of the whole table here: the school years, a year's rows, the staggered panel (two
rounds of sums), the logic model's test springs. A part lost with its worker has the students read again here.
(The whole evaluation from held students is compared with the one-process evaluation in
tests/test_evaluate_cluster.py.)
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from plevaluate import load
from plevaluate import logic_model as logic
from plevaluate.cluster import QUIET
from plevaluate.errors import LostProcessWarning, StatisticalWarning
from plevaluate.held import HeldTable, LostPart
from plevaluate.staggered import school_panel
from plevaluate.years import _year_rows, evaluate_for_reports, school_years, year_view
from tests.conftest import SAMPLE, quietly
from tests.test_years import SAMPLE_YEARS, _same_evaluation

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def districts(cluster_client):
    cluster_client.wait_for_workers(2, timeout=120)
    return quietly(load, SAMPLE_YEARS), quietly(load, SAMPLE_YEARS, client=cluster_client)


def test_the_students_are_held_in_parts_by_student_on_the_workers_not_here(client, districts):
    here, held = districts
    students = held.students
    assert isinstance(students, HeldTable) and not isinstance(students, pd.DataFrame)
    assert len(students) == len(here.students) and list(students.columns) == list(here.students.columns)
    assert len(students.parts) == 4  # two for each worker
    as_held = client.gather(students.parts[0])  # text held as categoricals, each distinct ID once
    assert isinstance(as_held["student_id"].dtype, pd.CategoricalDtype)
    assert isinstance(as_held["school_id"].dtype, pd.CategoricalDtype)
    holders = client.who_has(list(students.parts))
    assert len({worker for workers in holders.values() for worker in workers}) == 2  # both workers hold parts
    pieces = students.map(lambda part: part)  # each student's rows all in one part
    owners = pd.concat([piece[["student_id"]].assign(part=k) for k, piece in enumerate(pieces)])
    assert owners.groupby("student_id")["part"].nunique().max() == 1
    # brought here, the table is the one loaded here: every row, its CSV row number, its types
    pd.testing.assert_frame_equal(held.here().students, here.students)
    assert held.here().tables["schools"] is held.tables["schools"]  # only held tables are brought here


def test_what_the_evaluation_reads_of_held_students_equals_what_it_reads_here(districts):
    here, held = districts
    assert school_years(held) == school_years(here) == ["2023-24", "2024-25", "2025-26"]
    for year in school_years(here):
        start = int(year[:4])
        of_year = year_view(held, year).students
        assert isinstance(of_year, HeldTable)  # a year's rows stay where their part is
        pd.testing.assert_frame_equal(of_year.gathered(), _year_rows(here.students, start))
        assert len(of_year) == len(year_view(here, year).students)
    # the staggered panel: each spring's mean and standard deviation from two rounds of sums over the parts
    one, parts = school_panel(here.students, here.schools), school_panel(held.students, held.schools)
    assert len(one) == 72
    pd.testing.assert_frame_equal(one, parts, rtol=1e-12, atol=1e-12)
    assert logic._students(held.plan, logic._tables(held), None) == logic._students(
        here.plan, logic._tables(here), None
    )


def test_a_part_lost_with_its_worker_has_the_students_read_again_here(client, districts):
    """A scattered part dies with its worker (Dask cannot compute it again): the evaluation reads students.csv again
    in this process, says so with a `LostProcessWarning`, and its results are the same."""
    here, _ = districts
    held = quietly(load, SAMPLE_YEARS, client=client)
    client.cancel([held.students.parts[1]], force=True)  # as a worker's death leaves it: gone from the cluster
    with pytest.raises(LostPart):
        held.students.unique("year")
    with pytest.warns(
        LostProcessWarning, match="students.csv, held on a Dask cluster, could not be brought back whole"
    ):
        pd.testing.assert_frame_equal(held.here().students, here.students)  # read again from students.csv
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        there = evaluate_for_reports(held, scheduler=client)
    assert any(issubclass(w.category, LostProcessWarning) and "was read again" in str(w.message) for w in caught), [
        str(w.message) for w in caught
    ]
    _same_evaluation(quietly(evaluate_for_reports, here), there)


def test_a_district_loaded_on_a_cluster_evaluates_in_this_process_too(districts):
    """Evaluated without a scheduler, a district loaded on a cluster brings its students here first."""
    here, held = districts
    _same_evaluation(quietly(evaluate_for_reports, here), quietly(evaluate_for_reports, held))


def _keys(client, kind: str) -> list[str]:
    return [
        key
        for key in client.run_on_scheduler(lambda dask_scheduler: list(map(str, dask_scheduler.tasks)))
        if kind in key
    ]


def test_a_lost_part_leaves_nothing_of_the_table_on_the_cluster_once_it_is_let_go(client):
    """A hostile review: after a lost part, the other parts and the answers stayed on the workers for good (the
    failure's traceback kept them)."""
    import gc
    import time

    held = quietly(load, SAMPLE_YEARS, client=client)
    parts = {str(part.key) for part in held.students.parts}
    client.cancel([held.students.parts[1]], force=True)
    with pytest.raises(LostPart):
        held.students.unique("year")
    del held
    gc.collect()

    def left() -> list[str]:
        return _keys(client, "_answer") + [key for key in _keys(client, "DataFrame") if key in parts]

    deadline = time.monotonic() + 10
    while left() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left() == []


def test_a_closed_client_an_unanswering_scheduler_and_another_cluster_each_have_the_students_here(
    client, districts, monkeypatch
):
    """Each found by a hostile review: the loading client closed (a notebook's ``with Client() as c: load(...)``)
    raised ClosedClientError; a scheduler that does not answer (frozen) was waited for for ever; a district evaluated
    on another cluster than its own lost every year there ("ended abruptly (out of memory?)") and did each here."""
    import pickle

    from plevaluate import cluster

    here, _ = districts
    expected = quietly(evaluate_for_reports, here)
    with distributed.Client(client.scheduler.address, set_as_default=False) as loading:
        held = quietly(load, SAMPLE_YEARS, client=loading)
    with pytest.warns(LostProcessWarning, match="could not be brought back whole .*closed"), warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # the sample's own caveats, said in the evaluation
        _same_evaluation(expected, evaluate_for_reports(held))
    held = quietly(load, SAMPLE_YEARS, client=client)
    monkeypatch.setattr(cluster, "ANSWER", 0.0)  # every question now goes unanswered within its deadline
    with pytest.raises(LostPart, match="Unanswered"):
        held.students.unique("year")
    monkeypatch.undo()
    # pickled (to another process), a held district travels with its students, brought here
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(held)).students, here.students)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, **QUIET) as other:
        with distributed.Client(other, set_as_default=False) as elsewhere:
            with warnings.catch_warnings():
                warnings.simplefilter("error", LostProcessWarning)  # no year lost there
                warnings.simplefilter("ignore", StatisticalWarning)
                _same_evaluation(expected, evaluate_for_reports(held, scheduler=elsewhere))


def test_students_csv_changed_since_the_load_is_an_error_not_other_numbers(client, tmp_path):
    """A hostile review: with a part lost, students.csv was read again as it was now (every outcome +50 moved level
    5's effect from 71 to 121 under "the same results"); a file removed since gave a bare KeyError."""
    import shutil

    from plevaluate.errors import ContractError

    data = tmp_path / "district"
    shutil.copytree(SAMPLE_YEARS, data)
    held = quietly(load, data, client=client)
    client.cancel([held.students.parts[0]], force=True)
    students = data / "students.csv"
    rows = students.read_text(encoding="utf-8").splitlines(keepends=True)
    rows[1] = rows[1].rstrip("\n") + "1\n"  # one outcome changed
    students.write_text("".join(rows), encoding="utf-8")
    with pytest.raises(ContractError, match="have changed \\(or gone\\) since it was loaded"):
        held.here()
    students.unlink()
    with pytest.raises(ContractError, match="have changed"):
        held.here()


def _messy(folder, lines: dict[int, tuple[str, str]], extra: str | None = None, comment: str | None = None) -> None:
    """data/sample copied to ``folder``, with students.csv's line numbers changed (``old`` -> ``new``, once), an
    ``extra`` column (every row "participant"), and a comment naming a student."""
    import shutil

    shutil.copytree(SAMPLE, folder)
    rows = (folder / "students.csv").read_text(encoding="utf-8").splitlines()
    for number, (old, new) in lines.items():
        assert old in rows[number - 1], (number, rows[number - 1])
        rows[number - 1] = rows[number - 1].replace(old, new, 1)
    if extra:
        rows = [f"{row},{extra if k == 0 else 'participant'}" for k, row in enumerate(rows)]
    (folder / "students.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    if comment:
        with (folder / "comments.csv").open("a", encoding="utf-8") as handle:
            handle.write(f'C99999,1,"Anything else?",PL04,S01,teacher,E0003,,{comment}\n')


def test_students_read_and_checked_on_the_workers_find_every_problem_a_load_here_finds(client, tmp_path, monkeypatch):
    """#34: on a cluster, students.csv is read, typed and checked where its blocks are (`contract._read_held`), and
    held there: this process holds its columns' distinct values (student_id's only where a check could flag them),
    never its rows. Every problem is the one a load here finds, in the same order: blank, padded and hidden IDs, a
    bad number and year, a spelling normalized, an unknown school, a repeated student and year, a membership column
    that disagrees; a doubtful but valid file gives the same district, notes and redacted comments."""
    from plevaluate import contract

    monkeypatch.setattr(contract, "PLAIN_BLOCK", 8192)  # data/sample's students.csv (600 KB): about 75 blocks
    read_here = contract._read_csv

    def here_only(path, spec, parse=None):  # a load on the cluster must not read students.csv in this process
        assert spec.name != "students" or parse is None, "students.csv was read in this process"
        return read_here(path, spec, parse)

    monkeypatch.setattr(contract, "_read_csv", here_only)
    rows = (SAMPLE / "students.csv").read_text(encoding="utf-8").splitlines()

    def first(line: int) -> str:
        return rows[line - 1].split(",")[0]

    broken = {
        2: (first(2), ""),  # a blank student_id, in the first block (read here)
        40: (first(40), f" {first(40)} "),  # padded
        41: (first(41), first(41)[:2] + "\u200b" + first(41)[2:]),  # an invisible character
        3000: (",2025,", ",20x5,"),  # a year that is not one, in a later block
        4000: (",pre,", ",Pre,"),  # normalized, with a warning
        5000: (",S1", ",X9"),  # a school no table lists
        9000: (",2026,", ",2026 ,"),  # a padded number
    }
    broken[10600] = (rows[10599], rows[6000])  # a repeat of line 6001's student and year, late in the file
    broken[7000] = (rows[6999].split(",")[6], "4OO")  # an outcome that is not a number
    _messy(tmp_path / "broken", broken, extra="group")
    problems = []
    for where in ({}, {"client": client}):
        with pytest.raises(contract.ContractError) as raised:
            quietly(load, tmp_path / "broken", **where)
        problems.append([str(p) for p in raised.value.problems])
    assert problems[0] == problems[1]
    found = "\n".join(problems[1])
    for expected in (
        "row 2, column 'student_id'",
        "row 3000, column 'year', value '20x5'",
        "row 5000, column 'school_id', value 'X9",
        "row 7000, column 'outcome', value '4OO'",
        "row 10600: expected each student_id + year + period once; student_id=ST000642, year=2026, period=post is "
        "also in row 6001",
    ):
        assert expected in found, expected
    doubtful = dict(list(broken.items())[1:3] + [(4000, broken[4000])])  # warnings only
    student = rows[5].split(",")[0]
    _messy(tmp_path / "doubtful", doubtful, extra="group", comment=f"{student} kept calling out in class.")
    with warnings.catch_warnings(record=True) as here_warned:
        warnings.simplefilter("always")
        here = load(tmp_path / "doubtful")
    with warnings.catch_warnings(record=True) as held_warned:
        warnings.simplefilter("always")
        held = load(tmp_path / "doubtful", client=client)
    assert isinstance(held.students, HeldTable)
    assert [str(w.message) for w in here_warned] == [str(w.message) for w in held_warned]
    notes = "\n".join(map(str, held.notes))
    for expected in (
        "spaces were removed from 1 value(s), first in row 40",
        "first in row 41: U+200B",
        "1 value(s) were normalized, e.g. row 4000 'Pre'",
        "the 'group' column of students.csv is not used; it disagrees",
        "comments without names, IDs",
    ):
        assert expected in notes, expected
    assert here.notes == held.notes and dict(here.file_hashes) == dict(held.file_hashes)
    for name, table in here.tables.items():
        pd.testing.assert_frame_equal(table, held.here().tables[name], obj=name)
    assert "[term] kept calling out" in held.comments["text"].iloc[-1]


@pytest.mark.parametrize("lost", ["a part", "a block's reading"])
def test_students_lost_on_the_cluster_while_checked_are_read_again_here_with_the_same_problems(
    client, tmp_path, monkeypatch, lost
):
    """A hostile review: a worker lost (or the client closed) after students.csv was read on the cluster but while
    its rows were checked there (repeated keys on the parts, unknown schools asked of the blocks) crashed the load
    with `LostPart`. It is now read again here, with a `LostProcessWarning`, and gives the problems a load here
    gives."""
    from plevaluate import contract

    rows = (SAMPLE / "students.csv").read_text(encoding="utf-8").splitlines()
    _messy(tmp_path / "unknown", {9001: (",S09,", ",X09,")})  # an unknown school: its rows are asked of the blocks
    with pytest.raises(contract.ContractError) as raised:
        quietly(load, tmp_path / "unknown")
    expected = [str(p) for p in raised.value.problems]
    assert len(rows) > 9001 and "row 9001, column 'school_id', value 'X09'" in expected[0]
    keys, references = contract._check_keys, contract._check_references

    def keys_losing(frame, read):
        if isinstance(frame, HeldTable):  # as a worker's death leaves it: gone from the cluster
            client.cancel([frame.parts[1]], force=True)
        return keys(frame, read)

    def references_losing(frames, reads):
        if isinstance(frames.get("students"), HeldTable):
            client.cancel([reads["students"].held["school_id"].held.readings[0]], force=True)
        return references(frames, reads)

    if lost == "a part":
        monkeypatch.setattr(contract, "_check_keys", keys_losing)
    else:
        monkeypatch.setattr(contract, "_check_references", references_losing)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(contract.ContractError) as raised:
            load(tmp_path / "unknown", client=client)
    assert [str(p) for p in raised.value.problems] == expected
    assert any("students.csv was read again in this process" in str(w.message) for w in caught)


def test_a_load_on_a_cluster_leaves_only_the_students_parts_there(client, monkeypatch):
    """The blocks' readings, the typed pieces and every question asked of them are let go once the load has checked
    the students: what stays on the cluster is the parts of the `HeldTable`, nothing else of students.csv."""
    import gc
    import time

    from plevaluate import contract

    monkeypatch.setattr(contract, "PLAIN_BLOCK", 16384)  # data/sample's students.csv: about 40 blocks
    held = quietly(load, SAMPLE, client=client)
    gc.collect()
    parts = {str(part.key) for part in held.students.parts}
    steps = (
        "_plain_block",
        "_reading_of",
        "_header_of",
        "_block_values",
        "_flagged",
        "_typed_pieces",
        "_piece",
        "_dtypes",
    )

    def left() -> list[str]:
        return [key for key in _keys(client, "") if key.startswith(steps) and key not in parts]

    deadline = time.monotonic() + 10
    while left() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left() == []
    assert all(key in _keys(client, "_part") for key in parts)


def test_an_error_of_a_step_on_the_cluster_is_raised_not_taken_for_a_lost_block(client):
    """A review of this change: every error fetching a held block's answer was a lost block, so a bug in a step run
    on the workers would have been hidden by reading students.csv again here. Only a loss is `LostPart`."""
    from plevaluate.contract import _HeldBlocks

    held = _HeldBlocks(client, None)
    with pytest.raises(ValueError, match="invalid literal"):
        held.answer(held.ask(int, "not a number"))
    gone = held.ask(sum, [1, 2])
    client.cancel([gone], force=True)
    with pytest.raises(LostPart):
        held.answer(gone)
