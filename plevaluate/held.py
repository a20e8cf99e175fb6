"""A table whose rows stay on a Dask cluster's workers: students.csv of a district loaded with a cluster (#34).

``plevaluate.load(DATA, client=...)`` gives the district's students as a `HeldTable`: the rows are cut by a hash of
``student_id`` into parts, each part held by a worker, and this process keeps only the parts' futures, the columns and
the count of rows. Every use of the students in an evaluation on that cluster (`plevaluate.years`: the school years,
each year's view, level 5's and cost's sums, what a quote could name; the staggered panel; the logic model's test
springs) runs on each part where it is, and only what it finds comes here: sets of years, sums, the few IDs a quote
names. A student's rows are all in one part, so anything counted per student (distinct students of a school, a
student's pre and post) adds up across the parts.

Parts scattered to a worker die with it (Dask cannot compute them again): a use that meets a lost part raises
`LostPart`, and the evaluation then reads students.csv again here (`plevaluate.years`), with a `LostProcessWarning`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .cluster import deserted, embedded, fetched, workers_of

__all__ = ["PART_ROWS", "HeldTable", "LostPart", "compact", "cut_by", "lost", "part_count", "parts_for"]

#: The rows of a part, at most (of its largest frame), give or take the hash's unevenness: a part's task then needs
#: about the same memory at any size of district (a part of 925,000 survey answers took a worker from 0.4 to 0.9 GB).
PART_ROWS = 250_000


class LostPart(RuntimeError):
    """A part of a `HeldTable` was lost with its worker (or its client closed): the table must be read again."""


def part_count(ready, least: int) -> int:
    """How many parts ``ready`` (a frame or a tuple of frames) is cut in: ``least`` (two for each worker, so that
    every worker has work), or more when its largest frame has more than `PART_ROWS` rows for each."""
    frames = ready if isinstance(ready, tuple) else (ready,)
    return parts_for(max((len(frame) for frame in frames), default=0), least)


def parts_for(rows: int, least: int) -> int:
    """How many parts a table of ``rows`` rows is cut in (`part_count`): ``least``, or more of at most `PART_ROWS`."""
    return max(least, -(-rows // PART_ROWS))


def cut_by(ready, key: str, count: int):
    """A way to cut ``ready`` (a frame or a tuple of frames) in ``count`` parts by a hash of ``key``: ``cut(k)`` is
    part ``k``, cut when asked; rows with one key, in every frame, fall in one part (the same part for the same key,
    whatever else the frame holds)."""
    frames = ready if isinstance(ready, tuple) else (ready,)
    if any(key not in frame for frame in frames):
        raise ValueError(f"no column {key} to split by")
    sorted_by_part = []  # each frame's rows sorted by part, in their order within each (a mask a part took a pass
    for frame in frames:  # over every row for each part: 33 passes over a year's 8 million answers at 20,000 schools)
        bucket = (pd.util.hash_pandas_object(frame[key], index=False).to_numpy() % count).astype(
            np.min_scalar_type(count)
        )
        order = np.argsort(bucket, kind="stable")
        sorted_by_part.append((frame, order, np.r_[0, np.cumsum(np.bincount(bucket, minlength=count))]))

    def cut(k: int):
        piece = tuple(frame.iloc[order[bounds[k] : bounds[k + 1]]] for frame, order, bounds in sorted_by_part)
        return piece if isinstance(ready, tuple) else piece[0]

    return cut


@dataclass(frozen=True, eq=False)
class HeldTable:
    """A table held in parts on a Dask cluster's workers, by a hash of ``key`` (`cut_by`).

    A table derived from it (`derived`: a year's rows, level 5's treatment added) holds nothing of its own: it is the
    same parts with the steps that make it, run on each part where it is whenever the part is used, so a year's rows
    are never held beside the whole table's. Each part is held with its text columns as categoricals (each distinct
    ID once: the students of 2,000 schools over three years take 64 MB instead of 182) and given to every use as it
    was loaded.

    Attributes
    ----------
    client : distributed.Client
        The client whose cluster holds the parts.
    key : str
        The column whose rows share a part (``student_id``).
    parts : tuple of distributed.Future
        Each part as held, in order; each part's rows in the table's order.
    dtypes : dict
        The types each part is given back in (`_loaded`).
    steps : tuple
        ``(function, args)`` run in turn on each part, ``function(part, *args)``, before any use of it.
    """

    client: Any
    key: str
    parts: tuple
    dtypes: dict
    steps: tuple = ()

    @classmethod
    def hold(cls, client, frame: pd.DataFrame, key: str) -> HeldTable:
        """``frame`` cut into parts (`part_count`: two for each worker, or more of at most `PART_ROWS` rows) and
        scattered to the workers, one part at a time (never the whole table twice in this process)."""
        count = part_count(frame, max(2, 2 * workers_of(client)))
        cut = cut_by(frame, key, count)
        parts = []
        with embedded():
            for k in range(count):
                parts.append(client.scatter(compact(cut(k)), hash=False))
        held = cls(client, key, tuple(parts), frame.dtypes.to_dict())
        held.__dict__["_shape"] = (frame.columns.copy(), len(frame))  # known: not asked of the parts
        return held

    def derived(self, function: Callable, *args) -> HeldTable:
        """The table ``function(part, *args)`` makes of every part (a year's rows of the students), run where each
        part is whenever it is used; nothing more is held."""
        return HeldTable(self.client, self.key, self.parts, self.dtypes, (*self.steps, (function, args)))

    @functools.cached_property
    def _shape(self) -> tuple[pd.Index, int]:
        shapes = self.map(_shape)
        return (shapes[0][0] if shapes else pd.Index(self.dtypes)), sum(rows for _, rows in shapes)

    @property
    def columns(self) -> pd.Index:
        return self._shape[0]

    @property
    def rows(self) -> int:
        return self._shape[1]

    def __len__(self) -> int:
        return self.rows

    @property
    def empty(self) -> bool:
        return self.rows == 0

    def __contains__(self, column: str) -> bool:
        return column in self.columns

    def piece(self, k: int):
        """A future of part ``k`` as this table has it (its steps run), made on the part's worker for a task that
        reads it (`plevaluate.years`: a part's sums): held there only while that task needs it."""
        return self.client.submit(_made, self.parts[k], self.dtypes, self.steps, pure=False)

    def map(self, function: Callable, *args) -> list:
        """``function(part, *args)`` of every part, run where the part is; the answers here, in the parts' order.

        Raises `LostPart` when a part was lost with its worker, the client closed, the scheduler does not answer
        within `plevaluate.cluster.ANSWER` seconds, or the cluster is left without workers for
        `plevaluate.cluster.PATIENCE` seconds (`plevaluate.cluster.deserted`): every wait here has an end, as every
        other question plevaluate asks a cluster. An error of ``function``'s own is raised as itself."""
        client, futures = self.client, []
        try:
            if client.status != "running":
                raise LostPart("its Dask client is closed")
            workers_of(client)  # `Unanswered` (an OSError) at once from a scheduler that does not answer
            with deserted(client, lambda: futures) as given_up, embedded():
                futures += [
                    client.submit(_answer, part, self.dtypes, self.steps, function, args, pure=False)
                    for part in self.parts
                ]
                return [fetched(future, client, given_up) for future in futures]
        except Exception as error:  # noqa: BLE001 - sorted below: lost, or the function's own error
            problem = error.with_traceback(None)  # its frames would keep the parts and answers on the workers
        finally:
            futures = None  # dropped here, so that nothing the answers or a failure keep holds them on the cluster
        if isinstance(problem, LostPart):
            raise LostPart(str(problem))
        if lost(problem, client):
            raise LostPart(f"{type(problem).__name__}: {problem}" if str(problem) else type(problem).__name__)
        raise problem

    def unique(self, column: str) -> np.ndarray:
        """The distinct values of ``column`` (in no particular order): each part's, then together here."""
        found = self.map(_unique, column)
        return pd.unique(np.concatenate(found)) if found else np.array([], dtype=object)

    def gathered(self) -> pd.DataFrame:
        """The whole table here, each row at its place in the table's order (its index, the CSV row number): for a
        use that needs every row in one process (a one-process evaluation of a district loaded on a cluster)."""
        pieces = self.map(_itself)
        if not pieces:
            return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in self.dtypes.items()})
        return pd.concat(pieces).sort_index(kind="stable")


