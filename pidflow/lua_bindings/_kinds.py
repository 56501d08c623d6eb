"""The Lua entry kinds run by local hosts: ``process.lua`` and ``function.lua``; and the checks that every entry
with Lua code shares (``workflow.lua`` uses them too)."""

from __future__ import annotations

from .._kind import Kind
from ..entries import Entry
from ..errors import Error
from ._local import local_function, local_process_body
from ._runtime import compile_check

#: The modules a Lua entry may list in ``modules``.
MODULES = frozenset({"process", "channel", "time", "funcs", "workflow", "ctx", "uuid", "crypto", "json", "errors"})
#: The keys of every entry with Lua code.
CODE_KEYS = frozenset({"method", "modules"})


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
    return problems


def _check_local_lua(entry: Entry) -> list[str]:
    problems = check_lua_code(entry)
    value = entry.spec.get("max_memory")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        problems.append(f"max_memory must be a positive number of bytes, got {value!r}")
    return problems


KINDS = (
    Kind(name="process.lua", required={"source"}, optional=CODE_KEYS | {"max_memory"}, check=_check_local_lua,
         body=local_process_body),
    Kind(name="function.lua", required={"source"}, optional=CODE_KEYS | {"max_memory"}, check=_check_local_lua,
         function=local_function),
)
