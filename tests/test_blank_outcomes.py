"""Blank outcome, prior-score and period cells (all allowed by the data contract) never stop an evaluation:
every level is returned, level 5 either estimates or says in words what it could not compute, and the
reports render (#14)."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plevaluate
from plevaluate.evaluate import evaluate
from tests.conftest import SAMPLE

COLUMNS = ("outcome", "prior_score", "period")


def _blank(folder, shares: dict[str, float], seed: int) -> pd.DataFrame:
    students = pd.read_csv(folder / "students.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    for column, share in shares.items():
        students.loc[rng.random(len(students)) < share, column] = ""
    students.to_csv(folder / "students.csv", index=False)
    return students


@pytest.mark.render
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shares=st.fixed_dictionaries({c: st.sampled_from([0.0, 0.001, 0.05, 0.5, 1.0]) for c in COLUMNS}),
    seed=st.integers(0, 2**16),
)
def test_blank_cells_never_stop_the_evaluation(tmp_path_factory, shares, seed):
    folder = tmp_path_factory.mktemp("district")
    shutil.rmtree(folder)
    shutil.copytree(SAMPLE, folder)
    _blank(folder, shares, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate(plevaluate.load(folder)).publish()
    assert set(ev.levels) == {0, 1, 2, 3, 4, 5}
    for number in (0, 1, 2, 3, 4):
        assert not ev[number].meta.get("error"), (number, ev[number].meta.get("error"))
    level5 = ev[5]
    if level5.meta.get("error"):  # said in words, in the chain and the notes
        row = ev.chain[(ev.chain["scope"] == "district") & (ev.chain["level"] == 5)].iloc[0]
        assert row["status"] == "not estimable" and row["status_detail"]
    elif shares["outcome"] < 1.0 and shares["period"] < 1.0:
        assert level5.evidence


@pytest.mark.render
def test_reports_render_with_blank_outcomes(tmp_path):
    from plevaluate.render import render

    folder = tmp_path / "district"
    shutil.copytree(SAMPLE, folder)
    _blank(folder, {"outcome": 0.05, "prior_score": 0.05, "period": 0.05}, seed=14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = render(folder, tmp_path / "out", schools=["S01", "S09"], workers=2, formats=("html",))
    assert not summary.failures and not summary.findings
    assert len(list((tmp_path / "out").glob("*.html"))) == 7  # district, board, appendix, logic model, 2 schools, index


def test_a_district_in_memory_whose_visits_never_say_whether_the_practice_was_seen_is_evaluated(sample_district):
    """From CSV a blank practice_observed column is a contract error; a district built in memory reached level 4 with
    every visit blank and stopped at an IndexError placing the schools on the funnel. No school is placed: a note."""
    from dataclasses import replace
    from types import MappingProxyType

    observations = sample_district.observations.assign(practice_observed=np.nan)
    blank = replace(sample_district, tables=MappingProxyType({**sample_district.tables, "observations": observations}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        practice = evaluate(blank).levels[4]
    assert "funnel" not in practice.tables and "funnel_curve" not in practice.tables
    assert any(note.startswith("no funnel: no participant school's visits in ") for note in practice.notes)
