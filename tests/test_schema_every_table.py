"""Every published table against its one declaration (`plevaluate.schema`, #30): each level's tables, the chain of
evidence and its sentences, a multi-year program's ``extras``, the design check's two tables, the portfolio's and the
logic model's (tests/test_logic_model.py checks its tables against their declarations),
for the one-year and the multi-year sample, internal and published; every measure table's ``unit`` on every row;
every declared column in the glossary."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest

import plevaluate
from plevaluate import chain, logic_model, portfolio, registry
from plevaluate.cli import main
from plevaluate.design import check_design
from plevaluate.evaluate import evaluate
from plevaluate.schema import GLOSSARY, MEASURE_COLUMNS, SHARED_TABLES, UNITS, Copy, TableSpec, check, conform
from plevaluate.years import evaluate_for_reports, evaluated_years, year_view
from tests.conftest import SAMPLE

SAMPLE_YEARS = SAMPLE.parent / "sample-years"


def _quietly(function, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args)


@pytest.fixture(scope="module")
def years_district() -> plevaluate.District:
    return _quietly(plevaluate.load, SAMPLE_YEARS)


@pytest.fixture(scope="module")
def years_published(years_district) -> plevaluate.Evaluation:
    """The multi-year sample as its reports show it: the latest year, published, with the years in ``extras``."""
    return _quietly(evaluate_for_reports, years_district)


@pytest.fixture(scope="module")
def years_internal(years_district) -> plevaluate.Evaluation:
    """The internal store behind `years_published`: the latest year's view, evaluated, not published."""
    latest = evaluated_years(years_district)[-1]
    return _quietly(evaluate, year_view(years_district, latest))


@pytest.fixture(scope="module")
def evaluations(sample_evaluation, published, years_internal, years_published) -> dict[str, plevaluate.Evaluation]:
    return {
        "one year, internal": sample_evaluation,
        "one year, published": published,
        "several years, internal": years_internal,
        "several years, published": years_published,
    }


def _years_tables(level) -> dict[str, TableSpec]:
    """A level's declared multi-year tables: ``YEARS_TABLES`` of its ``tables.py`` (until `plevaluate.results.Level`
    carries them itself, as ``years_tables``)."""
    declared = getattr(level, "years_tables", None)
    if declared is None and level.years is not None:
        declared = importlib.import_module(f"plevaluate.levels.{level.key}.tables").YEARS_TABLES
    return dict(declared or {})


def _extras_declared() -> dict[str, TableSpec]:
    """What may be in ``Evaluation.extras``: the shared multi-year tables and each level's own."""
    out = {name: spec for name, spec in SHARED_TABLES.items() if spec.built_by == "plevaluate.years"}
    for level in registry.levels():
        out |= _years_tables(level)
    return out


def _declarations() -> dict[str, TableSpec]:
    """Every declaration, by a name saying whose it is."""
    out = {f"level {level.number} {name}": spec for level in registry.levels() for name, spec in level.tables.items()}
    out |= {
        f"level {level.number} {name}": spec
        for level in registry.levels()
        for name, spec in _years_tables(level).items()
    }
    out |= {f"chain {name}": spec for name, spec in chain.TABLES.items()}
    out |= {f"portfolio {name}": spec for name, spec in portfolio.TABLES.items()}
    out |= {f"logic model {name}": spec for name, spec in logic_model.TABLES.items()}
    out |= {f"shared {name}": spec for name, spec in SHARED_TABLES.items()}
    return out


def _problems(ev: plevaluate.Evaluation) -> list[str]:
    """What in any table of ``ev`` disagrees with its declaration (the level's, the chain's or a shared one)."""
    declared = {level.number: level.tables for level in registry.levels()}
    problems = []
    for number, result in ev.levels.items():
        for name, table in result.tables.items():
            spec = declared[number].get(name)
            where = f"level {number} {name}"
            problems += [f"{where}: not declared"] if spec is None else [f"{where}: {p}" for p in check(table, spec)]
    for name in ("chain", "sentences"):
        table, spec = getattr(ev, name), chain.TABLES[name]
        problems += [f"{name}: {p}" for p in check(table, spec)]
        if list(table.columns) != list(spec.columns):
            problems.append(f"{name}: columns not in the declared order {list(table.columns)}")
    extras = _extras_declared()
    for name, table in ev.extras.items():
        spec = extras.get(name)
        problems += [f"{name}: not declared"] if spec is None else [f"{name}: {p}" for p in check(table, spec)]
    return problems


