"""Survey-tool exports built from each tool's documented export shape, for tests/test_import_cases.py.

These builders are written independently of plevaluate's own writers and of tests/intake_fixtures.py's
(only its invented e-mail scheme, ``fx.email``, is shared, so that educators.csv's ``email`` column links
them). What each builder follows:

- **Google Forms, Responses > More > "Download responses (.csv)"**: UTF-8 without a byte-order mark, every
  field quoted, ``\\n`` line ends; first column ``Timestamp`` written ``YYYY/MM/DD h:mm:ss AM/PM <zone>``, the
  zone the form owner's abbreviation (``MDT``) or, where the zone has none, a GMT offset (``GMT-6``); then
  ``Email Address`` when the form collects e-mails; one column per question headed by its title; a
  multiple-choice grid one column per row, headed ``Question [Row]``.
- **the linked Google Sheet, File > Download > Comma-separated values (.csv)**: the same header, timestamps as
  the sheet shows them in a US locale, ``M/D/YYYY H:MM:SS`` (24-hour, no zone), quotes only where needed, CRLF.
- **that Sheet CSV opened and saved again by Excel (US)**: Excel shows and saves the timestamp as
  ``M/D/YYYY H:MM`` (seconds dropped); CRLF; "CSV (Comma delimited)" is Windows-1252, "CSV UTF-8" has a
  byte-order mark, "Unicode Text" is UTF-16 LE with a byte-order mark and tab separated.
- **Microsoft Forms, Responses > "Open in Excel"**: an .xlsx with one sheet; columns ``ID``, ``Start time``,
  ``Completion time``, ``Email``, ``Name``, (``Last modified time``), then one column per question (a Likert
  question one column per statement); times are Excel date-times. The variants a person makes of it: a merged
  title row typed above the header, and a helper sheet placed before the responses.
- **Qualtrics, Data & Analysis > Export Data > CSV** (choice text): UTF-8 with a byte-order mark, three header
  rows: field IDs (``StartDate``, ``EndDate``, ``Status``, ``IPAddress``, ``Progress``,
  ``Duration (in seconds)``, ``Finished``, ``RecordedDate``, ``ResponseId``, ``Recipient*``,
  ``ExternalReference``, ``Location*``, ``DistributionChannel``, ``UserLanguage``, then ``Q1``, ``Q2_1`` ...),
  the question texts (a matrix row ``Question - Statement``), and ``{"ImportId":"QID2_1"}``; ``Finished`` is
  ``True``/``False`` with ``Progress`` below 100 for a partial response; dates ``YYYY-MM-DD HH:MM:SS``.
  **TSV**: the same rows, UTF-16 LE with a byte-order mark, tab separated, CRLF.
- **Qualtrics, Export Data > SPSS (.sav)**: one numeric variable per question holding the recode value, value
  labels mapping each code to its choice text (a school question's choices are the school names), the
  question text as the variable label; written with ``pyreadstat.write_sav``.
- **SurveyMonkey, Analyze Results > Save as > Export file > All responses data > CSV**: two header rows;
  ``Respondent ID``, ``Collector ID``, ``Start Date``, ``End Date``, ``IP Address``, ``Email Address``,
  ``First Name``, ``Last Name``, ``Custom Data 1`` over blanks; a matrix question's text over its first
  column only, its rows' statements in the second header row; a single-choice question over ``Response``,
  an open-ended one over ``Open-Ended Response``; dates ``MM/DD/YYYY hh:mm:ss AM``.

Every person in them is invented.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd

from . import intake_fixtures as fx

AGREEMENT = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")
GRID = "To what extent do you agree with the following?"
NAMES = ("José Núñez", "Zoë Ølstad", "Renée Lefèvre", "Björn Müller", "Chloé Dubois", "Ahmed Al-Farsi")


@dataclass(frozen=True)
class Q:
    """A question as a form asks it: its text, or a grid row's statement with the grid's question."""

    text: str
    grid: str | None = None


@dataclass
class Reply:
    """One submitted response: when, by whom, and the label chosen for each question ("" unanswered)."""

    submitted: datetime.datetime
    answers: dict[Q, str]
    email: str | None = None
    name: str = ""
    finished: bool = True
    seconds: int = 240  # time taken


@dataclass
class Form:
    questions: list[Q]
    replies: list[Reply] = field(default_factory=list)

    def with_replies(self, replies: list[Reply]) -> Form:
        return Form(list(self.questions), replies)

    def header(self, q: Q, style: str = "google") -> str:
        if q.grid is None:
            return q.text
        return {"google": f"{q.grid} [{q.text}]", "qualtrics": f"{q.grid} - {q.text}", "msforms": q.text}[style]


def stamps(start: datetime.datetime, n: int, step: datetime.timedelta = datetime.timedelta(minutes=2, seconds=17)):
    return [start + step * i for i in range(n)]


def form(questions: list[Q | str], rows: list[list[str]], *, emails: list[str | None] | None = None,
         start: datetime.datetime = datetime.datetime(2025, 8, 20, 11, 58, 31), names: bool = False) -> Form:  # fmt: skip
    """A form of ``questions`` answered by ``rows`` (one label per question), submitted a little over two minutes
    apart from ``start``."""
    qs = [q if isinstance(q, Q) else Q(q) for q in questions]
    when = stamps(start, len(rows))
    replies = []
    for i, row in enumerate(rows):
        assert len(row) == len(qs), (row, qs)
        replies.append(
            Reply(
                when[i],
                dict(zip(qs, row)),
                emails[i] if emails is not None else None,
                NAMES[i % len(NAMES)] if names else "",
            )
        )
    return Form(qs, replies)


def sample_form(data: Path, session: str, *, n: int | None = 12, grid: bool = True,
                start: datetime.datetime | None = None, names: bool = False) -> Form:  # fmt: skip
    """The first ``n`` responses to ``session`` in the district's reactions.csv, as agreement labels, each
    respondent's e-mail from ``fx.email``; submitted from 11:58:31 on the session's date (so the times cross noon)."""
    reactions = pd.read_csv(data / "reactions.csv", dtype=str, keep_default_na=False)
    items = pd.read_csv(data / "survey_items.csv", dtype=str, keep_default_na=False)
    sessions = pd.read_csv(data / "sessions.csv", dtype=str, keep_default_na=False)
    text = dict(zip(items["item_id"], items["text"]))
    mine = reactions[reactions["session_id"] == session]
    wide = mine.pivot(index=["response_id", "educator_id"], columns="item_id", values="response").reset_index()
    wide = wide.sort_values("response_id").reset_index(drop=True)
    if n is not None:
        wide = wide.head(n)
    order = [i for i in items["item_id"] if i in wide.columns]
    questions = [Q(text[i], GRID if grid else None) for i in order]
    rows = [["" if r[i] == "" else AGREEMENT[int(float(r[i])) - 1] for i in order] for _, r in wide.iterrows()]
    day = datetime.date.fromisoformat(sessions.set_index("session_id").loc[session, "date"])
    start = start or datetime.datetime.combine(day, datetime.time(11, 58, 31))
    return form(questions, rows, emails=[fx.email(e) for e in wide["educator_id"]], start=start, names=names)


# ----------------------------------------------------------------------------------------------
# Timestamps as each tool writes them
# ----------------------------------------------------------------------------------------------


def _twelve(t: datetime.datetime) -> str:
    hour = t.hour % 12 or 12
    return f"{hour}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"


def google_time(t: datetime.datetime, zone: str = "MDT") -> str:
    """``2025/08/20 3:00:01 PM MDT``."""
    return f"{t:%Y/%m/%d} {_twelve(t)} {zone}"


def sheet_time(t: datetime.datetime, seconds: bool = True) -> str:
    """``8/20/2025 15:00:01`` (the Sheet), ``8/20/2025 15:00`` (re-saved by Excel)."""
    clock = f"{t.hour}:{t:%M:%S}" if seconds else f"{t.hour}:{t:%M}"
    return f"{t.month}/{t.day}/{t.year} {clock}"


# ----------------------------------------------------------------------------------------------
# Google Forms
# ----------------------------------------------------------------------------------------------


def _google_table(f: Form, *, email: bool, time, name_question: str | None) -> list[list[str]]:
    header = ["Timestamp"] + (["Email Address"] if email else []) + [f.header(q, "google") for q in f.questions]
    header += [name_question] if name_question else []
    rows = [header]
    for r in f.replies:
        row = [time(r.submitted)] + ([r.email or ""] if email else []) + [r.answers.get(q, "") for q in f.questions]
        row += [r.name] if name_question else []
        rows.append(row)
    return rows


def google_download(f: Form, out: Path, *, zone: str = "MDT", email: bool = True,
                    name_question: str | None = None) -> Path:  # fmt: skip
    """Forms' "Download responses (.csv)": every field quoted, UTF-8, ``2025/08/20 3:00:01 PM MDT``."""
    rows = _google_table(f, email=email, time=lambda t: google_time(t, zone), name_question=name_question)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    out.write_bytes(buffer.getvalue().encode("utf-8"))
    return out


