"""Rendering on a Dask cluster (``plevaluate report ... --scheduler``) gives the reports a local run gives.

The local render is the session fixture ``rendered`` (every report of the sample, every format);
here the same sample is rendered on a `LocalCluster` started by plevaluate (``--scheduler local``)
and on a cluster the test starts itself and passes by address, whose one worker runs two reports at
once in two threads (so each thread must keep its own kernel).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from pypdf import PdfReader

from plevaluate.cli import main
from plevaluate.cluster import QUIET
from plevaluate.render import render
from tests.conftest import SAMPLE
from tests.test_reports import BROWSER

distributed = pytest.importorskip("distributed")

# the one line that differs between two runs on the same data: when the evaluation ran
STAMP = re.compile(r"Evaluated \d{4}-\d\d-\d\dT[\d:]+[+-]\d\d:\d\d")


def _text(path: Path) -> str:
    return STAMP.sub("Evaluated <time>", path.read_text(encoding="utf-8"))


def _same_reports(local: Path, cluster: Path, names: list[str]) -> None:
    for name in names:
        if name.endswith(".html"):
            assert _text(cluster / name) == _text(local / name), name
        elif name.endswith(".ipynb"):
            ours, theirs = (nbformat.read(folder / name, as_version=4) for folder in (cluster, local))
            assert len(ours.cells) == len(theirs.cells), name
            for mine, other in zip(ours.cells, theirs.cells):  # papermill's timings in the metadata differ
                assert mine.source == other.source, name
                outputs = (STAMP.sub("", json.dumps(c.get("outputs"), sort_keys=True)) for c in (mine, other))
                assert next(outputs) == next(outputs), name
        elif name.endswith(".pdf"):
            ours, theirs = (PdfReader(folder / name) for folder in (cluster, local))
            assert len(ours.pages) == len(theirs.pages), name
            assert STAMP.sub("", ours.pages[-1].extract_text()) == STAMP.sub("", theirs.pages[-1].extract_text())


@pytest.mark.dask
def test_local_cluster_renders_the_same_reports_as_a_local_run(rendered, tmp_path):
    out = tmp_path / "cluster"
    formats = ("html", "pdf", "slides", "ipynb") if BROWSER else ("html", "slides", "ipynb")
    # two of the twelve schools (the suite's time): every district-level report and school reports in every format
    schools = ["S01", "S03"]
    summary = render(SAMPLE, out, workers=2, formats=formats, scheduler="local", schools=schools)
    assert summary.ok, (summary.failures, summary.findings)
    names = sorted(p.name for p in summary.written if p.name != "index.html")
    assert names == sorted(p.name for p in rendered.written if p.name in names)
    assert len(names) == 6 * (3 if BROWSER else 2) + 1  # every report asked for; the board summary's slides
    _same_reports(rendered.out, out, names)
    assert (out / "results" / "manifest.json").exists()
    assert not list(out.glob(".staging-*"))


@pytest.mark.dask
def test_existing_cluster_by_address_with_two_threads_per_worker(rendered, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, **QUIET) as cluster:
        out = tmp_path / "out"
        summary = render(
            SAMPLE, out, schools=["S01", "S02", "S03"], formats=("html",), scheduler=cluster.scheduler_address
        )
        assert summary.ok, summary.failures
        names = sorted(p.name for p in summary.written if p.name != "index.html")
        assert len(names) == 7  # district, board, appendix, logic model, three schools
        _same_reports(rendered.out, out, names)
        # after the run the worker has dropped the bundle and shut down its kernels
        with distributed.Client(cluster.scheduler_address) as client:
            left = client.run(lambda: __import__("plevaluate.render", fromlist=["_STATES"])._STATES)
        assert all(not states for states in left.values())


@pytest.mark.dask
def test_failing_report_on_a_cluster_is_listed_and_others_publish(tmp_path, capsys):
    from tests.test_reports import test_failing_notebook_for_one_school

    test_failing_notebook_for_one_school(tmp_path, capsys, extra=["--scheduler", "local"])


def test_unreachable_scheduler_is_one_clear_error(tmp_path, capsys):
    assert main(["report", str(SAMPLE), "--out", str(tmp_path / "o"), "--scheduler", "nowhere", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler at nowhere" in err and "--scheduler local" in err
    assert "Traceback" not in err
    assert not list((tmp_path / "o").glob("*.html"))


def test_a_worker_killed_outright_leaves_no_bundle_or_report_folder_behind(tmp_path, monkeypatch):
    """A hostile review: a Dask worker killed with kill -9 left its unpacked results bundle and its report's folder in
    the temporary folder for good. They carry their process's pid; the next bundle unpacked on that machine (the dead
    worker's replacement's first) sweeps those of processes that no longer exist, never a live one's."""
    import subprocess
    import sys
    import tempfile

    from plevaluate.cluster import forget_unpacked, pack, unpacked

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = [
        tmp_path / f"plevaluate-bundle-{dead.pid}-0123456789abcdef0123-x1",
        tmp_path / f"plevaluate-job-{dead.pid}-x2",
    ]
    alive = tmp_path / f"plevaluate-job-{os.getpid()}-x3"  # this process's: still running
    for folder in (*left, alive):
        (folder / "results").mkdir(parents=True)
    results = tmp_path / "results"
    results.mkdir()
    (results / "manifest.json").write_text("{}")
    try:
        folder = unpacked(pack(results))
        assert folder.name.startswith(f"plevaluate-bundle-{os.getpid()}-") and (folder / "results").is_dir()
        assert not any(path.exists() for path in left) and alive.is_dir()
    finally:
        forget_unpacked()


def test_a_folder_named_with_a_pid_no_process_could_have_is_left_alone(tmp_path, monkeypatch):
    """A hostile review: any local user's "plevaluate-job-99999999999999999999-x" in the temporary folder made every
    run (and every Dask report, whose worker sweeps as it unpacks) fail with an OverflowError."""
    import tempfile

    from plevaluate._outputs import clean_temporary

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    odd = tmp_path / "plevaluate-job-99999999999999999999-x"
    odd.mkdir()
    assert clean_temporary() == [] and odd.is_dir()


def test_the_source_digest_covers_every_packaged_file_and_ignores_line_endings(tmp_path):
    """A hostile review: a worker whose report styles differed passed the check of its code (the digest read only the
    .py, notebook and template files), and the same code checked out with Windows line endings was refused."""
    import shutil

    from plevaluate import version

    copy = tmp_path / "plevaluate"
    shutil.copytree(Path(version.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert version._source(copy) == version.SOURCE
    (copy / "figures.py").write_bytes((copy / "figures.py").read_bytes().replace(b"\n", b"\r\n"))
    assert version._source(copy) == version.SOURCE  # the same code
    (copy / "notebooks" / ".ipynb_checkpoints").mkdir()
    (copy / "notebooks" / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    assert version._source(copy) == version.SOURCE  # not installed by a wheel
    with (copy / "assets" / "report.css").open("a") as css:
        css.write("body { background: #ff00ff; }\n")
    assert version._source(copy) != version.SOURCE
