"""Evaluate and render on a Dask distributed cluster: ``plevaluate report DATA --out OUT --scheduler ADDRESS`` (or
``local``).

For a district too big for one machine's two workers. Nothing here is a job queue of our own: each school year's
evaluation is a Dask task (`plevaluate.years.evaluate_on_cluster`: the year's view travels with its task, its
students and survey answers in parts summed by tasks of their own, its published evaluation comes back), and so is each report (`distributed.Client.submit` of
`plevaluate.render.render_shipped`), followed with `distributed.as_completed`; a lost worker's reports are retried
by Dask and, if they still fail, listed like any failed report. Before any of it, `check_workers` makes sure the
cluster can do the work.

What travels, so that workers need no shared folder with the machine that runs the command:

- with each year's evaluation task: that year's view of the data (the raw tables: the workers evaluate), except the
  tables levels sum in parts (`plevaluate.results.Parts`: students.csv for level 5 and cost, reactions.csv for
  levels 1 and 3), which are split by their key and travel in parts, each to a task that sums it; the sums come
  back here as each part is done and are added here, and the year's task gets the added sums and what the rest
  still reads of the table (`Parts.keep`);
- to every worker, once (`Client.scatter(..., broadcast=True)`): the published results bundle
  (suppressed tables only) and, when
  ``--notebooks`` is given, those notebooks, zipped in memory;
- back from each task: the report's files as bytes, written into the run's staging folder and
  published exactly as a local run publishes them.

Workers need plevaluate installed (same version) and, for PDFs, Chromium; each worker thread keeps
one warm kernel, as a local worker process does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import importlib.metadata
import io
import os
import shutil
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from . import version as plevaluate_version
from ._outputs import clean_temporary
from .errors import LostProcessWarning
from .version import ENTRY_POINTS

__all__ = [
    "ANSWER",
    "PATIENCE",
    "QUIET",
    "RUN_ANSWER",
    "Unanswered",
    "asked",
    "check_workers",
    "connect",
    "deserted",
    "embedded",
    "fetched",
    "forget_unpacked",
    "pack",
    "plugin_levels",
    "workers_of",
    "source_digest",
    "unpacked",
]

#: Options for a `LocalCluster`: no dashboard, and the scheduler's own HTTP server (health and metrics) on a free port
#: instead of 8787, which another Dask cluster on the machine may hold (distributed then warns "Port 8787 is already
#: in use" although no dashboard was asked for).
QUIET = {"dashboard_address": None, "scheduler_kwargs": {"dashboard_address": ":0"}}

_UNPACKED: dict[str, Path] = {}
_UNPACK_LOCK = threading.Lock()


def connect(scheduler: str, workers: int, timeout: str = "30s"):
    """A client for ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``), or for a new `LocalCluster`
    of ``workers`` single-threaded worker processes when ``scheduler`` is ``"local"``.

    Returns ``(client, cluster)``; ``cluster`` is the LocalCluster to close afterwards, or None.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            "--scheduler needs Dask distributed: pip install 'plevaluate[dask]' (or pip install distributed)"
        ) from None
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ValueError(f"--scheduler is a Dask scheduler's address (tcp://host:8786) or 'local', not {scheduler!r}")
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers is a whole number of processes, not {workers!r}")
    if scheduler == "local":
        if workers < 1:
            raise ValueError(f"a local Dask cluster needs at least one worker, not {workers}")
        cluster = client = None
        try:  # stopped or refused on the way (Ctrl-C, no worker): nothing started here is left running
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, **QUIET)
            client = Client(cluster)
            return check_workers(client), cluster
        except BaseException:
            _close(client, cluster)
            raise
    try:
        client = _connected_within(Client, scheduler, timeout)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(
            f"cannot reach the Dask scheduler at {scheduler}: {error}; start one with 'dask scheduler' "
            "and workers with 'dask worker ADDRESS', or use --scheduler local"
        ) from None
    try:
        return check_workers(client), None
    except BaseException:
        _close(client, None)
        raise


def _connected_within(Client, scheduler: str, timeout: str):  # noqa: N803 - distributed.Client, passed in
    """``Client(scheduler, timeout=timeout)``, given up (an OSError) once ``timeout`` and `ANSWER` seconds have passed:
    an address that answers but is no Dask scheduler (a web server, the dashboard's port) kept Dask's handshake
    waiting for ever, its own timeout notwithstanding (a hostile review: 6 min 40 s, then killed)."""
    made: concurrent.futures.Future = concurrent.futures.Future()

    def make() -> None:
        try:
            made.set_result(Client(scheduler, timeout=timeout))
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            made.set_exception(error)

    from dask.utils import parse_timedelta

    seconds = float(parse_timedelta(timeout, default="s"))
    threading.Thread(target=make, name="plevaluate-connect", daemon=True).start()
    try:
        return made.result(timeout=seconds + ANSWER)
    except concurrent.futures.TimeoutError:
        made.add_done_callback(lambda late: late.exception() is None and late.result().close())  # if it ever comes
        raise OSError(f"no Dask scheduler answered within {seconds + ANSWER:g} s (is it one?)") from None


