"""Survey exports shaped like the real ones, made from a district's reactions for one session.

Header shapes follow each tool's export as documented by the tool and as seen in published examples:
Google Forms CSV (Timestamp, Email Address, grid rows as ``Question [Row]``), Microsoft Forms Excel
(ID, Start time, Completion time, Email, Name, questions), Qualtrics CSV/TSV (field IDs, question text,
``{"ImportId": ...}`` rows; metadata such as IPAddress and LocationLatitude), SurveyMonkey (question text
over answer option; Respondent ID, Collector ID, IP Address, Email Address, First Name, Last Name,
Custom Data 1), SPSS .sav with value labels. Every person and place in them is invented.
"""

from __future__ import annotations

import csv
import datetime
import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd

AGREEMENT = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
GRID = "How much do you agree with each statement?"

#: Invented people: every value here must stay out of the data folder after an import.
FIRST = ["José", "Zoë", "Łukasz", "Amaka", "Søren", "Nguyễn", "Renée", "Ahmed", "Chloé", "Björn"]
LAST = ["Núñez", "Øvergaard", "Kowalczyk", "Okonkwo", "Dąbrowski", "Trần", "Lefèvre", "Al-Farsi", "Müller", "Ñañez"]


def answers(data: Path, session: str) -> pd.DataFrame:
    """One row per response to ``session`` in the district's reactions.csv: educator_id and an answer per item."""
    reactions = pd.read_csv(data / "reactions.csv", dtype=str, keep_default_na=False)
    reactions = reactions[reactions["session_id"] == session]
    wide = reactions.pivot(index=["response_id", "educator_id"], columns="item_id", values="response").reset_index()
    return wide.sort_values("response_id").reset_index(drop=True)


def copy_sample(sample: Path, folder: Path, *, ignore: tuple[str, ...] = ()) -> Path:
    """A district's folder copied (truth.json left out), its educators' e-mails in the private email column."""
    shutil.copytree(sample, folder, ignore=shutil.ignore_patterns("truth.json", *ignore))
    educators = pd.read_csv(folder / "educators.csv", dtype=str, keep_default_na=False)
    educators["email"] = educators["educator_id"].map(email)
    educators.to_csv(folder / "educators.csv", index=False)
    return folder


def person(i: int) -> dict:
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    return {
        "first": first,
        "last": last,
        "name": f"{first} {last}",
        "ip": f"203.0.113.{i % 250 + 1}",
        "lat": f"{40 + i / 997:.4f}",
        "lon": f"{-105 - i / 991:.4f}",
        "custom": f"badge-{9000 + i}",
    }


def email(educator_id: str) -> str:
    return f"{educator_id.lower()}@district.example"


def _label(value: str) -> str:
    return "" if value == "" else AGREEMENT[int(float(value)) - 1]


def _texts(data: Path) -> dict[str, str]:
    items = pd.read_csv(data / "survey_items.csv", dtype=str)
    return dict(zip(items["item_id"], items["text"]))


def _stamp(i: int) -> datetime.datetime:
    return datetime.datetime(2025, 8, 20, 15, 0) + datetime.timedelta(minutes=3 * i, seconds=i)


def google(data: Path, session: str, out: Path, *, grid: bool = True) -> Path:
    """Google Forms' CSV download: Timestamp, Email Address, questions; grid rows as ``Question [Row]``."""
    wide, texts = answers(data, session), _texts(data)
    items = [c for c in wide.columns if c in texts]
    header = ["Timestamp", "Email Address"] + [f"{GRID} [{texts[i]}]" if grid else texts[i] for i in items]
    rows = []
    for i, r in wide.iterrows():
        stamp = _stamp(i).strftime("%Y/%m/%d %-I:%M:%S %p") + " MDT"
        rows.append([stamp, email(r["educator_id"])] + [_label(r[item]) for item in items])
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return out


def msforms(data: Path, session: str, out: Path) -> Path:
    """Microsoft Forms' Excel export: ID, Start time, Completion time, Email, Name, then one column per question."""
    wide, texts = answers(data, session), _texts(data)
    items = [c for c in wide.columns if c in texts]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append(
        ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time"] + [texts[i] for i in items]
    )
    for i, r in wide.iterrows():
        who = person(i)
        sheet.append(
            [i + 1, _stamp(i), _stamp(i) + datetime.timedelta(minutes=4), email(r["educator_id"]), who["name"], None]
            + [_label(r[item]) or None for item in items]
        )
    book.save(out)
    return out


QUALTRICS_META = [
    ("StartDate", "Start Date", '{"ImportId":"startDate","timeZone":"America/Denver"}'),
    ("EndDate", "End Date", '{"ImportId":"endDate","timeZone":"America/Denver"}'),
    ("Status", "Response Type", '{"ImportId":"status"}'),
    ("IPAddress", "IP Address", '{"ImportId":"ipAddress"}'),
    ("Progress", "Progress", '{"ImportId":"progress"}'),
    ("Duration (in seconds)", "Duration (in seconds)", '{"ImportId":"duration"}'),
    ("Finished", "Finished", '{"ImportId":"finished"}'),
    ("RecordedDate", "Recorded Date", '{"ImportId":"recordedDate","timeZone":"America/Denver"}'),
    ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
    ("RecipientLastName", "Recipient Last Name", '{"ImportId":"recipientLastName"}'),
    ("RecipientFirstName", "Recipient First Name", '{"ImportId":"recipientFirstName"}'),
    ("RecipientEmail", "Recipient Email", '{"ImportId":"recipientEmail"}'),
    ("ExternalReference", "External Data Reference", '{"ImportId":"externalDataReference"}'),
    ("LocationLatitude", "Location Latitude", '{"ImportId":"locationLatitude"}'),
    ("LocationLongitude", "Location Longitude", '{"ImportId":"locationLongitude"}'),
    ("DistributionChannel", "Distribution Channel", '{"ImportId":"distributionChannel"}'),
    ("UserLanguage", "User Language", '{"ImportId":"userLanguage"}'),
]


