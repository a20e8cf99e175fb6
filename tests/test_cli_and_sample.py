"""The plevaluate command, the sample district generator, and packaging."""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
import sys

import pandas as pd

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
import pytest

from plevaluate.cli import main
from plevaluate.sample import generate
from tests.conftest import ROOT, SAMPLE


def test_validate_sample_prints_a_summary(capsys):
    assert main(["validate", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "12 schools (8 participant, 4 comparison)" in out
    assert re.search(r"students.csv\s+5\s+10,\d{3}\s+12", out)
    assert "2025-09-03 to 2026-05-26" in out
    assert "OK: " in out


@pytest.mark.slow
def test_validate_bad_data_lists_problems_without_traceback(tiny):
    lines = (tiny / "sessions.csv").read_text().splitlines()
    lines[2] = lines[2].replace("plc", "seminar")
    (tiny / "sessions.csv").write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "plevaluate.cli", "validate", str(tiny)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "row 3, column 'format', value 'seminar': expected one of workshop, coaching, plc" in result.stderr


def test_validate_missing_folder(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 1
    assert "expected a folder of CSV tables" in capsys.readouterr().err


def test_sample_command(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "d"), "--schools", "4", "--seed", "7"]) == 0
    assert (tmp_path / "d" / "truth.json").exists()
    assert main(["validate", str(tmp_path / "d")]) == 0
    assert main(["sample", str(tmp_path / "e"), "--schools", "2"]) == 2
    assert "at least 3 schools" in capsys.readouterr().err


def test_committed_sample_is_reproduced_exactly(tmp_path):
    assert main(["sample", str(tmp_path / "again")]) == 0
    files = sorted(p.name for p in SAMPLE.iterdir())
    assert files == sorted(p.name for p in (tmp_path / "again").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(SAMPLE, tmp_path / "again", files, shallow=False)
    assert mismatch == [] and errors == []


def test_committed_multi_year_sample_is_reproduced_exactly(tmp_path):
    # data/sample-years is what `plevaluate sample NEW --years 3 --cohorts 2` writes (its plan.yml too)
    years = SAMPLE.parent / "sample-years"
    assert main(["sample", str(tmp_path / "again"), "--years", "3", "--cohorts", "2"]) == 0
    files = sorted(p.name for p in years.iterdir())
    assert files == sorted(p.name for p in (tmp_path / "again").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(years, tmp_path / "again", files, shallow=False)
    assert mismatch == [] and errors == []


def test_sample_is_small_enough_to_commit():
    assert sum(p.stat().st_size for p in SAMPLE.iterdir()) < 5_000_000


def test_sample_shape_is_realistic(sample_district):
    d = sample_district
    truth = json.loads((SAMPLE / "truth.json").read_text())
    per_school = d.educators.groupby("school_id").size()
    assert 20 <= per_school.drop(truth["small_school"]).mean() <= 32
    assert per_school[truth["small_school"]] < d.plan.min_n
    assert set(d.sessions["format"]) == {"workshop", "plc", "coaching", "virtual", "learning_walk"}
    assert set(d.costs["funding_source"]) == {"Title I", "Title II", "Title IV", "General fund", "Curriculum adoption"}
    assert 8 <= d.survey_items["level"].eq(1).sum() <= 12
    assert d.survey_items["reverse_coded"].sum() == 1
    students = d.students["student_id"].nunique()
    assert 5_000 <= students <= 7_000
    assert d.reactions["response"].isna().any()  # item nonresponse
    assert (d.students["year"].eq(2026) & d.students["prior_score"].isna()).any()  # new students
    # the weak school's principal rarely attends; its conditions stay low
    principals = d.educators[d.educators["role"].eq("principal")].set_index("school_id")["educator_id"]
    attended = d.attendance.groupby("educator_id").size()
    assert attended.get(principals[truth["weak_school"]], 0) <= 3
    latest = d.conditions[d.conditions["date"].eq(d.conditions["date"].max())]
    by_school = latest.groupby("school_id")["rating"].mean()
    assert by_school[truth["weak_school"]] < by_school[truth["participant_schools"]].median()


def test_sample_scales_to_many_schools():
    tables, truth = generate(n_schools=60, seed=3)
    assert tables["schools"]["school_id"].is_unique and len(tables["schools"]) == 60
    assert truth["n_schools"] == 60 and len(truth["participant_schools"]) == 40


def test_environment_yml_lists_every_pyproject_dependency():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower() for d in deps}
    env = (ROOT / "environment.yml").read_text().lower()
    missing = sorted(n for n in names if not re.search(rf"^\s*-\s*{re.escape(n)}\b", env, re.M))
    assert missing == []
    assert "-e .[test]" in env or "-e .[dev]" in env


def test_readme_and_ci_run_the_same_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, re.S)
    test_command = next(c.strip() for c in commands if "pytest" in c)
    assert test_command in ci


@pytest.mark.parametrize("table", ["students", "educators"])
def test_sample_has_no_real_looking_identifiers(table):
    frame = pd.read_csv(SAMPLE / f"{table}.csv", dtype=str)
    column = "student_id" if table == "students" else "educator_id"
    assert frame[column].str.match(r"^(ST|E)\d+$").all()


@pytest.mark.slow
def test_readme_and_docs_python_examples_run(monkeypatch):
    # The Python snippets of README.md, then of docs/*.md by file name, each page's in order, run in one namespace
    # from the repository root (snippets about a user's own folder, "path/to/...", are skipped): documentation that
    # cannot rot.
    import warnings

    monkeypatch.chdir(ROOT)
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    blocks = [block for page in pages for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)]
    namespace: dict = {}
    ran = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            if "path/to" in block:
                continue
            if "district" not in namespace and "district" in block and "plevaluate.load" not in block:
                exec("import plevaluate\ndistrict = plevaluate.load('data/sample')", namespace)
            exec(block, namespace)
            ran += 1
    assert ran >= 4
