"""Importing survey-tool exports and spreadsheets into a district's data folder, never miscoding an answer.

``plevaluate import SOURCE FILE --into DATA_DIR`` (and `import_export`) turns an export as the tool
wrote it into the data contract's tables and appends them to the folder:

- ``google``: Google Forms CSV, downloaded or from the linked Sheet (``Timestamp``, optional ``Email Address``,
  one column per question, grid rows as ``Question [Row]``);
- ``msforms``: Microsoft Forms Excel export (``ID``, ``Start time``, ``Completion time``, ``Email``, ``Name``,
  then the questions);
- ``qualtrics``: Qualtrics CSV or TSV (three header rows: field IDs, question text, ImportId) or SPSS ``.sav``;
- ``surveymonkey``: SurveyMonkey CSV or XLSX (two header rows: question over answer option) or ``.sav``;
- ``sheet``: any wide sheet (CSV or XLSX), described by the mapping file: pre/post assessments, walkthroughs.

Every import first shows its **codebook** (`plevaluate.intake.coding`): each question -> item, construct,
level and scale, the label -> code table with counts, and what is skipped and why (``--dry-run`` shows it and
writes nothing). A question is coded on the scale its own labels fit, from the documented scale library
(`plevaluate.scales`); an answer off its scale, or labels that fit scales coding them differently, stop the
import naming row, column and label. An export with another tool's shape is refused.

A response is keyed from its content (the submission time to the second as written, the respondent, the
answers; or the tool's own response ID), keyed with the district secret: the same response downloaded
another way (Google's CSV or the linked Sheet, UTF-8 or UTF-16, re-saved by Excel) is recognised and not
added again. One person's second response to a session follows the plan's ``imports.resubmissions`` rule
(latest wins by default); a partial response (Qualtrics Finished = False) the ``imports.partial_responses``
rule; both are reported. Every import is recorded in the folder's import history
(`plevaluate.intake.history`): ``--list`` shows it, ``--undo ID`` removes exactly that import's rows, and
re-importing a file with a corrected mapping replaces that import's rows.

Personal columns (names, e-mails, IP addresses, locations, recipient fields, employee IDs) never enter the
folder: a respondent is linked to an ``educator_id`` through educators.csv's private ``email`` column (or a
column of educator IDs the mapping names), or gets a pseudonymous key (a keyed hash with a district-held
secret kept outside the folder). The folder is validated with the new rows before anything is written: a
problem anywhere means nothing is written.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import hashlib
import hmac
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import scales as likert
from ..comments.redact import Redactor, for_district
from ..contract import TABLES, load
from ..errors import ContractError, ContractWarning, OutputError, Problem
from ..gates import Inputs, read_bytes
from .coding import Coding, code_questions, match_key
from .exports import Export, frame_of, personal, read_export, read_rows, wall_clock
from .history import History, sha256
from .mapping import HELP, Constant, ImportMapping, read_mapping
from .store import Store, refuse_table_workbooks

__all__ = [
    "HELP",
    "SOURCES",
    "ImportMapping",
    "ImportSummary",
    "import_export",
    "import_history",
    "read_mapping",
    "read_secret",
    "undo_import",
]

#: The exports `import_export` reads.
SOURCES = ("google", "msforms", "qualtrics", "surveymonkey", "sheet")

#: Environment variable holding the district's secret for pseudonymous respondent keys.
SECRET_VARIABLE = "PLEVALUATE_SECRET"

#: The shortest district secret accepted: a short secret can be guessed, and with it every pseudonym reversed.
MIN_SECRET_BYTES = 16


# ----------------------------------------------------------------------------------------------
# The summary
# ----------------------------------------------------------------------------------------------

#: How the summary names each kind the redaction pass replaces: (one, several).
_KIND_WORDS = {
    "name": ("name", "names"),
    "email": ("e-mail", "e-mails"),
    "phone": ("phone number", "phone numbers"),
    "url": ("URL", "URLs"),
    "term": ("listed term", "listed terms"),
}


@dataclass
class ImportSummary:
    """What an import read and wrote (or, in a dry run, would write), as the command prints it."""

    source: str
    file: str
    into: Path
    dry_run: bool = False
    import_id: int | None = None
    responses: int = 0
    codebook: list[Coding] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)  # table -> rows added
    already: dict[str, int] = field(default_factory=dict)  # table -> rows that were there already
    removed: dict[str, int] = field(default_factory=dict)  # table -> older rows replaced
    personal: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    linked: int = 0
    linked_by: str = "e-mail"
    pseudonymous: int = 0
    anonymous: int = 0
    comments: int = 0  # open-ended answers kept as comments (redacted)
    redacted: dict[str, int] = field(default_factory=dict)  # kind (email, phone, url, name, term) -> how many
    redacted_comments: int = 0  # comments that held something redacted
    notes: list[str] = field(default_factory=list)

    @property
    def matched(self) -> dict[str, str]:
        """question -> item_id of the questions matched to existing items."""
        return {c.question.text: c.item for c in self.codebook if c.status == "matched"}

    @property
    def added(self) -> list[str]:
        """The items added to survey_items.csv, as "Q1A2B3C (construct, scale): text"."""
        return [
            f"{c.item} ({c.construct}, {c.scale}): {c.question.texts[-1]}" for c in self.codebook if c.status == "new"
        ]

    def __str__(self) -> str:
        verb = "would write" if self.dry_run else "wrote"
        lines = [
            f"{self.file} ({self.source}) into {self.into}" + (" -- dry run, nothing written:" if self.dry_run else ":")
        ]
        if self.codebook:
            lines.append("  codebook (question -> item, construct, level, scale: label=code x count):")
            lines += [str(c) for c in self.codebook]
        lines.append(f"  read {self.responses} response(s)" + self._people())
        for table, n in self.written.items():
            lines.append(f"  {verb} {n} row(s) to {table}.csv")
        if self.comments:
            lines.append("  " + self._comments())
        for table, n in self.removed.items():
            if n:
                lines.append(f"  {'would remove' if self.dry_run else 'removed'} {n} older row(s) of {table}.csv")
        for table, n in self.already.items():
            if n:
                lines.append(f"  {n} row(s) of {table}.csv were there already and were not written again")
        if any(self.already.values()) and not any(self.written.values()) and not any(self.removed.values()):
            lines.append("  nothing new: these responses had been imported already")
        if self.personal:
            lines.append(f"  personal columns dropped (never written): {', '.join(self.personal)}")
        if self.skipped:
            lines.append("  not imported:")
            lines += [f"    {s}" for s in self.skipped]
        lines += [f"  note: {n}" for n in self.notes]
        if self.import_id is not None and not self.dry_run:
            lines.append(f"  recorded as import {self.import_id} (undo: plevaluate import --undo {self.import_id} "
                         f"--into {self.into})")  # fmt: skip
        return "\n".join(lines)

    def _comments(self) -> str:
        """ "12 comments kept; 3 redacted: 2 names, 1 e-mail"."""
        line = f"{self.comments} comment{'s' if self.comments != 1 else ''} kept"
        if not self.redacted_comments:
            return line + "; none held a name, e-mail, phone number, URL or listed term"
        kinds = [
            f"{n} {_KIND_WORDS[kind][0] if n == 1 else _KIND_WORDS[kind][1]}" for kind, n in self.redacted.items() if n
        ]
        return f"{line}; {self.redacted_comments} redacted: {', '.join(kinds)}"

    def _people(self) -> str:
        parts = []
        if self.linked:
            parts.append(f"{self.linked} linked to educators by {self.linked_by}")
        if self.pseudonymous:
            parts.append(f"{self.pseudonymous} with a pseudonymous respondent key")
        if self.anonymous:
            parts.append(f"{self.anonymous} anonymous")
        return f": {', '.join(parts)}" if parts else ""


# ----------------------------------------------------------------------------------------------
# The folder being imported into
# ----------------------------------------------------------------------------------------------


@dataclass
class _Folder:
    path: Path
    tables: Mapping[str, pd.DataFrame]
    plan: object
    history: History
    store: Store

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)


def _folder(into: Path) -> _Folder:
    store = Store(into)
    if store.book is None and not into.is_dir():
        workbook = into.suffix.lower() in (".xlsx", ".xlsm")
        raise ContractError(
            [
                Problem(
                    str(into),
                    "a data folder (or a workbook with a sheet per table) to import into, but there is none",
                    "check the workbook's path (plevaluate init makes a folder of CSV tables, not a workbook)"
                    if workbook
                    else "create one with: plevaluate init " + str(into),
                )
            ]
        )
    if store.book is None:
        refuse_table_workbooks(into)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)
        try:
            district = load(into)
        except ContractError as exc:
            raise ContractError(
                [Problem(str(into), "a folder that validates before anything is imported into it", "fix these first:")]
                + list(exc.problems),
                str(into),
            ) from None
    return _Folder(into, district.tables, district.plan, store.history(), store)


def _secret(secret: str | bytes | None) -> bytes | None:
    where = "the secret given"
    if secret is None:
        secret, where = os.environ.get(SECRET_VARIABLE), f"${SECRET_VARIABLE}"
    if secret is None:
        return None
    value = (secret.encode() if isinstance(secret, str) else secret).strip()
    if not value:
        return None
    if len(value) < MIN_SECRET_BYTES:
        raise ContractError(
            [
                Problem(
                    where,
                    f"a secret of at least {MIN_SECRET_BYTES} bytes, but it holds {len(value)}: a short secret "
                    "can be guessed, and with it every pseudonymous key reversed",
                    "make a long random secret (python -c 'import secrets; print(secrets.token_hex(32))' "
                    "> ~/plevaluate-secret) and keep it outside the data folder",
                )
            ],
            where,
            doing="use",
        )
    return value


def read_secret(path: str | Path, into: str | Path) -> bytes:
    """The district secret from ``--secret-file``, through the read gate: a regular file kept outside the data
    folder (where reports and shared copies of the folder cannot carry it), at least 16 bytes."""
    path = Path(path)
    inputs = Inputs.of(into)
    inside = inputs.overlapping(path.absolute().parent)
    if inputs.which(path) is not None or (inside is not None and inside[1] != "contains"):
        raise OutputError(
            [
                Problem(
                    f"--secret-file {path}",
                    "a secret kept outside the data folder, where reports and shared copies of the folder cannot "
                    "carry it; this file is inside the data folder",
                    "move the secret file out of the data folder",
                )
            ],
            str(path),
            doing="use",
        )
    secret = _secret(read_bytes(path, kind="secret", label=f"--secret-file {path}"))
    if secret is None:
        raise ContractError(
            [Problem(f"--secret-file {path}", "a secret, but the file is empty", "write a long random secret into it")],
            str(path),
            doing="use",
        )
    return secret


# ----------------------------------------------------------------------------------------------
# Respondents
# ----------------------------------------------------------------------------------------------


def _respondents(
    export: Export, folder: _Folder, mapping: ImportMapping, secret: bytes | None, anonymous: bool, summary
) -> tuple[pd.Series, pd.Series, pd.Series, list[Problem]]:
    """educator_id, school_id (of linked educators) and pseudonymous key of each response."""
    index = export.frame.index
    educator = pd.Series(None, index=index, dtype=object)
    school = pd.Series(None, index=index, dtype=object)
    key = pd.Series(None, index=index, dtype=object)
    problems: list[Problem] = []
    educators = folder.table("educators")
    school_of = dict(zip(educators["educator_id"], educators["school_id"])) if educators is not None else {}
    if mapping.respondent_id_question and not anonymous:
        wanted = likert.normal(mapping.respondent_id_question)
        column = next((c for c in export.frame.columns if likert.normal(c) == wanted), None)
        if column is None:
            problems.append(
                Problem(
                    "mapping file",
                    f"a column {mapping.respondent_id_question!r} in the export (respondent_id_question)",
                    f"copy the column's name from the export's header: {', '.join(export.frame.columns[:12])} ...",
                )
            )
        else:
            ids = {likert.normal(i): i for i in school_of}
            given = export.frame[column].fillna("").map(likert.normal)
            educator = given.map(lambda v: ids.get(v) if v else None)
            for row in given.index[educator.isna() & given.ne("")]:
                problems.append(
                    Problem(
                        export.name,
                        "an educator_id listed in educators.csv",
                        "correct it in the export, or add the educator to educators.csv",
                        row,
                        column,
                        "(an ID)",
                    )
                )
            if column not in export.personal:
                export.personal.append(column)
            summary.linked_by = f"their ID ({column})"
    email = export.email
    if anonymous:
        summary.anonymous = len(index)
        return educator, school, key, problems
    if email is not None and educators is not None and "email" in educators.columns:
        lookup = educators.dropna(subset=["email"])
        by_email = dict(zip(lookup["email"].map(likert.normal), lookup["educator_id"]))
        educator = educator.fillna(email.map(lambda e: by_email.get(e) if isinstance(e, str) else None))
    school = educator.map(lambda e: school_of.get(e) if isinstance(e, str) else None)
    unlinked = (email.notna() if email is not None else pd.Series(False, index=index)) & educator.isna()
    if unlinked.any():
        if secret is None:
            problems.append(
                Problem(
                    export.name,
                    f"a way to key {int(unlinked.sum())} respondent(s) whose e-mail is not in educators.csv's "
                    "email column without keeping the e-mail",
                    f"give a district-held secret (--secret-file, kept outside the data folder, or the "
                    f"{SECRET_VARIABLE} environment variable) for pseudonymous keys; or add the e-mails to "
                    "educators.csv's email column; or import with --anonymous.",
                )
            )
        else:
            key[unlinked] = email[unlinked].map(
                lambda e: "p-" + hmac.new(secret, e.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
            )
    summary.linked = int(educator.notna().sum())
    summary.pseudonymous = int(key.notna().sum())
    summary.anonymous = len(index) - summary.linked - summary.pseudonymous
    return educator, school, key, problems


def _schools_from_answers(export: Export, folder: _Folder, mapping: ImportMapping, problems: list[Problem]):
    if not mapping.school_question:
        return None
    wanted = likert.normal(mapping.school_question)
    question = next(
        (q for q in export.questions if wanted in {likert.normal(t) for t in (q.field_id, q.column, *q.texts)}), None
    )
    if question is None:
        problems.append(
            Problem(
                "mapping file",
                f"a question {mapping.school_question!r} in the export (school_question)",
                "copy the question's text or field ID from the export.",
            )
        )
        return None
    schools = folder.table("schools")
    lookup = {}
    if schools is not None:
        lookup.update({likert.normal(n): i for n, i in zip(schools["school_name"], schools["school_id"])})
        lookup.update({likert.normal(i): i for i in schools["school_id"]})
    answers = export.frame[question.column].fillna("")
    out = answers.map(lambda v: lookup.get(likert.normal(v)) if v.strip() else None)
    for row in out[out.isna() & answers.str.strip().ne("")].index:
        problems.append(
            Problem(
                export.name,
                "a school named in schools.csv (school_name or school_id)",
                "correct the answer, or add the school to schools.csv.",
                row,
                question.field_id,
                answers[row],
            )
        )
    return out


# ----------------------------------------------------------------------------------------------
# Response keys: one response, however it was downloaded
# ----------------------------------------------------------------------------------------------


def _keyed(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def _response_keys(export: Export, who: pd.Series, secret: bytes, scope: str) -> tuple[pd.Series, pd.Series]:
    """Each response's key to the second and to the minute: the tool's own response ID where it has one (with the
    session: a hand-made export may number each file's responses from 1), else the submission time (wall clock),
    the respondent and every answer, compared as `normal` text."""
    ids, minutes = {}, {}
    questions = sorted(export.questions, key=lambda q: match_key(q.text))
    for row in export.frame.index:
        if export.native is not None:
            content = f"id|{export.source}|{scope}|{export.native[row]}"
            ids[row] = minutes[row] = "r-" + _keyed(secret, content)
            continue
        stamp = export.submitted[row] if export.submitted is not None else None
        stamp = stamp if isinstance(stamp, str) else ""
        answers = "\x1f".join(f"{match_key(q.text)}={likert.normal(export.frame.at[row, q.column])}" for q in questions)
        person = who[row] if isinstance(who[row], str) else ""
        ids[row] = "r-" + _keyed(secret, f"c|{person}|{stamp}|{answers}")
        minutes[row] = "m-" + _keyed(secret, f"c|{person}|{stamp[:16]}|{answers}")
    return pd.Series(ids, dtype=object), pd.Series(minutes, dtype=object)


# ----------------------------------------------------------------------------------------------
# Appending to the folder
# ----------------------------------------------------------------------------------------------


def _key_of(spec, header: list[str], row: Mapping[str, str]) -> tuple[str, ...]:
    key = list(spec.key) or header
    return tuple(str(row.get(k, "") or "").strip() for k in key)


@dataclass
class _Plan:
    """The tables as an import leaves them: header and rows, and what changed."""

    header: list[str]
    rows: list[list[str]]
    old: int  # rows kept from the file
    origins: list[int | None]  # the export's row of each added row
    added: list[tuple[str, ...]]
    removed: list[dict]


def _plan_tables(
    store: Store,
    additions: Mapping[str, list[dict]],
    origins: Mapping[str, list[int | None]],
    removals: Mapping[str, set[tuple[str, ...]]],
    restores: Mapping[str, list[dict]],
    summary: ImportSummary,
) -> dict[str, _Plan]:
    planned: dict[str, _Plan] = {}
    if removals.get("survey_items"):  # an item some answer that stays (or is added) still names is kept
        header, rows = store.existing("reactions")
        gone = removals.get("reactions", set())
        spec = TABLES["reactions"]
        used = {
            dict(zip(header, r)).get("item_id") for r in rows if _key_of(spec, header, dict(zip(header, r))) not in gone
        }
        used |= {r.get("item_id") for r in additions.get("reactions", [])}
        used |= {r.get("item_id") for r in restores.get("reactions", [])}
        again = {r.get("item_id") for r in additions.get("survey_items", [])}  # written anew: replaced, not kept
        removals = {**removals, "survey_items": {k for k in removals["survey_items"] if k[0] not in used - again}}
    for table in dict.fromkeys([*additions, *removals, *restores]):
        spec = TABLES[table]
        rows = additions.get(table, [])
        header, old = store.existing(table)
        if not header:
            header = [c.name for c in spec.columns if c.required or any(c.name in r for r in rows)]
        header = list(dict.fromkeys(header + [c for r in [*rows, *restores.get(table, [])] for c in r]))
        drop = removals.get(table, set())
        kept, removed = [], []
        for r in old:
            record = dict(zip(header, r))
            if _key_of(spec, header, record) in drop:
                removed.append(record)
            else:
                kept.append(r + [""] * (len(header) - len(r)))
        for record in restores.get(table, []):
            kept.append([str(record.get(c, "") or "") for c in header])
        seen = {_key_of(spec, header, dict(zip(header, r))) for r in kept}
        new, kept_origins, added, repeat = [], [], [], 0
        for row, origin in zip(rows, origins.get(table, [None] * len(rows))):
            mark = _key_of(spec, header, row)
            if mark in seen:
                repeat += 1
                continue
            seen.add(mark)
            new.append([str(row.get(c, "") or "") for c in header])
            kept_origins.append(origin)
            added.append(mark)
        summary.already[table] = summary.already.get(table, 0) + repeat
        summary.written[table] = len(new)
        summary.removed[table] = len(removed)
        planned[table] = _Plan(header, kept + new, len(kept), kept_origins, added, removed)
    return planned


def _changes(planned: Mapping[str, _Plan]) -> bool:
    return any(p.added or p.removed for p in planned.values())


def _trial(store: Store, planned: Mapping[str, _Plan], export_name: str) -> None:
    """Load the data as the import would leave it: any problem, and nothing is written."""
    store.trial(planned, export_name, lambda problem: _origin(problem, planned, export_name))


def _commit(folder: _Folder, planned: Mapping[str, _Plan], record: dict) -> None:
    """Keep each changed file as it was, write the tables whole, and record the import."""
    history, store = folder.history, folder.store
    import_id = record["id"]
    changed = [t for t, p in planned.items() if p.added or p.removed]
    files = store.files(changed)
    for path in files:
        history.keep_before(import_id, path)
    store.write({t: planned[t] for t in changed})
    record["tables"] = {path.name: sha256(path) for path in files}
    record["rows"] = {t: [list(k) for k in planned[t].added] for t in changed}
    record["removed"] = {t: planned[t].removed for t in changed if planned[t].removed}
    record["written"] = {t: len(planned[t].added) for t in changed}
    history.add(record)
    history.save()


def _origin(problem: Problem, planned: Mapping[str, _Plan], export_name: str) -> Problem:
    """A problem in a row about to be added, told as the export's row."""
    for table, plan in planned.items():
        if problem.file == TABLES[table].filename and problem.row is not None and problem.row > plan.old + 1:
            origin = plan.origins[problem.row - plan.old - 2]
            return Problem(
                f"{export_name} (as {TABLES[table].filename})",
                problem.expected,
                problem.fix,
                origin,
                problem.column,
                problem.value,
                problem.severity,
            )
    return problem


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _number(value: float) -> str:
    return "" if pd.isna(value) else (str(int(value)) if float(value).is_integer() else repr(float(value)))


# ----------------------------------------------------------------------------------------------
# The commands: import, --list, --undo
# ----------------------------------------------------------------------------------------------


def import_export(
    source: str,
    file: str | Path,
    into: str | Path,
    *,
    session: str | None = None,
    mapping: str | Path | ImportMapping | None = None,
    secret: str | bytes | None = None,
    anonymous: bool = False,
    staff_survey: bool = False,
    date: str | None = None,
    dry_run: bool = False,
) -> ImportSummary:
    """Convert an export into the data contract's tables and append them to a data folder.

    Parameters
    ----------
    source : {"google", "msforms", "qualtrics", "surveymonkey", "sheet"}
    file : path
        The export as downloaded (CSV, TSV, XLSX, or SPSS .sav for qualtrics and surveymonkey).
    into : path
        The data folder (it must validate before the import; it is validated again with the new rows).
    session : str, optional
        The session_id the survey was about (survey sources); else the mapping file's ``session``.
    mapping : path or ImportMapping, optional
        Maps questions to items, names scales, or describes a generic sheet (``plevaluate import --help-mapping``).
    secret : str or bytes, optional
        District-held secret for pseudonymous respondent keys (default: ``$PLEVALUATE_SECRET``). Never stored.
    anonymous : bool
        Drop respondents' identities instead of keying them (responses are not linked across surveys).
    staff_survey : bool
        A level-3 staff survey about support, not about one session: no session, answers dated.
    date : str, optional
        A staff survey's date, for an export without timestamps.
    dry_run : bool
        Read, code and check everything, write nothing: the summary shows what would be written.

    Returns
    -------
    ImportSummary
        The codebook, what was read and written; ``str()`` is the command's printed summary.

    Raises
    ------
    ContractError
        Listing every problem (the export's file, row, column and value). Nothing is written then.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: use one of {', '.join(SOURCES)}")
    file, into = Path(file), Path(into)
    plan = mapping if isinstance(mapping, ImportMapping) else read_mapping(mapping)
    mapping_digest = hashlib.sha256(plan.model_dump_json().encode()).hexdigest()
    store = Store(into)
    if not into.is_dir() and store.book is None:
        _folder(into)  # the error that says how to make one
    tables = Inputs.of(into)  # the files an import may rewrite: never the export or the mapping, through any link
    for flag, given in (("the export", file), ("--mapping", None if isinstance(mapping, ImportMapping) else mapping)):
        same = tables.which(Path(given)) if given is not None else None
        rewritten = {spec.filename for spec in TABLES.values()} | {into.name}
        if same is not None and same.name.lower() in rewritten:
            raise OutputError(
                [
                    Problem(
                        f"{flag} {given}",
                        f"a file apart from the data folder's tables, but it is {same}, which the import rewrites",
                        "import a copy of the export kept outside the data folder",
                    )
                ],
                str(given),
            )
    # one import at a time: two at once would each append to the table as it was before the other
    with _one_at_a_time(store.folder):
        try:
            options = _Options(session, _secret(secret), anonymous, staff_survey, date, dry_run, mapping_digest)
            return _import(source, file, into, plan, options)
        except ContractError as exc:  # told as what it is: this export was not imported, nothing was written
            raise ContractError(exc.problems + exc.warnings, file.name, doing="import") from None


def import_history(into: str | Path) -> str:
    """The import history of a data folder, as ``plevaluate import --list`` prints it."""
    store = Store(Path(into))
    if store.book is None and not store.path.is_dir():
        _folder(store.path)  # the error naming what is missing
    return store.history().listing()


def undo_import(into: str | Path, import_id: int) -> str:
    """Remove exactly the rows import ``import_id`` wrote (restoring any it replaced), and its record.

    The latest import, with its tables as it left them, is undone byte for byte from the tables kept before it;
    an earlier one row by row, later imports kept. The folder is validated before anything is written."""
    into = Path(into)
    store = Store(into)
    if store.book is None and not into.is_dir():
        _folder(into)  # the error naming what is missing
    with _one_at_a_time(store.folder):
        history = store.history()
        record = history.get(import_id)
        latest = int(history.records[-1]["id"]) == import_id
        files = record.get("tables", {})
        exact = latest and all(sha256(store.folder / name) == digest for name, digest in files.items())
        if exact:
            for name in files:
                history.restore_before(import_id, store.folder / name)
            how = "restored byte for byte"
        else:
            summary = ImportSummary("undo", record["file"], into)
            later = [r for r in history.records if int(r["id"]) > import_id]
            rewritten = {t: {tuple(k) for r in later for k in r.get("rows", {}).get(t, [])} for t in TABLES}
            # the rows this import wrote that no later import wrote again; the rows it removed, unless written again
            removals = {t: {tuple(k) for k in keys} - rewritten[t] for t, keys in record.get("rows", {}).items()}
            restores = {
                t: [r for r in rows if _key_of(TABLES[t], list(r), r) not in rewritten[t]]
                for t, rows in record.get("removed", {}).items()
            }
            planned = _plan_tables(store, {}, {}, removals, restores, summary)
            _trial(store, planned, f"undo of import {import_id}")
            store.write(planned)
            how = "its rows removed, later imports kept"
        written = {t: {tuple(k) for k in keys} for t, keys in record.get("rows", {}).items()}
        for later in history.records:  # a row this import wrote is gone with it: no later undo brings it back
            if int(later["id"]) > import_id:
                later["removed"] = {
                    t: [r for r in rows if _key_of(TABLES[t], list(r), r) not in written.get(t, set())]
                    for t, rows in later.get("removed", {}).items()
                }
        history.drop(import_id)
        if record.get("replaced"):  # the import it replaced is back
            history.records.insert(len(history.records), record["replaced"])
            history.records.sort(key=lambda r: int(r["id"]))
        history.save()
    return f"undid import {import_id} ({record['source']} {record['file']}, {record['scope']}): {how}"


@contextlib.contextmanager
def _one_at_a_time(folder: Path):
    """An exclusive lock on the data folder itself (no lock file is left in it); released however the process ends."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(
                f"another plevaluate import is writing to {folder}; wait for that import to finish"
            ) from None
        yield
    finally:
        os.close(handle)


