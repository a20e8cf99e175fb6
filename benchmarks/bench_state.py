"""Benchmark: a statewide program over several years, evaluated on a local Dask cluster whose workers have a memory
limit (issue 34's state-scale run).

Run: ``python benchmarks/bench_state.py [--schools 20000] [--years 3] [--cohorts 3] [--workers 2]
[--memory-limit 2GB] [--data FOLDER] [--no-alone]``. Generates the synthetic multi-year district
(`plevaluate.sample_years`, in a process of its own: generating 20,000 schools takes 11.1 GB, which is not the
client's), or takes one generated before (``--data``), loads and validates it here (the client), evaluates it on a
`LocalCluster` of ``--workers`` single-threaded workers each limited to ``--memory-limit``
(`plevaluate.years.evaluate_for_reports` with ``scheduler=``: each school year a task), and saves the published
results. Reports each step's time, the client's peak memory while loading and while evaluating, each worker's peak
memory against its limit, and any year whose workers were ended for memory (then evaluated in the client,
`LostProcessWarning`).
Writes ``benchmarks/results-state.md`` with the machine described; docs/benchmarks.md quotes it.

A school year's evaluation is one task, its students summed in parts by tasks of their own (level 5's `Level.parts`),
so a worker needs the memory of the rest of a year's evaluation: the run says so when a year does not fit its worker,
and, on paper, what N machines would take from the measured cost of each year.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import plevaluate
import plevaluate.years as years_module
from plevaluate.cluster import QUIET
from plevaluate.errors import LostProcessWarning
from plevaluate.sample_years import write_sample_years
from plevaluate.years import _published, evaluate_for_reports, evaluated_years

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _memory import peak_mb, reset_peak, worker_peaks  # noqa: E402


def _bytes(limit: str) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(limit))


def _task_costs(records: list[dict]) -> dict:
    """Seconds of work on the workers from Dask's task stream, by kind: each part's sums (by level), a level's rounds
    and each year's task (key names from `plevaluate.years.evaluate_on_cluster`)."""
    parts: dict[str, list[float]] = {}
    years = {}
    for record in records:
        key = str(record["key"])
        seconds = sum(s["stop"] - s["start"] for s in record.get("startstops", ()) if s.get("action") == "compute")
        part = re.fullmatch(r"plevaluate-part-.+-(\d+)-\d+(-held)?(-ask-\d+)?", key)
        if part:  # a part's sums, or its level's rounds (`Parts.refine`: "-held", then "-ask-N" for each step)
            parts.setdefault(part[1] + (" rounds" if part[3] else ""), []).append(seconds)
        elif key.startswith("plevaluate-year-"):
            years[key.removeprefix("plevaluate-year-")[:7]] = seconds
    return {"parts": parts, "years": years}


def _on_paper(work: dict, prepared: float, added: float) -> list[str]:
    """The measured cost of each kind of task, and the time N machines (one worker each) would take: the client's
    serial preparation and adding of the parts' sums, the parts spread over the machines (no faster than the longest),
    and the years' tasks (no faster than the longest year)."""
    parts = [s for costs in work["parts"].values() for s in costs]
    if not parts or not work["years"]:
        return ["(no task stream was recorded: no figures per part)"]
    years = list(work["years"].values())
    by_level = ", ".join(f"level {level} {sum(costs):.1f} s" for level, costs in sorted(work["parts"].items()))
    lines = [
        f"Measured on the workers (Dask's task stream): {len(parts)} part tasks, {sum(parts):.1f} s of work in all "
        f"(the longest {max(parts):.1f} s; {by_level}); each year's task "
        + ", ".join(f"{year} {s:.1f} s" for year, s in sorted(work["years"].items()))
        + f". The client prepared and split the years' parts in {prepared:.1f} s, and gathered and added their sums in "
        f"{added:.1f} s (waiting for the parts included), one year after another.",
        "",
        "On paper, N machines of one worker each: the client's preparation, then the parts (their work over N, no less "
        "than the longest part), then the years' tasks (their work over N, no less than the longest year); loading, "
        "what spans the years and saving come on top.",
        "",
        "| machines | seconds |",
        "| --- | --- |",
    ]
    for n in (1, 2, 4, 8, 16):
        seconds = prepared + max(max(parts), sum(parts) / n) + max(max(years), sum(years) / n)
        lines.append(f"| {n} | {seconds:.0f} |")
    return lines


