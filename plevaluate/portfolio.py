"""A district's portfolio: several programs, each over the years it has run, side by side for leadership.

A portfolio folder holds one data folder per program (each with its ``plan.yml``). `build_portfolio` evaluates
every program (every school year of a multi-year one, `plevaluate.years`), published as every report is, and
gathers what a superintendent compares: each program's chain of evidence for each year, its cost per
participant and per student and, where an effect on students is estimable, its cost-effectiveness, the funding
sources across programs, and which programs have evidence at which level, in words.
`plevaluate.render.render_portfolio` renders it with each program's own reports beside it. Its tables are declared
here (`TABLES`, `plevaluate.schema`).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import registry
from ._outputs import is_ours, mark, slug
from .contract import load
from .errors import ContractError, Problem
from .evaluate import read_table, write_table
from .schema import TableSpec
from .years import evaluate_for_reports, trend

__all__ = [
    "TABLES",
    "Portfolio",
    "build_portfolio",
    "find_programs",
    "other_folders",
    "portfolio_from",
    "program_ids",
    "validate_programs",
]

_EVIDENCE = {"met", "not met", "not conclusive", "reported"}

#: The portfolio's tables, declared (`plevaluate.schema`); `Portfolio` holds them in this order.
TABLES = {
    "programs": TableSpec("diagnostic", "program_id program folder years latest_year schools participant_schools",
                        "a program of the portfolio: its name, data folder, school years and schools"),
    "chains": TableSpec("diagnostic", "program_id year level level_name measure unit estimate ci_low ci_high target status",
                        "a program's district headline at one level in one school year (its published chain of evidence)"),
    "costs": TableSpec("diagnostic", "program_id year measure unit estimate status",
                        "a program's cost ratios and cost-effectiveness in its latest year (its level-0 ratios and "
                        "effectiveness)"),
    "funding": TableSpec("diagnostic", "program_id funding_source cost",
                        "a program's cost by funding source, every year evaluated added up"),
    "notes": TableSpec("diagnostic", "program_id note",
                        "which levels of a program have evidence, and its cost-effectiveness, in words"),
}  # fmt: skip


def _columns(name: str) -> list[str]:
    return list(TABLES[name].columns)


def other_folders(folder: str | Path) -> list[str]:
    """The subfolders of ``folder`` that are not programs (no plan.yml): the portfolio says it left them out."""
    return sorted(p.name for p in Path(folder).iterdir() if p.is_dir() and not (p / "plan.yml").is_file())


def find_programs(folder: str | Path) -> list[Path]:
    """The program data folders in ``folder``: its subfolders holding a ``plan.yml``, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: give a folder holding one data folder per program")
    links = sorted(p.name for p in folder.iterdir() if p.is_symlink() and (p / "plan.yml").is_file())
    if links:
        raise ValueError(
            f"program folder(s) {', '.join(links)} in {folder} are links: copy each program's folder into {folder} "
            "(a link could lead the portfolio to read, or its outputs to land, somewhere else)"
        )
    programs = sorted(p for p in folder.iterdir() if p.is_dir() and (p / "plan.yml").is_file())
    if not programs:
        raise ValueError(
            f"{folder} holds no program data folders: put each program's folder (CSV tables and plan.yml) in it"
        )
    return programs


