"""The levels plevaluate evaluates: one `plevaluate.results.Level` per level, in one list.

`evaluate` runs them in the order their ``needs`` allow, the chain of evidence has one row per
level, and the reports show each level's sections. A new level is a data
contract entry, a level package defining ``LEVEL`` (docs/architecture.md, "Adding a level"), and one line: in `BUILTIN`
for a level of plevaluate's own, or an entry point of the group ``plevaluate.levels`` for a level
shipped in another package (it then reaches every report, rendered in worker processes too)::

    [project.entry-points."plevaluate.levels"]
    coaching = "my_district.coaching:LEVEL"

`register` adds a level in the running process only (a notebook, a test).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points

from .levels import cost, learning, organization, outcomes, practice, reactions
from .results import Level
from .version import ENTRY_POINTS

__all__ = ["BUILTIN", "ENTRY_POINTS", "get", "levels", "process_local", "register", "run_order", "unregister"]

#: plevaluate's own levels: cost (0) and Guskey's five.
BUILTIN: tuple[Level, ...] = (
    cost.LEVEL,
    reactions.LEVEL,
    learning.LEVEL,
    organization.LEVEL,
    practice.LEVEL,
    outcomes.LEVEL,
)


_registered: dict[int, Level] = {}
_plugins: tuple[Level, ...] | None = None


def _discovered() -> tuple[Level, ...]:
    global _plugins
    if _plugins is None:
        found = []
        for point in entry_points(group=ENTRY_POINTS):
            level = point.load()
            if not isinstance(level, Level):
                raise TypeError(f"entry point {point.name} = {point.value} is not a plevaluate Level")
            found.append(level)
        _plugins = tuple(found)
    return _plugins


def levels() -> tuple[Level, ...]:
    """Every level, built-in and added, by number. Two levels may not share a number or a plan key."""
    out: dict[int, Level] = {}
    keys: dict[str, int] = {}
    for level in (*BUILTIN, *_discovered(), *_registered.values()):
        if level.number in out and out[level.number] is not level:
            raise ValueError(f"two levels are numbered {level.number}: {out[level.number].name} and {level.name}")
        if keys.get(level.key, level.number) != level.number:
            raise ValueError(f"two levels use the plan key '{level.key}'")
        out[level.number], keys[level.key] = level, level.number
    return tuple(out[n] for n in sorted(out))


def get(number: int) -> Level:
    """The level numbered ``number``."""
    for level in levels():
        if level.number == number:
            return level
    raise KeyError(f"no level is numbered {number}")


def process_local() -> bool:
    """True while a level added by `register` is in use: it exists in this process only, so work for it may not
    go to another process (`plevaluate.years.evaluate_each_year` then stays in this one)."""
    return bool(_registered)


def register(level: Level) -> Level:
    """Add (or replace) a level in this process: `evaluate`, the chain of evidence and the reports see it."""
    _registered[level.number] = level
    return level


def unregister(number: int) -> None:
    """Remove a level added by `register`."""
    _registered.pop(number, None)


def run_order(chosen: Iterable[Level] | None = None) -> list[Level]:
    """The levels in an order where each runs after the levels it needs (by number otherwise).

    Examples
    --------
    >>> [level.number for level in run_order()]
    [1, 2, 3, 4, 5, 0]
    """
    pending = {level.number: level for level in (levels() if chosen is None else chosen)}
    done: list[Level] = []
    while pending:
        ready = [
            level
            for level in pending.values()
            if all(n in {d.number for d in done} or n not in pending for n in level.needs)
        ]
        if not ready:
            raise ValueError(f"levels {sorted(pending)} need each other: no order runs them")
        first = min(ready, key=lambda level: level.number)
        done.append(first)
        del pending[first.number]
    return done
