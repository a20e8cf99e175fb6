"""Shared fixtures: an rng, the sample district, a tiny district to corrupt, matplotlib's Agg backend."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import shutil
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import plevaluate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def pytest_xdist_auto_num_workers(config) -> int:
    """How many test processes ``-n logical`` (pyproject.toml's addopts) starts: one more than the CPUs this process
    may use. The report tests spend seconds waiting on kernels, browsers, LibreOffice and Dask workers starting; a
    third process on 2 cores keeps both busy meanwhile (the whole suite, fresh clone, 2026-12-06: 1,068 s in two
    processes, 912 s in three; the machine idle 0.2% of the three's run). ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still
    sets it, as in pytest-xdist."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) + 1


@pytest.fixture(scope="session")
def sample_evaluation(sample_district) -> plevaluate.Evaluation:
    """All levels of the sample district, evaluated once for the whole test session."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plevaluate.evaluate(sample_district)


def folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, worker_id):
    """Every report of the sample district in every format, rendered once for the whole run: with pytest-xdist the
    first worker to ask renders into the run's shared temporary folder while the others wait for it (a lock), and
    they all read the same reports (no test writes into them; tests that change a report copy the folder first)."""
    if worker_id == "master":  # one process (pytest -n 0)
        return _render_sample(tmp_path_factory.mktemp("reports"))
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, common to every worker
    with open(shared / "rendered.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = shared / "rendered.pickle"
        if not done.is_file():
            done.write_bytes(pickle.dumps(_render_sample(shared / "reports")))
        return pickle.loads(done.read_bytes())


def _render_sample(out: Path):
    from plevaluate.render import render

    before = folder_hash(SAMPLE)
    summary = render(SAMPLE, out, workers=2, formats=("html", "pdf", "slides", "ipynb", "xlsx", "pptx", "docx"))
    assert folder_hash(SAMPLE) == before  # the input folder is never written to
    assert not summary.failures, summary.failures
    return summary


@pytest.fixture(scope="session")
def published(sample_evaluation) -> plevaluate.Evaluation:
    """The sample's evaluation as published: suppression applied once, to everything."""
    return sample_evaluation.publish()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20251123)


@pytest.fixture(scope="session")
def truth() -> dict:
    """The sample district's true parameters and estimands (written by plevaluate.sample)."""
    return json.loads((SAMPLE / "truth.json").read_text())


@pytest.fixture(scope="session")
def sample_district() -> plevaluate.District:
    return plevaluate.load(SAMPLE)


def write_tiny(folder: Path) -> Path:
    """A small valid district cut from the sample: two participant schools and one comparison school."""
    folder.mkdir(parents=True, exist_ok=True)
    keep = {"S01", "S02", "S09"}
    read = {name: pd.read_csv(SAMPLE / f"{name}.csv", dtype=str, keep_default_na=False) for name in plevaluate.TABLES}
    educators = read["educators"][read["educators"]["school_id"].isin(keep)]
    staff = set(educators["educator_id"])
    cut = {
        "schools": read["schools"][read["schools"]["school_id"].isin(keep)],
        "educators": educators,
        "sessions": read["sessions"],
        "attendance": read["attendance"][read["attendance"]["educator_id"].isin(staff)].head(40),
        "costs": read["costs"][read["costs"]["school_id"].isin(keep | {""})],
        "survey_items": read["survey_items"],
        "reactions": read["reactions"][read["reactions"]["school_id"].isin(keep)].head(60),
        "learning": read["learning"][read["learning"]["educator_id"].isin(staff)],
        "conditions": read["conditions"][read["conditions"]["school_id"].isin(keep)],
        "observations": read["observations"][read["observations"]["school_id"].isin(keep)].head(40),
        "students": read["students"][read["students"]["school_id"].isin(keep)].head(60),
        "comments": read["comments"][read["comments"]["school_id"].isin(keep)].head(40),
    }
    said = set(cut["comments"]["comment_id"])
    cut["comment_codes"] = read["comment_codes"][read["comment_codes"]["comment_id"].isin(said)]
    cut["quotes"] = read["quotes"][read["quotes"]["comment_id"].isin(said)]
    # learning: the first 20 educators with a pre score, with their post scores
    learning = cut["learning"]
    pre = list(learning.loc[learning["occasion"] == "pre", "educator_id"])[:20]
    cut["learning"] = learning[learning["educator_id"].isin(pre)]
    for name, frame in cut.items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    shutil.copy(SAMPLE / "plan.yml", folder / "plan.yml")
    shutil.copy(SAMPLE / "codebook.yml", folder / "codebook.yml")
    return folder


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny(tmp_path / "district")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def cluster_client():
    """A `LocalCluster` of two single-threaded worker processes for a test module, and its client."""
    distributed = pytest.importorskip("distributed")
    from plevaluate.cluster import QUIET

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, **QUIET) as cluster:
        with distributed.Client(cluster) as connected:
            yield connected


@pytest.fixture
def client(cluster_client):
    """The module's cluster, once both its workers are up: a test that kills a worker leaves its nanny restarting it,
    and on a busy machine the next test saw one worker (and split the year in half as many parts as it expected)."""
    cluster_client.wait_for_workers(2, timeout=120)
    return cluster_client


def quietly(function, *args, **kwargs):
    """``function(*args, **kwargs)`` with every warning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)
