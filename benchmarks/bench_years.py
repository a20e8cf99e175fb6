"""Benchmark: a program followed over several school years, evaluated as the reports need it.

Run: ``python benchmarks/bench_years.py [--schools 2000] [--years 3] [--cohorts 3]``. Generates the synthetic
multi-year district (`plevaluate.sample_years`), loads it, then times each step `plevaluate.years.evaluate_for_reports`
takes: each year's view, its evaluation and its publication, the levels' own multi-year tables and the trend
(`evaluate_years` with the years already evaluated), and the tables the reports read (`publishable`), one after
another in one process; then the whole of `evaluate_for_reports` with ``--workers`` processes (the years side by
side, as ``plevaluate report`` runs it), and on a local Dask cluster of ``--workers`` single-threaded workers (each
year a task, as ``plevaluate report --scheduler`` runs it), with each worker's peak memory. Writes the figures to ``benchmarks/results-years.md`` with the machine
described; the README quotes them.

The target (issue 34): three years of 2,000 schools evaluated in under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import plevaluate
from plevaluate import registry
from plevaluate.cluster import QUIET
from plevaluate.evaluate import evaluate
from plevaluate.sample_years import write_sample_years
from plevaluate.years import evaluate_for_reports, evaluate_years, evaluated_years, publishable, year_view

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _memory import peak_mb, worker_peaks  # noqa: E402

TARGET_S = 60.0


def _on_cluster(district, workers: int) -> tuple[float, list[float]]:
    """`evaluate_for_reports` on a local Dask cluster (started before the clock), and each worker's peak memory."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, **QUIET) as cluster:
        with Client(cluster) as client:
            start = time.perf_counter()
            evaluate_for_reports(district, scheduler=client)
            seconds = time.perf_counter() - start
            peaks = worker_peaks(client)
    return seconds, [peaks[address] for address in sorted(peaks)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=2000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--cohorts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="processes for the years side by side (default 2)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results-years.md"))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        data = write_sample_years(
            Path(tmp) / "district", n_schools=args.schools, years=args.years, cohorts=args.cohorts, seed=1
        )
        generated = time.perf_counter() - start
        size = sum(p.stat().st_size for p in data.iterdir()) / 1e6
        start = time.perf_counter()
        district = plevaluate.load(data)
        loaded = time.perf_counter() - start
        rows = sum(len(t) for t in district.tables.values())
        steps: list[tuple[str, float]] = []
        evaluations = {}
        for year in evaluated_years(district):
            start = time.perf_counter()
            view = year_view(district, year)
            steps.append((f"{year}: the year's view", time.perf_counter() - start))
            start = time.perf_counter()
            internal = evaluate(view)
            steps.append((f"{year}: evaluate", time.perf_counter() - start))
            start = time.perf_counter()
            evaluations[year] = internal.publish()
            steps.append((f"{year}: publish", time.perf_counter() - start))
        start = time.perf_counter()
        result = evaluate_years(district, registry.levels(), list(evaluations), known=evaluations)
        steps.append(("the levels' multi-year tables and the trend", time.perf_counter() - start))
        start = time.perf_counter()
        publishable(result)
        steps.append(("the tables the reports read", time.perf_counter() - start))
        del evaluations, result
        start = time.perf_counter()
        evaluate_for_reports(district, workers=args.workers)
        side_by_side = time.perf_counter() - start
        on_cluster, worker_mb = _on_cluster(district, args.workers)
    total = sum(seconds for _, seconds in steps)
    # on paper: with a machine per year, the longest year (view, evaluation, publication) and then what spans them
    per_year = {}
    for name, seconds in steps:
        if ": " in name:
            per_year[name.split(": ")[0]] = per_year.get(name.split(": ")[0], 0.0) + seconds
    spanning = total - sum(per_year.values())
    verdict = "PASS" if side_by_side < TARGET_S else "FAIL"
    lines = [
        f"Measured {date.today()} on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"with `python benchmarks/bench_years.py --schools {args.schools} --years {args.years} "
        f"--cohorts {args.cohorts}`.",
        "",
        f"{args.schools:,} schools, {args.years} school years: {rows:,} rows, {size:.0f} MB of CSV; generated in "
        f"{generated:.0f} s, loaded and validated in {loaded:.1f} s.",
        "",
        "| step | seconds |",
        "| --- | --- |",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in steps),
        f"| **evaluation for the reports, one process** | **{total:.1f}** |",
        f"| **the same, `evaluate_for_reports(workers={args.workers})`: the years side by side** | **{side_by_side:.1f}** |",
        f"| **the same on a local Dask cluster of {args.workers} workers (`scheduler=client`): each year a task** | "
        f"**{on_cluster:.1f}** |",
        "",
        f"Peak memory of this process (load included; the other years' process holds one year's view): "
        f"{peak_mb():,.0f} MB; of each Dask worker: {', '.join(f'{mb:,.0f}' for mb in worker_mb)} MB.",
        "",
        f"On paper, from these costs: with one machine (or Dask worker) per year, each year's view, evaluation and "
        f"publication run at once, so the evaluation would take about the longest year "
        f"({max(per_year.values()):.0f} s) plus what spans the years ({spanning:.0f} s, here), "
        f"{max(per_year.values()) + spanning:.0f} s, before the time to send each year's view "
        f"(one-year programs gain nothing: a year is one task).",
        "",
        f"- {verdict}: {args.years} years of {args.schools:,} schools evaluate in under {TARGET_S:.0f} s on "
        f"{os.cpu_count()} cores ({side_by_side:.0f} s)",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
