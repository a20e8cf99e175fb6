"""The errors and warnings plevaluate raises, in one place.

`ContractError` is raised once, at loading, and lists every problem found in a
district's data folder. `ContractWarning` flags data that is valid but doubtful
(normalized whitespace, a Windows-1252 export, a post score with no pre score).
`StatisticalWarning` flags an analysis that runs but deserves caution.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

__all__ = [
    "ContractError",
    "ContractWarning",
    "LostProcessWarning",
    "OutputError",
    "PlanError",
    "Problem",
    "StatisticalWarning",
    "shown",
]

#: How many rows of one kind of problem a message lists before summarizing the rest.
ROWS_SHOWN = 8


@dataclass(frozen=True)
class Problem:
    """One problem found in a district's data.

    Attributes
    ----------
    file : str
        The file the problem is in, e.g. ``"observations.csv"``.
    expected : str
        What the contract expects, in words.
    fix : str
        The likely fix, in words.
    row : int or None
        The CSV row number (the header is row 1), when the problem is in one row.
    column : str or None
        The column, when the problem is in one column.
    value : str or None
        The offending value as it was read.
    severity : {"error", "warning"}
    """

    file: str
    expected: str
    fix: str = ""
    row: int | None = None
    column: str | None = None
    value: str | None = None
    severity: str = "error"

    def where(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"{_label(self.file)} '{self.column}'")
        if self.value is not None:
            parts.append(f"value {shown(self.value)}")
        return ", ".join(parts)

    def __str__(self) -> str:
        text = f"{self.where()}: {_clipped(self.expected)}"
        return f"{text}. Fix: {_sentences(_clipped(self.fix))}" if self.fix else text


#: The characters of a value a message shows: a 20 MB cell was printed whole, twice (a hostile review).
VALUE_SHOWN = 60


def shown(value: str) -> str:
    """``value`` as a message quotes it: its repr, its first `VALUE_SHOWN` characters when it is longer.

    >>> shown("S01")
    "'S01'"
    >>> shown("9" * 1000)
    "'999999999999999999999999999999999999999999999999999999999999...' (1,000 characters)"
    """
    text = str(value)
    if len(text) <= VALUE_SHOWN:
        return repr(text)
    return f"{text[:VALUE_SHOWN]!r}"[:-1] + f"...' ({len(text):,} characters)"


def _clipped(text: str) -> str:
    """``text`` with any unbroken run longer than 100 characters (a value quoted in words) cut as `shown` cuts it."""
    return re.sub(r"\S{101,}", lambda m: m.group(0)[:VALUE_SHOWN] + f"... ({len(m.group(0)):,} characters)", text)


def _sentences(text: str) -> str:
    """Capitalize the first letter of each sentence of a fix, and end it with a full stop."""
    text = re.sub(r"(^|[.?!]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text if not text or text.rstrip()[-1] in ".?!:" else text.rstrip() + "."


def _label(file: str) -> str:
    return "entry" if file.endswith((".yml", ".yaml")) else "column"


def format_problems(problems: list[Problem] | tuple[Problem, ...], rows_shown: int = ROWS_SHOWN) -> str:
    """Format problems for a person: grouped by file, and by kind within a file.

    Problems of one kind (same file, column, expectation and fix) that occur on
    many rows are listed once with their row numbers and values, the first
    ``rows_shown`` in full and the rest counted.
    """
    by_file: dict[str, dict[tuple, list[Problem]]] = defaultdict(lambda: defaultdict(list))
    for p in problems:
        by_file[p.file][(p.column, _clipped(p.expected), _clipped(p.fix), p.row is None)].append(p)
    lines: list[str] = []
    for file, kinds in by_file.items():
        lines.append(f"{file}:")
        for (column, expected, fix, _), found in kinds.items():
            # in row order: a file read in blocks on several workers reported its rows as the blocks came back
            group = sorted(found, key=lambda p: p.row if p.row is not None else -1)
            if len(group) == 1:
                p = group[0]
                where = ", ".join(
                    s
                    for s in (
                        f"row {p.row}" if p.row is not None else "",
                        f"{_label(file)} '{column}'" if column else "",
                        f"value {shown(p.value)}" if p.value is not None else "",
                    )
                    if s
                )
                head = f"{where}: " if where else ""
                lines.append(f"  - {head}{expected}." + (f" Fix: {_sentences(fix)}" if fix else ""))
                continue
            listed = ", ".join(
                f"row {p.row}" + (f" ({shown(p.value)})" if p.value is not None else "") for p in group[:rows_shown]
            )
            more = f" and {len(group) - rows_shown} more rows" if len(group) > rows_shown else ""
            col = f"{_label(file)} '{column}', " if column else ""
            lines.append(
                f"  - {col}{len(group)} rows: {listed}{more}: {expected}." + (f" Fix: {_sentences(fix)}" if fix else "")
            )
    return "\n".join(lines)


class ContractError(ValueError):
    """A district's data breaks the data contract.

    The message lists every problem found (file, row, column, value, what was
    expected and the likely fix); ``problems`` holds them as `Problem` objects.
    """

    def __init__(
        self, problems: list[Problem] | tuple[Problem, ...], source: str = "the data folder", *, doing: str = "load"
    ):
        self.problems = tuple(p for p in problems if p.severity == "error")
        self.warnings = tuple(p for p in problems if p.severity != "error")
        self._source, self._doing = source, doing
        n_files = len({p.file for p in self.problems})
        noun = "problem" if len(self.problems) == 1 else "problems"
        files = "file" if n_files == 1 else "files"
        header = f"plevaluate could not {doing} {source}: {len(self.problems)} {noun} in {n_files} {files}."
        text = header + "\n\n" + format_problems(self.problems)
        if self.warnings:
            text += f"\n\nAlso {len(self.warnings)} warning(s), which do not stop loading:\n" + format_problems(
                self.warnings
            )
        super().__init__(text)

    def __reduce__(self):
        """Picklable, so that an error raised in another process (a school year evaluated there,
        `plevaluate.years.evaluate_each_year`) reaches the caller as itself."""
        return _rebuilt, (type(self), self.problems + self.warnings, self._source, self._doing)


def _rebuilt(kind: type, problems: tuple, source: str, doing: str) -> ContractError:
    return kind(problems, source, doing=doing)


class LostProcessWarning(RuntimeWarning):
    """A process doing part of the work ended abruptly (the system ended it for memory, say); its part was
    done again in the calling process, so nothing is missing. Shown even where other warnings are not."""


class PlanError(ContractError):
    """plan.yml is missing required entries or has invalid values."""


class OutputError(ContractError):
    """A command was asked to write where it never writes (an input, a file it did not make, a folder in use).

    Raised by the write gate (`plevaluate.gates`) before any work starts; the command line exits with 2.
    """

    def __init__(self, problems, source: str = "the output", *, doing: str = "write"):
        super().__init__(problems, source, doing=doing)


class ContractWarning(UserWarning):
    """Data that is valid but doubtful, or that plevaluate normalized while reading it."""


class StatisticalWarning(UserWarning):
    """An analysis that runs but whose result deserves caution (small n, failed diagnostics)."""