@dataclass
class _Options:
    session: str | None
    secret: bytes | None
    anonymous: bool
    staff_survey: bool
    date: str | None
    dry_run: bool
    mapping_digest: str


def _import(source: str, file: Path, into: Path, plan: ImportMapping, options: _Options) -> ImportSummary:
    folder = _folder(into)
    summary = ImportSummary(source, file.name, into, dry_run=options.dry_run)
    digest = hashlib.sha256(read_bytes(file, kind="export")).hexdigest() if file.is_file() else ""
    if source == "sheet":
        additions, origins = _import_sheet(file, folder, plan, summary)
        scope = f"table {plan.table}"
        return _finish(folder, summary, additions, origins, {}, {}, source, file, digest, scope, options, {}, {})
    session = options.session or plan.session
    staff = options.staff_survey or plan.staff_survey
    if (options.date or plan.date) and not staff and session:
        raise ContractError(
            [
                Problem(
                    file.name,
                    "a date only for a staff survey (a session survey's answers take the session's date)",
                    "drop --date, or import the staff survey with --staff-survey and no session",
                )
            ]
        )
    if staff and session:
        raise ContractError(
            [
                Problem(
                    file.name,
                    "a session survey or a staff survey, but both a session and --staff-survey were given",
                    "a staff survey (level 3) is about the school year, not one session: drop one of them",
                )
            ]
        )
    sessions = folder.table("sessions")
    if session and (sessions is None or session not in set(sessions["session_id"])):
        raise ContractError(
            [
                Problem(
                    "sessions.csv",
                    f"a session {session!r} for the responses to belong to",
                    f"add a row for {session} to sessions.csv (date, format, hours), then import again.",
                )
            ]
        )
    export = read_export(source, file, time_zone=plan.time_zone, date_format=folder.plan.date_format)
    summary.notes += export.notes
    items = folder.table("survey_items")
    if not session and not staff:
        staff = _all_level_3(export, items)
        if not staff:
            raise ContractError(
                [
                    Problem(
                        file.name,
                        "what the survey was about",
                        "give --session SESSION_ID for a session's survey, or --staff-survey for a staff survey on "
                        "support (level 3, about the school year)",
                    )
                ]
            )
        summary.notes.append("no session given and every question matched a level-3 item: read as a staff survey")
    scope = "staff survey" if staff else f"session {session}"
    _partial(export, folder.plan.imports.partial_responses, summary)
    summary.personal = export.personal
    history = folder.history
    known_scales = history.scales()
    earlier = _replacing(history, digest, source, scope, options)
    if earlier is not None:  # coded as if the earlier import of this file had not happened
        gone = {k[0] for k in earlier.get("rows", {}).get("survey_items", [])}
        items = items[~items["item_id"].isin(gone)] if items is not None else None
        known_scales = {k: v for k, v in known_scales.items() if k not in gone}
    codebook, new_items, problems = code_questions(
        export, items, plan, staff=staff, known_scales=known_scales, schools=folder.table("schools")
    )
    summary.codebook = codebook
    summary.skipped = [f"{c.question.text}: {c.reason}" for c in codebook if c.status == "skipped"]
    answered_school = _schools_from_answers(export, folder, plan, problems)
    educator, school, key, found = _respondents(export, folder, plan, options.secret, options.anonymous, summary)
    problems += found
    dates = None
    if staff:
        dates, found = _staff_dates(export, options.date or plan.date)
        problems += found
    if problems:
        raise ContractError(problems, file.name)
    if answered_school is not None:
        school = school.fillna(answered_school)
    who = educator.fillna(key)
    keyed = options.secret or b"plevaluate response"
    ids, minutes = _response_keys(export, who, keyed, "staff" if staff else str(session))
    ids = _recognise(export, ids, minutes, history, folder, session, keyed, summary)
    # the same response twice in the export (a file with repeated rows): read once
    repeated = ids.duplicated()
    if repeated.any():
        summary.notes.append(f"{int(repeated.sum())} row(s) repeat an earlier response in the export; read once")
        keep = ~repeated
        export.keep(keep)
        ids, minutes, who, educator, school, key = (s[keep] for s in (ids, minutes, who, educator, school, key))
        dates = dates[keep] if dates is not None else None
    summary.responses = len(export.frame)
    scope_key = "staff" if staff else session
    removals, keep = _resubmissions(export, ids, who, history, folder, scope_key, folder.plan.imports.resubmissions,
                                    summary)  # fmt: skip
    _remapped(ids, keep, history, folder, options, earlier, removals, summary)
    rows, origins = [], []
    read = set(export.frame.index)
    for coding in codebook:
        if coding.status in ("skipped", "open-ended"):
            continue
        for row, value in coding.values.items():
            if row not in read or not keep.get(row, True):
                continue
            if pd.isna(value) and not str(export.frame.at[row, coding.question.column]).strip():
                continue  # a blank cell: the question was not shown, or not answered ("N/A" is kept, as missing)
            out = {
                "response_id": ids[row],
                "session_id": session or "",
                "item_id": coding.item,
                "response": _number(value),
                "educator_id": _text(educator[row]),
                "school_id": _text(school[row]),
                "respondent": _text(key[row]),
            }
            if staff:
                out["date"] = dates[row]
            rows.append(out)
            origins.append(int(row))
    order = sorted(range(len(rows)), key=lambda i: origins[i])  # response by response, as the export reads
    rows, origins = [rows[i] for i in order], [origins[i] for i in order]
    if not key.notna().any():
        for row in rows:
            row.pop("respondent")
    comments, comment_origins, comment_ids = _comments(
        export,
        codebook,
        folder,
        keep,
        ids,
        keyed,
        "3" if staff else "1",
        session,
        educator,
        school,
        who,
        dates,
        summary,
    )
    additions = {"survey_items": new_items, "reactions": rows} if new_items else {"reactions": rows}
    item_origins: dict[str, list[int | None]] = {"reactions": origins, "survey_items": [None] * len(new_items)}
    if comments or removals.get("comments"):
        additions["comments"] = comments
        item_origins["comments"] = comment_origins
    responses = {
        ids[row]: {
            "submitted": export.submitted[row] if export.submitted is not None else None,
            "minute": minutes[row],
            "seconds": export.seconds,
            "person": who[row] if isinstance(who[row], str) else None,
            "scope": scope_key,
            **({"comments": comment_ids[row]} if comment_ids.get(row) else {}),
        }
        for row in export.frame.index
        if keep.get(row, True)
    }
    named = {*likert.SCALES, *plan.scales}  # the scale each item was coded on, for later exports of the form
    scales = {c.item: c.scale for c in codebook if c.status != "skipped" and c.scale in named}
    summary = _finish(
        folder, summary, additions, item_origins, removals, {}, source, file, digest, scope, options, responses, scales
    )
    if not new_items:  # items only removed (a remapped import's): not "written"
        summary.written.pop("survey_items", None)
    if not comments:
        summary.written.pop("comments", None)
    return summary


