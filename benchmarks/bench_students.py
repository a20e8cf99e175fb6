"""Benchmark: what loading a state's students.csv on a Dask cluster costs the client (issue 34: "the client never holds
the student table").

Run: ``python benchmarks/bench_students.py --data FOLDER [--workers 2] [--memory-limit 2GB] [--out FILE]``, with a
district `plevaluate.sample_years.write_sample_years` generated before (``benchmarks/bench_state.py`` makes one).
Copies its schools.csv, educators.csv, students.csv and plan.yml into a folder of their own, so that students.csv is
the load's large table, and loads that folder twice: in this process alone (``load(folder)``), then with a client of a
`LocalCluster` of ``--workers`` single-threaded workers, each limited to ``--memory-limit``
(``load(folder, client=client)``: students.csv read, typed, checked and held on the workers). Reports each load's
time and this process's peak memory (a LocalCluster's scheduler runs in it, and is counted), each worker's peak, and
the rows. Writes ``--out`` (default: print only).
"""

from __future__ import annotations

import argparse
import gc
import platform
import shutil
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import plevaluate
from plevaluate.cluster import QUIET
from plevaluate.errors import LostProcessWarning
from plevaluate.held import HeldTable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _memory import peak_mb, reset_peak, worker_peaks  # noqa: E402

TABLES = ("schools.csv", "educators.csv", "students.csv", "plan.yml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a district write_sample_years generated before")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--out", default=None)
    parser.add_argument("--no-here", action="store_true", help="skip the load in this process alone")
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster

    warnings.simplefilter("ignore")
    warnings.simplefilter("always", LostProcessWarning)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "students"
        folder.mkdir()
        for name in TABLES:
            shutil.copyfile(Path(args.data) / name, folder / name)
        size = (folder / "students.csv").stat().st_size / 1e6
        with (
            LocalCluster(
                n_workers=args.workers, threads_per_worker=1, processes=True, memory_limit=args.memory_limit, **QUIET
            ) as cluster,
            Client(cluster) as client,
        ):
            client.wait_for_workers(args.workers, timeout=120)
            gc.collect()
            before = peak_mb() if reset_peak() else None
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as warned:
                warnings.simplefilter("always", LostProcessWarning)
                there = plevaluate.load(folder, client=client)
            seconds, mb = time.perf_counter() - start, peak_mb()
            rows = len(there.students)
            held = isinstance(there.students, HeldTable)
            lines.append(f"| with a client: read, typed, checked and held on the workers | {seconds:.1f} | {mb:,.0f} |")
            peaks = worker_peaks(client)
            lost = [str(w.message) for w in warned if issubclass(w.category, LostProcessWarning)]
            del there
            if not args.no_here:  # after the load on the cluster: its peak is not this one's
                reset_peak()
                start = time.perf_counter()
                here = plevaluate.load(folder)
                seconds, mb = time.perf_counter() - start, peak_mb()
                lines.append(f"| in this process alone | {seconds:.1f} | {mb:,.0f} |")
                del here
    text = "\n".join(
        [
            f"Measured {date.today():%Y-%m-%d} on {platform.machine()}, {__import__('os').cpu_count()} cores, Python "
            f"{platform.python_version()}, with `python benchmarks/bench_students.py {' '.join(argv or sys.argv[1:])}`.",
            "",
            f"students.csv: {rows:,} rows, {size:,.0f} MB (with schools.csv, educators.csv and plan.yml). This "
            f"process held {before or 0:,.0f} MB before loading.",
            "",
            "| load | seconds | this process's peak, MB |",
            "| --- | --- | --- |",
            *lines,
            "",
            f"Each worker's peak: {', '.join(f'{mb:,.0f}' for _, mb in sorted(peaks.items()))} MB, against a limit of "
            f"{args.memory_limit}.",
            "",
            f"- {'PASS' if held and not lost else 'FAIL'}: the students held on the workers"
            + (f"; lost: {'; '.join(lost)}" if lost else ""),
        ]
    )
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0 if held and not lost else 1


if __name__ == "__main__":
    raise SystemExit(main())
