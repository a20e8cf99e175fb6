"""The package's structure, checked from its source: no import circle, a file's import block names what it
depends on, and no private name is used outside its module (#30).

The import graph is read with `ast` from every module of ``plevaluate/`` (imports under ``if TYPE_CHECKING:``
are for annotations only and never run, so they are left out). To see it yourself::

    python -c "from tests.test_architecture import graph, circles; print(circles(graph()))"
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "plevaluate"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {module: ast.parse(path.read_text(encoding="utf-8")) for module, path in MODULES.items()}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside |= {id(child) for statement in node.body for child in ast.walk(statement)}
    return inside


def _imports(module: str) -> list[tuple[ast.stmt, str, list[str]]]:
    """Every import of a plevaluate module in ``module`` that runs: (node, imported module, names taken)."""
    path, tree = MODULES[module], TREES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip = _type_checking_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    found.append((node, f"{source}.{alias.name}", []))
                elif source in MODULES:
                    found.append((node, source, [alias.name]))
        elif isinstance(node, ast.Import):
            found += [(node, alias.name, []) for alias in node.names if alias.name in MODULES]
    return [(node, target, names) for node, target, names in found if target != module]


def graph() -> dict[str, set[str]]:
    """Module -> the plevaluate modules it imports (at run time)."""
    return {module: {target for _, target, _ in _imports(module)} for module in MODULES}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_reader_of_circles_finds_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert circles(graph()) == []


def test_plevaluate_modules_are_imported_at_the_top_of_a_file():
    # a file's import block tells what it depends on: no plevaluate module imported inside a function
    inner = []
    for module, path in MODULES.items():
        tree = TREES[module]
        top = {id(node) for node in tree.body}
        top |= {id(n) for node in tree.body if isinstance(node, ast.If | ast.Try) for n in ast.walk(node)}
        inner += [
            f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {target}"
            for node, target, _ in _imports(module)
            if id(node) not in top
        ]
    assert inner == []


def test_no_private_name_is_used_outside_its_module():
    used = []
    for module, path in MODULES.items():
        tree = TREES[module]
        aliases = {}
        for node, target, names in _imports(module):
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            used += [
                f"{where} takes {target}.{name}" for name in names if name.startswith("_") and name != "__version__"
            ]
            if not names:
                for alias in node.names:
                    aliases[alias.asname or alias.name.rpartition(".")[2]] = target
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                used.append(
                    f"{path.relative_to(PACKAGE.parent)}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}"
                )
    assert used == []


def _level_numbers_outside_levels() -> list[str]:
    """Places outside plevaluate/levels/ that name a level by its number: a table looked up by number
    (``ev.table(4, ...)``, ``levels[0]``, ``levels.get(5)``, ``registry.get(3)``) or a loop over fixed numbers
    (``range(1, 6)``, ``(1, 2, 3, 4, 5)``)."""
    found = []
    for module, path in MODULES.items():
        if module.startswith("plevaluate.levels"):
            continue
        where = path.relative_to(PACKAGE.parent)
        for node in ast.walk(TREES[module]):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                first = node.args[0]
                named = node.func.attr == "table" or (
                    node.func.attr == "get" and "level" in ast.unparse(node.func.value)
                )
                if named and isinstance(first, ast.Constant) and type(first.value) is int:
                    found.append(f"{where}:{node.lineno} {ast.unparse(node)}")
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.slice, ast.Constant)
                and type(node.slice.value) is int
            ):
                if "level" in ast.unparse(node.value):
                    found.append(f"{where}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "range" and len(node.args) == 2:
                if all(isinstance(a, ast.Constant) for a in node.args) and node.args[1].value == 6:
                    found.append(f"{where}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Tuple) and len(node.elts) >= 3:
                values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
                if len(values) == len(node.elts) and values in ([1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]):
                    found.append(f"{where}:{node.lineno} {ast.unparse(node)}")
    return found


def test_no_level_is_named_by_its_number_outside_its_package():
    # the shared layers loop over the registry (or are handed the level list): a level added by a plugin
    # reaches every report, and a built-in level's tables are read only by its own package
    assert _level_numbers_outside_levels() == []
