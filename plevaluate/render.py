"""Render every report: validate, evaluate once, then run the notebooks with papermill in parallel.

What measuring the renderer taught (the README's Benchmarks): kernel start, imports and shutdown
cost most of a papermill run, so each worker process keeps one warm kernel (IPC transport: no port
races, no unencrypted-TCP warning) and runs its reports one after another in it, with the
namespace reset between reports; the results are computed once and read from disk by every
notebook. Parameters are passed from Python as strings, so IDs keep their leading zeros.

Outputs are written to a staging folder inside DIR and moved into place file by file
(``os.replace``), so DIR never holds a half-written report; a report whose notebook fails is not
published (its previous version is removed) and the failure is listed with the school, the cell and
the error. The input folder is never written to.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import html
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from . import cluster as dask_cluster
from ._engine import close_client, run_in
from ._outputs import (
    JOURNAL,
    OutputLock,
    check_report_folder,
    clean_leftovers,
    clean_temporary,
    die_with_parent,
    kill_pool,
    mark,
    publish,
    slug,
)
from ._pdf import BrowserExited, Printer
from .audit import audit
from .contract import load
from .deck import board_deck, check_template
from .errors import LostProcessWarning
from .evaluate import Evaluation
from .figures import visible
from .gates import Inputs, check_file
from .logic_model import from_folder, logic_model
from .memo import appendix_document, board_memo
from .portfolio import other_folders, portfolio_from, program_ids, validate_programs
from .workbook import portfolio_workbook, results_workbook
from .years import evaluate_for_reports

__all__ = [
    "FORMATS",
    "Failure",
    "Job",
    "RenderSummary",
    "find_browser",
    "notebooks_dir",
    "render",
    "render_logic_model",
    "slug",
]

#: Output formats: self-contained HTML, PDF (printed by Chromium), reveal.js slides (board summary), the executed notebook.
FORMATS = ("html", "pdf", "slides", "ipynb", "xlsx", "pptx", "docx")

_ASSETS = Path(__file__).parent / "assets"
_TEMPLATES = Path(__file__).parent / "templates"


def notebooks_dir() -> Path:
    """The report notebooks, shipped inside the package (``plevaluate/notebooks``; ``notebooks/`` in the
    source tree links there)."""
    return Path(__file__).parent / "notebooks"


def find_browser() -> str | None:
    """Chromium for PDF printing: ``$PLEVALUATE_CHROMIUM``, else chromium / chromium-browser / google-chrome on PATH."""
    explicit = os.environ.get("PLEVALUATE_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Job:
    """One report to render: which notebook, its output name and its parameters (strings)."""

    notebook: str
    name: str
    title: str
    parameters: dict
    school_id: str | None = None
    slides: bool = False
    folder: str | None = None


@dataclass(frozen=True)
class Failure:
    report: str
    school_id: str | None
    cell: int | None
    error: str

    def __str__(self) -> str:
        where = f"school {self.school_id}" if self.school_id else self.report
        cell = f", cell {self.cell}" if self.cell is not None else ""
        return f"{where} ({self.report}{cell}): {self.error}"


@dataclass
class RenderSummary:
    out: Path
    written: list[Path] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    findings: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and not self.findings


# ---- one worker: a warm kernel, reports one after another ----

# Each thread that renders keeps its own kernel and browser: a process-pool worker has one thread, a
# Dask worker may run several tasks at once, one per thread, and two reports must never share a kernel.
_STATES: dict[int, dict] = {}
_STATES_LOCK = threading.Lock()


def _state() -> dict:
    """This thread's kernel, its folder, its browser and its exporters (created empty on first use)."""
    with _STATES_LOCK:
        return _STATES.setdefault(threading.get_ident(), {})


def _worker_kernel():
    from jupyter_client.manager import KernelManager

    state = _state()
    if "km" not in state:
        folder = tempfile.mkdtemp(prefix=f"plevaluate-kernel-{os.getpid()}-")
        # its sockets and its connection file (which holds the kernel's key) in the worker's folder, which the next
        # run sweeps if this worker is killed (`plevaluate._outputs.clean_temporary`), not a /tmp/tmpXXXX.json left
        km = KernelManager(
            kernel_name="python3",
            transport="ipc",
            ip=os.path.join(folder, "kernel"),
            connection_file=os.path.join(folder, "kernel.json"),
        )
        # the kernel runs this very Python (where plevaluate is installed), whatever "python3" kernelspec
        # another Jupyter installation on the machine may have registered
        km.kernel_spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        # started here so its chatter ("Parent appears to have exited") does not reach the user's terminal
        km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        state["km"], state["folder"] = km, folder
        _finalize_once()
    return state["km"]


@functools.cache
def _finalize_once() -> None:
    from multiprocessing import util

    # pool workers leave through os._exit, which skips atexit; multiprocessing's finalizers still run
    util.Finalize(None, shutdown_workers, exitpriority=10)


