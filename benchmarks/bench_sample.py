"""Benchmark: generate, write and validate a large synthetic district.

Run: ``python benchmarks/bench_sample.py [N_SCHOOLS]`` (default 2000). Prints seconds and peak memory
for each step; the README records the results measured on the project's 2-core machine.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import plevaluate
from plevaluate.sample import write_sample


def main(n_schools: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = write_sample(Path(tmp) / "district", n_schools=n_schools, seed=1)
        generated = time.perf_counter() - start
        size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            district = plevaluate.load(out)
        loaded = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows = sum(len(t) for t in district.tables.values())
        print(f"schools={n_schools} rows={rows:,} size_mb={size:.0f}")
        print(f"generate_and_write_s={generated:.1f} load_and_validate_s={loaded:.1f} peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