def _measure_tables(ev: plevaluate.Evaluation):
    for level in registry.levels():
        result = ev.levels.get(level.number)
        for name, spec in level.tables.items():
            if spec.kind == "measure" and result is not None and name in result.tables:
                yield f"level {level.number} {name}", spec, result.tables[name]


@pytest.mark.parametrize(
    "which", ["one year, internal", "one year, published", "several years, internal", "several years, published"]
)
def test_every_table_of_the_sample_evaluations_matches_its_declaration(evaluations, which):
    assert _problems(evaluations[which]) == []


def test_every_measure_table_has_a_declared_unit_on_every_row(evaluations):
    for where, spec in _declarations().items():
        if spec.kind == "measure":
            assert spec.unit and "unit" in spec.columns, f"{where} declares no unit"
    seen = set()
    for which, ev in evaluations.items():
        for where, spec, table in _measure_tables(ev):
            assert spec.unit, f"{where} declares no unit"
            assert set(MEASURE_COLUMNS) <= set(table.columns), (which, where)
            assert table["unit"].notna().all(), (which, where)  # hidden rows too: a unit says nothing about people
            assert set(table["unit"]) <= set(UNITS), (which, where)
            seen.add(where)
    measures = {
        f"level {level.number} {name}"
        for level in registry.levels()
        for name, spec in level.tables.items()
        if spec.kind == "measure"
    }
    assert measures - seen <= {"level 4 level_of_use"}  # the samples record no Level of Use


def test_the_chain_says_each_rows_unit_and_the_years_keep_it(evaluations):
    for which, ev in evaluations.items():
        assert ev.chain["unit"].notna().all() and set(ev.chain["unit"]) <= set(UNITS), which
    trend = evaluations["several years, published"].extras["years_trend"]
    assert trend["unit"].notna().all() and set(trend["unit"]) <= set(UNITS)


def test_tables_without_an_interval_say_why(published):
    for number, name in ((0, "ratios"), (3, "principals"), (4, "funnel")):
        table = published.table(number, name)
        spec = registry.get(number).tables[name]
        assert spec.no_interval
        assert table[["ci_low", "ci_high", "ci_level"]].isna().all().all(), name
        assert table["method"].str.endswith(f"; no interval: {spec.no_interval}").all(), name
    ratios = published.table(0, "ratios").set_index("measure")
    # the ratios' n is what the cost is divided by, counted in its own unit
    assert ratios.loc["cost_per_contact_hour", "n_unit"] == "hours"
    shown = ratios[ratios["denominator"].notna()]
    assert np.allclose(shown["n"], shown["denominator"])


def test_conforming_adds_columns_but_changes_no_number(sample_district, sample_evaluation):
    """The internal store's numbers are the levels' own: conforming twice gives the same table."""
    ci = sample_district.plan.ci
    for level in registry.levels():
        result = sample_evaluation.levels.get(level.number)
        for name, table in (result.tables if result else {}).items():
            again = conform(table, level.tables[name], ci)
            pd.testing.assert_frame_equal(again, table, check_dtype=False, obj=f"level {level.number} {name}")


def test_every_extras_table_of_several_years_is_declared_by_the_module_that_builds_it(years_published):
    declared = _extras_declared()
    assert set(years_published.extras) == set(declared)  # the sample's staggered cohorts make every one of them
    for level in registry.levels():
        for name, spec in _years_tables(level).items():
            assert spec.built_by == level.years.__module__, name


@pytest.mark.parametrize("folder", [SAMPLE, SAMPLE_YEARS], ids=["one year", "several years"])
def test_the_design_checks_tables_match_their_declarations(folder):
    district = _quietly(plevaluate.load, folder)
    checked = check_design(district, registry.levels())  # as plevaluate.cli's design command calls it
    for name, table in (("design_levels", checked.levels), ("design_inputs", checked.inputs)):
        assert len(table), name
        assert check(table, SHARED_TABLES[name]) == [], name
        assert SHARED_TABLES[name].built_by == "plevaluate.design"


