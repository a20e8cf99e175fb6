"""The first-day walk of issue #29, with no hand edit: init -> import each tool's export (session surveys and the
staff survey) -> validate -> report, every level with evidence, exit 0 and a clean privacy audit; then the
same responses again, downloaded another way, add nothing, and undoing an import restores the folder byte for
byte."""

from __future__ import annotations

import hashlib
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import plevaluate
from plevaluate.cli import main

from . import intake_fixtures as fx

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
MAKERS = {
    "google": (fx.google, "csv"),
    "msforms": (fx.msforms, "xlsx"),
    "qualtrics": (fx.qualtrics_csv, "csv"),
    "surveymonkey": (fx.surveymonkey_csv, "csv"),
}


def _split_source(tmp: Path) -> tuple[Path, Path]:
    """The sample's answers as two surveys: each session's (level-1 items) and the staff survey (level 3)."""
    items = pd.read_csv(SAMPLE / "survey_items.csv", dtype=str)
    reactions = pd.read_csv(SAMPLE / "reactions.csv", dtype=str, keep_default_na=False)
    level = reactions["item_id"].map(items.set_index("item_id")["level"])
    out = []
    for name, keep in (("sessions", level != "3"), ("staff", level == "3")):
        folder = tmp / f"source-{name}"
        shutil.copytree(SAMPLE, folder)
        reactions[keep].to_csv(folder / "reactions.csv", index=False)
        out.append(folder)
    return out[0], out[1]


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.render
def test_init_import_every_export_validate_and_report(tmp_path, capsys):
    folder = tmp_path / "district"
    assert main(["init", str(folder)]) == 0
    # what a district has before any survey: its schools, staff (with e-mails), sessions, attendance, students,
    # costs, assessments, rubric ratings and walkthroughs; the plan as the evaluator wrote it
    for name in ("plan.yml", "schools.csv", "sessions.csv", "attendance.csv", "students.csv", "costs.csv",
                 "learning.csv", "conditions.csv", "observations.csv"):  # fmt: skip
        shutil.copy(SAMPLE / name, folder / name)
    educators = pd.read_csv(SAMPLE / "educators.csv", dtype=str, keep_default_na=False)
    educators.assign(email=educators["educator_id"].map(fx.email)).to_csv(folder / "educators.csv", index=False)
    sessions_source, staff_source = _split_source(tmp_path)
    sessions = sorted(pd.read_csv(sessions_source / "reactions.csv", dtype=str)["session_id"].unique())
    for n, session in enumerate(sessions):
        source = list(MAKERS)[n % len(MAKERS)]
        make, suffix = MAKERS[source]
        export = make(sessions_source, session, tmp_path / f"{session}.{suffix}")
        assert main(["import", source, str(export), "--into", str(folder), "--session", session]) == 0
    # the staff survey: one export of the level-3 items, no session
    staff_session = sorted(pd.read_csv(staff_source / "reactions.csv", dtype=str)["session_id"].unique())[0]
    staff = fx.google(staff_source, staff_session, tmp_path / "staff.csv", grid=False)
    assert main(["import", "google", str(staff), "--into", str(folder), "--staff-survey"]) == 0
    out = capsys.readouterr().out
    assert "not imported" not in out.split("staff.csv")[-1]  # every staff question coded
    reactions = pd.read_csv(folder / "reactions.csv", dtype=str, keep_default_na=False)
    staff_rows = reactions[reactions["session_id"] == ""]
    assert len(staff_rows) and staff_rows["date"].str.match(r"\d{4}-\d{2}-\d{2}").all()

    assert main(["validate", str(folder)]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluation = plevaluate.evaluate(plevaluate.load(folder))
    for number in (1, 2, 3, 4, 5):
        assert evaluation[number].evidence, f"level {number} has no evidence"
    target = evaluation[1]["target"]
    district = target[target["breakdown"] == "district"].iloc[0]
    assert pd.notna(district["estimate"])  # level 1 estimable: no pooled "unassigned" construct refusing it
    staff_constructs = evaluation[3]["staff_survey"]
    assert staff_constructs["estimate"].notna().any()
    reports = tmp_path / "reports"
    first = pd.read_csv(SAMPLE / "schools.csv", dtype=str)["school_id"][0]
    code = main(["report", str(folder), "--out", str(reports), "--format", "html", "--schools", first, "--quiet"])
    printed = capsys.readouterr()
    assert code == 0, printed.err  # rendered, and the privacy audit is clean
    html = (reports / "district-report.html").read_text(encoding="utf-8")
    assert "unassigned" not in html

    # the same responses downloaded another way add nothing; undoing the latest import restores the folder
    before = _hashes(folder)
    again = fx.google(sessions_source, sessions[0], tmp_path / "again.csv")
    text = again.read_text(encoding="utf-8")
    again.write_bytes(text.encode("utf-16"))  # another encoding
    assert main(["import", "google", str(again), "--into", str(folder), "--session", sessions[0]]) == 0
    assert _hashes(folder) == before
    late = fx.qualtrics_tsv(sessions_source, sessions[1], tmp_path / "late.tsv")
    reactions_before = (folder / "reactions.csv").read_bytes()
    assert main(["import", "qualtrics", str(late), "--into", str(folder), "--session", sessions[1]]) == 0
    assert main(["import", "--list", "--into", str(folder)]) == 0
    listing = capsys.readouterr().out
    assert "late.tsv" in listing and "staff.csv" in listing
    last = int(listing.strip().splitlines()[-1].split()[0])
    if (folder / "reactions.csv").read_bytes() != reactions_before:
        assert main(["import", "--undo", str(last), "--into", str(folder)]) == 0
        assert _hashes(folder) == before