def _comments(export, codebook, folder, keep, ids, keyed, level, session, educator, school, who, dates, summary):
    """The comments.csv rows of the open-ended questions: one per non-blank answer, redacted before anything is kept.

    A comment's ID is keyed from its response's ID and the question, so the same response imported again (however
    downloaded) gives the same comment, not a second one. The respondent is the linked educator_id or the
    pseudonymous key (blank for an anonymous import); the role is the linked educator's. Returns the rows, the
    export row of each, and the comment IDs of each export row (for the import history)."""
    open_ended = [c for c in codebook if c.status == "open-ended"]
    if not open_ended:
        return [], [], {}
    educators = folder.table("educators")
    role_of = {}
    names: pd.Series | tuple = ()
    if educators is not None:
        if "role" in educators.columns:
            role_of = dict(zip(educators["educator_id"], educators["role"]))
        if "name" in educators.columns:
            names = educators["name"].dropna().astype(str)
    # the respondents' own names, from the export's name columns (never stored): a comment may sign with one
    named = [c for c in export.frame.columns if personal(c) and "name" in c.lower()]
    names = [*names, *(v for c in named for v in export.frame[c].dropna().astype(str) if v.strip())]
    rows, origins = [], []
    for coding in open_ended:
        question = coding.question
        for row, given in export.frame[question.column].items():
            text = "" if given is None or (not isinstance(given, str) and pd.isna(given)) else str(given).strip()
            if not text or likert.normal(text) in likert.NOT_A_RATING or not keep.get(row, True):
                continue
            person = educator[row]
            rows.append(
                {
                    "comment_id": "c-" + _keyed(keyed, f"comment|{ids[row]}|{match_key(question.text)}"),
                    "level": level,
                    "question": question.text,
                    "session_id": session or "",
                    "school_id": _text(school[row]),
                    "role": _text(role_of.get(person)) if isinstance(person, str) else "",
                    "respondent": _text(who[row]),
                    "date": _text(dates[row]) if dates is not None else "",
                    "text": text,
                }
            )
            origins.append(int(row))
    if not rows:
        return [], [], {}
    order = sorted(range(len(rows)), key=lambda i: origins[i])
    rows, origins = [rows[i] for i in order], [origins[i] for i in order]
    ids = for_district(folder.table("educators"), folder.table("students")).terms  # educator and student IDs
    redactor = Redactor.build(names=names, terms=[*folder.plan.comments.redact, *ids])
    redacted, counts = redactor.redact_all(pd.Series([r["text"] for r in rows], dtype=object))
    for record, text in zip(rows, redacted.tolist()):
        record["text"] = text
    summary.comments = len(rows)
    summary.redacted_comments = int((counts.sum(axis=1) > 0).sum())
    totals = counts.sum()
    summary.redacted = {kind: int(totals[kind]) for kind in _KIND_WORDS if kind in totals and totals[kind]}
    by_row: dict = {}
    for record, origin in zip(rows, origins):
        by_row.setdefault(origin, []).append(record["comment_id"])
    return rows, origins, {row: by_row.get(int(row), []) for row in export.frame.index}


