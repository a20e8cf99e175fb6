"""A starter kit for a district beginning an evaluation: ``plevaluate init DIR``.

Writes a data folder that validates as it is ("no evidence collected yet") and that a district fills
in: ``plan.yml`` with every key and what it means (from the plan's own model), every contract table
as an empty CSV with its header, ``survey_items.csv`` filled with a ready item bank, and a ``kit/``
folder with the same tables as one workbook (a note on every column header), the item bank as text to
paste into a form tool, and a walkthrough form for the one observable practice with the mapping that
imports its responses (``plevaluate import sheet``).

The item bank follows Guskey's level 1 (reactions to the content, the process and the context of the
learning) and level 3 (organization support: protected collaborative time, feedback cycles, principal
participation); the walkthrough form follows level 4 (one observable practice, a 1-4 rating, the
Levels of Use of Hall & Hord's Concerns-Based Adoption Model).
"""

from __future__ import annotations

import csv
import datetime
import textwrap
from pathlib import Path

import yaml
from pydantic import BaseModel

from . import registry
from .contract import LEVEL_OF_USE_NAMES, RATING_LABELS, TABLES
from .plan import plan_model
from .scales import SCALES

__all__ = ["ITEM_BANK", "write_starter"]

#: The item bank: (item_id, construct, text, reverse_coded, level). Answers on the 5-point agreement scale.
ITEM_BANK = (
    ("C1", "content", "The content is relevant to my classroom.", False, 1),
    ("C2", "content", "I learned strategies I can use right away.", False, 1),
    ("C3", "content", "The content fits our curriculum and standards.", False, 1),
    ("C4", "content", "The content matched my experience and role.", False, 1),
    ("P1", "process", "The session was well organized.", False, 1),
    ("P2", "process", "The facilitator modeled the practice.", False, 1),
    ("P3", "process", "I had time to practise and get feedback.", False, 1),
    ("P4", "process", "The session felt rushed.", True, 1),
    ("X1", "context", "My principal supports using this practice.", False, 1),
    ("X2", "context", "I will have time to plan with colleagues.", False, 1),
    ("X3", "context", "Our schedule makes this practice possible.", False, 1),
    ("X4", "context", "I have the materials I need to use this practice.", False, 1),
    ("O1", "organizational_support", "Our team has protected time to plan together each week.", False, 3),
    ("O2", "organizational_support", "I receive feedback on my teaching at least monthly.", False, 3),
    ("O3", "organizational_support", "Our principal takes part in our professional learning.", False, 3),
    ("O4", "organizational_support", "Our school's leaders expect us to use what we learned.", False, 3),
    ("O5", "organizational_support", "Coaching is available when I try something new.", False, 3),
)

_CONSTRUCTS = {
    "content": "Level 1, content: was what they learned worth learning?",
    "process": "Level 1, process: was the learning well run?",
    "context": "Level 1, context: will the setting let them use it?",
    "organizational_support": "Level 3, organization support: does the school make use possible?",
}


#: The answer labels the item bank is asked with (coded 1-5 by `plevaluate.scales.SCALES` "agreement-5").
AGREEMENT_5 = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")


def _school_year(today: datetime.date) -> str:
    first = today.year if today.month >= 7 else today.year - 1
    return f"{first}-{(first + 1) % 100:02d}"


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, 100 - len(indent))]


def _plan_lines(model: type[BaseModel], values: dict, indent: str = "") -> list[str]:
    lines: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        about = info.description or (annotation.__doc__ or "").strip().split("\n")[0] if nested else info.description
        if about:
            lines += _comment(about, indent)
        if nested:
            lines.append(f"{indent}{name}:")
            lines += _plan_lines(annotation, values.get(name, {}), indent + "  ")
        else:
            value = values.get(name, info.get_default(call_default_factory=True))
            text = yaml.safe_dump({name: value}, default_flow_style=True, width=1000, allow_unicode=True).strip()
            lines.append(f"{indent}{text.removeprefix('{').removesuffix('}')}")
    return lines


