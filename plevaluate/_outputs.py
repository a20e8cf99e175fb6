"""What the report command may write and remove: never the input, only folders it made and marked.

The rules (issue: hardening):

- ``check_report_folder``: the write gate (`plevaluate.gates`) for a report folder, before any work: the
  data folder and the output folder must not overlap in either direction, through links too (an output at
  ``DATA/reports`` or a data folder at ``OUT/results`` would otherwise be written over or removed), and
  nothing there is replaced that plevaluate did not write (its `~plevaluate.gates.Ledger`).
- ``OutputLock``: one run per output folder; a second run is refused with a clear message.
- Folders the command creates carry a marker file (`MARKER`); only marked folders are ever
  removed or replaced, and the leftovers of a killed run (`clean_leftovers`) are recognised by it.
- ``neutralize``: text cells of published CSVs that a spreadsheet would run as a formula
  (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return; OWASP "CSV injection") get a
  leading apostrophe; `restore` takes it off again when plevaluate reads its own files.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path

import pandas as pd

from .errors import OutputError, Problem
from .gates import LEDGER, Inputs, Ledger, check_target_folder, replace_file

__all__ = [
    "JOURNAL",
    "MARKER",
    "OutputLock",
    "REPORT_NAMES",
    "check_report_folder",
    "clean_leftovers",
    "clean_temporary",
    "die_with_parent",
    "is_ours",
    "mark",
    "neutralize",
    "publish",
    "restore",
    "slug",
]

#: Written before a run moves its outputs into place, removed after: a run killed while moving is finished
#: by the next run (the moves are replayed from the staging folder), so OUT always ends up consistent.
JOURNAL = ".plevaluate-publish.json"

#: The file that marks a folder as made by plevaluate (so it may be replaced or removed by plevaluate).
MARKER = ".plevaluate"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


#: The names a report run publishes at the top of its output folder (the portfolio's too): only these are
#: ever replaced there, and only when plevaluate wrote them (`plevaluate.gates.Ledger`, or a marked folder).
REPORT_NAMES = re.compile(
    r"^(index\.html|results\.xlsx|portfolio\.xlsx|board-memo\.docx|technical-appendix\.docx|"
    r"(district-report|board-summary|technical-appendix|logic-model|portfolio|school-.+)"
    r"(\.html|\.pdf|\.slides\.html|\.ipynb|\.pptx))$"
)
#: Folders a report run publishes (marked as plevaluate's).
REPORT_FOLDERS = ("results", "portfolio-results")


#: Files plevaluate keeps in an output folder for itself: never a target, never followed through a link.
OWN_FILES = (JOURNAL, ".plevaluate.lock", LEDGER, MARKER)


def read_journal(out: Path) -> dict:
    """The publishing journal a stopped run left in ``out``, checked before it is trusted: a regular file, its staging
    folder a marked ``.staging-*`` folder inside ``out``, every name a plain name of what a run publishes. Anything
    else (a journal planted to move or delete files elsewhere) is refused, naming the file."""
    import json

    journal = out / JOURNAL
    problem = Problem(
        str(journal),
        "a publishing journal written by plevaluate (a plain file naming its own staging folder and published files); "
        "this one is not, so it is never followed",
        "remove the file, then run again",
    )
    if journal.is_symlink() or not journal.is_file():
        raise OutputError([problem], str(out))
    try:
        plan = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise OutputError([problem], str(out)) from None

    def plain(name) -> bool:
        return isinstance(name, str) and name == Path(name).name and name not in ("", ".", "..")

    staging = plan.get("staging") if isinstance(plan, dict) else None
    names, remove = (plan.get("names"), plan.get("remove")) if isinstance(plan, dict) else (None, None)
    good = (
        plain(staging)
        and staging.startswith(".staging-")
        and is_ours(out / staging)
        and isinstance(names, list)
        and isinstance(remove, list)
        and all(plain(n) and (REPORT_NAMES.match(n) or n in REPORT_FOLDERS) for n in [*names, *remove])
    )
    if not good:
        raise OutputError([problem], str(out))
    return plan


def check_report_folder(out: str | Path, inputs: Inputs, *, flag: str = "--out") -> Path:
    """The write gate for a report folder, before any work: not an input folder, not inside or around one,
    and nothing there that a run would replace unless plevaluate wrote it (a user's own ``index.html``,
    ``district-report.html`` or ``results/`` is never replaced)."""
    out = check_target_folder(out, inputs, flag=flag)
    if not out.is_dir():
        return out
    for name in OWN_FILES:  # plevaluate's own files there: plain files, never links (a link would be written through)
        path = out / name
        if path.is_symlink() or path.exists() and not path.is_file():
            raise OutputError(
                [
                    Problem(
                        f"{flag} {out}",
                        f"a folder whose {name} is plevaluate's own plain file, but it is "
                        f"{'a link' if path.is_symlink() else 'not a file'}",
                        f"remove {path}, then run again",
                    )
                ],
                str(out),
            )
    if (out / JOURNAL).exists():
        read_journal(out)  # a stopped run's journal is finished by this run: it must be plevaluate's own
    ledger = Ledger(out)
    theirs = []
    for entry in sorted(out.iterdir()):
        name = entry.name
        if name in REPORT_FOLDERS:
            if not is_ours(entry):
                theirs.append(name + "/")
        elif REPORT_NAMES.match(name) and not ledger.wrote(name):
            theirs.append(name)
    if theirs:
        shown = ", ".join(theirs[:6]) + (f" and {len(theirs) - 6} more" if len(theirs) > 6 else "")
        raise OutputError(
            [
                Problem(
                    f"{flag} {out}",
                    f"a folder where plevaluate replaces only what it wrote, but {shown} "
                    f"{'is' if len(theirs) == 1 else 'are'} not plevaluate's (or changed since it wrote them)",
                    "choose a new --out folder, or move those files away first",
                )
            ],
            str(out),
        )
    return out


def mark(folder: Path) -> Path:
    """Mark ``folder`` as made by plevaluate."""
    (folder / MARKER).write_text("made by plevaluate; it may replace or remove this folder\n", encoding="utf-8")
    return folder


def is_ours(folder: Path) -> bool:
    """Whether plevaluate made ``folder`` (its marker, or the manifest of a results folder written before markers)."""
    if not folder.is_dir() or folder.is_symlink():
        return False
    if (folder / MARKER).is_file():
        return True
    manifest = folder / "manifest.json"
    if manifest.is_file():
        import json

        try:
            content = json.loads(manifest.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            return False
        return isinstance(content, dict) and {"frames", "levels", "provenance"} <= set(content)
    return False


def kill_pool(pool) -> None:
    """End a `concurrent.futures.ProcessPoolExecutor`'s processes now, whatever they are doing (a stopped run's
    workers, with their kernels and browsers; a failed evaluation's other years)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def die_with_parent() -> None:
    """In a child process: ask Linux to kill it when its parent dies, however the parent dies (even kill -9).

    Used for the worker processes, their kernels and browsers, so that a stopped run leaves no orphans.
    Elsewhere than Linux it does nothing (there the kernels' own parent check still applies).
    """
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        return