def google_sheet(f: Form, out: Path, *, email: bool = True, name_question: str | None = None) -> Path:
    """The linked Sheet downloaded as CSV: ``8/20/2025 15:00:01``, minimal quoting, CRLF, UTF-8."""
    rows = _google_table(f, email=email, time=sheet_time, name_question=name_question)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    out.write_bytes(buffer.getvalue().encode("utf-8"))
    return out


def excel_resaved(f: Form, out: Path, *, encoding: str = "cp1252", email: bool = True,
                  name_question: str | None = None) -> Path:  # fmt: skip
    """The Sheet CSV opened and saved by Excel: ``8/20/2025 15:00`` (no seconds), CRLF; ``cp1252`` ("CSV (Comma
    delimited)"), ``utf-8-sig`` ("CSV UTF-8") or ``utf-16`` ("Unicode Text": UTF-16 LE with BOM, tabs)."""
    rows = _google_table(f, email=email, time=lambda t: sheet_time(t, seconds=False), name_question=name_question)
    buffer = io.StringIO(newline="")
    if encoding == "utf-16":
        csv.writer(buffer, delimiter="\t", lineterminator="\r\n").writerows(rows)
        out.write_bytes(b"\xff\xfe" + buffer.getvalue().encode("utf-16-le"))
    else:
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        out.write_bytes(buffer.getvalue().encode(encoding))
    return out


