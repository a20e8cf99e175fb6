"""Peak memory of this process and of each Dask worker, for the benchmarks.

``ru_maxrss`` is not a worker's own peak: Linux keeps it across ``exec``, so a Dask worker started (fork, then exec)
by a client that already held a 1.4 GB district reported 1.4 GB whatever it did. ``VmHWM`` in ``/proc/self/status``
is the peak of the process's own memory since its ``exec``; other systems fall back to ``ru_maxrss``.
"""

from __future__ import annotations

import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")


def peak_mb(status: str | None = None) -> float:
    """The peak resident memory, in MB (2**20 bytes), of this process or of the one whose ``/proc/self/status``
    text is ``status``."""
    if status is None and _STATUS.exists():
        status = _STATUS.read_text()
    for line in (status or "").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_peaks(client) -> dict[str, float]:
    """Each worker's peak resident memory, in MB, by address (read there, computed here: the functions sent are
    the standard library's, which every worker can import)."""
    if _STATUS.exists():
        return {address: peak_mb(text) for address, text in client.run(_STATUS.read_text).items()}
    return {address: usage.ru_maxrss / 1024 for address, usage in client.run(resource.getrusage, 0).items()}


def reset_peak() -> bool:
    """Start this process's peak (``VmHWM``) again from its memory now (Linux: ``5`` written to
    ``/proc/self/clear_refs``), so that `peak_mb` measures one step; False where that cannot be done."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
