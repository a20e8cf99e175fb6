"""The documentation (#30): the MkDocs site builds without a warning, every page is in the navigation, and the
README stays a landing page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


class _MkDocsLoader(yaml.SafeLoader):
    """Reads mkdocs.yml, whose `!relative` tag (a path relative to the config) plain YAML does not know."""


_MkDocsLoader.add_constructor("!relative", lambda loader, node: loader.construct_scalar(node))


def _nav_pages(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for entry in nav for page in _nav_pages(entry)]
    if isinstance(nav, dict):
        return [page for entry in nav.values() for page in _nav_pages(entry)]
    return []


def test_docs_build_strict_without_warnings(tmp_path):
    # --strict turns warnings into a failure; the output is also searched, so a warning that mkdocs does not count
    # (a plugin's) fails too. NO_MKDOCS_2_WARNING silences Material's notice about its own end of life, which is
    # printed on every build and says nothing about these pages.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    warnings = [line for line in output.splitlines() if re.match(r"\s*(WARNING|ERROR)\b", line)]
    assert warnings == [], output
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "api" / "index.html").exists()


def test_every_docs_page_is_in_the_nav():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_MkDocsLoader)
    in_nav = _nav_pages(config["nav"])
    pages = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    assert sorted(in_nav) == pages
    assert len(in_nav) == len(set(in_nav))


def test_the_changelog_page_includes_the_changelog_rather_than_a_copy():
    page = (DOCS / "changelog.md").read_text(encoding="utf-8")
    assert '--8<-- "CHANGELOG.md"' in page
    assert "## [Unreleased]" not in page


def test_readme_is_a_landing_page_under_200_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200, len(lines)
    linked = set(re.findall(r"\(docs/([\w-]+\.md)(?:#[\w-]+)?\)", "\n".join(lines)))
    assert linked == {str(path.relative_to(DOCS)) for path in DOCS.glob("*.md")} - {"changelog.md"}