def _close(client, cluster) -> None:
    for part in (client, cluster):
        if part is not None:
            try:
                part.close()
            except Exception:  # closing what failed to start: nothing more to do
                pass


def check_workers(client, timeout: float = 30.0):
    """``client``, once its cluster can do plevaluate's work: the client open, at least one worker within ``timeout``
    seconds (tasks sent to a cluster without workers would wait forever), plevaluate installed on every worker at
    this version and with the same files (`plevaluate.version.SOURCE`: a worker with other code would compute other
    statistics, or fail on every task), and every level
    added by a plugin here (`plevaluate.registry`) installed there too. Otherwise a ValueError naming the workers
    and the fix."""
    here_version = plevaluate_version.__version__
    if not all(hasattr(client, name) for name in ("wait_for_workers", "submit", "run", "asynchronous")):
        # an address, or the LocalCluster itself, where a connected client was wanted
        raise TypeError(f"a connected distributed.Client is needed here, not {client!r} (distributed.Client(address))")
    if client.asynchronous:  # its methods return coroutines, which plevaluate's waits would never run
        raise TypeError(
            "an asynchronous Dask client cannot run plevaluate's work; connect a synchronous one "
            "(distributed.Client(address), without asynchronous=True)"
        )
    if client.status in ("closing", "closed", "failed"):
        raise ValueError(
            "this Dask client is closed (was its scheduler stopped?); connect a new one (distributed.Client(address)), "
            "or use --scheduler local"
        )
    try:
        _a_worker_within(client, timeout)
        address = client.scheduler.address
    except (TimeoutError, OSError, AttributeError) as error:
        where = getattr(getattr(client, "scheduler", None), "address", None)
        if isinstance(error, Unanswered):
            raise ValueError(
                f"the Dask scheduler at {where} did not answer within {ANSWER:g} s (stopped, frozen, or cut off by "
                "the network?); start it again, or use --scheduler local"
            ) from None
        if isinstance(error, TimeoutError) and where:
            raise ValueError(
                f"the Dask cluster at {where} has no workers after {timeout:g} s; start them with 'dask worker {where}'"
            ) from None
        raise ValueError(
            f"the Dask scheduler this client was connected to does not answer ({type(error).__name__}); was its "
            "cluster closed? Start it again, or use --scheduler local"
        ) from None
    found = asked(client, partial(importlib.metadata.version, "plevaluate"), on_error="return")
    wrong = {worker: found_version for worker, found_version in found.items() if found_version != here_version}
    if wrong:
        listed = "; ".join(
            f"{worker}: {'not installed' if isinstance(v, Exception) else f'plevaluate {v}'}"
            for worker, v in sorted(wrong.items())
        )
        raise ValueError(
            f"Dask workers of {address} without plevaluate {here_version} (this machine's): {listed}; install the "
            f"same version on every worker (pip install 'plevaluate[dask]=={here_version}')"
        )
    code = asked(client, source_digest, on_error="return")
    other = sorted(worker for worker, found in code.items() if found != plevaluate_version.SOURCE)
    if other:
        raise ValueError(
            f"Dask workers of {address} run other plevaluate code than this machine's, though the same version "
            f"{here_version}: {'; '.join(other)}; one side read its files before they changed (an editable install "
            "edited since), or they are other copies: restart the workers (dask worker ADDRESS), or this command if "
            "its plevaluate changed since it started, on the same plevaluate files"
        )
    here = set(plugin_levels())
    missing = {
        worker: sorted(here - set(theirs))
        for worker, theirs in asked(client, plugin_levels).items()
        if here - set(theirs)
    }
    if missing:
        listed = "; ".join(f"{worker}: {', '.join(names)}" for worker, names in sorted(missing.items()))
        raise ValueError(
            f"Dask workers of {address} without the plugin levels installed here: {listed}; install the same "
            "plugins on every worker"
        )
    return client


class Unanswered(OSError):
    """The scheduler did not answer within `ANSWER` seconds (stopped, frozen or cut off): Dask's own waits, such as
    ``Client.wait_for_workers``'s, ask it with no time limit, and a report run waited there for ever (a hostile
    review: a scheduler sent SIGSTOP; one Ctrl-C did not end it either)."""