def _finish(folder, summary, additions, origins, removals, restores, source, file, digest, scope, options,
            responses, scales) -> ImportSummary:  # fmt: skip
    """Replace an earlier import of this very file under another mapping, plan the tables, check them, write."""
    history = folder.history
    earlier = _replacing(history, digest, source, scope, options)
    replaced = None
    removals = {t: set(v) for t, v in removals.items()}
    restores = {t: list(v) for t, v in restores.items()}
    if earlier is not None:
        replaced = earlier
        for table, keys in earlier.get("rows", {}).items():
            removals.setdefault(table, set()).update(tuple(k) for k in keys)
        for table, rows in earlier.get("removed", {}).items():
            restores.setdefault(table, []).extend(rows)
        summary.notes.append(
            f"this file was imported before (import {earlier['id']}) with another mapping: its rows are replaced"
        )
    planned = _plan_tables(folder.store, additions, origins, removals, restores, summary)
    for table, plan in planned.items():  # a row replaced by one with its key is rewritten, not "removed"
        again = set(plan.added)
        summary.removed[table] = sum(_key_of(TABLES[table], plan.header, r) not in again for r in plan.removed)
    if not _changes(planned):
        return summary
    _trial(folder.store, planned, file.name)
    if options.dry_run:
        return summary
    record = {
        "id": history.next_id(),
        "file": file.name,
        "file_sha256": digest,
        "source": source,
        "scope": scope,
        "mapping_sha256": options.mapping_digest,
        "responses": responses,
        "scales": scales,
    }
    if replaced is not None:
        history.drop(int(replaced["id"]))
        record["replaces"] = replaced["id"]
        record["replaced"] = replaced
    _commit(folder, planned, record)
    summary.import_id = record["id"]
    return summary