def lost(error: BaseException, client) -> bool:
    """Whether ``error``, raised waiting for a task of ``client``'s, says the task's data or its client is gone (a
    worker lost, a client closed, a cluster left without workers, a scheduler that does not answer), not an error of
    the task's own: that one is raised as itself, never taken for a loss."""
    from distributed import KilledWorker
    from distributed.client import ClosedClientError, FutureCancelledError

    if client.status != "running" or isinstance(error, (CancelledError, OSError)):
        return True
    return isinstance(error, (KilledWorker, FutureCancelledError, ClosedClientError)) or "lost" in str(error).lower()


def compact(part: pd.DataFrame) -> pd.DataFrame:
    """A part as it is held: its text columns as categoricals, each distinct value once (`_loaded` undoes it)."""
    text = [name for name, dtype in part.dtypes.items() if isinstance(dtype, pd.StringDtype)]
    return part.astype(dict.fromkeys(text, "category"))


def _made(part: pd.DataFrame, dtypes: dict, steps: tuple) -> pd.DataFrame:
    """A part as loaded (`_loaded`), with the table's steps run on it."""
    frame = _loaded(part, dtypes)
    for function, args in steps:
        frame = function(frame, *args)
    return frame


def _loaded(part: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    """A part as it was loaded: its categorical text columns as text again (each row's value the category's object)."""
    changed = {name: dtype for name, dtype in dtypes.items() if name in part and part[name].dtype != dtype}
    return part.astype(changed) if changed else part


def _answer(part: pd.DataFrame, dtypes: dict, steps: tuple, function: Callable, args: tuple):
    return function(_made(part, dtypes, steps), *args)


def _shape(part: pd.DataFrame) -> tuple[pd.Index, int]:
    return part.columns, len(part)


def _unique(part: pd.DataFrame, column: str) -> np.ndarray:
    return pd.unique(part[column].to_numpy(dtype=object))


def _itself(part: pd.DataFrame) -> pd.DataFrame:
    return part
