"""The Lua entry kinds run by local hosts: ``process.lua`` and ``function.lua``; ``library.lua`` (shared code that
they import); and the checks that every entry with Lua code shares (``workflow.lua`` uses them too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._kind import Body, Function, Kind, Reference
from ..entries import Entry, Registry
from ..errors import Error
from ._library import Imports, check_import_graph, check_imports, import_map, resolve_imports
from ._local import local_function, local_process_body
from ._modules import ALWAYS_AVAILABLE, registered_modules
from ._runtime import compile_check

if TYPE_CHECKING:
    from .._host import NodePort

#: The modules a Lua entry may list in ``modules``.
MODULES = frozenset({"process", "channel", "time", "funcs", "workflow", "ctx", "uuid", "crypto", "json", "errors",
                     "http"})
#: The keys of every entry with Lua code.
CODE_KEYS = frozenset({"method", "modules", "imports"})
#: Shared Lua code: what ``imports:`` names.
LIBRARY_KIND = "library.lua"


def check_lua_code(entry: Entry) -> list[str]:
    """``source`` is an existing ``file://`` that compiles; ``modules`` are known; ``method`` is a string."""
    spec, problems = entry.spec, []
    source = spec.get("source")
    if source is not None:
        if not isinstance(source, str) or not source.startswith("file://"):
            problems.append(f"source must be file://path.lua, got {source!r}")
        elif not entry.source_path.is_file():
            problems.append(f"source file {entry.source_path} does not exist")
        else:
            try:
                compile_check(entry.source_path.read_text(), entry.source_name)
            except Error as exc:
                problems.append(f"source: {exc.message}")
    modules = spec.get("modules", [])
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        problems.append("modules must be a list of module names")
    else:
        problems.extend(f"unknown module {m!r} in modules (known: {', '.join(sorted(MODULES))})"
                        for m in modules if m not in MODULES)
    if "method" in spec and not isinstance(spec["method"], str):
        problems.append("method must be a string")
    problems.extend(check_imports(entry, MODULES | ALWAYS_AVAILABLE | registered_modules()))
    return problems


def import_references(entry: Entry) -> list[Reference]:
    """The libraries an entry with Lua code imports (``imports.ALIAS`` must name a ``library.lua``)."""
    return [Reference(f"imports.{alias}", target, kinds=(LIBRARY_KIND,)) for alias, target in import_map(entry).items()]


def check_imports_of(entry: Entry, registry: Registry) -> list[str]:
    """Load-time problems of an entry's import graph: a cycle through it, an alias naming two libraries."""
    return check_import_graph(entry, registry, LIBRARY_KIND)


def lua_imports(entry: Entry, registry: Registry) -> Imports | None:
    """The libraries an entry's ``require`` loads, sources read now (None when it imports none); INVALID
    naming the entry when the graph is broken (see ``_library``)."""
    return resolve_imports(entry, registry, LIBRARY_KIND)


def _check_local_lua(entry: Entry) -> list[str]:
    problems = check_lua_code(entry)
    value = entry.spec.get("max_memory")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        problems.append(f"max_memory must be a positive number of bytes, got {value!r}")
    return problems


def _process_body(node: "NodePort", entry: Entry) -> Body:
    return local_process_body(node, entry, lua_imports(entry, node.registry))


def _function(node: "NodePort", entry: Entry) -> Function:
    return local_function(node, entry, lua_imports(entry, node.registry))


KINDS = (
    Kind(name="process.lua", required={"source"}, optional=CODE_KEYS | {"max_memory"}, check=_check_local_lua,
         references=import_references, check_graph=check_imports_of, body=_process_body),
    Kind(name="function.lua", required={"source"}, optional=CODE_KEYS | {"max_memory"}, check=_check_local_lua,
         references=import_references, check_graph=check_imports_of, function=_function),
    # a library is loaded by its importers' require: it builds nothing, and has no method
    Kind(name=LIBRARY_KIND, required={"source"}, optional={"modules", "imports"}, check=check_lua_code,
         references=import_references, check_graph=check_imports_of),
)
