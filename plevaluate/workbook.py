"""The results workbook (``--format xlsx``): every published table as a sheet, for evaluators and finance staff.

Built with openpyxl from the published (suppressed) evaluation only, so it holds nothing the results bundle's CSVs
do not. A notes sheet comes first (what the workbook is, the privacy rule, the provenance), then a data dictionary
generated from the declared schema (`plevaluate.schema.GLOSSARY`: every column of every sheet, what it means and
its unit), then one sheet per table. A cell a suppressed row blanked reads "suppressed", never a blank that looks
like a missing number; text a spreadsheet would run as a formula is neutralized
(`plevaluate._outputs.neutralize`); header rows are frozen; numbers are formatted from their unit (shares as
percentages, dollars as currency, counts as whole numbers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ._outputs import neutralize
from .portfolio import TABLES as PORTFOLIO_TABLES
from .schema import GLOSSARY, UNITS

if TYPE_CHECKING:
    from .evaluate import Evaluation
    from .portfolio import Portfolio

__all__ = ["SUPPRESSED", "portfolio_workbook", "results_workbook", "sheet_names"]

#: What a cell that suppression blanked reads.
SUPPRESSED = "suppressed"

#: Excel's limit on a sheet name, and the characters it refuses in one.
_SHEET_LIMIT = 31
_BAD = re.compile(r"[\[\]:*?/\\']")

#: Number formats by unit (the estimate columns of a row in that unit).
_BY_UNIT = {
    "share": "0.0%",
    "sd": "0.00",
    "rating": "0.00",
    "points": "0.0",
    "dollars": '"$"#,##0',
    "odds_ratio": "0.00",
    "correlation": "0.00",
    "coefficient": "0.000",
}
#: Columns that hold a row's estimate in its unit.
_IN_UNIT = ("estimate", "ci_low", "ci_high", "target", "raw")
#: Columns that are shares wherever they appear.
_SHARES = ("share", "overall", "differential", "attrition_treatment", "attrition_comparison", "ci_level", "rate")
_HEADER = Font(bold=True)
_GREY = PatternFill("solid", fgColor="EEEEEE")


def _tables(ev: Evaluation) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(sheet name before shortening, the table's name in the results bundle, the table), in the bundle's order."""
    yield "chain", "chain", ev.chain
    yield "sentences", "sentences", ev.sentences
    yield "schools", "schools", ev.schools
    for number, result in sorted(ev.levels.items()):
        for name, frame in result.tables.items():
            yield f"L{number} {name}", f"level{number}_{name}", frame
    for name, frame in ev.extras.items():
        yield name, f"extra_{name}", frame


def sheet_names(wanted: list[str]) -> list[str]:
    """Unique sheet names Excel accepts: at most 31 characters, none of ``[]:*?/\\'``, no two alike ignoring case.

    >>> sheet_names(["L5 evidence", "years_effects_cohort_and_more_than_31", "years_effects_cohort_and_more_than_32"])
    ['L5 evidence', 'years_effects_cohort_and_more_t', 'years_effects_cohort_and_more~2']
    """
    used: set[str] = set()
    out = []
    for name in wanted:
        base = _BAD.sub("_", name).strip() or "table"
        candidate, n = base[:_SHEET_LIMIT], 1
        while candidate.lower() in used:
            n += 1
            suffix = f"~{n}"
            candidate = base[: _SHEET_LIMIT - len(suffix)] + suffix
        used.add(candidate.lower())
        out.append(candidate)
    return out


def _number_format(column: str, unit: str | None, dtype, whole: bool = False) -> str | None:
    """The Excel number format of a column's cells in rows of ``unit``; ``whole``: every value of the column is a
    whole number (a count stored as a float, because a suppressed row left it blank), shown as a count."""
    if column in _IN_UNIT and unit in _BY_UNIT:
        return _BY_UNIT[unit]
    if column in _SHARES:
        return "0.0%"
    if column == "p_value" or column.startswith("p_"):
        return "0.000"
    if pd.api.types.is_integer_dtype(dtype) or column == "n" or column.startswith(("n_", "count")):
        return "#,##0"
    if pd.api.types.is_float_dtype(dtype):
        return "#,##0" if whole else "0.000"
    return None


def _whole(column: pd.Series) -> bool:
    """Whether every number of a float column is a whole number (and it has one)."""
    if not pd.api.types.is_float_dtype(column.dtype):
        return False
    values = column.to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    return bool(values.size) and bool(np.all(values == np.round(values)))