def _qualtrics_rows(data: Path, session: str, numeric: bool = False) -> list[list[str]]:
    wide, texts = answers(data, session), _texts(data)
    items = [c for c in wide.columns if c in texts]
    ids = [m[0] for m in QUALTRICS_META] + [f"Q1_{n}" for n in range(1, len(items) + 1)]
    text = [m[1] for m in QUALTRICS_META] + [f"{GRID} - {texts[i]}" for i in items]
    imports = [m[2] for m in QUALTRICS_META] + [json.dumps({"ImportId": f"QID1_{n}"}) for n in range(1, len(items) + 1)]
    rows = [ids, text, imports]
    for i, r in wide.iterrows():
        who = person(i)
        stamp = _stamp(i).strftime("%Y-%m-%d %H:%M:%S")
        meta = [stamp, stamp, "IP Address", who["ip"], "100", "240", "True", stamp, f"R_{1000 + i:04d}abcXYZ",
                who["last"], who["first"], email(r["educator_id"]), who["custom"], who["lat"], who["lon"],
                "email", "EN"]  # fmt: skip
        rows.append(meta + [(r[item].split(".")[0] if numeric else _label(r[item])) for item in items])
    return rows


def qualtrics_csv(data: Path, session: str, out: Path, *, numeric: bool = False) -> Path:
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(_qualtrics_rows(data, session, numeric))
    return out


def qualtrics_tsv(data: Path, session: str, out: Path) -> Path:
    """Qualtrics' TSV download is UTF-16 with a byte-order mark, tab separated."""
    text = "\r\n".join("\t".join(r) for r in _qualtrics_rows(data, session)) + "\r\n"
    out.write_bytes(text.encode("utf-16"))
    return out


def surveymonkey_rows(data: Path, session: str) -> list[list]:
    wide, texts = answers(data, session), _texts(data)
    items = [c for c in wide.columns if c in texts]
    meta = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address", "First Name",
            "Last Name", "Custom Data 1"]  # fmt: skip
    top = meta + [GRID] + [""] * (len(items) - 1) + ["Any other comments?"]
    sub = [""] * len(meta) + [texts[i] for i in items] + ["Open-Ended Response"]
    rows = [top, sub]
    for i, r in wide.iterrows():
        who = person(i)
        stamp = _stamp(i).strftime("%m/%d/%Y %I:%M:%S %p")
        rows.append([str(11400000000 + i), "4050001", stamp, stamp, who["ip"], email(r["educator_id"]), who["first"],
                     who["last"], who["custom"]] + [_label(r[item]) for item in items]
                    + [f"Thanks, {who['first']}" if i % 7 == 0 else ""])  # fmt: skip
    return rows


def surveymonkey_csv(data: Path, session: str, out: Path) -> Path:
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(surveymonkey_rows(data, session))
    return out


def surveymonkey_xlsx(data: Path, session: str, out: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in surveymonkey_rows(data, session):
        sheet.append([v if v != "" else None for v in row])
    book.save(out)
    return out


def sav(data: Path, session: str, out: Path, *, tool: str = "qualtrics") -> Path:
    """An SPSS export: numeric codes with value labels (1 Strongly disagree ... 5 Strongly agree, 6 N/A)."""
    import pyreadstat

    wide, texts = answers(data, session), _texts(data)
    items = [c for c in wide.columns if c in texts]
    if tool == "qualtrics":
        meta = {"ResponseId": [f"R_{1000 + i:04d}abcXYZ" for i in wide.index],
                "IPAddress": [person(i)["ip"] for i in wide.index],
                "RecipientEmail": [email(e) for e in wide["educator_id"]],
                "RecipientFirstName": [person(i)["first"] for i in wide.index],
                "LocationLatitude": [person(i)["lat"] for i in wide.index]}  # fmt: skip
    else:
        meta = {"respondent_id": [float(11400000000 + i) for i in wide.index],
                "ip_address": [person(i)["ip"] for i in wide.index],
                "email_address": [email(e) for e in wide["educator_id"]],
                "first_name": [person(i)["first"] for i in wide.index],
                "last_name": [person(i)["last"] for i in wide.index]}  # fmt: skip
    frame = pd.DataFrame(meta)
    labels = {}
    for n, item in enumerate(items, start=1):
        name = f"Q1_{n}"
        frame[name] = pd.to_numeric(wide[item].replace("", None), errors="coerce")
        labels[name] = f"{GRID} - {texts[item]}"
    value_labels = {f"Q1_{n}": {**{k: v for k, v in enumerate(AGREEMENT, start=1)}, 6: "N/A"}
                    for n in range(1, len(items) + 1)}  # fmt: skip
    pyreadstat.write_sav(
        frame,
        str(out),
        column_labels=[labels.get(c, c) for c in frame.columns],
        variable_value_labels=value_labels,
    )
    return out