def test_a_portfolio_of_the_two_samples_matches_its_declarations(published, years_published):
    built = portfolio.portfolio_from([(SAMPLE, published), (SAMPLE_YEARS, years_published)])
    for name, spec in portfolio.TABLES.items():
        table = getattr(built, name)
        assert len(table), name
        assert check(table, spec) == [], name
        assert list(table.columns) == list(spec.columns), name
    assert set(built.costs["unit"]) == {"dollars"}
    assert set(built.chains["unit"]) <= set(UNITS)


@pytest.mark.slow
def test_a_portfolio_built_from_its_folder_matches_its_declarations(tmp_path):
    root = tmp_path / "programs"
    assert main(["sample", str(root / "pilot"), "--schools", "4", "--seed", "3"]) == 0
    assert main(["sample", str(root / "rollout"), "--schools", "6", "--years", "2", "--cohorts", "2"]) == 0
    built = _quietly(portfolio.build_portfolio, root)
    for name, spec in portfolio.TABLES.items():
        assert check(getattr(built, name), spec) == [], name
    saved = portfolio.Portfolio.load(built.save(tmp_path / "out"))
    for name, spec in portfolio.TABLES.items():
        assert check(getattr(saved, name), spec) == [], name


def test_every_declared_column_is_in_the_glossary_once():
    declarations = _declarations()
    for where, spec in declarations.items():
        assert set(spec.columns) <= set(GLOSSARY), where
        assert len(set(spec.columns)) == len(spec.columns), where
        units = [spec.unit] if isinstance(spec.unit, str) else list(spec.unit.values())
        assert set(filter(None, units)) <= set(UNITS), where
    for unit in UNITS:  # the units are documented where the columns are
        assert unit in GLOSSARY["unit"]
    for spec in declarations.values():
        if spec.built_by:
            importlib.import_module(spec.built_by)  # a module that exists builds it
    assert {spec.built_by for spec in SHARED_TABLES.values()} == {"plevaluate.years", "plevaluate.design"}


def test_a_declaration_refuses_what_it_cannot_mean():
    with pytest.raises(ValueError, match="glossary"):
        TableSpec("diagnostic", "school_id colour", "a column nobody defined")
    with pytest.raises(ValueError, match="UNITS"):
        TableSpec("measure", " ".join(MEASURE_COLUMNS), "a unit nobody defined", n_unit="schools", unit="furlongs")
    with pytest.raises(ValueError, match="n_unit"):
        TableSpec("measure", " ".join(MEASURE_COLUMNS), "n counts nothing", unit="share")
    with pytest.raises(ValueError, match="does not declare"):
        TableSpec("diagnostic", "measure estimate", "copied from nowhere", filled={"level": Copy("denominator")})


def test_a_unit_per_measure_is_filled_and_checked():
    spec = TableSpec(
        "measure", " ".join(MEASURE_COLUMNS), "a rating and a share", n_unit="responses",
        unit={"mean": "rating", "share_at_least": "share"},
    )  # fmt: skip
    frame = pd.DataFrame(
        {"level": 1, "measure": ["mean", "share_at_least"], "estimate": [3.5, 0.6], "ci_low": [3.2, 0.5],
         "ci_high": [3.8, 0.7], "n": [40, 40], "method": "t interval"}
    )  # fmt: skip
    out = conform(frame, spec, 0.9)
    assert list(out.columns) == list(MEASURE_COLUMNS)  # each added column where the declaration puts it
    assert list(out["unit"]) == ["rating", "share"] and set(out["ci_level"]) == {0.9}
    assert check(out, spec) == []
    pd.testing.assert_frame_equal(conform(out, spec, 0.9), out)
    stray = conform(frame.assign(measure=["mean", "median"]), spec, 0.9)
    assert any("unit is not the declared one" in p for p in check(stray, spec))


def test_an_undeclared_table_name_is_refused(published):
    with pytest.raises(KeyError, match="declares no table 'funnnel'"):
        published.table(4, "funnnel")
    assert published.table(4, "funnel") is not None
