"""Benchmark, side by side in one run: plevaluate against the naive papermill loop, and plevaluate at scale.

Run from a clean clone (after the README's install command)::

    python benchmarks/side_by_side.py                      # sizes 12, 200, 2000; about 40 minutes on 2 cores
    python benchmarks/side_by_side.py --sizes 12,200 --rounds 2 --out benchmarks/results.md

It writes a Markdown results table (``--out``, default ``benchmarks/results.md``; the README shows
the latest) and prints whether each target of the speed-and-scale issue is met.

**Scale.** For each size a district is generated (``plevaluate sample --schools N``; 12 is the
bundled sample). Every step runs in a fresh Python process, so its peak memory (``ru_maxrss``) is
its own: load + validate (and, for comparison, ``pandas.read_csv`` of the same files with string
dtypes), evaluate, save, and rendering HTML for the three district-level reports and
``--render-schools`` school reports with 2 workers (the whole district's reports when it has no more
schools than that).

**Side by side.** On one district (``--render-size``, default 40 schools), in interleaved rounds
(each round runs every way once, in turn, so a busy moment hurts all of them alike):

- ``plevaluate report``: every report of the district, HTML only, 2 workers; per report =
  the whole command's time (load, evaluate and save included) / number of reports;
- naive computing loop: per report, ``papermill`` (the notebook computes from the data) then
  ``jupyter nbconvert --to html --no-input``, one after another;
- naive over saved results: the same commands, with the notebook reading results saved once by
  plevaluate (not timed), sequential and with 2 processes.

The naive loops render ``--naive-reports`` reports (the three district-level ones and the first
school reports); their per-report time is what the loop would cost for every report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
NOTEBOOKS = ROOT / "plevaluate" / "notebooks"
BIN = Path(sys.executable).parent

# ---- one step, in its own process: prints {"seconds": ..., "peak_mb": ...} ----

STEP = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
step, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
seconds = {}
if step == "read_csv":
    import pandas as pd
    from pathlib import Path
    start = time.perf_counter()
    for path in sorted(Path(data).glob("*.csv")):
        pd.read_csv(path, dtype="string", keep_default_na=False)
    seconds["read_csv"] = time.perf_counter() - start
else:
    import plevaluate
    from plevaluate.evaluate import evaluate
    start = time.perf_counter()
    district = plevaluate.load(data)
    seconds["load"] = time.perf_counter() - start
    if step == "evaluate":
        import importlib
        module = importlib.import_module("plevaluate.evaluate")
        run_level = module._isolated
        def timed(level, *args):  # each level's own time (evaluate runs them one after another)
            begun = time.perf_counter()
            try:
                return run_level(level, *args)
            finally:
                seconds[f"level {level.number}"] = time.perf_counter() - begun
        module._isolated = timed
        start = time.perf_counter()
        ev = evaluate(district)
        seconds["evaluate"] = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "peak_mb": None}), flush=True)  # what a stopped step still tells
        start = time.perf_counter()
        published = ev.publish()
        seconds["publish"] = time.perf_counter() - start
        start = time.perf_counter()
        published.save(out)
        seconds["save"] = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak}))
"""


REPORTS = r"""
import json, statistics, sys, tempfile, time, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from plevaluate import render as r
from plevaluate.evaluate import Evaluation
results, n_schools = sys.argv[1], int(sys.argv[2])
ev = Evaluation.load(results)
jobs = r.jobs_for(ev, Path(results), list(ev.schools["school_id"])[: n_schools + 1])
staging = Path(tempfile.mkdtemp())
start = time.perf_counter()
r._warm(None)
seconds = {"warm kernel": time.perf_counter() - start}
school = [job for job in jobs if job.school_id]
district = [job for job in jobs if not job.school_id]
def run(job):
    begun = time.perf_counter()
    files, failure = r._execute(job, staging, ("html",), None)
    assert failure is None, failure
    return time.perf_counter() - begun
seconds["first school report (reads the results)"] = run(school[0])
times = [run(job) for job in school[1:]]
seconds["school report"] = statistics.median(times)
for job in district:
    seconds[job.title] = run(job)
r.shutdown_workers()
print(json.dumps({"seconds": seconds}))
"""


