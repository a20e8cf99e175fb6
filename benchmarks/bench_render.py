"""Benchmark: evaluate and render every report of a district.

Run: ``python benchmarks/bench_render.py [N_SCHOOLS] [WORKERS]`` (defaults: the bundled 12-school sample,
2 workers). Prints seconds for evaluation alone and for the whole render (all formats, and HTML only);
the README records the results measured on the project's 2-core machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import plevaluate
from plevaluate.evaluate import evaluate
from plevaluate.render import render
from plevaluate.sample import write_sample

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def main(n_schools: int = 0, workers: int = 2) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = write_sample(Path(tmp) / "district", n_schools=n_schools, seed=1) if n_schools else SAMPLE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            evaluate(plevaluate.load(data))
            print(f"load + evaluate: {time.perf_counter() - start:.1f} s")
        for formats in (("html", "pdf", "slides", "ipynb"), ("html",)):
            summary = render(data, Path(tmp) / f"out-{len(formats)}", workers=workers, formats=formats)
            reports = sum(p.suffix == ".html" and not p.name.endswith(".slides.html") for p in summary.written) - 1
            print(f"render {reports} reports ({', '.join(formats)}), {workers} workers: {summary.seconds:.1f} s"
                  f"{'' if summary.ok else f' ({len(summary.failures)} failed)'}")  # fmt: skip


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