def _generated(out: Path, schools: int, years: int, cohorts: int) -> Path:
    """The synthetic district, written by a process of its own (spawned: nothing of this one's memory shared), so
    that the client's peak is the client's."""
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(
        target=write_sample_years,
        args=(out,),
        kwargs={"n_schools": schools, "years": years, "cohorts": cohorts, "seed": 1},
    )
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"generating the district failed (exit code {process.exitcode})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=20000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--cohorts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results-state.md"))
    parser.add_argument("--data", default=None, help="a district write_sample_years generated before (not generated)")
    parser.add_argument(
        "--no-alone",
        action="store_true",
        help="skip evaluating each year alone in one process (at 20,000 schools it needs more memory than the cluster)",
    )
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster, get_task_stream

    warnings.simplefilter("ignore")
    warnings.simplefilter("always", LostProcessWarning)
    limit_mb = _bytes(args.memory_limit) / 2**20
    steps: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.data is None:
            start = time.perf_counter()
            data = _generated(Path(tmp) / "district", args.schools, args.years, args.cohorts)
            steps.append(("generate the synthetic district (a process of its own)", time.perf_counter() - start))
        else:
            data = Path(args.data)
        size = sum(p.stat().st_size for p in data.iterdir()) / 1e6
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=args.memory_limit,
            **QUIET,
        )
        client = Client(cluster)
        first = set(client.scheduler_info()["workers"])
        measured = reset_peak()  # the client's own peaks, step by step (VmHWM; else since the process began)
        start = time.perf_counter()
        district = plevaluate.load(data, client=client)  # the large tables' blocks parsed on the workers
        steps.append(
            ("load and validate (blocks parsed on the workers, checked on the client)", time.perf_counter() - start)
        )
        client_mb = {"load": peak_mb()}
        reset_peak()
        rows = sum(len(t) for t in district.tables.values())
        # the client's time splitting each year into parts (`_in_parts`) and adding their sums (`_added`), serial
        clocks: dict[str, list[float]] = {"_in_parts": [], "_added": []}
        originals = {name: getattr(years_module, name) for name in clocks}

        def timed(name):
            def run(*args):
                begin = time.perf_counter()
                try:
                    return originals[name](*args)
                finally:
                    clocks[name].append(time.perf_counter() - begin)

            return run

        for name in clocks:
            setattr(years_module, name, timed(name))
        try:
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught, get_task_stream(client) as stream:
                warnings.simplefilter("ignore")
                warnings.simplefilter("always", LostProcessWarning)
                evaluation = evaluate_for_reports(district, scheduler=client)
            steps.append((f"evaluate and publish on the cluster ({args.workers} workers)", time.perf_counter() - start))
            client_mb["evaluate"] = peak_mb()
            peaks = worker_peaks(client)
            now = set(client.scheduler_info()["workers"])
            if not args.no_alone:  # each year alone, below, runs here once the cluster is gone: its students too
                district = district.here()
        finally:
            for name, original in originals.items():
                setattr(years_module, name, original)
            client.close()
            cluster.close()
        work = _task_costs(stream.data)
        start = time.perf_counter()
        evaluation.save(Path(tmp) / "results")
        steps.append(("save the published results", time.perf_counter() - start))
        lost = [str(w.message) for w in caught if issubclass(w.category, LostProcessWarning)]
        # on paper: each year's cost alone (one machine per year runs them at once)
        per_year = {}
        for year in [] if args.no_alone else evaluated_years(district):
            start = time.perf_counter()
            _published(district, year)
            per_year[year] = time.perf_counter() - start
    restarted = len(now - first)
    over = {address: mb for address, mb in peaks.items() if mb > limit_mb}
    verdict = "PASS" if peaks and not lost and not over and not restarted else "FAIL"
    lines = [
        f"Measured {date.today()} on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"with `python benchmarks/bench_state.py --schools {args.schools} --years {args.years} --cohorts "
        f"{args.cohorts} --workers {args.workers} --memory-limit {args.memory_limit}"
        + (f" --data {args.data}" if args.data else "")
        + (" --no-alone" if args.no_alone else "")
        + "`.",
        "",
        f"{args.schools:,} schools, {args.years} school years: {rows:,} rows, {size:.0f} MB of CSV.",
        "",
        "| step | seconds |",
        "| --- | --- |",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in steps),
        "",
        (
            f"Peak memory: the client {client_mb['load']:,.0f} MB loading, {client_mb['evaluate']:,.0f} MB evaluating "
            "(its scheduler's share included: a LocalCluster's scheduler runs in the client's process); "
            if measured
            else f"Peak memory: the client (load included) {max(client_mb.values()):,.0f} MB; "
        )
        + (
            f"each worker {', '.join(f'{mb:,.0f}' for _, mb in sorted(peaks.items()))} MB"
            if peaks
            else "no worker was running at the end (ended for memory)"
        )
        + f" against a limit of {limit_mb:,.0f} MB"
        + (f" ({restarted} worker(s) ended and restarted by their nanny)" if restarted else "")
        + ".",
        "",
        *_on_paper(work, sum(clocks["_in_parts"]), sum(clocks["_added"])),
        "",
        (
            "Each year alone, in one process (its view, evaluation and publication): "
            + ", ".join(f"{year} {seconds:.0f} s" for year, seconds in per_year.items())
            + f". On paper, with one machine per year: about {max(per_year.values()):.0f} s for the years, plus the "
            "load and what spans the years in the client; more machines than years gain nothing while a year is one "
            "task."
            if per_year
            else "Each year alone in one process: not measured (--no-alone)."
        ),
        "",
        f"- {verdict}: every year evaluated on a worker under its {args.memory_limit} limit"
        + (f" (years evaluated in the client instead: {len(lost)})" if lost else "")
        + (f" (workers over the limit: {len(over)})" if over else ""),
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