def _reports(results: Path, schools: int) -> dict:
    """Each report's own time in one warm kernel, over saved results: the first school report (which reads the
    results), the median of ``schools`` more, and the district report, board summary and technical appendix."""
    command = [sys.executable, "-c", REPORTS, str(results), str(schools)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=STEP_TIMEOUT[0])
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def slopes(found: dict, keys: list[str]) -> list[str]:
    """Log-log slopes of each timed step between the smallest and largest size that measured it (1 = linear)."""
    lines = []
    for key in keys:
        sizes = sorted(n for n, got in found.items() if got.get(key))
        if len(sizes) < 2:
            continue
        low, high = sizes[0], sizes[-1]
        slope = np.log(found[high][key] / found[low][key]) / np.log(high / low)
        steps = ", ".join(f"{found[n][key]:.2f} s at {n:,}" for n in sizes)
        lines.append(f"| {key} | {steps} | {slope:.2f} |")
    return lines


#: Seconds after which a step is stopped and reported as not finished (``--step-timeout``).
STEP_TIMEOUT = [900.0]


def _step(step: str, data: Path, out: Path) -> dict:
    """One step in its own process: ``{"seconds": {stage: s}, "peak_mb": MB, "finished": bool}``; a step
    stopped at the timeout keeps the stages it finished."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", STEP, step, str(data), str(out)],
            check=True,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT[0],
        )
    except subprocess.TimeoutExpired as stopped:
        output = stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else stopped.stdout or ""
        lines = [line for line in output.strip().splitlines() if line.startswith("{")]
        partial = json.loads(lines[-1]) if lines else {"seconds": {}, "peak_mb": None}
        return {**partial, "finished": False}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "finished": True}


RENDER = r"""
import json, resource, sys, time
from plevaluate.render import render
started = time.perf_counter()
first = []
data, out, schools = sys.argv[1], sys.argv[2], [s for s in sys.argv[3].split(",") if s] or None
summary = render(data, out, schools=schools, workers=2, formats=("html",),
                 progress=lambda n: first or first.append(time.perf_counter() - started))