def _worker_printer(browser: str):

    state = _state()
    if "printer" in state and state["printer"].browser != browser:  # another browser asked for: that one
        state.pop("printer").close()
    if "printer" not in state:
        state["printer"] = Printer(browser)
    return state["printer"]


#: Run in each worker's kernel as it starts, while the main process evaluates.
WARM_UP = "import plevaluate.report\nplevaluate.report.warm_up()"


def _warm(browser: str | None, after: str | None = None) -> bool:
    """Start this worker's kernel (and browser) and import the report code, while the main process evaluates;
    with ``after``, once that file exists (the results are saved): until then evaluation keeps a core."""
    if after:
        waited = time.monotonic()
        while not os.path.exists(after) and time.monotonic() - waited < 600:
            time.sleep(0.05)
    km = _worker_kernel()  # the kernel process boots while this one loads the exporter's templates
    export_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("warm-up")]), "warm-up")
    run_in(km, WARM_UP, timeout=120)
    if browser:
        _worker_printer(browser)
    return True


def _shutdown_worker(state: dict | None = None) -> None:
    """Shut down one thread's kernel and browser (this thread's by default)."""
    state = _state() if state is None else state
    printer = state.pop("printer", None)
    if printer is not None:
        printer.close()
    km = state.pop("km", None)
    if km is not None:
        close_client(km)
    if km is not None and km.has_kernel:
        km.shutdown_kernel(now=True)
    folder = state.pop("folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def shutdown_workers() -> None:
    """Shut down every kernel and browser this process started, whichever thread started them."""
    with _STATES_LOCK:
        states = list(_STATES.values())
        _STATES.clear()
    for state in states:
        _shutdown_worker(state)


def _execute(job: Job, staging: Path, formats: Sequence[str], browser: str | None) -> tuple[list[str], Failure | None]:
    """Run one notebook in this worker's warm kernel and export it; returns written file names or a failure."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    folder = Path(job.folder) if job.folder else notebooks_dir()
    source = nbformat.read(folder / job.notebook, as_version=4)
    executed_path = staging / f"{job.name}.ipynb"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            executed = pm.execute_notebook(
                source,
                None,  # written below, once, if asked for (papermill would write it after every cell)
                parameters=job.parameters,
                kernel_name="python3",
                progress_bar=False,
                cwd=str(folder),
                km=_worker_kernel(),
                engine_name="plevaluate",
                request_save_on_cell_execute=False,
            )
    except PapermillExecutionError as error:
        return [], Failure(job.title, job.school_id, error.exec_count, f"{error.ename}: {error.evalue}")
    except Exception as error:  # noqa: BLE001 - a kernel that died or timed out fails this report only
        _shutdown_worker()
        return [], Failure(job.title, job.school_id, None, f"{type(error).__name__}: {error}")
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        return [], Failure(job.title, job.school_id, None, f"{errors[0]['ename']}: {errors[0]['evalue']}")
    _strip_streams(executed)
    for cell in executed.cells:  # the kept notebook names the bundle beside it, not the staging folder it ran from
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"  # not papermill's random one: the same results give the same files
            cell.metadata["slideshow"] = {"slide_type": "skip"}  # no empty first slide
            if job.parameters.get("results"):
                cell.source = cell.source.replace(str(job.parameters["results"]), "results")
    written = []
    if "ipynb" in formats:
        nbformat.write(executed, executed_path)
        written.append(executed_path.name)
    page = None
    if "html" in formats or "pdf" in formats:
        page = staging / f"{job.name}.html"
        page.write_text(export_html(executed, job.title), encoding="utf-8")
        if "html" in formats:
            written.append(page.name)
    if "pdf" in formats and browser and page is not None:
        pdf = staging / f"{job.name}.pdf"
        problem = print_pdf(browser, page, pdf)
        if problem:
            return written, Failure(job.title, job.school_id, None, f"PDF: {problem}")
        written.append(pdf.name)
    if page is not None and "html" not in formats:
        page.unlink()
    if job.slides and "slides" in formats:
        slides = staging / f"{job.name}.slides.html"
        slides.write_text(export_slides(executed, job.title), encoding="utf-8")
        written.append(slides.name)
    _release_memory()
    return written, None


@functools.cache
def _libc():
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to release
        return None


def _release_memory() -> None:
    """Hand freed memory back to the system after a report (glibc's ``malloc_trim``): a report's pages and kernel
    messages are megabytes of short-lived text whose freed blocks the allocator otherwise keeps. (A worker's growth
    of about a megabyte a report was a kernel client left open per report: `plevaluate._engine.client_for`.)"""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _strip_streams(notebook) -> None:
    """Drop stdout/stderr streams (warnings, logging): reports show results, and caveats live in the notes."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]


def export_html(notebook, title: str) -> str:
    """Self-contained HTML: no input cells, no prompts, images embedded, no script or style fetched from a network."""
    from nbconvert import HTMLExporter

    state = _state()
    if "html_exporter" not in state:  # one per worker thread: its templates are loaded and compiled once
        state["html_exporter"] = HTMLExporter(
            template_name="plevaluate",
            extra_template_basedirs=[str(_TEMPLATES)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
    exporter = state["html_exporter"]
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    return body


def _html_of(output) -> str:
    html = output.get("data", {}).get("text/html", "")
    return "".join(html) if isinstance(html, list) else str(html)


def one_slide_per_heading(notebook):
    """A copy of ``notebook`` in which every ``<h2>`` heading a code cell shows starts a slide: a cell showing
    every level's board section becomes one slide per heading, and a section that continues its cell's slide
    (the years after the findings) gets its own when it shows a heading. One message per slide, whatever levels
    are registered; a cell that shows nothing adds no slide."""
    out = copy.deepcopy(notebook)
    cells = []
    for cell in out.cells:
        outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
        starts = [i for i, o in enumerate(outputs) if _html_of(o).lstrip().startswith("<h2")]
        if not starts or cell.metadata.get("slideshow", {}).get("slide_type") == "skip":
            cells.append(cell)
            continue
        bounds = sorted({0, *starts, len(outputs)})
        for n, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
            part = copy.deepcopy(cell)
            part.outputs = outputs[lo:hi]
            if lo in starts:
                part.metadata["slideshow"] = {"slide_type": "slide"}
            if n:
                part.id = f"{cell.get('id', 'cell')}-{n}"
            cells.append(part)
    out.cells = cells
    return out


def export_slides(notebook, title: str) -> str:
    """reveal.js slides with reveal.js inlined from the vendored copy (opens with no network)."""
    from nbconvert import SlidesExporter

    state = _state()
    if "slides_exporter" not in state:
        state["slides_exporter"] = SlidesExporter(
            template_name="plevaluate_reveal",
            extra_template_basedirs=[str(_TEMPLATES)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
    exporter = state["slides_exporter"]
    notebook = one_slide_per_heading(notebook)
    notebook.metadata["title"] = title
    reveal = _ASSETS / "reveal"
    resources = {
        "plevaluate_reveal": {
            name: (reveal / name).read_text(encoding="utf-8") for name in ("reveal.css", "white.css", "reveal.js")
        }
    }
    resources["plevaluate_reveal"]["report.css"] = (_ASSETS / "report.css").read_text(encoding="utf-8")
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    return body


def print_pdf(browser: str, page: Path, pdf: Path) -> str | None:
    """Print an HTML file to PDF in this worker's long-lived headless Chromium; returns a problem or None.

    A browser found gone (it crashed, or died starting on a busy machine: a CI run's logic model failed so) is
    replaced and the page printed once more; a page that times out or that the browser refuses is not retried."""
    for attempt in (1, 2):
        try:
            _worker_printer(browser).print_pdf(page, pdf)
            break
        except (OSError, RuntimeError, TimeoutError) as error:
            printer = _state().pop("printer", None)  # a broken browser is replaced for the next report
            if printer is not None:
                printer.close()
            if attempt == 2 or not isinstance(error, BrowserExited):
                return f"{error} (in a new browser too)" if attempt == 2 else str(error)
    if not pdf.exists() or pdf.stat().st_size == 0:
        return "Chromium wrote no PDF"
    return None


# ---- the whole run ----


def jobs_for(ev, results: Path, schools: Iterable[str] | None = None, notebooks: str | None = None) -> list[Job]:
    """The district report, board summary, technical appendix, logic model and one school report per school.

    ``notebooks``: a folder of your own templates; one made before the logic model existed (no
    ``logic_model.ipynb``) renders the shipped logic model."""
    base = {"results": str(results), "data": ""}
    own_logic_model = notebooks if notebooks and (Path(notebooks) / "logic_model.ipynb").is_file() else None
    jobs = [
        Job("district_report.ipynb", "district-report", "District report", dict(base), folder=notebooks),
        Job("board_summary.ipynb", "board-summary", "Board summary", dict(base), slides=True, folder=notebooks),
        Job("technical_appendix.ipynb", "technical-appendix", "Technical appendix", dict(base), folder=notebooks),
        Job("logic_model.ipynb", "logic-model", "Logic model", dict(base), folder=own_logic_model),
    ]
    chosen = list(schools) if schools is not None else list(ev.schools["school_id"])
    known = set(ev.schools["school_id"])
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise ValueError(f"unknown school(s): {', '.join(unknown)}; schools.csv has {', '.join(sorted(known))}")
    used = {job.name for job in jobs}
    for school_id in chosen:
        name = ev.school_name(school_id)
        jobs.append(
            Job(
                "school_report.ipynb",
                _file_name(school_id, name, used),
                f"School report: {visible(name)}",
                {**base, "school_id": str(school_id)},
                school_id=str(school_id),
                folder=notebooks,
            )
        )
    return jobs


def _file_name(school_id: str, name: str, used: set[str]) -> str:
    """A school report's file name: short enough for any file system, unique by construction.

    ``school-<id>-<name>`` with both slugs shortened; where two schools would share a name (IDs
    that differ only by case or punctuation, such as ``S-1`` and ``s/1``), a hash of the exact ID is added.
    """
    stem = f"school-{slug(school_id)[:40]}-{slug(name)[:60]}".rstrip("-")
    if stem in used:
        stem += "-" + hashlib.sha256(str(school_id).encode("utf-8")).hexdigest()[:10]
    used.add(stem)
    return stem


def render(
    data: str | Path,
    out: str | Path,
    *,
    schools: Iterable[str] | None = None,
    workers: int = 2,
    formats: Sequence[str] = ("html", "pdf", "slides", "ipynb"),
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    notebooks: str | Path | None = None,
    scheduler: str | None = None,
    pptx_template: str | Path | None = None,
    docx_template: str | Path | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> RenderSummary:
    """Validate ``data``, evaluate once, render every report into ``out``.

    Raises `plevaluate.ContractError` when the data do not validate (nothing is rendered), and
    ValueError when ``out`` overlaps ``data``, cannot be written, or another run holds it. A failing
    report does not stop the others: it is listed in ``RenderSummary.failures``. The outputs are
    then audited (`plevaluate.audit.audit`); findings are listed in ``RenderSummary.findings``.
    ``notebooks`` is a folder of your own report templates (same names as ``notebooks/``; without a
    ``logic_model.ipynb`` the shipped logic model is rendered).
    ``scheduler`` loads, evaluates and renders on a Dask cluster (the large tables' blocks parsed, each year evaluated
    and each report rendered on its workers): a scheduler address, or ``"local"`` for a `LocalCluster` of ``workers``
    processes (`plevaluate.cluster`; needs ``pip install 'plevaluate[dask]'``).
    ``formats`` may add ``xlsx`` (the results workbook, `plevaluate.workbook`) and ``pptx`` (the board summary as
    a deck, `plevaluate.deck`, on ``pptx_template`` when given) and ``docx`` (the board memo and the technical
    appendix as Word documents, `plevaluate.memo`, on ``docx_template``).
    ``pool``: report workers already running (`report_workers`), used and left running instead of starting
    ``workers`` of them: a portfolio's programs share one, their kernels and browsers started once.
    """

    started = time.perf_counter()
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    if pptx_template is not None:
        problem = check_file(pptx_template, kind="workbook", label="--pptx-template")
        if problem is not None:
            raise ValueError(f"{problem.file}: expected {problem.expected}; {problem.fix}")
        check_template(pptx_template)  # its layouts, before any work
    if docx_template is not None:
        problem = check_file(docx_template, kind="workbook", label="--docx-template")
        if problem is not None:
            raise ValueError(f"{problem.file}: expected {problem.expected}; {problem.fix}")
    # the write gate, before any work: the data and the outputs never overlap (through links too), and
    # nothing in --out that plevaluate did not write is ever replaced
    check_report_folder(out, Inputs.of(data))
    out = Path(out).resolve()
    summary = RenderSummary(out)
    with _stopped_by_signals(), ExitStack() as running:
        client = running.enter_context(_cluster(scheduler, workers))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("default", LostProcessWarning)  # a block parsed here: the user should know
            district = load(data, client=client)  # with a cluster, its large tables are parsed on the workers
        browser = find_browser() if "pdf" in formats else None
        if "pdf" in formats and browser is None:
            summary.skipped.append("PDF: no Chromium found (install Debian's chromium, or set PLEVALUATE_CHROMIUM)")
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / f".plevaluate-write-test-{os.getpid()}"
            probe.write_text("", encoding="utf-8")
            probe.unlink()
        except OSError as error:
            raise ValueError(
                f"cannot write to --out {out}: {error.strerror or error}; choose a folder you can write to"
            ) from None
        with OutputLock(out):
            clean_leftovers(out)  # what a killed run left behind: only folders plevaluate made and marked
            clean_temporary()  # and the kernel and browser folders of its workers
            _render_locked(
                district,
                out,
                summary,
                schools,
                workers,
                formats,
                browser,
                progress,
                total,
                notebooks,
                client,
                pptx_template,
                docx_template,
                pool,
            )
            running.close()  # the cluster's workers are let go before the audit, as its processes start
            summary.findings = audit(  # privacy, read from what was written
                out, data, min_n=district.plan.min_n, require_people=False, workers=max(1, workers)
            )
    summary.seconds = time.perf_counter() - started
    return summary


@contextmanager
def _cluster(scheduler: str | None, workers: int):
    """With ``scheduler``, a Dask client for the run (`plevaluate.cluster.connect`): the data are loaded, each year
    evaluated and each report rendered on its workers; afterwards they drop the bundle and their kernels, and a
    `LocalCluster` started for the run is closed (`_close_cluster`). Without, None."""
    if scheduler is None:  # an empty address is refused by connect, never quietly a run here (a hostile review)
        yield None
        return
    client, cluster = dask_cluster.connect(scheduler, max(1, workers))
    try:
        yield client
    finally:
        _close_cluster(client, cluster)


@contextmanager
def _stopped_by_signals():
    """SIGTERM and SIGHUP stop a run like Ctrl-C does: its temporary files are removed and its workers,
    kernels and browsers end with it (they also die with this process if it is killed outright)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(number, frame):
        raise KeyboardInterrupt(f"stopped by signal {number}")

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _render_locked(
    district,
    out,
    summary,
    schools,
    workers,
    formats,
    browser,
    progress,
    total,
    notebooks,
    client,
    pptx_template=None,
    docx_template=None,
    shared=None,
) -> None:
    """The run itself, while this process holds the output folder's lock.

    Everything is written into a marked staging folder inside ``out`` (the results bundle too, which
    the notebooks read from there); only at the end are the files moved into place, through a journal
    (`plevaluate._outputs.publish`), so ``out`` holds either the previous complete output or the new one.
    With a Dask ``client``, the reports are rendered as tasks on its cluster (`plevaluate.cluster`) instead of in this
    machine's worker processes; everything else is the same.
    """

    staging = mark(Path(tempfile.mkdtemp(prefix=".staging-", dir=out)))
    workers = max(1, workers)
    pool = None
    saved = staging / ".results-saved"
    try:
        if client is None and shared is not None:
            pool = shared  # already warm (a portfolio's earlier program): used, and left running
        elif client is None:
            pool = report_workers(workers, browser, saved)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("default", LostProcessWarning)  # a year done again here: the user should know
            # published: only suppressed results leave the machine; with a cluster, each year is evaluated there
            ev = evaluate_for_reports(district, workers=workers, scheduler=client)
        # the logic model (plan text and the dates of the records, nothing about people) travels in the bundle too
        ev = replace(ev, extras={**ev.extras, **logic_model(district.plan, district).tables()})
        # unknown schools are refused before anything is written
        results = staging / "results"
        own_notebooks = Path(notebooks).resolve() if notebooks else None
        jobs = jobs_for(ev, results, schools, str(own_notebooks) if own_notebooks else None)
        ev.save(results)
        if pool is not None:
            saved.touch()
        if total:
            total(len(jobs))
        bundle = None
        if client is not None:
            packed = dask_cluster.pack(results, own_notebooks)
            try:  # the workers may have left during the evaluation (its years then done here): waited for, as at the
                # start; a cluster that cannot take the reports has them rendered here, the evaluation kept (F6 of a
                # hostile review: a scheduler stopped mid-run had the years done here, then the run ended with nothing)
                dask_cluster.check_workers(client)
                bundle = client.scatter(packed, broadcast=True)
            except (ValueError, OSError) as gone:
                warnings.warn(
                    f"{gone}; the reports are rendered on this machine instead, in {workers} process(es)",
                    LostProcessWarning,
                    stacklevel=2,
                )
                pool = report_workers(workers, browser)
            packed = None
        if bundle is not None:
            from distributed import as_completed as completed

            futures = {
                client.submit(render_shipped, job, bundle, tuple(formats), key=f"report-{job.name}"): job
                for job in _submission_order(jobs)
            }
        else:
            completed = as_completed  # a worker that failed to warm up fails its reports, listed below

            def submitted(pool: ProcessPoolExecutor) -> dict:
                return {
                    pool.submit(_execute, job, staging, tuple(formats), browser): job for job in _submission_order(jobs)
                }

            try:
                futures = submitted(pool)
            except BrokenProcessPool:
                if pool is not shared:
                    raise
                # a worker of a portfolio's pool died while it waited (during this program's evaluation): new workers
                # for this program, the portfolio replaces its own (the run ended with a traceback: a hostile review)
                pool = report_workers(workers, browser)
                futures = submitted(pool)
        written = _collect(futures, completed, staging, summary, progress)
        if pool is not None and pool is not shared:
            pool.shutdown(wait=True)  # every worker finished its reports; their kernels shut down
        moves, stale = ["results"], []
        if "xlsx" in formats:  # the results workbook: the published tables, one sheet each
            results_workbook(ev, staging / "results.xlsx")
            moves.append("results.xlsx")
            summary.written.append(out / "results.xlsx")
        if "pptx" in formats:  # the board summary as a PowerPoint deck with native charts
            board_deck(ev, staging / "board-summary.pptx", template=pptx_template)
            moves.append("board-summary.pptx")
            summary.written.append(out / "board-summary.pptx")
        if "docx" in formats:  # the board memo and the technical appendix as Word documents
            for name, write in (("board-memo.docx", board_memo), ("technical-appendix.docx", appendix_document)):
                write(ev, staging / name, template=docx_template)
                moves.append(name)
                summary.written.append(out / name)
        for job in jobs:
            failed = any(f.report == job.title for f in summary.failures)
            for suffix in (".html", ".pdf", ".slides.html", ".ipynb"):
                name = f"{job.name}{suffix}"
                if name in written.get(job.name, []) and not failed:
                    moves.append(name)
                    summary.written.append(out / name)
                elif failed and (out / name).exists():
                    stale.append(name)  # never leave a stale report that looks current
        summary.written.append(out / "index.html")
        (staging / "index.html").write_text(_index(ev, jobs, summary), encoding="utf-8")
        publish(out, staging, [*moves, "index.html"], stale)
    except BaseException:
        if pool is not None and pool is not shared:  # a shared pool is ended by its owner
            kill_pool(pool)
        raise
    finally:
        if not (out / JOURNAL).exists():
            shutil.rmtree(staging, ignore_errors=True)


def report_workers(workers: int, browser: str | None, saved: Path | None = None) -> ProcessPoolExecutor:
    """``workers`` report worker processes, each warming its kernel (and browser) at once: one at once, the others
    once ``saved`` exists (the results are saved), so that on two cores the evaluation is not slowed by a third process
    and the first report comes about two seconds sooner."""
    pool = ProcessPoolExecutor(max_workers=max(1, workers), initializer=die_with_parent)
    for n in range(max(1, workers)):
        pool.submit(_warm, browser, str(saved) if n and saved is not None else None)
    return pool


def _submission_order(jobs: list[Job]) -> list[Job]:
    """The order reports are handed to the workers: one school report first (among the quickest, so the first
    report is written seconds after evaluation), then the district-level reports (the longest, started early
    so none is left running alone at the end), then the other schools."""
    schools = [job for job in jobs if job.school_id]
    return schools[:1] + [job for job in jobs if not job.school_id] + schools[1:]


def _collect(futures: dict, completed, staging: Path, summary: RenderSummary, progress) -> dict[str, list[str]]:
    """Wait for every report, in the order they finish; files shipped back from a cluster are written to staging.

    A report whose task itself failed (a worker lost, a broken pool) is listed as a failure like any other.
    """
    written: dict[str, list[str]] = {}
    for future in completed(futures):
        job = futures[future]
        try:
            files, failure = future.result()
        except Exception as error:  # noqa: BLE001 - one lost task fails its report, not the run
            files, failure = [], Failure(job.title, job.school_id, None, f"{type(error).__name__}: {error}")
        if isinstance(files, dict):  # bytes from a cluster worker
            for name, content in files.items():
                if Path(name).name != name or not name.startswith(job.name):
                    raise RuntimeError(f"a worker returned an unexpected file name {name!r} for {job.name}")
                (staging / name).write_bytes(content)
            files = list(files)
        written[job.name] = files
        if failure:
            summary.failures.append(failure)
        if progress:
            progress(1)
    return written


def _close_cluster(client, cluster) -> None:
    """After a cluster run: workers drop the bundle and their kernels; a LocalCluster we started is closed."""

    try:  # a frozen scheduler never answers: not waited for longer than ANSWER s (a run stopped there waited for ever)
        dask_cluster.asked(client, forget_bundles, seconds=dask_cluster.ANSWER)
    except Exception:  # noqa: BLE001, S110 - a worker already gone has nothing left to clean
        pass
    client.close(timeout=2 * dask_cluster.ANSWER)
    if cluster is not None:
        cluster.close()


def _index(ev, jobs: list[Job], summary: RenderSummary) -> str:
    names = {p.name for p in summary.written}
    rows = []
    for job in jobs:
        links = [  # short visible text; the accessible name says where each link goes (WCAG 2.4.4)
            f'<a href="{html.escape(job.name + suffix)}" aria-label="{html.escape(visible(job.title))}, {label}">'
            f"{label}</a>"
            for suffix, label in (
                (".html", "HTML"),
                (".pdf", "PDF"),
                (".slides.html", "slides"),
                (".ipynb", "notebook"),
            )
            if job.name + suffix in names
        ]
        status = " &middot; ".join(links) if links else "<em>not rendered: see the failures below</em>"
        rows.append(f"<tr><td>{html.escape(visible(job.title))}</td><td>{status}</td></tr>")
    failures = "".join(f"<li>{html.escape(visible(f))}</li>" for f in summary.failures)
    program = html.escape(visible(ev.plan.get("program", "")))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Reports</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}td{padding:4px 12px;"
        "border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>{program}: evaluation reports</h1><p>{html.escape(visible(ev.plan.get('school_year', '')))}</p>"
        "<table><thead><tr><th scope='col'>Report</th><th scope='col'>Files</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        + (f"<h2>Failures</h2><ul>{failures}</ul>" if failures else "")
        + "<p><a href='results/manifest.json'>Result tables (CSV) and provenance</a>"
        + "".join(f" &middot; <a href='{name}'>{label}</a>" for name, label in _OFFICE_FILES if name in names)
        + "</p></body></html>"
    )


#: The files `render` writes beside the reports for board staff (``--format xlsx,pptx,docx``), as the index links
#: them (a reader's review: a board member starting from the index could not find the deck or the memo).
_OFFICE_FILES = (
    ("board-summary.pptx", "Board summary (PowerPoint)"),
    ("board-memo.docx", "Board memo (Word)"),
    ("technical-appendix.docx", "Technical appendix (Word)"),
    ("results.xlsx", "Results workbook (Excel)"),
)


def render_portfolio(
    folder: str | Path,
    out: str | Path,
    *,
    workers: int = 2,
    formats: Sequence[str] = ("html", "pdf", "slides", "ipynb"),
    progress: Callable[[int], None] | None = None,
) -> RenderSummary:
    """Render a portfolio: each program's reports (`render`) into ``out/<program>/``, and the leadership
    report ``out/portfolio.html`` (`plevaluate.portfolio`) with an index linking every program's reports.

    ``folder`` holds one data folder per program and is never written to. Every program is validated first:
    a program that breaks the data contract stops the run before anything is written, with every problem of
    every program listed (`plevaluate.ContractError`).
    """

    started = time.perf_counter()
    inputs = Inputs.of(folder, depth=2)
    check_report_folder(out, inputs)
    out = Path(out).resolve()
    programs = [path for path, _ in validate_programs(folder)]  # every program valid before anything is written
    ids = program_ids(programs)
    for path in programs:  # every program's folder passes the write gate before any program is rendered
        check_report_folder(out / ids[path.name], inputs, flag=f"--out {out}, program folder")
    summary = RenderSummary(out)
    summary.skipped += [f"folder {name}: no plan.yml, so not a program" for name in other_folders(folder)]
    out.mkdir(parents=True, exist_ok=True)
    browser = find_browser() if "pdf" in formats else None
    # one pool of report workers for every program and the portfolio's own page: each worker's kernel and browser
    # start once, not once a program (a pool a program, and a kernel here for the portfolio, before)
    pool = report_workers(workers, browser)
    done: list[str] = []  # the programs whose reports are published, for a stop's message
    try:
        for path in programs:
            pool = _working(pool, workers, browser)
            part = render(path, out / ids[path.name], workers=workers, formats=formats, progress=progress, pool=pool)
            done.append(ids[path.name])
            summary.written += part.written
            summary.failures += part.failures
            summary.findings += part.findings
            summary.skipped += [s for s in part.skipped if s not in summary.skipped]
        pool = _working(pool, workers, browser)
        _render_portfolio_page(programs, ids, out, summary, formats, browser, pool)
    except BaseException as error:
        kill_pool(pool)
        if isinstance(error, KeyboardInterrupt):  # stopped: which programs' reports were published before it (each
            error.published = [str(out / program) for program in done]  # whole), not "nothing was" (a review)
        raise
    pool.shutdown(wait=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _working(pool: ProcessPoolExecutor, workers: int, browser: str | None) -> ProcessPoolExecutor:
    """``pool``, or new report workers in its place when one of its workers died (its reports were listed as failed,
    or it died while the pool waited)."""
    if not getattr(pool, "_broken", False):
        return pool
    kill_pool(pool)
    return report_workers(workers, browser)


def _render_portfolio_page(programs, ids, out, summary, formats, browser, pool) -> None:
    """The portfolio's own page (rendered by one of ``pool``'s workers), its workbook and its index, published into
    ``out`` and audited against every program's people."""
    # the portfolio reads each program's published results as its reports did: evaluated once, never disagreeing
    published = {ids[path.name]: Evaluation.load(out / ids[path.name] / "results") for path in programs}
    portfolio = portfolio_from([(path, published[ids[path.name]]) for path in programs])
    with OutputLock(out), _stopped_by_signals():
        clean_leftovers(out)
        staging = mark(Path(tempfile.mkdtemp(prefix=".staging-", dir=out)))
        try:
            results = staging / "portfolio-results"
            portfolio.save(results)
            job = Job("portfolio.ipynb", "portfolio", "Portfolio", {"results": str(results), "programs": ""})
            try:
                written, failure = pool.submit(
                    _execute, job, staging, tuple(f for f in formats if f != "slides"), browser
                ).result()
            except BrokenProcessPool as error:  # its worker died: listed like any failed report, not a traceback
                written, failure = [], Failure(job.title, None, None, f"{type(error).__name__}: {error}")
            if failure is not None:
                summary.failures.append(failure)
            if "xlsx" in formats:  # the portfolio's tables as a workbook, beside each program's results.xlsx
                portfolio_workbook(
                    portfolio, staging / "portfolio.xlsx", min_n={k: ev.min_n for k, ev in published.items()}
                )
                written.append("portfolio.xlsx")
            moves = ["portfolio-results", *written]
            summary.written += [out / name for name in written]
            (staging / "index.html").write_text(_portfolio_index(portfolio, written), encoding="utf-8")
            moves.append("index.html")
            summary.written.append(out / "index.html")
            publish(out, staging, moves, [])
        finally:
            if not (out / JOURNAL).exists():
                shutil.rmtree(staging, ignore_errors=True)
        for path in programs:  # the portfolio's own pages (each program's were audited by its run), against its people
            own = audit(out, path, skip=set(ids.values()))  # every program's folder: never the portfolio's own
            summary.findings += [f for f in own if f not in summary.findings]


def render_logic_model(data: str | Path, out: str | Path, *, formats: Sequence[str] = ("html", "pdf")) -> RenderSummary:
    """Render the logic model alone (``notebooks/logic_model.ipynb``) of the data folder ``data`` into ``out``, as
    ``logic-model.html`` and ``.pdf``: the report ``plevaluate report`` renders among the others, here for a program
    still being planned (its ``plan.yml`` alone is enough; `plevaluate.logic_model.from_folder`).

    The same gates as every report: ``out`` passes the write gate before any work, the plan and any tables are
    validated first (`plevaluate.ContractError`, `plevaluate.PlanError`: nothing is written), the files are moved
    into place through the publishing journal, and the output is audited."""
    started = time.perf_counter()
    unknown = [f for f in formats if f not in ("html", "pdf")]
    if unknown or not formats:
        raise ValueError(f"format(s) {', '.join(unknown) or 'none'}: the logic model is rendered as html and pdf")
    inputs = Inputs.of(data)
    check_report_folder(out, inputs)
    out = Path(out).resolve()
    summary = RenderSummary(out)
    from_folder(data)  # every problem of the plan and the tables, before anything is written
    browser = find_browser() if "pdf" in formats else None
    if "pdf" in formats and browser is None:
        summary.skipped.append("PDF: no Chromium found (install Debian's chromium, or set PLEVALUATE_CHROMIUM)")
    out.mkdir(parents=True, exist_ok=True)
    with OutputLock(out), _stopped_by_signals():
        clean_leftovers(out)
        staging = mark(Path(tempfile.mkdtemp(prefix=".staging-", dir=out)))
        try:
            job = Job(
                "logic_model.ipynb", "logic-model", "Logic model", {"results": "", "data": str(Path(data).resolve())}
            )
            try:
                written, failure = _execute(job, staging, tuple(formats), browser)
            finally:
                _shutdown_worker()
            if failure is not None:
                summary.failures.append(failure)
                stale = [f"logic-model.{suffix}" for suffix in formats if (out / f"logic-model.{suffix}").exists()]
                publish(out, staging, [], stale)  # never leave a stale logic model that looks current
            else:
                publish(out, staging, written, [])
                summary.written += [out / name for name in written]
        finally:
            if not (out / JOURNAL).exists():
                shutil.rmtree(staging, ignore_errors=True)
        summary.findings = audit(out, data, require_people=False)  # privacy, read from what was written
    summary.seconds = time.perf_counter() - started
    return summary


def _portfolio_index(portfolio, written: list[str]) -> str:
    rows = []
    for row in portfolio.programs.itertuples():
        links = " &middot; ".join(
            f'<a href="{html.escape(row.program_id)}/{name}">{label}</a>'
            for name, label in (("index.html", "all reports"), ("district-report.html", "district report"),
                                ("board-summary.html", "board summary"), ("logic-model.html", "logic model"))
        )  # fmt: skip
        rows.append(
            f"<tr><td>{html.escape(visible(row.program))}</td><td>{html.escape(visible(row.years))}</td>"
            f"<td>{links}</td></tr>"
        )
    own = " &middot; ".join(
        f'<a href="{name}">{label}</a>'
        for name, label in (
            ("portfolio.html", "HTML"),
            ("portfolio.pdf", "PDF"),
            ("portfolio.ipynb", "notebook"),
            ("portfolio.xlsx", "workbook (Excel)"),
        )
        if name in written
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Portfolio</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}td{padding:4px 12px;"
        "border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>Professional learning portfolio</h1><p>The leadership report: {own or '<em>not rendered</em>'}</p>"
        "<table><thead><tr><th scope='col'>Program</th><th scope='col'>Years</th><th scope='col'>Reports</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        "<p><a href='portfolio-results/portfolio.json'>Portfolio tables (CSV)</a></p></body></html>"
    )


# ---- on a Dask worker (`plevaluate.cluster`) ----


def render_shipped(job, bundle: bytes, formats: tuple[str, ...]):
    """On a worker: render one report from the shipped bundle; returns ``({file name: bytes}, failure)``."""
    folder = dask_cluster.unpacked(bundle)
    shipped_notebooks = folder / "notebooks"
    job = replace(
        job,
        parameters={**job.parameters, "results": str(folder / "results")},
        folder=str(shipped_notebooks) if job.folder else None,
    )
    staging = Path(tempfile.mkdtemp(prefix=f"plevaluate-job-{os.getpid()}-"))  # its pid: swept if it is killed
    try:
        browser = find_browser() if "pdf" in formats else None
        names, failure = _execute(job, staging, formats, browser)
        if "pdf" in formats and browser is None and failure is None:
            failure = Failure(job.title, job.school_id, None, f"PDF: no Chromium on worker {os.uname().nodename}")
        return {name: (staging / name).read_bytes() for name in names}, failure
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def forget_bundles() -> None:
    """On a worker, after a run: remove the unpacked bundles and shut down this process's kernels and browsers."""
    shutdown_workers()
    dask_cluster.forget_unpacked()