def _replacing(history: History, digest: str, source: str, scope: str, options) -> dict | None:
    """The earlier import of this very file (bytes, source, session) under another mapping: its rows are replaced."""
    earlier = history.same_file(digest, source, scope) if digest else None
    return earlier if earlier is not None and earlier.get("mapping_sha256") != options.mapping_digest else None


def _all_level_3(export: Export, items: pd.DataFrame | None) -> bool:
    if items is None or "level" not in items:
        return False
    levels = {match_key(t): lvl for t, lvl in zip(items["text"], items["level"])}
    found = [levels[match_key(t)] for q in export.questions for t in q.texts if match_key(t) in levels]
    return bool(found) and all(pd.notna(v) and int(v) == 3 for v in found)


def _staff_dates(export: Export, date: str | None) -> tuple[pd.Series, list[Problem]]:
    index = export.frame.index
    if date is not None:
        try:
            day = datetime.date.fromisoformat(str(date).strip())
        except ValueError:
            return pd.Series(None, index=index), [
                Problem("--date", "a date written YYYY-MM-DD", "give the survey's date, e.g. 2026-03-15", value=date)
            ]
        return pd.Series(day.isoformat(), index=index, dtype=object), []
    if export.submitted is None or export.submitted.isna().all():
        return pd.Series(None, index=index), [
            Problem(
                export.name,
                "a date for the staff survey, but the export has no submission times",
                "give the survey's date: --date YYYY-MM-DD",
            )
        ]
    return export.submitted.map(lambda s: s[:10] if isinstance(s, str) else None), []