# ----------------------------------------------------------------------------------------------
# Microsoft Forms
# ----------------------------------------------------------------------------------------------


def msforms(f: Form, out: Path, *, title: str | None = None, helper_first: bool = False) -> Path:
    """ "Open in Excel": ID, Start time, Completion time, Email, Name, Last modified time, the questions. ``title``:
    a merged title row a person typed above the header; ``helper_first``: a helper sheet placed before it."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    if helper_first:
        helper = book.create_sheet("Lookups", 0)
        helper.append(["School", "Code", "Notes"])
        helper.append(["Lincoln Elementary", "S01", "rollout week 1"])
        helper.append(["Jefferson Elementary", "S02", ""])
    header = ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time"]
    header += [f.header(q, "msforms") for q in f.questions]
    if title is not None:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(header)
    for i, r in enumerate(f.replies, start=1):
        started = r.submitted - datetime.timedelta(seconds=r.seconds)
        sheet.append(
            [i, started, r.submitted, r.email or "anonymous", r.name or None, None]
            + [r.answers.get(q, "") or None for q in f.questions]
        )
    book.save(out)
    return out


# ----------------------------------------------------------------------------------------------
# Qualtrics
# ----------------------------------------------------------------------------------------------

#: Qualtrics' metadata columns: field ID, question text, ImportId (the same documented list the older fixtures use)
_QUALTRICS_META = tuple(fx.QUALTRICS_META)


def qualtrics_ids(f: Form) -> list[str]:
    """Field IDs: a lone question ``Qn``, a matrix's rows ``Qn_1, Qn_2 ...``."""
    ids, grids, n = [], {}, 0
    for q in f.questions:
        if q.grid is None:
            n += 1
            ids.append(f"Q{n}")
        else:
            if q.grid not in grids:
                n += 1
                grids[q.grid] = [n, 0]
            grids[q.grid][1] += 1
            ids.append(f"Q{grids[q.grid][0]}_{grids[q.grid][1]}")
    return ids