def plan_template(today: datetime.date | None = None) -> str:
    """plan.yml with every key, its meaning and its default (targets blank until the district sets them)."""
    values = {
        "program": "Name of the professional learning program",
        "school_year": _school_year(today or datetime.date.today()),
        "levels": {
            "reactions": {"result": "", "measure": ""},
        },
    }
    head = [
        "# The evaluation plan: what the program intends at each of Guskey's five levels and how it is judged.",
        "# Every key is listed with what it means; fill in program, school_year, each level's result, measure",
        "# and target. A blank target (null) means: reported without a judgement.",
        "",
    ]
    return "\n".join(head + _plan_lines(plan_model(registry.levels()), values)) + "\n"


def _header_note(spec_name: str, column) -> str:
    parts = ["Required." if column.required else "Optional."]
    parts.append(f"Expected: {column.expectation()}" + ("; may be blank." if column.nullable else "."))
    if column.references:
        table, key = column.references.split(".")
        parts.append(f"Must be a {key} listed in {table}.")
    if column.description:
        parts.append(column.description[0].upper() + column.description[1:] + ".")
    return " ".join(parts)


def _items_rows() -> list[list[str]]:
    return [[i, c, t, "true" if r else "false", "1", "5", str(level)] for i, c, t, r, level in ITEM_BANK]


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _workbook(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for spec in TABLES.values():
        sheet = book.create_sheet(spec.name)
        names = [c.name for c in spec.columns]
        sheet.append(names)
        for cell, column in zip(sheet[1], spec.columns):
            cell.comment = Comment(_header_note(spec.name, column), "plevaluate", width=320, height=120)
            cell.font = Font(bold=column.required)
            sheet.column_dimensions[cell.column_letter].width = max(14, len(column.name) + 4)
        if spec.name == "survey_items":
            for row in _items_rows():
                sheet.append(row)
    book.save(path)


def _item_bank_text() -> str:
    labels = [label for label in AGREEMENT_5 if SCALES["agreement-5"].code(label)]
    out = [
        "# Survey item bank",
        "",
        "Paste these statements into a form tool (Google Forms, Microsoft Forms, Qualtrics, SurveyMonkey) as one",
        "grid or as separate questions, each answered on this scale:",
        "",
        "    " + " | ".join(labels),
        "",
        "Keep the wording: `plevaluate import` matches each question to survey_items.csv by its text (case and",
        "spacing do not matter). Ask levels 1 items at the end of each session; ask level 3 items once or twice a",
        "year of every participant. Add an `N/A` choice if you like: it is read as no answer, never as a score.",
        "Statements marked (reversed) are worded the other way; keep them to catch straight-line answering.",
        "",
    ]
    for construct, about in _CONSTRUCTS.items():
        out += [f"## {about}", ""]
        out += [f"- {t}{' (reversed)' if r else ''}" for _, c, t, r, _ in ITEM_BANK if c == construct]
        out.append("")
    return "\n".join(out)


#: The walkthrough form: (question as the form asks it, contract column of observations.csv).
WALKTHROUGH = (
    ("Date of the visit", "date"),
    ("School", "school_id"),
    ("Teacher ID", "educator_id"),
    ("Was the practice observed?", "practice_observed"),
    ("Rating (1-4)", "rating"),
    ("Level of use", "level_of_use"),
    ("Your role", "observer_role"),
)


def _walkthrough_text() -> str:
    ratings = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in RATING_LABELS.items())
    uses = ", ".join(LEVEL_OF_USE_NAMES.values())
    return "\n".join(
        [
            "# Walkthrough form: the one observable practice",
            "",
            "Level 4 asks whether teachers use what they learned. Look for one observable practice (plan.yml's",
            "`observable_practice`) in every classroom, in every building, all year: patterns across schools then",
            "show what no single principal sees. A visit takes five to ten minutes. Build this form in your form",
            "tool with exactly these questions, then import its responses with:",
            "",
            "    plevaluate import sheet responses.xlsx --into DATA_DIR --mapping kit/walkthrough_mapping.yml",
            "",
            "| Question | Answer | Goes to observations.csv |",
            "| --- | --- | --- |",
            "| Date of the visit | a date | date |",
            "| School | the school's name or ID, as in schools.csv | school_id |",
            "| Teacher ID | the educator_id (never the name) | educator_id |",
            "| Was the practice observed? | Yes / No | practice_observed |",
            f"| Rating (1-4) | {ratings} | rating |",
            f"| Level of use | {uses} | level_of_use |",
            "| Your role | principal, coach, peer, district | observer_role |",
            "",
            "Rate the practice, not the teacher: the reports show shares of classrooms and schools, never a",
            "person. Leave out free-text notes about people; they are not imported.",
            "",
        ]
    )