def _partial(export: Export, rule: str, summary: ImportSummary) -> None:
    if export.finished is None or export.finished.all():
        return
    n = int((~export.finished).sum())
    if rule == "drop":
        export.keep(export.finished)
        summary.notes.append(f"{n} partial response(s) (Finished = False) left out: the plan's imports.partial_responses "
                             "is drop")  # fmt: skip
    else:
        summary.notes.append(f"{n} partial response(s) (Finished = False) kept with the answers given: the plan's "
                             "imports.partial_responses is keep")  # fmt: skip


def _recognise(export, ids, minutes, history, folder, session, keyed, summary) -> pd.Series:
    """The ID each response already has in the folder, if it is there: imported without seconds (to the minute),
    or by a version of plevaluate before the import history (its legacy key)."""
    known = history.responses()
    by_minute = {info["minute"]: rid for rid, info in known.items()}
    minute_only = {info["minute"]: rid for rid, info in known.items() if not info.get("seconds", True)}
    reactions = folder.table("reactions")
    present = dict(zip(reactions["response_id"], reactions["session_id"])) if reactions is not None else {}
    out = ids.copy()
    recognised = 0
    for row in ids.index:
        found = (by_minute if not export.seconds else minute_only).get(minutes[row])
        if found is None and session:
            legacy = "r-" + hmac.new(keyed, f"{session}|{export.legacy[row]}".encode(), hashlib.sha256).hexdigest()[:16]
            found = legacy if legacy in present else None
        if found is not None and found != ids[row]:
            out[row] = found
            recognised += 1
    if recognised:
        summary.notes.append(f"{recognised} response(s) recognised as ones already in the folder (written another way)")
    wrong = [(row, present[out[row]]) for row in out.index if out[row] in present
             and str(present[out[row]] or "") != str(session or "")]  # fmt: skip
    if wrong:
        other = wrong[0][1] or "the staff survey"
        which = known.get(out[wrong[0][0]], {}).get("import")
        undo = f"plevaluate import --undo {which} --into {folder.path}" if which else "remove those rows"
        raise ContractError(
            [
                Problem(
                    export.name,
                    f"responses to {('session ' + session) if session else 'the staff survey'}, but {len(wrong)} "
                    f"of them are in the folder already as responses to "
                    f"{'session ' + other if other != 'the staff survey' else other}",
                    f"if that import named the wrong session, undo it ({undo}) and import again",
                    wrong[0][0],
                )
            ]
        )
    return out