@dataclass(frozen=True)
class Portfolio:
    """The portfolio's tables (every value published: suppressed as in the programs' own reports).

    programs: program_id, program, folder, years, latest_year, schools, participant_schools.
    chains: program_id, year, level, level_name, measure, unit, estimate, ci_low, ci_high, target, status.
    costs: program_id, year, measure, unit, estimate, status (the latest year's cost ratios and cost-effectiveness).
    funding: program_id, funding_source, cost (every year evaluated).
    notes: program_id, note: which levels have evidence, in words.
    Each is declared in `TABLES`.
    """

    programs: pd.DataFrame
    chains: pd.DataFrame
    costs: pd.DataFrame
    funding: pd.DataFrame
    notes: pd.DataFrame

    def save(self, folder: str | Path) -> Path:

        folder = Path(folder)
        if folder.is_symlink() or folder.exists() and any(folder.iterdir()) and not is_ours(folder):
            raise ValueError(f"{folder} exists and was not written by plevaluate: it is never replaced")
        folder.mkdir(parents=True, exist_ok=True)
        mark(folder)  # plevaluate's own: a later run may replace it
        manifest = {name: write_table(getattr(self, name), folder / f"{name}.csv") for name in TABLES}
        (folder / "portfolio.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Portfolio:

        folder = Path(folder)
        manifest = json.loads((folder / "portfolio.json").read_text(encoding="utf-8"))
        return cls(**{name: read_table(folder / spec["file"], spec) for name, spec in manifest.items()})


def validate_programs(folder: str | Path) -> list[tuple[Path, object]]:
    """Load every program of ``folder`` (`find_programs`): (path, District) pairs, or one
    `plevaluate.ContractError` listing every problem of every program that does not validate, by folder."""

    loaded, problems = [], []
    for path in find_programs(folder):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loaded.append((path, load(path)))
        except ContractError as error:
            problems += [
                Problem(f"{path.name}/{p.file}", p.expected, p.fix, row=p.row, column=p.column, value=p.value)
                for p in error.problems
            ]
    if problems:
        raise ContractError(problems, str(folder))
    return loaded


#: What a portfolio writes into ``--out`` beside its programs' folders, as a program's id would name its folder: a
#: program folder named portfolio-results had its reports published where the portfolio's tables go, and the
#: portfolio then refused to replace them, after every program had been rendered.
OWN_NAMES = frozenset({"portfolio-results"})


def program_ids(paths: list[Path]) -> dict[str, str]:
    """Each program folder's id: its name as a file-name-safe slug, made unique, and never the name of the
    portfolio's own results folder (`OWN_NAMES`): ``portfolio-results`` becomes ``portfolio-results-2``."""

    ids: dict[str, str] = {}
    for path in paths:
        program_id = slug(path.name)
        while program_id in ids.values() or program_id in OWN_NAMES:
            program_id += "-2"
        ids[path.name] = program_id
    return ids


def _note(program: str, chains: pd.DataFrame, costs: pd.DataFrame) -> str:
    latest = chains[chains["year"] == chains["year"].max()]
    levels = latest[latest["level"] > 0]
    with_evidence = [int(r.level) for r in levels.itertuples() if r.status in _EVIDENCE]
    without = [int(r.level) for r in levels.itertuples() if r.status not in _EVIDENCE]
    met = [int(r.level) for r in levels.itertuples() if r.status == "met"]
    year = latest["year"].iloc[0]
    words = [f"{program}, {year}: evidence at level{'s' if len(with_evidence) != 1 else ''} "
             f"{_list(with_evidence) if with_evidence else 'none'}"]  # fmt: skip
    if met:
        words.append(f"target met at level{'s' if len(met) != 1 else ''} {_list(met)}")
    if without:
        words.append(f"no evidence at level{'s' if len(without) != 1 else ''} {_list(without)}")
    five = levels[levels["level"] == 5]
    if five.empty or five["status"].iloc[0] not in _EVIDENCE:
        words.append("with no estimate of the effect on students, cost-effectiveness cannot be judged")
    else:
        effect = costs[costs["measure"] == "cost_per_student_per_0.1_sd"]
        if len(effect) and str(effect["status"].iloc[0]) == "estimable":
            words.append(f"about ${effect['estimate'].iloc[0]:,.0f} per student for each 0.1 SD of effect")
        else:
            words.append("the effect on students is not distinguishable from zero, so no cost per unit of effect")
    return "; ".join(words) + "."


def _list(levels: list[int]) -> str:
    text = [str(n) for n in levels]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]


def build_portfolio(folder: str | Path) -> Portfolio:
    """Evaluate every program in ``folder`` as its reports do (`plevaluate.years.evaluate_for_reports`) and gather
    the portfolio's tables (`portfolio_from`).

    Raises `plevaluate.ContractError` listing every problem of every program that does not validate.
    """

    programs = validate_programs(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return portfolio_from([(path, evaluate_for_reports(district)) for path, district in programs])


def portfolio_from(evaluations: list[tuple[Path, object]]) -> Portfolio:
    """The portfolio's tables from each program's published evaluation, the one its own reports show (a multi-year
    program's carries every year in ``extras``), so the portfolio and the program's reports cannot disagree."""

    ids = program_ids([path for path, _ in evaluations])
    programs, chains, costs, funding, notes = [], [], [], [], []
    for path, ev in evaluations:
        program_id = ids[path.name]
        chain = ev.extras.get("years_trend")
        if chain is None:
            chain = trend({ev.plan["school_year"]: ev})
        chain = chain.assign(program_id=program_id)
        years = sorted(chain["year"].unique())
        programs.append(
            {
                "program_id": program_id,
                "program": ev.plan["program"],
                "folder": path.name,
                "years": ", ".join(years),
                "latest_year": years[-1],
                "schools": len(ev.schools),
                "participant_schools": int(ev.schools["group"].eq("participant").sum()),
            }
        )
        chains.append(chain)
        program_costs, by_source = pd.DataFrame(columns=["measure", "unit", "estimate", "status"]), None
        for level in registry.levels():
            if level.portfolio is not None:
                part = level.portfolio(ev)
                if part.get("costs") is not None:
                    program_costs = part["costs"]
                if part.get("funding") is not None:
                    by_source = part["funding"]
        costs.append(program_costs.assign(program_id=program_id, year=years[-1]))
        if by_source is not None:
            funding.append(by_source[["funding_source", "cost"]].assign(program_id=program_id))
        notes.append({"program_id": program_id, "note": _note(ev.plan["program"], chain, program_costs)})
    fund = (
        pd.concat(funding, ignore_index=True).groupby(["program_id", "funding_source"], as_index=False)["cost"].sum()
        if funding
        else pd.DataFrame(columns=_columns("funding"))
    )
    return Portfolio(
        programs=pd.DataFrame(programs, columns=_columns("programs")),
        chains=pd.concat(chains, ignore_index=True)[_columns("chains")],
        costs=pd.concat(costs, ignore_index=True)[_columns("costs")],
        funding=fund[_columns("funding")],
        notes=pd.DataFrame(notes, columns=_columns("notes")),
    )