def hand_back_memory() -> None:
    """After a load (`plevaluate.contract.load`) or, in a worker process, a task: free what only the cycle collector
    frees (pandas frames in reference cycles), then hand the freed memory back to the system (glibc's
    ``malloc_trim``; elsewhere than Linux nothing more). Freed memory kept by the allocator still counts as the
    process's: Dask pauses a worker whose process holds 80% of its limit, and a worker paused with nothing to run
    never unpauses (two workers of 2 GB stalled so at 10,000 schools, each holding 1.5 GB after a year's task); a
    load's parsing left 1 GB so at 5,000 schools."""
    import ctypes
    import gc
    import sys

    gc.collect()
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return


def publish(out: Path, staging: Path, names: list[str], remove: list[str]) -> None:
    """Move ``names`` from ``staging`` into ``out`` and delete ``remove`` from ``out``, as one journalled step."""
    import json

    # written beside and renamed over: never through a link planted under that name; from here on the run counts
    # as published, and a later run finishes the moves
    replace_file(out / JOURNAL, json.dumps({"staging": staging.name, "names": names, "remove": remove}).encode())
    _replay(out)


def _replay(out: Path) -> bool:
    """Carry out a journal left in ``out`` (idempotent); False when there is none."""

    journal = out / JOURNAL
    if not journal.is_file() and not journal.is_symlink():
        return False
    plan = read_journal(out)
    staging = out / plan["staging"]
    ledger = Ledger(out)
    files = []
    for name in plan["names"]:
        source, target = staging / name, out / name
        if not source.exists():
            files.append(name)
            continue  # moved before the stop
        if source.is_dir():
            if target.exists():
                if not is_ours(target):
                    raise ValueError(f"{target} exists and was not written by plevaluate: it is never replaced")
                target.rename(staging / f"{name}.replaced")
            source.rename(target)
        else:
            os.replace(source, target)
            files.append(name)
    removed = [name for name in plan["remove"] if ledger.wrote(name)]  # only what plevaluate wrote
    for name in removed:
        (out / name).unlink(missing_ok=True)
    ledger.record([name for name in files if (out / name).is_file()], forget=removed)
    journal.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return True