def _resubmissions(export, ids, who, history, folder, scope, rule, summary) -> tuple[dict, dict]:
    """One person's second response to one session: the plan's rule (latest, first, error), in the export and
    against responses earlier imports recorded. Returns the rows to remove from the folder and the export rows
    to keep."""
    keep = {row: True for row in export.frame.index}
    removals: dict[str, set] = {}
    stamps = export.submitted if export.submitted is not None else pd.Series(None, index=export.frame.index)
    candidates: dict[str, list[tuple]] = {}
    for row in export.frame.index:
        person = who[row]
        if isinstance(person, str):
            candidates.setdefault(person, []).append(("export", row, stamps[row], 1 << 62))
    known = history.responses()
    incoming = set(ids)
    for rid, info in known.items():
        if scope == "staff":  # a staff survey given again (fall, spring) is another administration
            break
        if info.get("scope") == scope and info.get("person") in candidates and rid not in incoming:
            candidates[info["person"]].append(("folder", rid, info.get("submitted"), int(info["import"])))
    problems, dropped, replaced = [], 0, 0
    for found in candidates.values():
        if len(found) < 2:
            continue
        # by submission time when every one has one; else in the order they were imported (this export last)
        timed = all(isinstance(f[2], str) for f in found)
        order = sorted(found, key=lambda f: (f[2] if timed else "", f[3], f[1] if f[0] == "export" else 0))
        if rule == "error":
            what = "the staff survey" if scope == "staff" else f"session {scope}"
            earlier = sum(f[0] == "folder" for f in found)
            for ref in [f[1] for f in found if f[0] == "export"]:
                problems.append(
                    Problem(
                        export.name,
                        f"one response per person to {what}, but this respondent has {len(found)}"
                        + (f" ({earlier} imported already)" if earlier else ""),
                        "keep one of them, or set the plan's imports.resubmissions to latest or first",
                        ref,
                    )
                )
            continue
        winner = order[-1] if rule == "latest" else order[0]
        for kind, ref, *_ in found:
            if (kind, ref) == winner[:2]:
                continue
            if kind == "export":
                keep[ref] = False
                dropped += 1
                # a cumulative download holds the earlier response, already imported: it goes from the folder too
                removals.setdefault("reactions", set()).update(_reaction_keys(folder, ids[ref]))
                removals.setdefault("comments", set()).update(_comment_keys(known, ids[ref]))
            else:
                removals.setdefault("reactions", set()).update(k for k in _reaction_keys(folder, ref))
                removals.setdefault("comments", set()).update(_comment_keys(known, ref))
                replaced += 1
    if problems:
        raise ContractError(problems, export.name)
    if dropped or replaced:
        summary.notes.append(
            f"resubmissions ({rule} wins, the plan's imports.resubmissions): {dropped} response(s) of the export "
            f"and {replaced} earlier response(s) in the folder set aside for a later or earlier one from the same "
            "person"
        )
    return removals, keep


def _remapped(ids, keep, history, folder, options, earlier, removals, summary) -> None:
    """Responses an earlier import wrote under another mapping (the same responses downloaded again, the mapping
    corrected): their rows are replaced, so each answer is counted once, under the item the mapping now says."""
    records = {int(r["id"]): r for r in history.records}
    known = history.responses()
    replaced = 0
    for row, rid in ids.items():
        info = known.get(rid)
        if info is None or not keep.get(row, True) or (earlier is not None and info["import"] == earlier["id"]):
            continue
        record = records[int(info["import"])]
        if record.get("mapping_sha256") != options.mapping_digest:
            removals.setdefault("reactions", set()).update(_reaction_keys(folder, rid))
            removals.setdefault("comments", set()).update(_comment_keys(known, rid))
            # the items that import added go too, unless an answer still names them (kept when planned)
            removals.setdefault("survey_items", set()).update(
                tuple(k) for k in record.get("rows", {}).get("survey_items", [])
            )
            replaced += 1
    if replaced:
        summary.notes.append(
            f"{replaced} response(s) were imported before under another mapping: their answers are replaced"
        )


def _comment_keys(known: Mapping[str, dict], response_id: str) -> set[tuple[str]]:
    """The comments.csv keys an earlier import wrote for a response (its import history's record of it)."""
    return {(str(c),) for c in (known.get(response_id) or {}).get("comments", [])}


def _reaction_keys(folder: _Folder, response_id: str) -> list[tuple[str, str]]:
    reactions = folder.table("reactions")
    if reactions is None:
        return []
    part = reactions[reactions["response_id"] == response_id]
    return [(str(r), str(i)) for r, i in zip(part["response_id"], part["item_id"])]