def workers_of(client) -> int:
    """How many workers ``client``'s cluster has now, or `Unanswered` when its scheduler does not say within `ANSWER`
    seconds: the one question every wait for workers asks (Dask's own, ``scheduler_info``, waits with no time
    limit)."""
    return len(addresses_of(client))


def addresses_of(client) -> list[str]:
    """The addresses of ``client``'s workers now, as `workers_of` asks (`Unanswered` after `ANSWER` seconds)."""
    try:
        return sorted(client.nthreads(callback_timeout=ANSWER))
    except TimeoutError:
        raise Unanswered(f"no answer within {ANSWER:g} s") from None


def _a_worker_within(client, timeout: float) -> None:
    """Returns once ``client``'s cluster has a worker; TimeoutError after ``timeout`` seconds without one; `Unanswered`
    when the scheduler does not answer a question within `ANSWER` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if workers_of(client):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no worker within {timeout:g} s")
        time.sleep(0.1)


#: Seconds a question to every worker (``Client.run``) may take before the scheduler counts as not answering: a
#: worker busy with a task answers late, a frozen scheduler never.
RUN_ANSWER = 30.0


def asked(client, function, *, seconds: float | None = None, **options):
    """``client.run(function, **options)``, or `Unanswered` when the answer takes longer than ``seconds``
    (`RUN_ANSWER`)."""
    seconds = RUN_ANSWER if seconds is None else seconds
    try:
        return client.run(function, callback_timeout=seconds, **options)
    except TimeoutError:
        raise Unanswered(f"no answer within {seconds:g} s") from None


@contextmanager
def embedded():
    """Tasks sent with their data inside (a year's view, a part's rows, a block of a file), without Dask's advice to
    scatter a large argument: scattered data die with their worker, data inside a task are sent again with it to
    another."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ll]arge", category=UserWarning)
        yield


#: Seconds a run waits for a cluster left without any worker (all retired, scaled to none, their machines gone)
#: before it gives up its tasks there (`deserted`): Dask waits for workers for as long as it takes.
PATIENCE = 60.0

#: Seconds `deserted` waits for the scheduler to say how many workers it has (a frozen one never does).
ANSWER = 5.0


@contextmanager
def deserted(client, pending: Callable[[], Iterable], patience: float | None = None):
    """While the block runs, a thread asks ``client``'s scheduler once a second how many workers it has. Once it has
    had none for ``patience`` seconds (`PATIENCE`), the futures ``pending()`` returns that are not done are
    cancelled, and again each second while it has none: each is then lost, as a task whose workers kept dying is
    lost (a block of a table is parsed here, a year evaluated here). The block's end warns once (a
    `LostProcessWarning`) that the cluster had no workers. (A report run's reports need no such watch: their bundle
    was scattered to the workers, and Dask cancels them when it is gone with them.)

    Yields an event set once the tasks were given up, for a run to do the rest of its work here without sending it."""
    patience = PATIENCE if patience is None else patience
    stop, given_up, gave_up = threading.Event(), threading.Event(), []

    def watch() -> None:
        since = None
        while not stop.wait(1.0):
            try:  # a scheduler frozen or cut off would keep the question waiting: it counts as none after ANSWER s
                workers = workers_of(client)
            except Exception:  # noqa: BLE001 - a scheduler that does not answer runs nothing either
                workers = 0
            if workers:
                since = None
                continue
            since = time.monotonic() if since is None else since
            if time.monotonic() - since < patience:
                continue
            try:
                waiting = [future for future in pending() if not future.done()]
            except RuntimeError:  # what ``pending`` reads changed while it was read: read it again next second
                continue
            given_up.set()
            if waiting and not stop.is_set():
                gave_up.append(len(waiting))
                try:  # cancelled here, in this process, whether or not the scheduler hears of it
                    client.cancel(waiting, force=True)
                except Exception:  # noqa: BLE001, S110 - a closed client has cancelled its futures itself
                    pass

    thread = threading.Thread(target=watch, name="plevaluate-deserted", daemon=True)
    thread.start()
    try:
        yield given_up
    finally:
        stop.set()
        thread.join(timeout=5)  # a scheduler slow to answer its last question is not waited for longer
    if gave_up:
        warnings.warn(
            f"the Dask cluster at {client.scheduler.address} had no workers for {patience:g} s (or its scheduler did "
            f"not answer): {sum(gave_up)} of "
            "this run's tasks waiting there were given up (each is lost, as if its worker had died); start workers "
            f"('dask worker {client.scheduler.address}') or use --scheduler local",
            LostProcessWarning,
            stacklevel=3,
        )


