"""Benchmark: print every school's PDF, and watch the browsers' memory over the run.

Run: ``python benchmarks/bench_pdfs.py [--schools 200] [--workers 2]``. Generates a synthetic district, then runs
`plevaluate.render.render` (what ``plevaluate report --format pdf`` calls) in its own process for every report,
while this process reads, once a second, the memory (PSS) of every Chromium process the run started (one
browser per worker, kept for the whole run). Writes the figures to ``benchmarks/results-pdfs.md`` with the
machine described; docs/benchmarks.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psutil
from pypdf import PdfReader

from plevaluate.sample import write_sample

ROOT = Path(__file__).resolve().parents[1]

RENDER = r"""
import json, sys, time
from plevaluate.render import render
started = time.perf_counter()
done = []
summary = render(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]), formats=("pdf",),
                 progress=lambda n: done.append(time.perf_counter() - started))
print(json.dumps({"ok": summary.ok, "failures": [str(f) for f in summary.failures], "done": done}))
"""


def _browsers(root: psutil.Process) -> list[psutil.Process]:
    """The run's Chromium processes (every process of a browser: its main process, renderers, GPU, ...)."""
    found = []
    for child in root.children(recursive=True):
        try:
            if "chrom" in child.name().lower():
                found.append(child)
        except psutil.Error:
            continue
    return found


def _pss_mb(processes: list[psutil.Process]) -> float:
    """Proportional set size: shared pages divided among the processes sharing them (resident memory would count a
    browser's shared libraries once per process, several times over)."""
    total = 0.0
    for process in processes:
        try:
            total += process.memory_full_info().pss / 2**20
        except psutil.Error:
            continue
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results-pdfs.md"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_sample(Path(tmp) / "district", n_schools=args.schools, seed=1)
        out = Path(tmp) / "reports"
        command = [sys.executable, "-c", RENDER, str(data), str(out), str(args.workers)]
        began = time.perf_counter()
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        root = psutil.Process(run.pid)
        samples: list[tuple[float, float, int]] = []  # seconds, browsers' MB, browser processes
        stop = threading.Event()

        def watch() -> None:
            started = time.perf_counter()
            while not stop.wait(1.0):
                browsers = _browsers(root)
                if browsers:
                    samples.append((time.perf_counter() - started, _pss_mb(browsers), len(browsers)))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        output, _ = run.communicate()
        wall = time.perf_counter() - began  # the render's own privacy audit of every file included
        stop.set()
        watcher.join()
        result = json.loads(output.strip().splitlines()[-1])
        pdfs = sorted(out.glob("*.pdf"))
        size_mb = sum(p.stat().st_size for p in pdfs) / 2**20
        pages = {  # the reports whose length could grow with the district: each must stay readable
            name: len(PdfReader(out / f"{name}.pdf").pages)
            for name in ("board-summary", "district-report", "technical-appendix", "logic-model")
            if (out / f"{name}.pdf").is_file()
        }
    failures = result["failures"]  # listed with the figures: an hour's measurements are not thrown away for one
    done = result["done"]
    total = done[-1] if done else float("nan")
    first = done[0] if done else float("nan")
    steady = (done[-1] - done[0]) / max(1, len(done) - 1) if len(done) > 1 else float("nan")
    printing = [sample for sample in samples if sample[0] >= first] or samples  # both browsers started
    tenth = max(1, len(printing) // 10)
    along = printing[::tenth]
    lines = [
        f"Measured {date.today()} on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, with `python benchmarks/bench_pdfs.py --schools {args.schools} "
        f"--workers {args.workers}`.",
        "",
        f"{len(pdfs)} PDFs ({args.schools:,} school reports and the district-level ones; {size_mb:.0f} MB) printed "
        f"by {args.workers} workers, one Chromium each, kept for the run:",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| the whole run (load, evaluate, save, print) | {total:.0f} s |",
        f"| the same with the run's privacy audit of every file | {wall:.0f} s |",
        f"| the first report done | {first:.1f} s |",
        f"| each further report (workers together) | {steady:.2f} s |",
        f"| the browsers' memory (PSS, all their processes), once printing: lowest-highest | "
        f"{min(s[1] for s in printing):.0f}-{max(s[1] for s in printing):.0f} MB |",
        f"| the same, first and last reading | {printing[0][1]:.0f} MB, {printing[-1][1]:.0f} MB |",
        *(f"| pages of the {name.replace('-', ' ')} | {count:,} |" for name, count in pages.items()),
        "",
        "The browsers' memory along the run (seconds since the start: MB, processes): "
        + ", ".join(f"{t:.0f} s: {mb:.0f} MB ({n})" for t, mb, n in along)
        + ".",
    ]
    if failures:
        lines += ["", f"**{len(failures)} report(s) failed** (not published): " + "; ".join(failures[:5])]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
