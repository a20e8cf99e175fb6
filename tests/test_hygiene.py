"""Hygiene the repository keeps: no dead code, a licence matching the package's, a changelog, no reference to
documents outside the repository."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "plevaluate"


def _exported(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    return set()


def test_no_function_or_class_is_defined_and_never_used():
    """A module-level function or class that nothing in the package (its code, notebooks, templates, entry points)
    names, and that its module does not export, is dead code: remove it rather than keep it for its tests."""
    sources = {path: path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}
    others = [p.read_text(encoding="utf-8", errors="replace") for p in PACKAGE.rglob("*") if p.is_file()
              and p.suffix in (".ipynb", ".html", ".j2", ".css", ".js", ".tpl")]  # fmt: skip
    everything = "\n".join([*sources.values(), *others, (ROOT / "pyproject.toml").read_text(encoding="utf-8")])
    words = Counter(re.findall(r"\w+", everything))
    dead = []
    for path, text in sources.items():
        tree = ast.parse(text)
        exported = _exported(tree)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name in exported or node.name.startswith("__"):
                    continue
                if words[node.name] <= 1:
                    dead.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert dead == []


def test_the_licence_file_is_the_one_the_package_declares():
    declared = re.search(r'license\s*=\s*\{\s*text\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert declared and declared.group(1) == "BSD-3-Clause"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("BSD 3-Clause License")
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_no_reference_to_documents_outside_the_repository():
    outside = re.compile(r"\b(DESIGN|STYLE|REFERENCES)\.md\b")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in (PACKAGE, ROOT / "tests", ROOT / "benchmarks")
        for path in folder.rglob("*.py")
        if path.name != "test_hygiene.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if outside.search(line)
    ]
    found += [f"{page.relative_to(ROOT)}:{n}" for page in [ROOT / "README.md", ROOT / "mkdocs.yml",
              *sorted((ROOT / "docs").rglob("*.md"))]
              for n, line in enumerate(page.read_text().splitlines(), 1) if outside.search(line)]  # fmt: skip
    assert found == []


def test_the_fast_loop_leaves_out_only_declared_markers_each_on_some_test():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    fast = re.search(r'pytest -m "not \(([^)]+)\)"', readme)
    assert fast, "the README documents the fast loop"
    markers = [m.strip() for m in fast.group(1).split(" or ")]
    declared = re.findall(r'^\s+"(\w+): ', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    for marker in markers:
        assert marker in declared, marker
        assert f"@pytest.mark.{marker}\n" in tests or f"pytestmark = pytest.mark.{marker}" in tests, marker