peaks = [resource.getrusage(who).ru_maxrss / 1024 for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
print(json.dumps({"ok": summary.ok, "failures": [str(f) for f in summary.failures], "peak_mb": max(peaks),
                  "first_s": first[0] if first else None}))
"""


def _render(data: Path, out: Path, schools: list[str] | None) -> tuple[float, int, float, float]:
    """``plevaluate report`` as a user runs it (HTML, 2 workers; through `plevaluate.render.render`, the function
    the command calls): seconds, reports written, the peak memory of the largest process of the run (the
    command itself, or its largest worker), and the seconds until the first report was finished."""
    command = [sys.executable, "-c", RENDER, str(data), str(out), ",".join(schools or [])]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise RuntimeError(f"plevaluate report failed: {result['failures'][:3]}")
    reports = sum(1 for p in out.glob("*.html") if p.name != "index.html" and not p.name.endswith(".slides.html"))
    return seconds, reports, result["peak_mb"], result["first_s"]


LEAK = r"""
import json, sys, tempfile, warnings
from pathlib import Path
import psutil
from plevaluate import render as r
warnings.simplefilter("ignore")
results, n_reports, schools = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
staging = Path(tempfile.mkdtemp())
r._warm(None)
kernel = psutil.Process(r._worker_kernel().provisioner.pid)
worker = psutil.Process()
samples = []
for i in range(n_reports):
    school = schools[i % len(schools)]
    job = r.Job("school_report.ipynb", f"school-{i}", f"School {school}",
                {"results": results, "data": "", "school_id": school}, school_id=school)
    files, failure = r._execute(job, staging, ("html",), None)
    assert failure is None, failure
    for name in files:
        (staging / name).unlink()
    if i == 0 or (i + 1) % max(1, n_reports // 10) == 0:
        samples.append((i + 1, kernel.memory_info().rss / 2**20, worker.memory_info().rss / 2**20))
r.shutdown_workers()
print(json.dumps(samples))
"""


def memory_over_reports(n_reports: int, tmp: Path) -> tuple[str, float, float]:
    """One worker renders ``n_reports`` school reports of the sample in its warm kernel, one after another;
    the kernel's and the worker's resident memory are read ten times along the way."""
    results = tmp / "leak-results"
    _step("evaluate", SAMPLE, results)
    command = [sys.executable, "-c", LEAK, str(results), str(n_reports), ",".join(_school_ids(SAMPLE))]
    samples = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    (_, kernel_first, worker_first), (_, kernel_last, worker_last) = samples[1], samples[-1]
    growth = (kernel_last - kernel_first) / kernel_first
    worker_growth = (worker_last - worker_first) / worker_first
    line = (
        f"one worker, {n_reports} school reports in one warm kernel: kernel "
        + ", ".join(f"{k:.0f}" for _, k, _ in samples)
        + f" MB (after report {', '.join(str(n) for n, _, _ in samples)}); worker {worker_first:.0f} -> "
        f"{worker_last:.0f} MB"
    )
    return line, growth, worker_growth


def screens(sizes: list[int]) -> tuple[list[str], bool]:
    """tests/test_report_scale.py at these sizes: the district report and board summary rendered, photographed
    in headless Chromium and checked (chart sizes, labels per chart, page length); the pictures are kept in
    benchmarks/screenshots/ to be looked at."""
    folder = ROOT / "benchmarks" / "screenshots"
    environment = {**os.environ, "PLEVALUATE_SCALE_SIZES": ",".join(map(str, sizes)),
                   "PLEVALUATE_SCREENSHOTS": str(folder)}  # fmt: skip
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", str(ROOT / "tests" /
               "test_report_scale.py")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=ROOT)
    found = (re.search(r"\d+ schools, [a-z-]+: [\d,]+ px tall.*", line) for line in done.stdout.splitlines())
    lines = [match.group(0) for match in found if match]
    return lines, done.returncode == 0


# ---- the naive loop ----


def _naive_jobs(data: Path, schools: list[str], results: Path | None) -> list[tuple[str, list[str]]]:
    source = ["-p", "results", str(results) if results else "", "-p", "data", str(data)]
    jobs = [(name, source) for name in ("district_report", "board_summary", "technical_appendix")]
    jobs += [("school_report", [*source, "-r", "school_id", school]) for school in schools]
    return jobs


def _naive_one(index: int, notebook: str, parameters: list[str], folder: Path) -> None:
    executed = folder / f"{index:03d}-{notebook}.ipynb"
    papermill = [str(BIN / "papermill"), str(NOTEBOOKS / f"{notebook}.ipynb"), str(executed), *parameters]
    subprocess.run([*papermill, "--cwd", str(NOTEBOOKS), "--no-progress-bar"], check=True, capture_output=True)
    convert = [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)]
    subprocess.run(convert, check=True, capture_output=True)


def _naive(jobs, folder: Path, processes: int) -> float:
    """Seconds per report for the naive loop over ``jobs``, with ``processes`` at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=processes) as pool:
        list(pool.map(lambda j: _naive_one(j[0], *j[1], folder), enumerate(jobs)))
    return (time.perf_counter() - start) / len(jobs)


# ---- the run ----


def _district(size: int, tmp: Path) -> Path:
    if size == 12:
        return SAMPLE
    out = tmp / f"district-{size}"
    subprocess.run(
        [str(BIN / "plevaluate"), "sample", str(out), "--schools", str(size), "--seed", "11"],
        check=True,
        capture_output=True,
    )
    return out


def _school_ids(data: Path) -> list[str]:
    import csv

    with open(data / "schools.csv", newline="", encoding="utf-8") as handle:
        return [row["school_id"] for row in csv.DictReader(handle)]


def _summary(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def scale(sizes: list[int], render_schools: int, render_max: int, tmp: Path) -> tuple[list[str], dict]:
    rows, found = [], {}
    stop = f"did not finish in {STEP_TIMEOUT[0]:.0f} s"
    for size in sizes:
        data = _district(size, tmp)
        rows_in = sum(sum(1 for _ in open(p, encoding="utf-8")) - 1 for p in data.glob("*.csv"))
        baseline = _step("read_csv", data, tmp / "unused")["seconds"]["read_csv"]
        loaded = _step("load", data, tmp / "unused")
        evaluated = _step("evaluate", data, tmp / f"results-{size}")
        took = evaluated["seconds"]
        schools = _school_ids(data)
        chosen = None if len(schools) <= render_schools else schools[:render_schools]
        first = None
        if not evaluated["finished"]:
            rendered = "not measured (evaluation did not finish)"
        elif size <= render_max:
            seconds, reports, peak, first = _render(data, tmp / f"render-{size}", chosen)
            rendered = (
                f"{reports} reports in {seconds:.1f} s ({seconds / reports:.2f} s each; the first done after "
                f"{first:.1f} s), largest process {peak:,.0f} MB"
            )
        else:  # rendering every report of a big district is long; its reports are timed one by one below
            rendered = f"not measured (above --render-max {render_max})"
        load_s = loaded["seconds"].get("load")
        reports = _reports(tmp / f"results-{size}", 3) if evaluated["finished"] else {}
        # the load step's own time, as the table shows it (the evaluate step times its loading too)
        found[size] = {**took, "load": load_s, "read_csv": baseline, **reports, "peak_mb": evaluated["peak_mb"],
                       "first": first}  # fmt: skip
        cells = [
            f"{size:,}",
            f"{rows_in:,}",
            f"{load_s:.1f} s ({load_s / baseline:.1f}x read_csv's {baseline:.2f} s), {loaded['peak_mb']:,.0f} MB"
            if load_s
            else stop,
            f"{took['evaluate']:.1f} s" + (f", {evaluated['peak_mb']:,.0f} MB" if evaluated["peak_mb"] else "")
            if "evaluate" in took
            else stop,
            f"{took['publish']:.1f} s" if "publish" in took else stop if "evaluate" in took else "",
            f"{took['save']:.1f} s" if "save" in took else "",
            rendered,
        ]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    return rows, found


def side_by_side(size: int, rounds: int, naive_reports: int, tmp: Path) -> tuple[list[str], dict]:
    data = _district(size, tmp)
    schools = _school_ids(data)
    saved = tmp / "saved"
    _step("evaluate", data, saved)
    naive_schools = schools[: max(0, naive_reports - 3)]
    ways = {
        "plevaluate report, 2 workers (load + evaluate + save included)": None,
        "naive: papermill + nbconvert per report, notebook computes, sequential": (None, 1),
        "naive over saved results, sequential": (saved, 1),
        "naive over saved results, 2 processes": (saved, 2),
    }
    times: dict[str, list[float]] = {way: [] for way in ways}
    firsts: list[float] = []
    reports = 0
    for round_ in range(rounds):
        for way, how in ways.items():
            folder = tmp / f"round{round_}-{len(times[way])}-{abs(hash(way))}"
            if how is None:
                seconds, reports, _, first = _render(data, folder, None)
                firsts.append(first)
                times[way].append(seconds / reports)
            else:
                results, processes = how
                times[way].append(_naive(_naive_jobs(data, naive_schools, results), folder, processes))
            print(f"round {round_ + 1}: {way}: {times[way][-1]:.2f} s per report", flush=True)
    ours = statistics.median(times[next(iter(ways))])
    rows = [f"| {way} | {_summary(values)} | {statistics.median(values) / ours:.1f} |" for way, values in times.items()]
    ratios = {
        "render vs naive computing loop": statistics.median(times[list(ways)[1]]) / ours,
        "render vs naive over saved results": statistics.median(times[list(ways)[2]]) / ours,
        "render vs naive over saved results, 2 processes": statistics.median(times[list(ways)[3]]) / ours,
    }
    return rows, {"reports": reports, "naive_reports": 3 + len(naive_schools), "first": firsts, **ratios}


def machine() -> str:
    cores = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {cores} cores, {memory:.0f} GB, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="12,200,2000", help="district sizes in schools (default 12,200,2000)")
    parser.add_argument("--render-schools", type=int, default=10, help="school reports rendered per size")
    parser.add_argument(
        "--render-max", type=int, default=200, help="largest size rendered (the district report grows faster)"
    )
    parser.add_argument("--render-size", type=int, default=40, help="district size for the side-by-side rounds")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the side-by-side comparison")
    parser.add_argument("--naive-reports", type=int, default=6, help="reports rendered by each naive loop")
    parser.add_argument(
        "--leak-reports", type=int, default=200, help="school reports rendered in one kernel to watch its memory"
    )
    parser.add_argument(
        "--screenshots", action=argparse.BooleanOptionalAction, default=True,
        help="render, photograph and check the district report and board summary at each size",
    )  # fmt: skip
    parser.add_argument("--step-timeout", type=float, default=900, help="seconds before a step is stopped")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.md"), help="results table (Markdown)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    STEP_TIMEOUT[0] = args.step_timeout
    started = time.strftime("%Y-%m-%d")
    with tempfile.TemporaryDirectory(prefix="plevaluate-bench-") as tmp:
        tmp = Path(tmp)
        compared, ratios = (
            side_by_side(args.render_size, args.rounds, args.naive_reports, tmp) if args.rounds else ([], {})
        )
        scaled, found = scale(sizes, args.render_schools, args.render_max, tmp)
        leak, growth, worker_growth = (
            memory_over_reports(args.leak_reports, tmp) if args.leak_reports else ("", 0.0, 0.0)
        )
        shots, shots_ok = screens(sizes) if args.screenshots else ([], True)
    checks = [] if not ratios else [
        ("rendering >= 10x faster per report than the naive computing loop", ratios["render vs naive computing loop"] >= 10,
         f"{ratios['render vs naive computing loop']:.1f}x"),
        ("rendering >= 5x faster per report than the naive loop over saved results",
         ratios["render vs naive over saved results"] >= 5, f"{ratios['render vs naive over saved results']:.1f}x"),
    ]  # fmt: skip
    for size, got in found.items():
        if not got["load"]:
            continue
        checks.append(
            (f"load + validate within 3x of pandas.read_csv ({size:,} schools)", got["load"] <= 3 * got["read_csv"],
             f"{got['load'] / got['read_csv']:.1f}x")
        )  # fmt: skip
    if found.get(12, {}).get("first") is not None:
        first = found[12]["first"]
        checks.append(("the sample's first report done within 5 s of the start", first <= 5, f"{first:.1f} s"))
    if 2000 in found:
        got = found[2000]
        total = got.get("evaluate", np.inf) + got.get("publish", np.inf)
        checks.append(
            (
                "evaluate + publish 2,000 schools < 60 s",
                total < 60,
                f"{total:.0f} s" if np.isfinite(total) else f"did not finish in {STEP_TIMEOUT[0]:.0f} s",
            )
        )
        peak = got.get("peak_mb")
        checks.append(
            (
                "load + evaluate + publish + save of 2,000 schools < 4 GB",
                bool(peak and peak < 4096),
                f"{peak / 1024:.1f} GB" if peak else "not measured (the step did not finish)",
            )
        )
    if leak:
        checks.append(
            (
                "memory flat over a run of reports (kernel and worker each grow < 10% after the second reading)",
                growth < 0.10 and worker_growth < 0.10,
                f"kernel {growth:+.0%}, worker {worker_growth:+.0%}",
            )
        )
    if shots:
        checks.append(
            (
                f"district report and board summary readable at {args.sizes} schools (tests/test_report_scale.py)",
                shots_ok,
                "; ".join(shots),
            )
        )
    if 200 in found and 2000 in found and "evaluate" in found[200] and "evaluate" in found[2000]:
        scaling = found[2000]["evaluate"] / found[200]["evaluate"]
        checks.append(("evaluate grows linearly (200 -> 2,000 schools: <= 12x)", scaling <= 12, f"{scaling:.1f}x"))
    report_keys = ["first school report (reads the results)", "school report", "District report", "Board summary",
                   "Technical appendix"]  # fmt: skip
    level_keys = sorted({k for got in found.values() for k in got if k.startswith("level ")})
    grow = slopes(found, ["load", *level_keys, "evaluate", "publish", "save", *report_keys])
    if "school report" in found.get(12, {}) and "school report" in found.get(max(found), {}) and max(found) > 12:
        ratio = found[max(found)]["school report"] / found[12]["school report"]
        checks.append((f"a school report's time flat from 12 to {max(found):,} schools (within 20%)", ratio <= 1.2,
                       f"{ratio:.2f}x"))  # fmt: skip
    side = (
        []
        if not ratios
        else [
            f"Side by side, {args.render_size}-school district, HTML only, {args.rounds} interleaved rounds "
            f"(plevaluate renders all {ratios['reports']} reports; each naive loop {ratios['naive_reports']}):",
            "",
            "| way of rendering | s per report: median (min-max) | times plevaluate's |",
            "| --- | --- | --- |",
            *compared,
            "",
        ]
    )
    lines = [
        f"Measured {started} on {machine()} with `python benchmarks/side_by_side.py "
        f"--sizes {args.sizes} --render-size {args.render_size} --rounds {args.rounds} --render-max {args.render_max}`.",
        "",
        *side,
        f"At scale (each step in its own process; render: HTML, 2 workers, the 3 district-level reports and "
        f"up to {args.render_schools} school reports):",
        "",
        "| schools | CSV rows | load + validate, peak memory | evaluate, peak memory (load included) | publish | save "
        "| render |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *scaled,
        "",
        *(
            [
                "How each step grows with the district (log-log slope between the smallest and largest size; "
                "1 is linear, 0 flat; reports timed one by one in a warm kernel over saved results):",
                "",
                "| step | seconds | slope |",
                "| --- | --- | --- |",
                *grow,
                "",
            ]
            if grow
            else []
        ),
        *([f"Memory over a run: {leak}.", ""] if leak else []),
        *(
            ["Reports at scale, photographed (benchmarks/screenshots/):", "", *[f"- {s}" for s in shots], ""]
            if shots
            else []
        ),  # fmt: skip
        "Targets:",
        "",
        *[f"- {'PASS' if ok else 'FAIL'}: {what} ({value})" for what, ok, value in checks],
    ]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