def clean_temporary() -> list[Path]:
    """Remove the kernel and browser folders (in the system's temporary folder) of report workers that are
    no longer running, and the results bundles and report folders of Dask workers that are not (a worker killed
    outright left them for good: a hostile review): a killed process cannot remove its own. Each folder name
    carries its process's pid. A report run sweeps its machine as it starts; a Dask worker sweeps its own as it
    unpacks its first bundle (`plevaluate.cluster.unpacked`), a dead worker's replacement included. Pids are this
    process's pid namespace's: a temporary folder shared by containers with their own (one /tmp for several) would
    have a live process's folders taken for a dead one's; give each container its own temporary folder."""
    import re
    import tempfile

    removed = []
    for path in Path(tempfile.gettempdir()).glob("plevaluate-*-*-*"):
        found = re.match(r"plevaluate-(?:kernel|chromium|bundle|job)-(\d+)-", path.name)
        if not found or not path.is_dir():
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
            continue  # that worker is still running
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError):  # another user's process; a name no process could have (a folder
            continue  # any user can make, "plevaluate-job-99999999999999999999-x", stopped every run: a hostile review)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def clean_leftovers(out: Path) -> list[Path]:
    """Finish what a killed run left in ``out``: replay its publishing journal, then remove its marked
    staging folders and temporary results folders (nothing else)."""
    _replay(out)
    removed = []
    for path in sorted(out.glob(".staging-*")) + sorted(out.glob(".results-*")):
        if is_ours(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class OutputLock:
    """An exclusive lock on an output folder for the length of one run (``out/.plevaluate.lock``).

    The operating system releases it when the process ends, however it ends, so a killed run
    never leaves a stale lock behind.
    """

    def __init__(self, out: Path) -> None:
        self.path = out / ".plevaluate.lock"
        self._handle = None

    def __enter__(self) -> OutputLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as before
            return self
        try:  # never through a link planted under the lock's name
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as error:
            raise ValueError(
                f"{self.path} cannot be used as plevaluate's lock ({error.strerror}): remove it, then run again"
            ) from None
        handle = os.fdopen(descriptor, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise ValueError(
                f"another plevaluate report run ({holder}) is writing to {self.path.parent}; wait "
                "for it to finish, or choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _risky(value) -> bool:
    return isinstance(value, str) and value.startswith(_FORMULA)


def neutralize(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix an apostrophe to every text cell a spreadsheet would run as a formula.

    >>> neutralize(pd.DataFrame({"name": ["=HYPERLINK(1)", "Oak", "-2"]}))["name"].tolist()
    ["'=HYPERLINK(1)", 'Oak', "'-2"]
    """
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]) or out[column].dtype == object:
            values = out[column]
            risky = values.map(_risky).astype(bool)
            if risky.any():
                out[column] = values.where(~risky, "'" + values.astype("string"))
    return out


def restore(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo `neutralize` on a frame read back from a published CSV."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]):
            values = out[column]
            quoted = values.str.startswith("'").fillna(False) & values.str[1:2].isin(list(_FORMULA)).fillna(False)
            if quoted.any():
                out[column] = values.where(~quoted, values.str[1:])
    return out


def slug(text: str) -> str:
    """A file-name-safe slug: ``"Peña & O'Neill Middle"`` -> ``"pena-oneill-middle"``."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower().replace("'", "")).strip("-") or "report"