# ----------------------------------------------------------------------------------------------
# The generic sheet
# ----------------------------------------------------------------------------------------------


def _import_sheet(file: Path, folder: _Folder, plan: ImportMapping, summary: ImportSummary):
    if plan.table not in TABLES:
        raise ContractError(
            [Problem("mapping file", "table: the contract table the sheet fills", f"one of {', '.join(TABLES)}.")]
        )
    spec = TABLES[plan.table]
    wanted = [likert.normal(c) for c in plan.columns.values() if isinstance(c, str)]
    wanted += [likert.normal(c) for c in (plan.wide.from_ if plan.wide else {})]
    wanted += [likert.normal(plan.educator_email)] if plan.educator_email else []

    def header_at(rows: list[list[str]]) -> int | None:
        for index, row in enumerate(rows[:20]):
            if wanted and set(wanted) <= {likert.normal(c) for c in row}:
                return index
        return None

    read = read_rows(file, plan.sheet, looks_right=lambda rows: header_at(rows) is not None)
    rows = read.rows
    if read.note():
        summary.notes.append(read.note())
    found_at = header_at(rows)
    if plan.header_row is None:
        at = found_at if found_at is not None else 0
        if at:
            summary.notes.append(f"the column names are on row {at + 1} (rows above passed over)")
    else:
        at = plan.header_row - 1
        if len(rows) <= at:
            raise ContractError([Problem(file.name, f"a header in row {plan.header_row}", "correct header_row.")])
        if found_at is not None and found_at != at:
            raise ContractError(
                [
                    Problem(
                        file.name,
                        f"the column names on row {plan.header_row} (header_row), but they are on row {found_at + 1}",
                        f"set header_row: {found_at + 1}, or leave header_row out and the row is found",
                    )
                ]
            )
    frame = frame_of(rows[at], rows[at + 1 :], at + 2)
    summary.responses = len(frame)
    problems = []
    columns = {likert.normal(c): c for c in frame.columns}
    used = set()

    def column(name: str, role: str) -> str | None:
        found = columns.get(likert.normal(name))
        if found is None:
            near = difflib.get_close_matches(name, list(frame.columns), n=1, cutoff=0.6)
            problems.append(
                Problem(
                    file.name,
                    f"a column {name!r} ({role}) on row {at + 1}"
                    + (f" of the sheet {read.sheet!r}" if read.sheet else ""),
                    (f"did you mean {near[0]!r}? " if near else "")
                    + f"columns there: {', '.join(frame.columns)}; if the names are on another row, set header_row",
                )
            )
        else:
            used.add(found)
        return found

    out = pd.DataFrame(index=frame.index)
    for target, given in plan.columns.items():
        if spec.column(target) is None:
            problems.append(
                Problem(
                    "mapping file",
                    f"a column of {spec.filename}",
                    f"columns: {', '.join(c.name for c in spec.columns)}.",
                    column=target,
                )
            )
        elif isinstance(given, Constant):
            out[target] = given.value
        else:
            found = column(given, target)
            if found is not None:
                out[target] = frame[found].str.strip()
                if spec.column(target).kind == "date":
                    out[target] = _dates(out[target], read.date1904, file.name, found, problems)
    if plan.educator_email:
        found = column(plan.educator_email, "educator e-mail")
        educators = folder.table("educators")
        if found is not None:
            if educators is None or "email" not in educators.columns:
                problems.append(
                    Problem(
                        "educators.csv",
                        "an email column to link the sheet's e-mails",
                        "add the educators' e-mails to educators.csv (kept private).",
                    )
                )
            else:
                by_email = dict(zip(educators["email"].map(likert.normal), educators["educator_id"]))
                emails = frame[found].map(likert.normal)
                out["educator_id"] = emails.map(by_email)
                for row in out.index[out["educator_id"].isna() & emails.ne("")]:
                    problems.append(
                        Problem(
                            file.name,
                            "an e-mail listed in educators.csv",
                            "add it there, or correct it.",
                            row,
                            found,
                            "(an e-mail address)",
                        )
                    )
    if "school_id" in out and folder.table("schools") is not None:
        schools = folder.table("schools")
        lookup = {likert.normal(n): i for n, i in zip(schools["school_name"], schools["school_id"])}
        out["school_id"] = out["school_id"].map(lambda v: lookup.get(likert.normal(v), v) if isinstance(v, str) else v)
    if plan.wide is not None:
        parts = []
        for given, label in plan.wide.from_.items():
            found = column(given, f"{plan.wide.by} {label}")
            if found is not None:
                part = out.copy()
                part[plan.wide.by] = label
                part[plan.wide.column] = frame[found].str.strip()
                parts.append(part[part[plan.wide.column].ne("")])
        out = pd.concat(parts) if parts else out
    if problems:
        raise ContractError(problems, file.name)
    summary.personal = [c for c in frame.columns if c not in used and personal(c)]
    summary.skipped = [
        f"{c}: not in the mapping file" for c in frame.columns if c not in used and c not in summary.personal
    ]
    ids = [
        c for c in spec.key if spec.column(c).kind == "id" and c not in out.columns and not spec.column(c).references
    ]
    for name in ids:  # a key the sheet does not have: made from the sheet row, so a re-import matches it
        content = frame.loc[out.index].astype(str).agg("\x1f".join, axis=1)
        if plan.wide is not None:
            content = content + "\x1f" + out[plan.wide.by].astype(str)
        prefix = name[0] + "-"
        out[name] = content.map(lambda c, p=prefix: p + hashlib.sha256((spec.name + c).encode()).hexdigest()[:10])
    records = [{k: ("" if pd.isna(v) else str(v)) for k, v in r.items()} for r in out.to_dict("records")]
    return {spec.name: records}, {spec.name: [int(i) for i in out.index]}


def _dates(values: pd.Series, date1904: bool | None, name: str, column: str, problems: list[Problem]) -> pd.Series:
    """A date column: Excel date serials converted with the workbook's date system (in a workbook) or named (in a
    CSV, where the date system is unknown)."""
    serial = values.str.fullmatch(r"\d{4,6}(\.\d+)?").fillna(False)
    if not serial.any():
        return values
    if date1904 is None:
        example = values[serial].iloc[0]
        stamps, _, _ = wall_clock(pd.Series([example]))
        problems.append(
            Problem(
                name,
                f"dates, but {int(serial.sum())} value(s) look like Excel date serials ({example} is "
                f"{stamps.iloc[0][:10]} in Excel's usual 1900 date system)",
                "format the column as a date in Excel (Format Cells > Date) and save the CSV again, or import the "
                ".xlsx workbook itself",
                int(values.index[serial][0]),
                column,
                example,
            )
        )
        return values
    stamps, _, _ = wall_clock(values[serial], date1904=date1904)
    out = values.copy()
    out[serial] = stamps.map(lambda s: s[:10] if isinstance(s, str) else s)
    return out