def qualtrics_rows(f: Form) -> list[list[str]]:
    fields = qualtrics_ids(f)
    rows = [
        [m[0] for m in _QUALTRICS_META] + fields,
        [m[1] for m in _QUALTRICS_META] + [f.header(q, "qualtrics") for q in f.questions],
        [m[2] for m in _QUALTRICS_META] + [json.dumps({"ImportId": "QID" + x[1:]}) for x in fields],
    ]
    for i, r in enumerate(f.replies):
        first, _, last = (r.name or "Pat Doe").partition(" ")
        start = r.submitted - datetime.timedelta(seconds=r.seconds)
        stamp = f"{r.submitted:%Y-%m-%d %H:%M:%S}"
        answered = sum(bool(r.answers.get(q)) for q in f.questions)
        progress = 100 if r.finished else int(100 * answered / max(len(f.questions), 1))
        meta = [f"{start:%Y-%m-%d %H:%M:%S}", stamp, "IP Address", f"198.51.100.{i + 7}", str(progress),
                str(r.seconds), "True" if r.finished else "False", stamp, f"R_{i + 1:03d}QxZ7kLm2aPbR9",
                last, first, r.email or "", "", "39.7392", "-104.9903", "anonymous" if not r.email else "email",
                "EN"]  # fmt: skip
        rows.append(meta + [r.answers.get(q, "") for q in f.questions])
    return rows


def qualtrics_csv(f: Form, out: Path) -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(qualtrics_rows(f))
    out.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return out


def qualtrics_tsv(f: Form, out: Path) -> Path:
    text = "".join("\t".join(row) + "\r\n" for row in qualtrics_rows(f))
    out.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    return out


def qualtrics_sav(out: Path, columns: dict[str, tuple[str, list[float | None], dict[float, str]]],
                  emails: list[str]) -> Path:  # fmt: skip
    """Qualtrics' SPSS export: ``columns`` maps a field ID to (question text, the codes chosen, value labels)."""
    import pyreadstat

    n = len(emails)
    frame = pd.DataFrame(
        {
            "ResponseId": [f"R_{i + 1:03d}SavQ7kLm2aPb" for i in range(n)],
            "Finished": [1.0] * n,
            "IPAddress": [f"198.51.100.{i + 7}" for i in range(n)],
            "RecipientEmail": emails,
            "RecipientFirstName": [NAMES[i % len(NAMES)].split()[0] for i in range(n)],
        }
    )
    labels = {"Finished": "Finished", "ResponseId": "Response ID", "IPAddress": "IP Address",
              "RecipientEmail": "Recipient Email", "RecipientFirstName": "Recipient First Name"}  # fmt: skip
    value_labels = {"Finished": {0.0: "False", 1.0: "True"}}
    for name, (text, codes, value) in columns.items():
        assert len(codes) == n
        frame[name] = pd.Series(codes, dtype="float64")
        labels[name] = text
        value_labels[name] = value
    pyreadstat.write_sav(
        frame,
        str(out),
        column_labels=[labels[c] for c in frame.columns],
        variable_value_labels=value_labels,
    )
    return out


# ----------------------------------------------------------------------------------------------
# SurveyMonkey
# ----------------------------------------------------------------------------------------------


def surveymonkey_csv(f: Form, out: Path, *, comment: str | None = "Any other comments?") -> Path:
    """Two header rows; a matrix's text over its first column, its statements below; metadata over blanks."""
    meta = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address", "First Name",
            "Last Name", "Custom Data 1"]  # fmt: skip
    top, sub, seen = list(meta), [""] * len(meta), set()
    for q in f.questions:
        if q.grid is None:
            top.append(q.text)
            sub.append("Response")
        else:
            top.append("" if q.grid in seen else q.grid)
            seen.add(q.grid)
            sub.append(q.text)
    if comment:
        top.append(comment)
        sub.append("Open-Ended Response")
    rows = [top, sub]
    for i, r in enumerate(f.replies):
        first, _, last = (r.name or "Pat Doe").partition(" ")
        start = r.submitted - datetime.timedelta(seconds=r.seconds)
        row = [str(114_690_000_000 + i), "431234567", f"{start:%m/%d/%Y %I:%M:%S %p}",
               f"{r.submitted:%m/%d/%Y %I:%M:%S %p}", f"198.51.100.{i + 7}", r.email or "", first, last, ""]  # fmt: skip
        row += [r.answers.get(q, "") for q in f.questions]
        if comment:
            row.append("Loved it" if i % 3 == 0 else "")
        rows.append(row)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    out.write_bytes(buffer.getvalue().encode("utf-8"))
    return out
