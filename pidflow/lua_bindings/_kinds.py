"""The Lua entry kinds run by local hosts: ``process.lua`` and ``function.lua``; ``library.lua`` (shared code that
they import); and the checks that every entry with Lua code shares (``workflow.lua`` uses them too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._kind import Body, Function, Key, Kind, Reference
from ..entries import Entry, Registry
from ..errors import Error
from ._library import Imports, check_import_graph, check_imports, import_map, resolve_imports
from ._local import local_function, local_process_body
from ._modules import ALWAYS_AVAILABLE, registered_modules
from ._runtime import DEFAULT_MAX_MEMORY, compile_check
from ._state_pool import DEFAULT_POOL_SIZE, check_pool

if TYPE_CHECKING:
    from .._host import NodePort

#: The modules a Lua entry may list in ``modules``.
MODULES = frozenset({"process", "channel", "time", "funcs", "workflow", "ctx", "uuid", "crypto", "json", "errors",
                     "http", "pg"})
#: The source key of every entry with Lua code.
SOURCE_KEY = Key("source", "file://path.lua", "the Lua file, relative to the YAML file that declares the entry",
                 required=True)
#: The other keys of every entry with Lua code (``workflow.lua`` has them too).
CODE_KEY_DOCS = (
    Key("method", "string", "the function to run: a field of the table the file returns (a file that returns a "
                            "function runs that one)", default="main"),
    Key("modules", "list of strings", "the modules its code may require, of " + ", ".join(sorted(MODULES))
        + f" ({', '.join(sorted(ALWAYS_AVAILABLE))} are always available)", default="[]"),
    Key("imports", "mapping of alias to entry id", "the library.lua entries require(alias) loads (a bare name "
                                                   "is in the entry's namespace)", default="{}"),
)
CODE_KEYS = frozenset(key.name for key in CODE_KEY_DOCS)
_MAX_MEMORY = Key("max_memory", "integer (bytes)", "the limit of the process's Lua heap, its input and queued "
                                                   "messages included; over it the process ends with INTERNAL",
                  default=f"{DEFAULT_MAX_MEMORY} ({DEFAULT_MAX_MEMORY // 2**20} MiB)")
_POOL = Key("pool", "mapping", "the reusable Lua states of its calls (or of its processes that come and go), reset "
                              "to a clean state between two (docs/lua.md, Isolation: state pools)",
             default="{max_size: 16}",
             keys=(Key("max_size", "integer", "how many pooled states may exist at once (idle or running); 0: a "
                                              "fresh state every time", default=str(DEFAULT_POOL_SIZE)),
                   Key("type", "string", "the seed runtime's pool type (inline, lazy, static, adaptive): "
                                         "accepted; each call runs in a state of its own whichever it names"),
                   *(Key(name, "integer", "the seed runtime's pool setting: accepted, no effect")
                     for name in ("workers", "size", "buffer"))))
#: Shared Lua code: what ``imports:`` names.
LIBRARY_KIND = "library.lua"
#: A process-group scope: what the ``pg`` module's ``pg.open(id)`` opens (``_pg_module``, ``pidflow._groups``).
PG_SCOPE_KIND = "pg.scope"


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
    problems.extend(check_pool(entry.spec.get("pool")))
    return problems


def _process_body(node: "NodePort", entry: Entry) -> Body:
    return local_process_body(node, entry, lua_imports(entry, node.registry))


def _function(node: "NodePort", entry: Entry) -> Function:
    return local_function(node, entry, lua_imports(entry, node.registry))


# The seed runtime's pg.scope keys: what tunes its cluster mesh has nothing to tune on one node (accepted, so that
# its YAML loads, and checked); the two limits are not enforced (see docs/lua.md, Differences).
_PG_DURATIONS = {"protocol_timeout": "5s", "broadcast_timeout": "5s", "anti_entropy_interval": "30s",
                 "circuit_breaker_reset_time": "10s", "retry_base_delay": "100ms", "retry_max_delay": "1s"}
_PG_COUNTS = {"circuit_breaker_failures": "3", "max_retries": "3", "action_queue_size": "256",
              "action_queue_max_size": "1024", "monitor_buffer": "64", "max_groups": "0",
              "max_members_per_group": "0"}
_PG_SCOPE_KEYS = (
    *(Key(name, "duration", "the seed runtime's cluster tuning: accepted, no effect on one node", default=default)
      for name, default in _PG_DURATIONS.items()),
    *(Key(name, "integer", "the seed runtime's cluster tuning or limit: accepted, not enforced", default=default)
      for name, default in _PG_COUNTS.items()),
    Key("lifecycle", "mapping", "the seed runtime's service lifecycle: accepted; a scope is there from the node's "
                                "start", default="{}"),
)


def _check_pg_scope(entry: Entry) -> list[str]:
    problems = []
    for key, value in entry.spec.items():
        if key in _PG_DURATIONS and not (isinstance(value, str) or (isinstance(value, (int, float))
                                                                    and not isinstance(value, bool) and value >= 0)):
            problems.append(f"{key} must be a duration like '5s', got {value!r}")
        elif key in _PG_COUNTS and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            problems.append(f"{key} must be a non-negative integer, got {value!r}")
        elif key == "lifecycle" and not isinstance(value, dict):
            problems.append(f"lifecycle must be a mapping, got {value!r}")
    return problems


KINDS = (
    Kind(name="process.lua", check=_check_local_lua, references=import_references, check_graph=check_imports_of,
         body=_process_body, keys=(SOURCE_KEY, *CODE_KEY_DOCS, _MAX_MEMORY, _POOL),
         description="A Lua process: its own sandboxed Lua state on a local host, `main(input)` its body."),
    Kind(name="function.lua", check=_check_local_lua, references=import_references, check_graph=check_imports_of,
         function=_function, keys=(SOURCE_KEY, *CODE_KEY_DOCS, _MAX_MEMORY, _POOL),
         description="A Lua function for `node.call`, Lua `funcs.call` (an activity inside workflows) and "
                     "`http.endpoint` handlers; each call runs in a Lua state of its own, taken from the "
                     "entry's pool and reset to a clean state afterwards."),
    # a library is loaded by its importers' require: it builds nothing, and has no method
    Kind(name=LIBRARY_KIND, check=check_lua_code, references=import_references, check_graph=check_imports_of,
         keys=(SOURCE_KEY, *(key for key in CODE_KEY_DOCS if key.name != "method")),
         description="Shared Lua code that other Lua entries list under `imports` and load with `require`; its "
                     "`modules` are granted to every process that imports it."),
    Kind(name=PG_SCOPE_KIND, check=_check_pg_scope, keys=_PG_SCOPE_KEYS,
         description="A process-group scope: Lua's `pg.open(id)` opens it, Python's group calls take its id as "
                     "`scope=`; its groups are the node's (see [lua.md](lua.md#pg-process-groups))."),
)
