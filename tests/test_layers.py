"""The package is layered: no import cycle (imports inside functions count, ``if TYPE_CHECKING:`` ones do not),
the core imports no runtime package, and the names of the built-in kinds are written where kinds are declared."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pidflow

PACKAGE = Path(pidflow.__file__).parent
RUNTIMES = ("pidflow.actors", "pidflow.lua_bindings", "pidflow.supervision", "pidflow.temporal_host", "pidflow.http",
            "pidflow.observer")
#: Modules below the hosts and runtimes: they must not import any of them.
CORE = ("pidflow.node", "pidflow.entries", "pidflow._kind", "pidflow._host", "pidflow._api", "pidflow._process",
        "pidflow._mailbox", "pidflow._events", "pidflow._pid", "pidflow.errors", "pidflow.codec", "pidflow._names",
        "pidflow._bookkeeper", "pidflow._introspection")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules that ``path`` imports, resolved to the most specific module that exists."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = _type_checking_nodes(tree)
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names)
    resolved = set()
    for target in targets:
        while target and target not in modules and "." in target:
            target = target.rpartition(".")[0]
        if target in modules and target != name:
            resolved.add(target)
    return resolved


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, modules) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_reaches_no_runtime_package() -> None:
    graph = import_graph()
    for module in CORE:
        runtime = sorted(m for m in reachable(graph, module) if m.startswith(RUNTIMES))
        assert runtime == [], f"{module} imports {runtime}"


def test_the_graph_sees_function_level_imports_and_ignores_type_checking_ones() -> None:
    graph = import_graph()
    assert "pidflow.temporal_host._host" in graph["pidflow.temporal_host._kinds"]  # imported inside a function
    assert "pidflow.node" not in graph["pidflow._host"]  # only under TYPE_CHECKING


def test_built_in_kind_names_are_written_only_where_kinds_are_declared() -> None:
    names = {kind.name for kind in pidflow.builtin_kinds()}
    pattern = re.compile(r"""["'](%s)["']""" % "|".join(re.escape(n) for n in names))
    allowed = {"_kinds.py", "_protocol.py"}
    offenders = [f"{path.relative_to(PACKAGE)}:{n}" for path in PACKAGE.rglob("*.py") if path.name not in allowed
                 for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