def _cell(value):
    """A value as openpyxl writes it: missing is None, numpy scalars are Python's, text stays text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters in untrusted text: dropped, not a crash
    return value


def _write_table(sheet, frame: pd.DataFrame) -> None:
    frame = neutralize(frame.reset_index(drop=True))
    columns = list(frame.columns)
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = _HEADER
    hidden = frame["suppressed"].astype("boolean").fillna(False).to_numpy(bool) if "suppressed" in frame else None
    units = frame["unit"].astype("string") if "unit" in frame else None
    dtypes = list(frame.dtypes)
    whole = [_whole(frame[column]) for column in columns]
    formats: dict[tuple[int, str | None], str | None] = {}  # each column's format per unit, worked out once
    for i, row in enumerate(frame.itertuples(index=False, name=None)):
        values = [_cell(v) for v in row]
        if hidden is not None and hidden[i]:
            values = [SUPPRESSED if v is None else v for v in values]
        sheet.append(values)
        r = i + 2
        unit = None if units is None or pd.isna(units.iloc[i]) else str(units.iloc[i])
        for j, column in enumerate(columns, start=1):
            cell = sheet.cell(row=r, column=j)
            if cell.value == SUPPRESSED and hidden is not None and hidden[i]:
                cell.fill = _GREY
                continue
            if (j, unit) not in formats:
                formats[(j, unit)] = _number_format(column, unit, dtypes[j - 1], whole[j - 1])
            fmt = formats[(j, unit)]
            if fmt and isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                cell.number_format = fmt
    sheet.freeze_panes = "A2"
    for j, column in enumerate(columns, start=1):
        longest = max([len(str(column)), *(len(str(v)) for v in frame[column].head(200))])
        sheet.column_dimensions[get_column_letter(j)].width = min(max(10, longest + 2), 60)


def _dictionary(rows: list[tuple[str, str, pd.DataFrame]]) -> pd.DataFrame:
    out = []
    for sheet, table, frame in rows:
        for column in frame.columns:
            unit = ""
            if column in _IN_UNIT and "unit" in frame:
                units = sorted(set(frame["unit"].dropna().astype(str)))
                unit = "; ".join(f"{u}: {UNITS.get(u, u)}" for u in units) or "the row's unit column"
            elif column in _SHARES:
                unit = "share: a proportion from 0 to 1 (shown as a percentage)"
            out.append(
                {"sheet": sheet, "table": table, "column": column, "meaning": GLOSSARY.get(column, ""), "unit": unit}
            )
    return pd.DataFrame(out)


def _privacy(min_n: int | str) -> tuple[str, str]:
    return (
        "privacy",
        f"statistics about fewer than {min_n} people are suppressed: such a cell reads '{SUPPRESSED}', and "
        "other cells of the row that would let it be worked out are suppressed with it; nothing here names a "
        "student or an educator. One exception, by design: each school's principal's share of the PL sessions "
        "attended (level 3) is shown school by school, as the support a role gives the program, like a conditions "
        "rating",
    )


def _notes(ev: Evaluation) -> list[tuple[str, str]]:
    plan, provenance = ev.plan, ev.provenance or {}
    lines = [
        ("workbook", "plevaluate's results workbook: every published table of the evaluation, one sheet each"),
        ("program", str(plan.get("program", ""))),
        ("school year", str(plan.get("school_year", ""))),
        _privacy(ev.min_n),
        ("intervals", f"{float(plan.get('ci', 0.95)):.0%} confidence intervals (ci_low, ci_high)"),
        ("formulas", "text a spreadsheet would run as a formula starts with an apostrophe"),
        ("data dictionary", "the next sheet: what every column of every sheet means, and its unit"),
        ("evaluated", str(provenance.get("evaluated_at", ""))),
        ("plevaluate", str(provenance.get("plevaluate_version", ""))),
    ]
    return lines + [
        (f"input {name}", f"SHA-256 {digest}") for name, digest in sorted(provenance.get("file_hashes", {}).items())
    ]


def _save(path: str | Path, title: str, notes: list[tuple[str, str]], wanted: list[tuple[str, str, pd.DataFrame]]):
    """The one workbook writer: a notes sheet (``notes`` and a line per sheet), the data dictionary, the tables."""
    names = sheet_names(["Notes", "Data dictionary", *(name for name, _, _ in wanted)])
    sheets = [(names[i + 2], table, frame) for i, (_, table, frame) in enumerate(wanted)]
    notes = notes + [(f"sheet {sheet}", f"{table}: {len(frame):,} rows") for sheet, table, frame in sheets]
    book = Workbook()
    first = book.active
    first.title = names[0]
    _write_table(first, pd.DataFrame(notes, columns=["item", "note"]))
    _write_table(book.create_sheet(names[1]), _dictionary(sheets))
    for sheet, _, frame in sheets:
        _write_table(book.create_sheet(sheet), frame)
    book.properties.title = title
    book.properties.creator = "plevaluate"
    for sheet in book.worksheets:
        for cell in sheet[1]:
            cell.alignment = Alignment(wrap_text=False)
    path = Path(path)
    book.save(path)
    return path


def results_workbook(ev: Evaluation, path: str | Path) -> Path:
    """Write the published evaluation ``ev`` as an Excel workbook at ``path``.

    Raises
    ------
    ValueError
        When ``ev`` is not published (`Evaluation.publish`): only suppressed results leave the machine.
    """
    if not ev.published:
        raise ValueError("only a published evaluation (Evaluation.publish) is written as a workbook")
    return _save(path, f"{plan_title(ev)}: results", _notes(ev), list(_tables(ev)))


def portfolio_workbook(portfolio: Portfolio, path: str | Path, *, min_n: dict[str, int]) -> Path:
    """Write a portfolio's tables (`plevaluate.portfolio.Portfolio`: each program's published results, so already
    suppressed) as an Excel workbook at ``path``, with the same notes, dictionary and cell rules as a program's.
    ``min_n`` is each program's (by program_id): the privacy note names them."""
    each = ", ".join(f"{n} in {program}" for program, n in sorted(min_n.items()))
    notes = [
        ("workbook", "plevaluate's portfolio workbook: every program's published headlines, costs and funding"),
        ("programs", "; ".join(str(p) for p in portfolio.programs["program"])),
        _privacy(f"each program's own minimum ({each})"),
        ("formulas", "text a spreadsheet would run as a formula starts with an apostrophe"),
        ("data dictionary", "the next sheet: what every column of every sheet means, and its unit"),
    ]
    sheets = {"notes": "program notes"}  # the workbook's own "Notes" sheet comes first
    tables = [(sheets.get(name, name), f"portfolio_{name}", getattr(portfolio, name)) for name in PORTFOLIO_TABLES]
    return _save(path, "Professional learning portfolio: results", notes, tables)


def plan_title(ev: Evaluation) -> str:
    return str(ev.plan.get("program", "") or "Evaluation")