def _walkthrough_mapping() -> str:
    mapping = {"table": "observations", "columns": {column: question for question, column in WALKTHROUGH}}
    head = "# plevaluate import sheet FILE --into DATA_DIR --mapping kit/walkthrough_mapping.yml\n"
    head += "# Each observations.csv column: the form question it comes from. observation_id is made from the row.\n"
    return head + yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True)


def _readme() -> str:
    return "\n".join(
        [
            "# Starter kit",
            "",
            "1. Fill in `../schools.csv` (every participant and comparison school) and `../educators.csv`",
            "   (everyone in those schools; `email` is optional and private: it links survey answers to people",
            "   and is never shown in a report). Then set `../plan.yml`.",
            "2. Check the folder at any time: `plevaluate validate DATA_DIR`.",
            "3. Add each PL session to `../sessions.csv`. Survey participants with the items in",
            "   `item_bank.md` and import each export:",
            "   `plevaluate import google responses.csv --into DATA_DIR --session PL01`",
            "   (also `msforms`, `qualtrics`, `surveymonkey`). Names, e-mails, IP addresses and locations are",
            "   dropped; keep a secret outside the folder for pseudonymous keys (`--secret-file`).",
            "4. Walk classrooms with `walkthrough_form.md`; import its responses with `walkthrough_mapping.yml`.",
            "5. Pre/post assessments, conditions rubrics and costs: fill in the CSV tables, or use",
            "   `tables.xlsx` (one sheet per table; hover a column name for what it holds). To keep the data as",
            "   one workbook, move it next to `plan.yml`, delete the empty CSVs, and validate the workbook:",
            "   `plevaluate validate DATA_DIR/tables.xlsx`.",
            "",
        ]
    )


def write_starter(folder: str | Path, *, today: datetime.date | None = None) -> list[Path]:
    """Write the starter kit to ``folder`` (created; it must not exist or be empty). Returns the files written.

    Raises
    ------
    ValueError
        When ``folder`` exists and holds anything: nothing is overwritten.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} exists and is not empty: init writes only into a new or empty folder")
    kit = folder / "kit"
    kit.mkdir(parents=True, exist_ok=True)
    written = []
    plan = folder / "plan.yml"
    plan.write_text(plan_template(today), encoding="utf-8")
    written.append(plan)
    for spec in TABLES.values():
        path = folder / spec.filename
        rows = [[c.name for c in spec.columns]] + (_items_rows() if spec.name == "survey_items" else [])
        _write_csv(path, rows)
        written.append(path)
    for name, text in (
        ("item_bank.md", _item_bank_text()),
        ("walkthrough_form.md", _walkthrough_text()),
        ("walkthrough_mapping.yml", _walkthrough_mapping()),
        ("README.md", _readme()),
    ):
        (kit / name).write_text(text, encoding="utf-8")
        written.append(kit / name)
    _workbook(kit / "tables.xlsx")
    written.append(kit / "tables.xlsx")
    return written
