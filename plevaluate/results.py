"""What a level returns: its tidy tables, the caveats that travel with them, and how they were made.

Every level runner (``evaluate_reactions``, ``evaluate_learning``, ...) returns a `LevelResult`.
Its tables share the tidy schema of STYLE.md (``level, <group columns>, measure, estimate, ci_low,
ci_high, n, n_missing, method, suppressed``), so results for all schools concatenate without a
fight; its ``notes`` are the sentences a report must print beside the numbers ("3 schools
suppressed: fewer than 10 respondents", "the 24 educators with no post score scored lower at pre").
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import StatisticalWarning

__all__ = ["LevelResult", "noting_warnings", "suppression_note", "target_status"]


@dataclass(frozen=True)
class LevelResult:
    """The evidence for one Guskey level.

    Attributes
    ----------
    level : int
        1 to 5.
    name : str
        The level's name in words ("participants' reactions").
    tables : Mapping[str, DataFrame]
        Named tidy tables (``"constructs"``, ``"items"``, ``"target"``, ...).
    notes : tuple of str
        Caveats a reader must see with the numbers: suppressed groups, doubtful analyses, rows left out.
    meta : Mapping
        How the result was made: the plan values used, methods, counts of rows read.
    evidence : bool
        False when the district collected no data for this level ("no evidence collected").
    """

    level: int
    name: str
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    meta: Mapping[str, object] = field(default_factory=dict)
    evidence: bool = True

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def _repr_html_(self) -> str:
        head = f"<h4>Level {self.level}: {html.escape(self.name)}</h4>"
        if not self.evidence:
            return head + "<p>No evidence collected for this level.</p>"
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        parts = [head, f"<ul>{notes}</ul>" if notes else ""]
        for name, table in self.tables.items():
            # to_html escapes cell text (school names and comments are untrusted)
            parts.append(f"<h5>{html.escape(name)} ({len(table)} rows)</h5>")
            parts.append(table.head(20).to_html(index=False, float_format="{:.3f}".format, na_rep=""))
        return "".join(parts)


@contextmanager
def noting_warnings(notes: list[str]) -> Iterator[None]:
    """Append the message of every `StatisticalWarning` raised inside the block to ``notes``, then re-issue it.

    The caveat then travels with the result (and reaches the report) and still reaches whoever is
    watching warnings.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, StatisticalWarning):
            notes.append(str(warning.message))
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def suppression_note(table: pd.DataFrame, group: str, min_n: int, unit: str) -> str | None:
    """A sentence naming how many ``group`` values of ``table`` are suppressed, or None if none are."""
    if "suppressed" not in table or group not in table:
        return None
    hidden = table.loc[table["suppressed"].astype(bool), group].dropna().unique()
    if len(hidden) == 0:
        return None
    listed = ", ".join(map(str, sorted(hidden)))
    noun = group.removesuffix("_id").replace("_", " ")
    return f"{len(hidden)} {noun}(s) suppressed ({listed}): fewer than {min_n} {unit}"


def target_status(table: pd.DataFrame, target: float | None) -> pd.DataFrame:
    """Add the plan's target and whether each estimate meets it.

    Returns
    -------
    DataFrame
        ``table`` plus ``target``; ``met`` (estimate >= target; missing when the estimate is
        suppressed or there is no target) and ``status``: ``met`` when the whole interval is at or
        above the target, ``not met`` when it is entirely below, ``met, not conclusive`` /
        ``not met, not conclusive`` when the interval straddles the target, ``suppressed`` (too few
        people), ``hidden to protect a smaller group`` (complementary suppression) or ``no target``.

    Examples
    --------
    >>> t = pd.DataFrame({"estimate": [0.8, 0.72, 0.5], "ci_low": [0.75, 0.6, 0.4], "ci_high": [0.85, 0.8, 0.6]})
    >>> target_status(t, 0.7)["status"].tolist()
    ['met', 'met, not conclusive', 'not met']
    """
    out = table.copy()
    out["target"] = np.nan if target is None else float(target)
    estimate = out["estimate"].astype(float)
    known = estimate.notna() & out["target"].notna()
    met = estimate >= out["target"]
    out["met"] = met.where(known).astype("boolean")
    sure = (out["ci_low"] >= out["target"]) | (out["ci_high"] < out["target"])
    status = np.where(met, "met", "not met")
    status = np.where(sure, status, np.char.add(status.astype(str), ", not conclusive"))
    status = np.where(estimate.isna(), "suppressed", status)
    if "complementary" in out:
        protecting = out["complementary"].fillna(False).astype(bool).to_numpy()
        status = np.where(protecting, "hidden to protect a smaller group", status)
    out["status"] = np.where(out["target"].isna() & ~np.isin(status, ["suppressed", "hidden to protect a smaller group"]),
                             "no target", status)  # fmt: skip
    return out
