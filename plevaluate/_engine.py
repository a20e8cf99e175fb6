"""The papermill engine ``plevaluate``: papermill's nbclient engine in a warm kernel, cleared before each report.

Registered through the entry point group ``papermill.engine`` (pyproject.toml), so
``papermill.execute_notebook(..., engine_name="plevaluate", km=...)`` finds it. papermill loads its
engines' entry points while it imports its own engine module, so this module imports papermill
only when the engine is first asked for (a module ``__getattr__``): importing it first, or from
papermill, never meets a half-imported module.
"""

from __future__ import annotations

import functools
import html
import json
import re
from pathlib import Path

from . import registry
from .errors import ContractError, PlanError
from .evaluate import MANIFEST, read_table
from .figures import visible
from .plan import read_plan

__all__ = ["PLACEHOLDERS", "RESET", "client_for", "close_client", "fill_placeholders", "run_in"]
# and WarmKernelEngine, built on first use (module __getattr__)

#: What a report notebook's Markdown may name in braces (``{program}``), filled by the engine from the results it
#: renders: fixed prose an evaluator edits in the notebook, the numbers and names coming from the evaluation.
PLACEHOLDERS = {
    "program": "the plan's program",
    "school_year": "the plan's school year",
    "description": "the plan's description",
    "school_name": "the school's name (school reports)",
    "min_n": "the smallest group the reports show (the plan's min_n)",
    "ci": "the confidence level of every interval (95%)",
}
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_MARKDOWN = re.compile(r"([\\`*_\[\]{}()#+\-.!|~<>])")

#: Run silently before each notebook: the previous report's variables and open figures are gone, and the memory
#: they held goes back to the system (glibc's ``malloc_trim``; elsewhere nothing): without it a kernel's memory
#: crept up about 0.09 MB a report, with it about half that (150 school reports of the sample, one run each).
RESET = """get_ipython().run_line_magic('reset', '-f')
import matplotlib.pyplot as _plt
_plt.close('all')
del _plt
import ctypes as _c
try:
    _c.CDLL(None).malloc_trim(0)
except (OSError, AttributeError, TypeError):
    pass
del _c"""


def client_for(km):
    """The one client of a warm kernel, started on first use and kept open for every report it runs.

    nbclient never closes the client of a kernel it does not own (``km=``): a new client for each report
    left a heartbeat thread and its sockets behind every time (a worker grew by about 1 MB a report),
    and starting one waits out 0.2 s of quiet on IOPub. Messages of one report never reach the next:
    nbclient reads each cell's output by the request it answers.

    The client is asynchronous (jupyter_client's ``AsyncKernelClient``). nbclient waits for a cell's output
    and, beside it, asks every second whether the kernel is alive. A blocking client's wait for output
    (``get_msg(timeout=None)``) held the event loop, so that question was never asked: a kernel killed
    mid-report (out of memory, a user's ``kill``) left the run waiting for ever. Now it fails that report.
    """
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_core.utils import run_sync

    kc = getattr(km, "_plevaluate_client", None)
    if kc is None or not kc.channels_running:
        km.client_factory = AsyncKernelClient
        kc = km.client()
        kc.start_channels()
        run_sync(kc.wait_for_ready)(timeout=60)
        kc.allow_stdin = False
        km._plevaluate_client = kc
    return kc


def run_in(km, code: str, timeout: float) -> None:
    """Run ``code`` in a warm kernel through its kept client, waiting at most ``timeout`` seconds."""
    from jupyter_core.utils import run_sync

    run_sync(client_for(km).execute_interactive)(code, timeout=timeout)


def close_client(km) -> None:
    """Close a warm kernel's kept client (before the kernel shuts down)."""
    kc = getattr(km, "_plevaluate_client", None)
    if kc is not None:
        kc.stop_channels()
        km._plevaluate_client = None


