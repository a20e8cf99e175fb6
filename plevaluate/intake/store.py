"""Where an import's tables live: a folder of CSV files, or one workbook with a sheet per table.

A `Store` gives a table's rows as text (what the contract reads), checks the data as an import would leave
it (every table written as CSV into a temporary folder with the plan, then loaded: a problem anywhere, and
nothing is written), and writes the changed tables whole: a CSV file replaced, or the workbook saved with
the changed sheets rewritten (numbers as numbers; other sheets, formats and column widths kept) and renamed
over the old one. The import history of a folder lives in it (``.plevaluate-imports``); a workbook's beside
it (``.plevaluate-imports-<workbook name>``).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..comments.codebook import CODEBOOK
from ..contract import TABLES, WORKBOOK_SUFFIXES, cell_text, load
from ..errors import ContractError, ContractWarning, Problem
from .history import FOLDER, History

__all__ = ["Store"]

#: The files besides the tables that loading reads: the plan and the comments' codebook (`plevaluate.comments`).
_BESIDE = ("plan.yml", "plan.yaml", CODEBOOK)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@dataclass
class Store:
    path: Path  # the data folder, or the workbook

    @property
    def book(self) -> Path | None:
        return self.path if self.path.suffix.lower() in WORKBOOK_SUFFIXES and self.path.is_file() else None

    @property
    def folder(self) -> Path:
        """The folder holding plan.yml (the data folder, or the workbook's)."""
        return self.path.parent if self.book is not None else self.path

    def history(self) -> History:
        home = self.folder / (f"{FOLDER}-{self.path.name}" if self.book is not None else FOLDER)
        return History.load(self.path, home)

    # reading -----------------------------------------------------------------------------------

    def _sheet_name(self, table: str) -> str | None:
        from python_calamine import CalamineWorkbook

        names = CalamineWorkbook.from_path(str(self.book)).sheet_names
        spec = TABLES[table]
        return next((n for n in names if n.strip().lower() in (spec.name, spec.filename)), None)

    def existing(self, table: str) -> tuple[list[str], list[list[str]]]:
        """A table's header and non-blank rows, as text."""
        if self.book is None:
            path = self.path / TABLES[table].filename
            if not path.is_file():
                return [], []
            rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
        else:
            from python_calamine import CalamineWorkbook

            name = self._sheet_name(table)
            if name is None:
                return [], []
            found = CalamineWorkbook.from_path(str(self.book)).get_sheet_by_name(name)
            rows = [[cell_text(v) for v in row] for row in found.to_python(skip_empty_area=False)]
            while rows and rows[0] and not any(str(c).strip() for c in rows[0]):
                rows.pop(0)
            if rows:
                width = max((i + 1 for i, c in enumerate(rows[0]) if str(c).strip()), default=0)
                rows = [r[:width] for r in rows]
        if not rows:
            return [], []
        return rows[0], [r for r in rows[1:] if any(str(c).strip() for c in r)]

    def files(self, tables) -> list[Path]:
        """The files changing these tables changes."""
        if self.book is not None:
            return [self.book]
        return [self.path / TABLES[t].filename for t in tables]

    # checking and writing ----------------------------------------------------------------------

    def trial(self, planned: Mapping, name: str, origin) -> None:
        """Load the data as the change would leave it: any problem, and nothing is written."""
        with tempfile.TemporaryDirectory(prefix="plevaluate-import-") as tmp:
            trial = Path(tmp)
            if self.book is None:
                for path in self.path.iterdir():
                    if path.is_file() and (path.suffix.lower() == ".csv" or path.name in _BESIDE):
                        shutil.copy2(path, trial / path.name)
            else:
                for plan_name in _BESIDE:
                    if (self.folder / plan_name).is_file():
                        shutil.copy2(self.folder / plan_name, trial / plan_name)
                for table in TABLES:
                    header, rows = self.existing(table)
                    if header:
                        write_csv(trial / TABLES[table].filename, header, rows)
            for table, plan in planned.items():
                write_csv(trial / TABLES[table].filename, plan.header, plan.rows)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ContractWarning)
                try:
                    load(trial)
                except ContractError as exc:
                    problems = [origin(p) for p in exc.problems if p.severity == "error"]
                    raise ContractError(problems, name) from None

    def write(self, planned: Mapping) -> None:
        """Write the changed tables whole (a file replaced, never half-written)."""
        if self.book is None:
            for table, plan in planned.items():
                path = self.path / TABLES[table].filename
                staged = self.path / f".{path.name}.importing"
                write_csv(staged, plan.header, plan.rows)
                os.replace(staged, path)
            return
        self._write_book(planned)

    def _write_book(self, planned: Mapping) -> None:
        import openpyxl

        book = openpyxl.load_workbook(self.book)
        for table, plan in planned.items():
            spec = TABLES[table]
            name = next((n for n in book.sheetnames if n.strip().lower() in (spec.name, spec.filename)), None)
            sheet = book[name] if name is not None else book.create_sheet(spec.name)
            kinds = {c.name: c.kind for c in spec.columns}
            if sheet.max_row > 1:
                sheet.delete_rows(2, sheet.max_row)
            for j, title in enumerate(plan.header, start=1):
                sheet.cell(row=1, column=j, value=title)
            for i, row in enumerate(plan.rows, start=2):
                for j, (title, text) in enumerate(zip(plan.header, row), start=1):
                    sheet.cell(row=i, column=j, value=_typed(text, kinds.get(title)))
        handle, staged = tempfile.mkstemp(prefix=f".{self.book.name}.", suffix=".xlsx", dir=self.book.parent)
        os.close(handle)
        try:
            book.save(staged)
            os.replace(staged, self.book)
        except BaseException:
            Path(staged).unlink(missing_ok=True)
            raise


def _typed(text: str, kind: str | None):
    """A cell's value as the workbook should hold it: numbers as numbers, blanks empty, the rest as text."""
    if text == "":
        return None
    if kind in ("number", "integer"):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return text


def refuse_table_workbooks(into: Path) -> None:
    """A folder holding a table as ``name.xlsx``: an import writes CSV files, and would leave two copies."""
    for spec in TABLES.values():
        for suffix in WORKBOOK_SUFFIXES:
            if (into / (spec.name + suffix)).exists():
                raise ContractError(
                    [
                        Problem(
                            spec.name + suffix,
                            "CSV tables to append to in a folder; import writes CSV files here",
                            f"save {spec.name}{suffix} as {spec.filename} (CSV UTF-8) and remove the workbook, or "
                            "keep every table as a sheet of one workbook and import into that workbook",
                        )
                    ]
                )
