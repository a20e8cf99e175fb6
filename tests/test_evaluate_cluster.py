"""Evaluation on a Dask cluster (``evaluate_for_reports(..., scheduler=...)``, ``plevaluate report --scheduler``):
each school year a task on a worker, the same code as in one process, so the same published evaluation.

Compared table by table (numbers to 1e-9, notes, chain, sentences, the year-by-year extras) with the one-process
evaluation on the sample, the multi-year sample and a generated 200-school district, on a `LocalCluster` of two
single-threaded worker processes.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import threading
import time
import warnings

import pandas as pd
import pytest

from plevaluate import evaluate, load, registry
from plevaluate.cluster import QUIET
from plevaluate.errors import ContractError, LostProcessWarning, StatisticalWarning
from plevaluate.held import HeldTable
from plevaluate.sample import write_sample
from plevaluate.years import _from_cluster, _outcomes, _Run, evaluate_for_reports, evaluate_on_cluster, year_view
from tests.conftest import SAMPLE, quietly
from tests.test_years import SAMPLE_YEARS, _Published, _refuse_the_year, _same_evaluation

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.dask


def _district(path):
    return quietly(load, path)


@pytest.mark.parametrize("data", ["sample", "sample-years", "200 schools"])
def test_an_evaluation_on_a_cluster_equals_the_one_in_this_process(data, client, tmp_path_factory):
    if data == "sample":
        path = SAMPLE
    elif data == "sample-years":
        path = SAMPLE_YEARS
    else:
        path = write_sample(tmp_path_factory.mktemp("district") / "d", n_schools=200, seed=3)
    district = _district(path)
    here, said_here = _caveats(evaluate_for_reports, district)
    # loaded as `plevaluate report --scheduler` loads it: its students held in parts on the workers (`plevaluate.held`)
    held = quietly(load, path, client=client)
    assert isinstance(held.students, HeldTable)
    there, said_there = _caveats(evaluate_for_reports, held, scheduler=client)
    assert there.published and here.published
    _same_evaluation(here, there)
    assert len(there.schools) == len(district.schools)
    # a caveat raised while a year is evaluated on a worker is raised in the caller, as in one process
    assert said_there == said_here
    if data == "sample-years":
        assert there.plan["school_year"] == "2025-26" and "years_trend" in there.extras
        assert said_here, "its 2023-24 mixed model warns: without a warning the comparison above proves nothing"


def _caveats(function, *args, **kwargs):
    """``function(*args, **kwargs)`` and the statistical caveats it raised, each once, in order."""
    with warnings.catch_warnings(record=True) as found:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    return result, sorted({str(w.message) for w in found if issubclass(w.category, StatisticalWarning)})


def test_a_local_cluster_by_name_is_started_and_closed_for_the_evaluation():
    """``scheduler="local"`` starts a `LocalCluster` of ``workers`` processes for the evaluation and closes it."""
    import psutil

    district = _district(SAMPLE)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    there = quietly(evaluate_for_reports, district, scheduler="local", workers=1)
    _same_evaluation(quietly(evaluate_for_reports, district), there)
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running()]
    assert psutil.wait_procs(left, timeout=10)[1] == []  # its worker processes have ended


def _quietly_published(district, year):
    from plevaluate.years import _published

    return _published(district, year)


def test_a_data_problem_on_a_worker_arrives_as_itself(client):
    """A ContractError raised on a worker is the same error here (file, row, column, fix), not a lost worker."""
    view = year_view(_district(SAMPLE_YEARS), "2024-25")
    future = client.submit(_refuse_the_year, view, key="refuse-2024-25")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LostProcessWarning)
        with pytest.raises(ContractError, match="a year that cannot be evaluated") as raised:
            _from_cluster(
                _outcomes(_Run(client, tasks={"2024-25": future}))["2024-25"], lambda year, **_: view, "2024-25"
            )
    problem = raised.value.problems[0]
    assert (problem.file, problem.row, problem.column) == ("students.csv", 3, "score")


def test_a_district_loaded_on_a_cluster_is_the_one_loaded_here_with_every_problem(client, tmp_path, monkeypatch):
    """``load(..., client=)`` parses the large tables' blocks on the workers: the same tables, notes and file hashes;
    a broken copy gives the same problems (one found in a late block sends the file to the whole-file reading, and
    its blocks still out are cancelled); nothing is left on the cluster."""
    import shutil

    from plevaluate import contract

    monkeypatch.setattr(contract, "PLAIN_BLOCK", 4096)  # the multi-year sample's students.csv (241 KB): 60 blocks
    here, there = _district(SAMPLE_YEARS), quietly(load, SAMPLE_YEARS, client=client)
    assert list(here.tables) == list(there.tables)
    assert isinstance(there.students, HeldTable)  # validated, then held on the workers (tests/test_held.py)
    for name, table in here.tables.items():
        pd.testing.assert_frame_equal(table, there.here().tables[name], obj=name)
    assert here.notes == there.notes and dict(here.file_hashes) == dict(there.file_hashes)
    broken = tmp_path / "broken"
    shutil.copytree(SAMPLE_YEARS, broken)
    students = (broken / "students.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    students[9] = students[9].replace(",", ",x", 1)  # an ID no table has, early
    students[-40] = students[-40].replace(",", ',"', 1)  # a quote that never closes, in the last block
    (broken / "students.csv").write_text("".join(students), encoding="utf-8")
    problems = []
    for where in ({}, {"client": client}):
        with pytest.raises(ContractError) as raised:
            quietly(load, broken, **where)
        problems.append([str(p) for p in raised.value.problems])
    assert problems[0] == problems[1] and any("never ends" in p for p in problems[0])

    def blocks(dask_scheduler) -> list[str]:  # the blocks' tasks still on the cluster (other tests' are theirs)
        return [str(key) for key in dask_scheduler.tasks if str(key).startswith("_plain_block")]

    deadline = time.monotonic() + 10
    while client.run_on_scheduler(blocks) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.run_on_scheduler(blocks) == []
    closed = distributed.Client(client.scheduler.address, set_as_default=False)
    closed.close()
    with pytest.raises(ValueError, match="this Dask client is closed"):  # refused before any file is read
        load(SAMPLE, client=closed)
    with pytest.raises(TypeError, match="a connected distributed.Client is needed here, not 'tcp://"):
        load(SAMPLE, client=client.scheduler.address)
    with pytest.raises(TypeError, match="a connected distributed.Client is needed here, not LocalCluster"):
        load(SAMPLE, client=client.cluster)  # the cluster, where its client was wanted

    async def asynchronous():  # a client whose methods return coroutines, which nothing in load would run
        async with distributed.Client(client.scheduler.address, asynchronous=True, set_as_default=False) as waiting:
            with pytest.raises(TypeError, match="an asynchronous Dask client cannot run"):
                load(SAMPLE, client=waiting)

    asyncio.run(asynchronous())
    with pytest.raises(TypeError, match="a connected distributed.Client is needed here, not LocalCluster"):
        evaluate_on_cluster(client.cluster, here)  # an evaluation on a cluster is refused so too

    async def evaluated_asynchronously():
        async with distributed.Client(client.scheduler.address, asynchronous=True, set_as_default=False) as waiting:
            with pytest.raises(TypeError, match="an asynchronous Dask client cannot run"):
                evaluate_on_cluster(waiting, here)  # it waited for ever: its futures never ran

    asyncio.run(evaluated_asynchronously())


def test_a_year_that_keeps_losing_its_workers_is_evaluated_here():
    district = _district(SAMPLE_YEARS)
    with pytest.warns(LostProcessWarning, match="2024-25 was evaluated in this process"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            lost = distributed.KilledWorker("plevaluate-year-2024-25", "tcp://127.0.0.1:1", "out of memory")
            found = _from_cluster(lost, lambda year, **_: year_view(district, year), "2024-25")
    assert found.published and found.plan["school_year"] == "2024-25"


def test_a_level_registered_only_here_keeps_the_years_here(monkeypatch):
    """A level added with `registry.register` (a notebook's) does not exist on the workers: nothing is sent."""
    from plevaluate import registry

    district = _district(SAMPLE_YEARS)
    monkeypatch.setattr(registry, "_registered", {99: object()})

    class Refusing:
        def scatter(self, *args, **kwargs):
            raise AssertionError("a view was sent to the cluster while a level exists only in this process")

    import plevaluate.years as years_module

    monkeypatch.setattr(years_module, "evaluate", lambda view, publish=False: _Published(view))
    found = evaluate_on_cluster(Refusing(), district, ["2024-25", "2025-26"])
    assert sorted(found) == ["2024-25", "2025-26"]


def test_a_cluster_that_cannot_do_the_work_is_refused_before_anything_is_sent(monkeypatch):
    """No worker (tasks would wait forever), workers with another plevaluate (other statistics), an address nobody
    answers, and a scheduler that is not one: each a clear error, nothing evaluated."""
    from plevaluate import version as version_module
    from plevaluate.cluster import check_workers, connect

    district = _district(SAMPLE)
    with distributed.LocalCluster(n_workers=0, processes=True, **QUIET) as empty:
        with distributed.Client(empty) as client:
            with pytest.raises(ValueError, match="has no workers after 1 s; start them with 'dask worker"):
                check_workers(client, timeout=1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, **QUIET) as one:
        with distributed.Client(one) as client:
            monkeypatch.setattr(version_module, "__version__", "99.0")
            with pytest.raises(ValueError, match=r"without plevaluate 99.0 .*: tcp://.*: plevaluate \d"):
                evaluate_for_reports(district, scheduler=client)
            monkeypatch.undo()
            # the same version, other files: a worker started before an editable install changed (a hostile review)
            monkeypatch.setattr(version_module, "SOURCE", "0" * 16)
            with pytest.raises(ValueError, match=r"run other plevaluate code than this machine's, though the same "):
                evaluate_for_reports(district, scheduler=client)
            monkeypatch.undo()
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        connect("tcp://127.0.0.1:9", 1, timeout="2s")
    for wrong in ("", "   "):
        with pytest.raises(ValueError, match="a Dask scheduler's address"):
            evaluate_for_reports(district, scheduler=wrong)
    with pytest.raises(TypeError, match="an address, 'local' or a distributed.Client"):
        evaluate_for_reports(district, scheduler=8786)


def _die_once(flag: str, view, summed=None):
    """The first attempt ends its worker process (as the system does for memory); the retry evaluates."""
    import os
    from pathlib import Path

    from plevaluate.years import _published_year

    if not Path(flag).exists():
        Path(flag).touch()
        os._exit(1)
    return _published_year(view, summed)


def _part_dies_once(flag: str, summarize, piece, layout):
    """The first part to be summed ends its worker process; every other attempt sums."""
    import os
    from pathlib import Path

    from plevaluate.years import _summed

    try:
        Path(flag).touch(exist_ok=False)
    except FileExistsError:
        return _summed(summarize, piece, layout)
    os._exit(1)


@pytest.mark.parametrize(
    "task, dies",
    [("_published_year", _die_once), ("_summed", _part_dies_once)],
    ids=["a year's worker", "a part's worker"],
)
def test_a_task_whose_worker_dies_runs_again_on_another(client, tmp_path, monkeypatch, task, dies):
    """A year's view and a part's rows travel inside their task, so when its worker dies Dask runs the task again
    elsewhere (data scattered to that worker would have died with it and failed the run): the year is still
    evaluated on the cluster, with the same tables."""
    from functools import partial

    import plevaluate.years as years_module

    district = _district(SAMPLE_YEARS)
    flag = tmp_path / "died"
    monkeypatch.setattr(years_module, task, partial(dies, str(flag)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LostProcessWarning)
        warnings.simplefilter("ignore", StatisticalWarning)
        found = evaluate_on_cluster(client, district, ["2024-25"])
    assert flag.exists()  # a worker did die
    monkeypatch.undo()
    _same_evaluation(quietly(_quietly_published, district, "2024-25"), found["2024-25"])


def _part_fails(summarize, piece, layout):
    raise RuntimeError("a part that fails")


@pytest.mark.parametrize(
    "where, error",
    [("_published_year", "a year that cannot be evaluated"), ("_summed", "a part that fails")],
    ids=["a year refused", "a part failing"],
)
def test_a_run_that_fails_leaves_nothing_of_its_years_or_parts_on_the_workers(client, monkeypatch, where, error):
    """A year refused on a worker, or a part failing, stops the run (the error arrives as itself); every other
    year's task and every part are cancelled: the workers forget them all."""
    import plevaluate.years as years_module

    district = _district(SAMPLE_YEARS)
    monkeypatch.setattr(years_module, where, _refuse_the_year if where == "_published_year" else _part_fails)
    with pytest.raises((ContractError, RuntimeError), match=error):
        quietly(evaluate_on_cluster, client, district, ["2023-24", "2024-25", "2025-26"])
    deadline = time.monotonic() + 20
    while (known := client.run(_parts_known, "plevaluate-")) and any(known.values()):
        assert time.monotonic() < deadline, known
        time.sleep(0.2)


def test_two_years_at_once_in_one_worker_keep_their_own_caveats():
    """A worker with two threads gets two years at once; Python's warnings machinery is one per process, so the
    years are evaluated one at a time there, and each keeps its own notes and warnings."""
    district = _district(SAMPLE_YEARS)
    years = ["2023-24", "2024-25"]
    with warnings.catch_warnings(record=True) as alone:
        warnings.simplefilter("always")
        here = {year: _quietly_published(district, year) for year in years}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, **QUIET) as two:
        with distributed.Client(two) as client:
            with warnings.catch_warnings(record=True) as there:
                warnings.simplefilter("always")
                found = evaluate_on_cluster(client, district, years)

    def caveats(caught) -> list[str]:
        return sorted(str(w.message) for w in caught if issubclass(w.category, StatisticalWarning))

    assert caveats(alone), "2023-24 should warn (its mixed model); without a warning this test proves nothing"
    assert caveats(there) == caveats(alone)
    for year in years:
        _same_evaluation(here[year], found[year])


def test_a_closed_client_a_missing_plugin_and_a_wrong_count_of_workers_are_refused(monkeypatch):
    import importlib.metadata
    from types import SimpleNamespace

    from plevaluate.cluster import check_workers, connect

    district = _district(SAMPLE)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, **QUIET) as one:
        client = distributed.Client(one)
        toy = SimpleNamespace(name="toy", value="toy_reach:LEVEL")
        real = importlib.metadata.entry_points
        monkeypatch.setattr(
            importlib.metadata,
            "entry_points",
            lambda group=None, **kw: [toy] if group == "plevaluate.levels" else real(group=group, **kw),
        )
        with pytest.raises(ValueError, match=r"without the plugin levels installed here: tcp://.*: toy = toy_reach"):
            check_workers(client)
        monkeypatch.undo()
        client.close()
        with pytest.raises(ValueError, match="this Dask client is closed"):
            evaluate_for_reports(district, scheduler=client)
    with pytest.raises(TypeError, match="whole number"):
        connect("local", True)
    with pytest.raises(ValueError, match="at least one worker"):
        connect("local", 0)