def _plan_of(data: str) -> dict:
    """The plan of the data folder ``data`` (a report drawn from data, such as the logic model of a plan with no
    data yet); empty when it has none or it does not read (the notebook then says why)."""
    path = Path(data) / "plan.yml"
    if not data or not path.is_file():
        return {}
    try:
        return read_plan(path, registry.levels()).model_dump(mode="json")
    except (PlanError, ContractError):
        return {}


def _values(parameters: dict) -> dict[str, str]:
    """Each placeholder's text for the report these parameters render (the saved results' plan and schools; with
    no saved results, the plan of the data folder the parameters name)."""
    results = Path(str(parameters.get("results") or ""))
    if not parameters.get("results") or not (results / MANIFEST).is_file():
        manifest = {"plan": _plan_of(str(parameters.get("data") or ""))}
        if not manifest["plan"]:
            return {}
    else:
        manifest = json.loads((results / MANIFEST).read_text(encoding="utf-8"))
    plan = manifest.get("plan", {})
    values = {
        "program": plan.get("program", ""),
        "school_year": plan.get("school_year", ""),
        "description": plan.get("description", "") or "",
        "min_n": str(plan.get("min_n", 10)),
        "ci": f"{float(plan.get('ci', 0.95)):.0%}",
    }
    school_id = parameters.get("school_id")
    spec = manifest.get("frames", {}).get("schools")
    if school_id and spec:
        schools = read_table(results / spec.get("file", "schools.csv"), spec)
        names = dict(zip(schools["school_id"].astype(str), schools["school_name"]))
        values["school_name"] = names.get(str(school_id), str(school_id))
    return {name: str(value) for name, value in values.items()}


def fill_placeholders(notebook) -> None:
    """Fill the placeholders (`PLACEHOLDERS`) of the notebook's Markdown cells from the results papermill's
    parameters name. The text is untrusted (a program's or a school's name): HTML-escaped, its invisible
    characters shown (`plevaluate.figures.visible`), its line breaks made spaces, and, on a line that is not HTML, its Markdown marks escaped,
    so it reads as written. A placeholder without a value (no saved results) is left as it is."""
    values = _values(dict(notebook.metadata.get("papermill", {}).get("parameters", {})))
    if not values:
        return
    for cell in notebook.cells:
        if cell.cell_type != "markdown" or "{" not in cell.source:
            continue
        lines = []
        for line in cell.source.split("\n"):
            in_html = line.lstrip().startswith("<")

            def fill(match: re.Match, in_html: bool = in_html) -> str:
                if match.group(1) not in values:
                    return match.group(0)
                # one line: a line break in a school's name would end the HTML block and start Markdown (a heading,
                # a link) -- found by a hostile test
                text = html.escape(" ".join(visible(values[match.group(1)]).split()), quote=False)
                return text if in_html else _MARKDOWN.sub(r"\\\1", text)

            lines.append(_PLACEHOLDER.sub(fill, line))
        cell.source = "\n".join(lines)


@functools.cache
def _engine() -> type:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class ResettingClient(PapermillNotebookClient):
        def papermill_execute_cells(self):
            self.wait_for_reply(self.kc.execute(RESET, silent=True, store_history=False))
            super().papermill_execute_cells()

    class WarmKernelEngine(NBClientEngine):
        """papermill's nbclient engine, run in a kernel that stays warm between reports (``km=``), whose
        namespace and open figures are cleared before each notebook, so no report sees another's variables."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            # as papermill's NBClientEngine.execute_managed_notebook, with the resetting client
            kwargs = remove_args(["input_path"], **kwargs)
            safe = remove_args(["timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                safe,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            fill_placeholders(nb_man.nb)
            client = ResettingClient(nb_man, **final)
            if kwargs.get("km") is not None:
                client.kc = client_for(kwargs["km"])  # nbclient starts no client of its own then
            return client.execute()

    WarmKernelEngine.__module__ = __name__
    return WarmKernelEngine


def __getattr__(name: str):
    if name == "WarmKernelEngine":
        return _engine()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
