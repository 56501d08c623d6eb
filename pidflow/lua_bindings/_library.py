"""Libraries: shared Lua code (``library.lua`` entries) that other Lua entries list under ``imports:`` and load
with ``require(alias)``.

Design note. An entry's imports are resolved once, when its process body, function or worker is built, into an
:class:`Imports`: the aliases of the entry *and of every library it reaches*, in one namespace per process (as
the seed runtime preloads every library of the import graph under its alias: a library's ``require("x")`` finds
its own import ``x``), each naming a :class:`Library` (id, source text, chunk name); and the union of their
``modules``: a library's modules are granted to the process that imports it, as in the seed runtime, so the
library's own ``require("json")`` works whatever its importer lists. The resolution reads the sources, so a
running process (and a workflow, whose worker read them when it started) never sees a library change.

A library runs in the importer's Lua state, in its sandbox and with its globals, the first time the process
requires one of its aliases; the core's ``require`` caches the result per alias (an alias that is never
required costs nothing). Its top level runs inside that ``require`` call, pre-empted like any Lua code: it may
define functions and tables, call non-blocking functions, ``require`` further aliases, but not block (a
``time.sleep`` there fails the ``require``: a C call boundary lies between the two).

Rejected: an environment and a ``require`` per library (the seed runtime shares one global table, and code
written for it relies on a library's ``require`` seeing the aliases of the whole graph); resolving imports on
each ``require`` (a registry lookup and a file read per process, and a changed file would differ mid-run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import Error, ErrorKind

if TYPE_CHECKING:
    from ..entries import Entry, Registry
    from ._modules import ModuleContext


@attrs.frozen
class Library:
    """One ``library.lua`` entry as a process loads it: its id, source text and chunk name (``file.lua``)."""

    id: str
    source: str = attrs.field(repr=False)
    path: str


@attrs.frozen
class Imports:
    """What one entry's ``require`` can load besides modules: ``aliases`` (alias -> :class:`Library`, the whole
    import graph) and ``modules`` (the modules those libraries list, granted to the importing process)."""

    aliases: Mapping[str, Library]
    modules: tuple[str, ...] = ()

    def __contains__(self, alias: object) -> bool:
        return alias in self.aliases

    def load(self, ctx: "ModuleContext", alias: str) -> Any:
        """Run the library of ``alias`` in the calling process's state; its result (``true`` when it returns
        nothing, as Lua's ``require``), or ``nil, err`` naming the library. Called by the process's ``require``."""
        library = self.aliases[alias]
        try:
            chunk = ctx.compile(library.source, "@" + library.path)
            result = ctx.call_protected(chunk)
        except Error as exc:
            message = exc.message
            if "attempt to yield" in message:
                message += " (a library's top level runs inside require and must not block: wait in its functions)"
            return None, ctx.to_lua(Error(exc.kind, f"require('{alias}'): library {library.id}: {message}",
                                          retryable=exc.retryable, details=exc.details))
        return True if result is None else result


def import_map(entry: "Entry") -> dict[str, str]:
    """``imports`` of an entry: alias -> qualified entry id (malformed items are left to :func:`check_imports`)."""
    raw = entry.spec.get("imports")
    if not isinstance(raw, Mapping):
        return {}
    namespace = entry.namespace
    return {alias: (target if ":" in target else f"{namespace}:{target}")
            for alias, target in raw.items() if isinstance(alias, str) and alias and isinstance(target, str) and target}


def check_imports(entry: "Entry", reserved: Iterable[str]) -> list[str]:
    """Problems of the ``imports`` key itself: a mapping of alias to entry id, no alias a module name."""
    raw = entry.spec.get("imports")
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        return [f"imports must be a mapping of alias to library entry id, got {type(raw).__name__}"]
    reserved = frozenset(reserved)
    problems = []
    for alias, target in raw.items():
        if not isinstance(alias, str) or not alias:
            problems.append(f"imports: alias {alias!r} must be a non-empty string")
        elif alias in reserved:
            problems.append(f"imports.{alias}: the alias is the name of a built-in module; choose another alias")
        if not isinstance(target, str) or not target:
            problems.append(f"imports.{alias}: must be a library entry id, got {target!r}")
    return problems


def _walk(entry: "Entry", registry: "Registry", kind: str, *, strict: bool) -> tuple[Imports | None, list[str]]:
    """Resolve the import graph of ``entry`` (libraries are entries of ``kind``). Problems: import cycles that
    pass through ``entry`` and aliases naming two libraries; with ``strict`` also unknown and non-library
    targets (else left to the reference checks) and any cycle below, and the sources are read."""
    aliases: dict[str, Library] = {}
    declared_by: dict[str, str] = {}
    libraries: dict[str, Library] = {}
    modules: list[str] = []
    problems: list[str] = []

    def visit(importer: "Entry", path: tuple[str, ...]) -> None:
        for alias, target_id in import_map(importer).items():
            target = registry.find(target_id)
            if target is None or target.kind != kind:
                if strict:
                    what = "unknown entry" if target is None else f"a {target.kind}, not a library"
                    problems.append(f"imports.{alias} of {importer.id} refers to {target_id}: {what}")
                continue
            if target_id in path:
                cycle = path[path.index(target_id):] + (target_id,)
                if strict or cycle[0] == entry.id:
                    problems.append(f"import cycle: {' -> '.join(cycle)}")
                continue
            library = libraries.get(target_id)
            if library is None:
                source = target.read_source() if strict else ""
                library = libraries[target_id] = Library(target_id, source, target.source_name if strict else "")
                modules.extend(m for m in target.modules if m not in modules)
                visit(target, (*path, target_id))
            previous = aliases.get(alias)
            if previous is not None and previous.id != target_id:
                problems.append(f"imports: alias '{alias}' names {previous.id} (imports of {declared_by[alias]}) and "
                                f"{target_id} (imports of {importer.id}); one process has one namespace of aliases")
                continue
            aliases[alias] = library
            declared_by.setdefault(alias, importer.id)

    visit(entry, (entry.id,))
    return (Imports(aliases, tuple(modules)) if aliases else None), problems


def resolve_imports(entry: "Entry", registry: "Registry", kind: str) -> Imports | None:
    """The :class:`Imports` of ``entry`` (None when it imports nothing), sources read now; INVALID naming the
    entry for an unknown or non-library target, an import cycle or an alias naming two libraries."""
    if not entry.spec.get("imports"):
        return None
    imports, problems = _walk(entry, registry, kind, strict=True)
    if problems:
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: " + "; ".join(dict.fromkeys(problems)))
    return imports


def check_import_graph(entry: "Entry", registry: "Registry", kind: str) -> list[str]:
    """Load-time problems of ``entry``'s import graph that need the other entries: a cycle through it, an alias
    naming two libraries (unknown and non-library targets are reported by the reference checks)."""
    if not entry.spec.get("imports"):
        return []
    return list(dict.fromkeys(_walk(entry, registry, kind, strict=False)[1]))