def fetched(future, client, given_up: threading.Event | None = None):
    """``future``'s result, waited for a second at a time: once the cluster's tasks were given up (``given_up``, set
    by `deserted`) or ``client`` closed, a result still not here is lost (a `concurrent.futures.CancelledError`, as
    for a task cancelled there), for the run to do that work here. A done task whose result a frozen scheduler never
    hands over, or one sent as the client was closing (which stays pending), would otherwise be waited for for ever
    (found by a hostile review); so is one whose connection closed as it was fetched (``CommClosedError``, a
    scheduler killed mid-fetch). Any error of the task's own is raised as itself.

    The task is waited for first (a done-callback), then its result fetched once, on ``client``'s loop from start to
    end; only the waits are a second at a time: ``Future.result(timeout=1)`` cancels its fetch when its second is
    up, so a result that takes longer than that to arrive (an 8 MB block's reading on a slow network; a reading whose
    unpickling took 1.5 s, measured) was fetched again and again and never arrived."""

    def lost() -> bool:
        return (given_up is not None and given_up.is_set()) or client.status != "running"

    given_up_here = "given up: the cluster had no workers, or its client closed"
    if lost():  # not a second more for each result once the run has given up (a review: 77 s after a give-up)
        raise concurrent.futures.CancelledError(given_up_here)
    if not future.done():  # fetched once done, failed or cancelled: a fetch given up while the task was still
        # running left Dask's own wait behind, which printed "Task exception was never retrieved ... AllExit" when
        # the client closed (a review); a fetch given up once the task is done leaves nothing behind
        settled = threading.Event()
        future.add_done_callback(lambda _: settled.set())
        while not settled.wait(1):
            if lost():
                raise concurrent.futures.CancelledError(given_up_here)
    fetching = asyncio.run_coroutine_threadsafe(client.gather(future, asynchronous=True), client.loop.asyncio_loop)
    try:
        while True:
            try:
                return fetching.result(timeout=1)
            except concurrent.futures.TimeoutError:
                if lost():
                    raise concurrent.futures.CancelledError(given_up_here) from None
            except OSError as error:  # the connection closed as the result was fetched (a scheduler or worker killed)
                if getattr(future, "status", None) == "error":  # an error of the task's own
                    raise
                raise concurrent.futures.CancelledError(f"lost: {type(error).__name__} while fetching") from error
    finally:
        fetching.cancel()  # a fetch given up (or stopped by Ctrl-C) is not left running on the client's loop


def source_digest() -> str:
    """This process's `plevaluate.version.SOURCE`: what it read of plevaluate's files as it started (asked of every
    worker by `check_workers`)."""
    return plevaluate_version.SOURCE


def plugin_levels() -> list[str]:
    """The levels added by installed plugins (`plevaluate.version.ENTRY_POINTS`), as ``name = module:object``."""
    return sorted(f"{point.name} = {point.value}" for point in importlib.metadata.entry_points(group=ENTRY_POINTS))


def pack(results: Path, notebooks: Path | None = None) -> bytes:
    """The results bundle (and your own notebooks, if any) as one zip, in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(results.rglob("*")):
            if path.is_file():
                archive.write(path, f"results/{path.relative_to(results).as_posix()}")
        if notebooks is not None:
            for path in sorted(notebooks.glob("*.ipynb")):
                archive.write(path, f"notebooks/{path.name}")
    return buffer.getvalue()


def unpacked(bundle: bytes) -> Path:
    """The bundle unpacked once per worker process (into its temporary folder), whichever thread asks first."""
    digest = hashlib.sha256(bundle).hexdigest()[:20]
    with _UNPACK_LOCK:
        if digest not in _UNPACKED:
            if not _UNPACKED:  # this process's first bundle: a worker killed outright left its own behind
                clean_temporary()
            folder = Path(tempfile.mkdtemp(prefix=f"plevaluate-bundle-{os.getpid()}-{digest}-"))
            with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
                for member in archive.namelist():  # written by pack(): relative, no '..'
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise ValueError(f"unsafe path in the results bundle: {member}")
                archive.extractall(folder)
            _UNPACKED[digest] = folder
        return _UNPACKED[digest]


def forget_unpacked() -> None:
    """On a worker, after a run: remove the bundles this process unpacked."""
    with _UNPACK_LOCK:
        for folder in _UNPACKED.values():
            shutil.rmtree(folder, ignore_errors=True)
        _UNPACKED.clear()
