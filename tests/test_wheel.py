"""A wheel install, not an editable one, renders the sample: notebooks, templates and assets ship in the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import plevaluate
from tests.conftest import SAMPLE

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.wheel
def test_wheel_install_renders_the_sample(tmp_path):
    build = tmp_path / "build"
    shutil.copytree(
        ROOT,
        build,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "*.egg-info", "__pycache__", "build", "dist", "reports", ".pytest_cache"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(build),
        ],
        check=True,
    )
    wheel = next((tmp_path / "dist").glob("plevaluate-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "plevaluate/notebooks/school_report.ipynb",
        "plevaluate/notebooks/district_report.ipynb",
        "plevaluate/notebooks/board_summary.ipynb",
        "plevaluate/notebooks/technical_appendix.ipynb",
        "plevaluate/assets/report.css",
        "plevaluate/templates/plevaluate/index.html.j2",
    ):
        assert name in names, name
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "plevaluate._engine:WarmKernelEngine" in zipfile.ZipFile(wheel).read(entry_points).decode()

    # a fresh venv: the wheel installed, its dependencies taken from this environment (nothing downloads)
    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
    )
    where, source = subprocess.run(
        [str(python), "-c", "import plevaluate; print(plevaluate.__file__); print(plevaluate.version.SOURCE)"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert where.startswith(str(site)), where  # the installed copy, not the source tree
    # the same code installed as a wheel has the same digest as this editable install: a Dask worker with the wheel
    # is not refused as running other code (`plevaluate.cluster.check_workers`)
    assert source == plevaluate.version.SOURCE

    # the dependencies' data files (nbconvert's templates) are in this environment's share/jupyter, as a full
    # install would put them in the fresh one's
    env = {**os.environ, "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
    data = tmp_path / "sample"
    shutil.copytree(SAMPLE, data)
    done = subprocess.run(
        [
            str(fresh / "bin" / "plevaluate"),
            "report",
            str(data),
            "--out",
            str(tmp_path / "reports"),
            "--format",
            "html",
            "--quiet",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pages = sorted(p.name for p in (tmp_path / "reports").glob("*.html"))
    assert {"district-report.html", "board-summary.html", "technical-appendix.html", "logic-model.html",
            "index.html"} <= set(pages)  # fmt: skip
    assert len(pages) == 5 + 12  # every school of the sample; the logic model's notebook and styles ship in the wheel