def test_a_local_cluster_beside_another_on_port_8787_starts_without_a_warning():
    """distributed's scheduler serves its health and metrics pages on 8787 even without a dashboard; with another
    Dask cluster on the machine it warned "Port 8787 is already in use" at every --scheduler local run."""
    import socket

    from plevaluate.cluster import connect

    holder = socket.socket()
    try:
        holder.bind(("", 8787))
        holder.listen()
    except OSError:  # already held by something else: the case itself
        pass
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*already in use")
            client, cluster = connect("local", 1)
        client.close()
        cluster.close()
    finally:
        holder.close()


def _parts_known(prefix: str, dask_worker=None) -> list[str]:
    """The tasks a worker still knows (in any state) whose keys start with ``prefix``."""
    return [str(key) for key in dask_worker.state.tasks if str(key).startswith(prefix)]


def test_a_years_students_are_summed_in_parts_on_the_workers_and_only_their_sums_reach_the_year(client, monkeypatch):
    """Level 5 declares how it computes from parts of students.csv (`plevaluate.results.Parts`): on a cluster the
    year's students are split by student into parts, each summed on a worker, the sums added here; the year's task
    gets those sums and, of the students, only the IDs an approved quote could name (for the quotes' redactor), and
    level 5 from the sums equals level 5 from the rows. Cost counts each school's students in parts of its own;
    levels 1 and 3 sum the answers of reactions.csv the same way (split by educator, with each educator's
    attendance), and no answer travels."""
    from dataclasses import replace

    from plevaluate.evaluate import evaluate
    from plevaluate.levels.outcomes.compute import StudentSums
    from plevaluate.years import _added, _in_parts

    district = _district(SAMPLE)
    # an approved quote that names a student by ID: the year's evaluation must still redact it
    named = district.students["student_id"].iloc[5]
    quotes = district.tables["quotes"].copy()
    quotes["edited_text"] = quotes["edited_text"].astype("string")
    quotes.loc[quotes.index[0], ["approved", "edited_text"]] = [True, f"Thanks to {named.lower()} for the questions"]
    district = replace(district, tables={**district.tables, "quotes": quotes})
    run = _Run(client)
    # parts of at most 1,000 rows of the longest frame a level prepares (give or take the hash), and at least two
    # for each worker (`PART_ROWS` is 250,000: a part's task needs the same memory at any district size)
    monkeypatch.setattr("plevaluate.held.PART_ROWS", 1_000)
    lean, summing = _in_parts(run, district, "test")
    workers = len(client.scheduler_info()["workers"])
    for level in registry.levels():
        if level.parts is not None:
            ready = level.parts.prepare(district.tables[level.parts.table], district)
            longest = max(len(frame) for frame in (ready if isinstance(ready, tuple) else (ready,)))
            assert len(summing[level.number][2]) == max(2 * workers, -(-longest // 1_000)), level.number
    summed = _added(run, summing)
    assert run.held == {}  # every part's sums are here: nothing of the year's parts is kept on the cluster
    # a task's arguments (a part's rows) live on its worker as long as its task is known there: the workers forget
    # every part once its sums are here (kept, 25 parts' rows filled a 2 GB worker at 5,000 schools)
    deadline = time.monotonic() + 20
    while (known := client.run(_parts_known, "plevaluate-part-test-")) and any(known.values()):
        assert time.monotonic() < deadline, known
        time.sleep(0.2)
    assert (
        lean.students["student_id"].tolist()
        == district.students.loc[district.students["student_id"] == named, "student_id"].tolist()
    )
    assert list(lean.students.columns) == ["student_id"]
    # cost and level 5 sum students.csv, the survey's levels reactions.csv, level 2 learning.csv, level 4
    # observations.csv (its GEE models in rounds of every part's sums, each part held on its worker until they are
    # fitted, then forgotten: above)
    assert sorted(summed) == [0, 1, 2, 3, 4, 5]
    for table in ("reactions", "learning", "observations"):  # no answer, score or observation travels
        assert lean.tables[table].shape == (0, 0), table
    assert {"trend", "dose"} <= set(summed[4][1].fits) and not any(
        isinstance(f, ValueError) for f in summed[4][1].fits.values()
    )
    layout, sums = summed[5]
    assert isinstance(sums, StudentSums)
    students = district.students
    scored = (students["period"] == "post") & students["outcome"].notna()
    assert int(sums.covered[0]) == int(scored.sum())  # every post row with an outcome, once
    there = quietly(evaluate, replace(lean, summaries=summed))
    here = quietly(evaluate, district)
    for level in (1, 2, 3, 4, 5, 0):
        assert sorted(there.levels[level].tables) == sorted(here.levels[level].tables)
        for name, table in here.levels[level].tables.items():
            pd.testing.assert_frame_equal(there.levels[level].tables[name], table, rtol=1e-9, check_dtype=False)
    for level in (1, 2, 3, 4, 5):
        assert there.levels[level].notes == here.levels[level].notes
    shown = pd.concat([there.levels[n].tables["quotes"] for n in (1, 3)])["quote"]
    assert shown.str.contains("Thanks to [term] for the questions", regex=False).sum() == 1
    assert not shown.str.contains(named, case=False).any()


def test_students_a_level_cannot_read_travel_whole_and_the_level_says_why_on_the_worker(client):
    """When level 5 cannot prepare the students (a school not in schools.csv, possible in a district built by hand),
    they are not split: the table travels with the year and level 5 reports the problem there, as in one process."""
    from dataclasses import replace

    from plevaluate.years import _in_parts

    district = _district(SAMPLE)
    students = district.students.copy()
    students.loc[students.index[0], "school_id"] = "NOT-A-SCHOOL"
    odd = replace(district, tables={**district.tables, "students": students})
    lean, summing = _in_parts(_Run(client), odd, "odd")
    assert 5 not in summing and lean.students.equals(students)
    there = quietly(evaluate_on_cluster, client, odd)
    assert "NOT-A-SCHOOL" in there[odd.plan.school_year].levels[5].meta["error"]


def _after(seconds: float, value):
    time.sleep(seconds)
    return value


def test_parts_sums_are_taken_as_they_are_done_and_added_in_order_with_earlier_years_done_meanwhile(client):
    """`_added` takes each part's sums as it is done (done parts do not wait on a worker for the slowest), adds them
    in the parts' order whatever order they finish in, and takes an earlier year's result done meanwhile (a worker
    paused for memory while holding it would otherwise wait for this year's parts, which wait for the worker)."""
    from plevaluate.years import _added

    year = client.submit(_after, 0, ("evaluation", []), key="plevaluate-year-test", pure=False)
    parts = [client.submit(_after, 0.4 * (3 - k), k, key=f"plevaluate-part-test-{k}", pure=False) for k in range(3)]
    run = _Run(client, held={future.key: future for future in [year, *parts]}, tasks={"2023-24": year})
    summed = _added(run, {9: ("layout", list, parts, None, [])})
    assert summed == {9: ("layout", [0, 1, 2])}  # finished 2, 1, 0: added 0, 1, 2
    assert run.outcomes == {"2023-24": ("evaluation", [])} and run.tasks == {} and run.held == {}
    # no parts: nothing to wait for, not even a year still running (until told: a cancelled task's thread would
    # sleep on, and keep the worker from the next test)
    slow = client.submit(_until_set, "plevaluate-test-go", key="plevaluate-year-slow", pure=False)
    start = time.monotonic()
    assert _added(_Run(client, tasks={"2024-25": slow}), {}) == {} and time.monotonic() - start < 5
    distributed.Event("plevaluate-test-go", client=client).set()
    assert slow.result(timeout=30) is None


def test_sums_done_while_a_year_is_still_being_sent_are_taken_at_once(client, monkeypatch):
    """At 20,000 schools a year is prepared and sent here for minutes; the sums of parts already done are taken as
    the next parts are sent (`_take_sums`), not left on their workers until the year is sent (36 parts' sums held a
    2 GB worker at 80% before the first year was). Each level is split here only once every part sent before it is
    done: by then every earlier level's sums are here and forgotten on the cluster, and the year adds up as ever."""
    from distributed import Future

    import plevaluate.years as years_module
    from plevaluate.years import _added, _in_parts

    district = _district(SAMPLE)
    run = _Run(client)
    held = run.held
    counting = years_module.part_count

    def counted_once_the_parts_sent_are_done(ready, least):
        distributed.wait(list(held.values()))
        return counting(ready, least)

    monkeypatch.setattr(years_module, "part_count", counted_once_the_parts_sent_are_done)
    _, summing = _in_parts(run, district, "sent")
    *earlier, last = list(summing)
    assert earlier, "a district whose levels sum more than one table in parts"
    for level in earlier:
        assert not any(isinstance(sums, Future) for sums in summing[level][2]), level
    assert not [key for key in held if not key.endswith("-held") and f"-sent-{last}-" not in key]
    assert sorted(_added(run, summing)) == sorted(summing) and held == {}


def test_no_more_parts_wait_on_the_cluster_than_two_for_each_worker(client, monkeypatch):
    """A part sent waits in the scheduler, rows and all, until it is summed and its sums taken; sent all at once, a
    level's parts sat there together (a local cluster's scheduler runs in this process: at 2,000 schools, three
    years, a scheduler of its own peaked at 672 MB). `_in_parts` now cuts and sends each part as room is made: at no
    moment are more than two parts for each worker still being summed, here with parts of 1,000 rows (dozens a
    level), and the year adds up as ever."""
    from plevaluate.years import _added, _in_parts

    monkeypatch.setattr("plevaluate.held.PART_ROWS", 1_000)
    district = _district(SAMPLE)
    run = _Run(client)
    sending, sent, waiting = client.submit, [], []

    def counted(function, *args, key, **kwargs):
        future = sending(function, *args, key=key, **kwargs)
        if key.startswith("plevaluate-part-") and not key.endswith("-held") and "-ask-" not in key:
            waiting.append(sum(not earlier.done() for earlier in sent) + 1)  # this part, and those still summed
            sent.append(future)
        return future

    monkeypatch.setattr(client, "submit", counted)
    _, summing = _in_parts(run, district, "room")
    summed = _added(run, summing)
    workers = len(client.scheduler_info()["workers"])
    assert len(waiting) > 8 * workers  # many parts a level: sent at once, they would all have waited together
    assert max(waiting) <= 2 * workers, waiting
    assert sorted(summed) == [0, 1, 2, 3, 4, 5] and run.held == {}
    sent.clear()


def test_a_run_given_up_sends_no_more_parts(client):
    """Once a run's tasks were given up (no workers, `plevaluate.cluster.deserted`), the rest of a year's parts are
    not cut and sent: each would wait there for nothing, and each done part whose sums a frozen scheduler never
    hands over cost a second more per part sent (a review: a year given up came back 82 s later). The year is then
    evaluated here (`evaluate_on_cluster`)."""
    from plevaluate.years import _GivenUp, _in_parts

    run = _Run(client)
    run.given_up.set()
    with pytest.raises(_GivenUp, match="given up while its parts were sent"):
        _in_parts(run, _district(SAMPLE), "late")
    assert run.held == {}


def test_a_part_lost_while_its_sums_are_fetched_during_the_send_loses_only_its_year(client, monkeypatch):
    """A part done while its year is still being sent, whose worker then dies as its sums are fetched (and its
    recomputation as often as Dask allows: `Future.result` raises `KilledWorker`), is left for `_added`, where the
    year's loss is handled: the year is evaluated here with a `LostProcessWarning`, the run does not fail, and
    nothing is left on the cluster. (Found by review: taken while sending, the loss escaped the year.)"""
    import types

    from distributed import KilledWorker

    import plevaluate.years as years_module
    from plevaluate.errors import LostProcessWarning

    district = _district(SAMPLE)
    fetching = years_module.fetched

    def lost_once_done(future, *args, **kwargs):
        key = str(future.key)
        if key.startswith("plevaluate-part-") and key.endswith("-1-0") and future.status == "finished":
            raise KilledWorker(key, types.SimpleNamespace(address="tcp://a-dead-worker"), 3)
        return fetching(future, *args, **kwargs)

    counting = years_module.part_count

    def counted_once_the_parts_sent_are_done(ready, least):
        time.sleep(1.0)  # the earlier levels' parts (a small sample) are done: taken while the year is sent
        return counting(ready, least)

    monkeypatch.setattr(years_module, "part_count", counted_once_the_parts_sent_are_done)
    monkeypatch.setattr(years_module, "fetched", lost_once_done)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = evaluate_on_cluster(client, district)
    lost = [str(w.message) for w in caught if issubclass(w.category, LostProcessWarning)]
    assert len(lost) == 1 and "KilledWorker" in lost[0], lost
    assert list(found) == [district.plan.school_year] and found[district.plan.school_year].published
    monkeypatch.undo()
    deadline = time.monotonic() + 20
    while (known := client.run(_parts_known, "plevaluate-part-")) and any(known.values()):
        assert time.monotonic() < deadline, known
        time.sleep(0.2)


def _until_set(name: str):
    distributed.Event(name).wait(timeout=30)


def test_a_client_that_is_not_the_default_one_evaluates_the_same(client, monkeypatch):
    """`evaluate_for_reports(district, scheduler=client)` with a client made with ``set_as_default=False`` and no
    default client in the process: the run waits on its own client's futures, not on a default client
    (`distributed.as_completed` would raise "No clients found"), and gives the same tables."""
    district = _district(SAMPLE_YEARS)
    with distributed.Client(client.scheduler.address, set_as_default=False) as other:
        monkeypatch.setattr(distributed.client, "_get_global_client", lambda: None)
        with pytest.raises(ValueError, match="No clients found"):
            distributed.default_client()
        found = quietly(evaluate_on_cluster, other, district, ["2024-25"])
        monkeypatch.undo()
    _same_evaluation(quietly(_quietly_published, district, "2024-25"), found["2024-25"])


def _deserting():
    """A cluster of its own, with one worker, and a way to take every worker away from it (the workers of a run all
    retired, or scaled to none): Dask then waits for workers for as long as it takes."""
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, **QUIET)
    client = distributed.Client(cluster, set_as_default=False)

    def desert() -> None:
        cluster.scale(0)
        deadline = time.monotonic() + 60
        while client.nthreads() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not client.nthreads()

    return cluster, client, desert


def test_a_cluster_left_without_workers_gives_up_its_tasks_and_the_work_is_done_here(monkeypatch, tmp_path, capsys):
    """Its workers all gone mid-run, a load and an evaluation would wait for ever: after `PATIENCE` seconds without a
    worker their tasks are given up, with a LostProcessWarning saying the cluster had no workers, and the blocks are
    parsed here, the years evaluated here (the same tables). (A report run's reports need no such watch: Dask
    cancels them itself, as their bundle was scattered to the workers that left; they are listed as failed.)"""
    from plevaluate import cluster as dask_cluster
    from plevaluate import contract

    monkeypatch.setattr(dask_cluster, "PATIENCE", 1.0)
    monkeypatch.setattr(contract, "PLAIN_BLOCK", 4096)
    cluster, client, desert = _deserting()
    with cluster, client:
        sending = contract.on_cluster

        def deserted_after_two(client, sent, given_up):  # the third block is sent to a cluster without workers
            parse = sending(client, sent, given_up)

            def parse_then_desert(block, width):
                future = parse(block, width)
                if len(sent) == 2 and client.nthreads():
                    desert()
                return future

            return parse_then_desert

        monkeypatch.setattr(contract, "on_cluster", deserted_after_two)
        with pytest.warns(LostProcessWarning) as caught:
            there = _quietly_but(LostProcessWarning, load, SAMPLE_YEARS, client=client)
        said = [str(w.message) for w in caught]
        assert any("had no workers for 1 s" in message for message in said), said
        assert any("a block of a table was parsed in this process" in message for message in said), said
        assert len(said) < 12  # the blocks after it gave up are parsed here, without a task and a warning each
        here = _district(SAMPLE_YEARS)
        for name, table in here.tables.items():
            pd.testing.assert_frame_equal(table, there.tables[name], obj=name)

        from plevaluate import years as by_year

        checking = by_year.check_workers

        def checked_then_deserted(client):  # the cluster passes the run's check, then its workers leave
            checking(client)
            desert()
            return client

        cluster.scale(1)
        client.wait_for_workers(1, timeout=120)
        monkeypatch.setattr(by_year, "check_workers", checked_then_deserted)
        years = ["2023-24", "2024-25"]  # the first year's parts are given up; the second is not sent
        with pytest.warns(LostProcessWarning) as caught:
            lost = _quietly_but(LostProcessWarning, evaluate_on_cluster, client, here, years)
        said = [str(w.message) for w in caught]
        assert sum("had no workers for 1 s" in message for message in said) == 1, said
        assert any(m.startswith("2024-25 was not sent: the Dask cluster had no workers") for m in said), said
        assert any(m.startswith("2023-24's tasks were given up: the Dask cluster had no workers") for m in said), said
        for year in years:
            _same_evaluation(quietly(evaluate, year_view(here, year), publish=True), lost[year])

        # a report run whose workers left while it evaluated: told so, not that "a file" could not be written (the
        # bundle's scatter found no worker: Dask's TimeoutError is an OSError), and its reports are rendered here, its
        # evaluation kept (it ended with nothing published, the years done here thrown away: F6 of a hostile review)
        from plevaluate import render as rendering
        from plevaluate.cli import main

        packing = dask_cluster.pack

        def deserted_then_packed(*args):
            desert()
            return packing(*args)

        monkeypatch.setattr(by_year, "check_workers", checking)
        monkeypatch.setattr(contract, "on_cluster", sending)
        monkeypatch.setattr(dask_cluster, "pack", deserted_then_packed)
        monkeypatch.setattr(rendering.dask_cluster, "check_workers", functools.partial(checking, timeout=1))
        cluster.scale(1)
        client.wait_for_workers(1, timeout=120)
        out = tmp_path / "out"
        argv = ["report", str(SAMPLE), "--out", str(out), "--schools", "S01", "--format", "html", "--quiet"]
        with pytest.warns(LostProcessWarning, match="the reports are rendered on this machine instead") as caught:
            code = _quietly_but(LostProcessWarning, main, [*argv, "--scheduler", client.scheduler.address])
        said = " ".join(str(w.message) for w in caught) + capsys.readouterr().err
        assert code == 0, said
        assert "has no workers after 1 s" in said and "a file" not in said and "Traceback" not in said, said
        assert (out / "school-s01-lincoln-elementary.html").is_file() and (out / "district-report.html").is_file()


def _restored(value):
    time.sleep(1.5)
    return _SlowToArrive(value)


class _SlowToArrive:
    """A task's result that takes 1.5 s to arrive here (its unpickling sleeps): a large result on a slow network."""

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        return _restored, (self.value,)


def test_a_result_slower_than_a_second_to_arrive_arrives(client):
    """`plevaluate.cluster.fetched` (every reading of a load's blocks, every year's and part's result) waits for a
    result a second at a time, but fetches it once: ``Future.result(timeout=1)``, which it used, cancels its fetch
    when the second is up, so this result was fetched again and again and never arrived (12 tries in 12 s)."""
    from plevaluate.cluster import fetched

    future = client.submit(_SlowToArrive, "the reading", pure=False)
    distributed.wait(future)
    start = time.monotonic()
    assert fetched(future, client, threading.Event()).value == "the reading"
    assert time.monotonic() - start < 10


def _sleeps(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_a_fetch_given_up_while_its_task_runs_leaves_nothing_behind(client, caplog):
    """A result given up while its task still ran (the run's cluster deserted, or Ctrl-C) left Dask's own wait for it
    on the client's loop, which failed once the task was cancelled and printed "Task exception was never retrieved
    ... distributed.client.AllExit" with its traceback (a review). `plevaluate.cluster.fetched` now waits for the
    task to end before it fetches anything."""
    from concurrent.futures import CancelledError

    from plevaluate.cluster import fetched

    future = client.submit(_sleeps, 3.0, pure=False)
    given_up = threading.Event()
    threading.Timer(0.5, given_up.set).start()
    with pytest.raises(CancelledError, match="given up"):
        fetched(future, client, given_up)
    future.cancel()
    del future
    time.sleep(1)  # the cancellation reaches the client's loop
    gc.collect()  # an exception never retrieved is reported when its task is collected
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()], caplog.text


def test_a_result_a_frozen_scheduler_never_hands_over_is_lost_once_the_run_gives_up():
    """A year's task or a part's sums done on a worker, whose result a frozen scheduler (SIGSTOP) never hands over,
    kept an evaluation waiting for ever (its ``result()`` asked the scheduler with no time limit; the watch cancels
    only tasks not done). Each result is now fetched by `plevaluate.cluster.fetched`: once the run gives up, the
    year is lost (and evaluated here, `_from_cluster`) and nothing of it stays held; a part's sums are left for
    `_added` while the year is sent, and lose the year there. Stand-ins for Dask's client and futures."""
    from concurrent.futures import CancelledError

    from plevaluate.years import _take_sums

    loop = asyncio.new_event_loop()  # a client's loop, in its own thread, as Dask's
    threading.Thread(target=loop.run_forever, daemon=True).start()

    class Frozen:  # the scheduler never hands a result over
        status = "running"

        class loop:  # noqa: N801 - distributed.Client.loop
            asyncio_loop = loop

        def gather(self, future, asynchronous=None):
            return asyncio.sleep(3600)

    class Done(distributed.Future):  # a Dask future, done there
        status = "finished"

        def __init__(self, key):  # not sent to any scheduler
            self.key = key

        def done(self):
            return True

        def __del__(self):  # nothing to release on a scheduler
            pass

    year = Done("plevaluate-year-2024-25-x")
    run = _Run(Frozen(), held={year.key: year}, tasks={"2024-25": year})
    threading.Timer(0.5, run.given_up.set).start()
    start = time.monotonic()
    outcome = _outcomes(run)["2024-25"]
    assert isinstance(outcome, CancelledError) and "given up" in str(outcome)
    assert time.monotonic() - start < 10 and run.held == {} and run.tasks == {}

    part = Done("plevaluate-part-2024-25-x-5-0")
    summing = {5: ("layout", list, [part], None, [])}
    run = _Run(Frozen(), held={part.key: part})
    run.given_up.set()
    assert _take_sums(run, summing, finished=True) == 0 and summing[5][2] == [part]  # left for `_added`
    with pytest.raises(CancelledError, match="given up"):  # there, the year is lost (`_year_task`)
        _take_sums(run, summing)
    assert part.key in run.held  # the run's end cancels it with the rest
    loop.call_soon_threadsafe(loop.stop)


def _quietly_but(category, function, *args, **kwargs):
    """``function`` run with every warning but ``category`` ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", category)
        return function(*args, **kwargs)


def test_a_frozen_scheduler_or_an_address_that_is_no_scheduler_is_a_message_not_a_wait(monkeypatch, tmp_path, capsys):
    """A hostile review: a report run whose scheduler was frozen (SIGSTOP) after the years were done waited for ever
    in `check_workers` (Dask's ``wait_for_workers`` asks with no time limit, its timeout notwithstanding), and one
    Ctrl-C then waited for ever in `_close_cluster`'s ``client.run``; an address that answers but is no Dask
    scheduler (a web server) kept ``Client(address)`` waiting for ever; ``--scheduler ''`` quietly ran here and
    ``--workers 0`` quietly ran one. Each is now a message within seconds."""
    import http.server
    import os
    import signal
    import subprocess
    import sys

    from plevaluate import cluster
    from plevaluate.cli import main
    from plevaluate.render import _close_cluster

    monkeypatch.setattr(cluster, "ANSWER", 1.0)
    file = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--scheduler-file", str(file), *common],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(file), "--nthreads", "1",
             "--nworkers", "1", *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = distributed.Client(scheduler_file=str(file), timeout="30s")
        client.wait_for_workers(1, timeout=60)
        assert cluster.check_workers(client) is client  # answered: as before
        os.kill(scheduler.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(ValueError, match=r"did not answer within 1 s \(stopped, frozen"):
            cluster.check_workers(client, timeout=5)
        _close_cluster(client, None)
        assert time.monotonic() - started < 30
    finally:
        os.kill(scheduler.pid, signal.SIGCONT)
        for process in (worker, scheduler):
            if process is not None:
                process.kill()
                process.wait(timeout=30)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(ValueError, match="cannot reach the Dask scheduler at tcp://127.0.0.1"):
            cluster.connect(f"tcp://127.0.0.1:{server.server_address[1]}", 1, timeout="2s")
        assert time.monotonic() - started < 20
    finally:
        server.shutdown()

    out = tmp_path / "out"
    assert main(["report", str(SAMPLE), "--out", str(out), "--scheduler", ""]) == 2
    assert "a Dask scheduler's address" in capsys.readouterr().err and not out.exists()
    with pytest.raises(SystemExit) as stopped:
        main(["report", str(SAMPLE), "--out", str(out), "--workers", "0"])
    assert stopped.value.code == 2 and "at least 1 worker, not 0" in capsys.readouterr().err
