"""Property test: any single corruption of a valid table is reported with its row or column, never a traceback."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plevaluate import TABLES, ContractError, load
from tests.conftest import write_tiny

_BASE = Path(tempfile.mkdtemp(prefix="plevaluate-tiny-"))
write_tiny(_BASE)
_FRAMES = {name: pd.read_csv(_BASE / f"{name}.csv", dtype=str, keep_default_na=False) for name in TABLES}
# Columns whose values the contract checks: a garbage value there must be reported.
_CHECKED = {
    name: [c.name for c in spec.columns if c.name in _FRAMES[name] and (c.kind not in ("id", "text") or c.references)]
    for name, spec in TABLES.items()
}
_REQUIRED = {name: [c for c in spec.required_columns if c in _FRAMES[name]] for name, spec in TABLES.items()}


@st.composite
def corruption(draw):
    table = draw(st.sampled_from(sorted(TABLES)))
    frame = _FRAMES[table]
    kind = draw(st.sampled_from(["cell", "drop_column", "duplicate_row"]))
    if kind == "cell" and _CHECKED[table]:
        column = draw(st.sampled_from(_CHECKED[table]))
        row = draw(st.integers(0, len(frame) - 1))
        value = draw(st.sampled_from(["???", "not a value", "-1e99x", "ZZZ-404"]))
        return table, kind, column, row, value
    if kind == "drop_column" and _REQUIRED[table]:
        return table, kind, draw(st.sampled_from(_REQUIRED[table])), None, None
    return table, "duplicate_row", None, draw(st.integers(0, len(frame) - 1)), None


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruption())
def test_single_corruption_is_reported(tmp_path_factory, spec):
    table, kind, column, row, value = spec
    folder = tmp_path_factory.mktemp("corrupt")
    for file in _BASE.iterdir():
        shutil.copy(file, folder / file.name)
    frame = _FRAMES[table].copy()
    if kind == "cell":
        frame.loc[row, column] = value
    elif kind == "drop_column":
        frame = frame.drop(columns=[column])
    else:
        frame = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
    frame.to_csv(folder / f"{table}.csv", index=False, lineterminator="\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ContractError) as caught:
            load(folder)
    problems = [p for p in caught.value.problems if p.file == f"{table}.csv"]
    if kind == "cell":
        assert any(p.row == row + 2 and p.column == column for p in problems), str(caught.value)
    elif kind == "drop_column":
        assert any(p.column == column and p.row is None for p in problems), str(caught.value)
    else:
        assert any(p.row == len(frame) + 1 for p in problems), str(caught.value)
