"""One sandboxed lupa state per Lua process, and the syntax check used by ``pidflow check``.

Design note: a process is one ``lupa.lua54.LuaRuntime`` (about 16 KiB once the sandbox dropped the unused
libraries) plus the core (scheduler, channel receive, value metatables, ``require``), loaded as stripped bytecode
compiled once per Python process. What an idle process does not need is loaded into its state on first use:
the core's parts (``_core_channel.lua``, ``_core_timers.lua``, ``_core_coroutine.lua``, see ``_core.lua``) and
the modules (built on first ``require``). Core functions are fetched from Python on first use too (each fetched
one is a Python object per process). Rejected: sharing one Lua state between processes (a busy or failing
process could corrupt or starve the others, and ``max_memory`` is per state); Python objects visible in Lua
(every Python value is converted, and attribute access on the few Python callables Lua holds is refused).
"""

from __future__ import annotations

import importlib.resources
import logging
import re
from collections.abc import Callable
from typing import Any

import lupa.lua54 as lupa

from ..errors import Error, ErrorKind
from ._sandbox import SANDBOX_GLOBALS_LUA, SANDBOX_LUA
from ._values import Values

#: Default per-process Lua memory limit (bytes); ``LuaProcess(max_memory=...)`` overrides it.
DEFAULT_MAX_MEMORY = 32 * 1024 * 1024
#: Bytes above ``max_memory`` that lupa's allocator still grants. Python pushes values into a state outside any
#: protected Lua call, where a failing allocation aborts the interpreter (or deadlocks it, inside a callback): so
#: Lua code must leave this reserve free whenever it crosses into Python (the core checks), and Python checks
#: what it pushes against ``max_memory`` (``Values``); the small pushes nobody checks (topics, PIDs, error
#: objects, lupa's references) come out of the reserve.
MEMORY_RESERVE = 64 * 1024
#: Lua instructions between two calls of the preemption hook, at most (one Python call per ~20-50 us of Lua).
HOOK_COUNT = 10_000
#: The count a coroutine starts with; the driver grows it (doubling) while instructions are fast, so that a
#: coroutine whose first instructions are slow ones is pre-empted early (see ``LuaProcess._pace``).
INITIAL_HOOK_COUNT = 256

_log = logging.getLogger("pidflow.lua")


def _read(name: str) -> str:
    return importlib.resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


_CORE_LUA = _read("_core.lua")
#: The core's parts, loaded into a state on first use (see ``_core.lua``).
_CORE_PARTS = {name: _read(f"_core_{name}.lua")
               for name in ("channel", "timers", "coroutine", "values", "blocking", "guards", "match", "tick",
                            "where")}
_CORE_PARTS["globals"] = SANDBOX_GLOBALS_LUA

# binary loading of our own chunks, captured before the sandbox removes it: raw_load(bytecode, name[, env])
_RAW_LOAD_LUA = """
local load = load
return function(b, name, env)
  if env then return load(b, name, 'b', env) end
  return load(b, name, 'b')
end
"""
_bytecode_cache: dict[str, bytes] = {}


def _bytecode(name: str, source: str) -> bytes:
    """Our own chunks compiled once per Python process and stripped of debug info (saves ~7 KiB per state)."""
    key = name + "\0" + source
    code = _bytecode_cache.get(key)
    if code is None:
        lua = lupa.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
        code = _bytecode_cache[key] = lua.eval("function(s, n) return string.dump(assert(load(s, n, 't')), true) end")(
            source.encode("utf-8"), ("=" + name).encode())
    return code


def _part_bytecode(name: bytes) -> bytes:
    """Bytecode of one of the core's parts (called by the core's ``need``; one shared Python function)."""
    key = name.decode()
    return _bytecode("core." + key, _CORE_PARTS[key])


#: Core fields fetched from Python on first use (``Runtime.__getattr__``), with the part that defines them (None:
#: the core itself).
_EXPORTS: dict[str, bytes | None] = {
    "start": None, "step": None, "source_ready": None, "new_channel": None, "pyfn": None, "main": None,
    "lazy": None, "sethook": None, "hookfn": None, "setmetatable": None, "abort": None, "clock": b"tick", "complete": b"blocking", "pyblocking": b"blocking", "make_error": b"values",
    "empty_array": b"values", "classify": b"values", "flat_map": b"values",
    "unpack": b"values",
}

_LOAD_LUA = "local load = load; return function(src, name) return load(src, name, 't') end"


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("Lua code cannot access attributes of Python objects")


def _line_of(message: str) -> int | None:
    m = re.search(r":(\d+):", message)
    return int(m[1]) if m else None


class Runtime:
    """A sandboxed Lua state with the core loaded. Internal: :class:`~._driver.LuaProcess` owns one.

    ``check(n)`` is the preemption hook, called after ``n`` instructions (return True to stop the running Lua
    code, or the count of instructions before the next call), ``src_poll(id)`` polls an
    external source, ``require(name, soft)`` builds a module, ``pycall(fid, ...)``/``pysubmit(fid, ...)`` are the
    dispatchers of the Python functions made for Lua (``pyfn``/``pyblocking``); ``now_s``/``rand53`` are the
    deterministic sources (only used when ``deterministic``).

    The core's functions (``_EXPORTS``: ``step``, ``new_channel``, ``classify`` ...) are attributes fetched on
    first use. lupa 2.8 returns (thread, value) for table indexing done from Python while Lua runs inside a
    coroutine (calls are fine), so they are fetched by calling the core's ``export``, never by indexing. (Slots:
    attributes set lazily would give every process its own attribute dict.) ``abort`` is the core's termination
    token: a poll returns it to end the process at once (the Lua side raises it; no pcall catches it).
    """

    __slots__ = ("lua", "max_memory", "_load", "_gc", "_raw_load", "env", "core", "_export", "values",
                 *_EXPORTS)

    def __init__(
        self,
        *,
        max_memory: int,
        deterministic: bool,
        check: Callable[[int], bool | int] | None,
        src_poll: Callable[[int], Any],
        require: Callable[[bytes, bool], Any],
        pycall: Callable[..., Any] | None = None,
        pysubmit: Callable[..., Any] | None = None,
        lazy_globals: frozenset[str] = frozenset({"channel", "process", "errors"}),
        now_s: Callable[[], int] | None = None,
        rand53: Callable[[], int] | None = None,
        pool: bool = False,
    ) -> None:
        lua = self.lua = lupa.LuaRuntime(
            encoding=None,
            source_encoding="utf-8",
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_deny_attributes,
            max_memory=max_memory + MEMORY_RESERVE,
        )
        self.max_memory = max_memory
        opts = lua.table_from({
            b"check": check, b"hookcount": INITIAL_HOOK_COUNT, b"deterministic": deterministic,
            b"print": _print, b"now_s": now_s, b"rand53": rand53, b"pool": pool,
        })
        raw_load = lua.execute(_RAW_LOAD_LUA)
        # the unsandboxed load and collectgarbage, held by Python only: for user text (mode 't') and full collects
        globals_ = lua.globals()
        self._load, self._gc = globals_.load, globals_.collectgarbage
        core_fn = raw_load(_bytecode("core", _CORE_LUA), b"=core")
        priv = raw_load(_bytecode("sandbox", SANDBOX_LUA), b"=sandbox")(opts)
        if pool:  # a pooled state (``_snapshot.PooledRuntime``) keeps the helpers of its snapshot and reset
            self._init_pool(priv.pool)
        # kept on the Python side only (sandboxed code has no way to reach it): loads our own precompiled chunks
        self._raw_load = raw_load
        # the table Lua code knows as _G (the registry's global table is an empty one, see SANDBOX_LUA): the
        # environment of user chunks and of pidflow's module chunks
        self.env = priv.G
        priv.soft_kb = (lua.get_max_memory(True) - MEMORY_RESERVE) / 1024
        priv.src_poll = src_poll
        priv.require = require
        priv.pycall = pycall
        priv.pysubmit = pysubmit
        priv.raw_load_bin, priv.part = raw_load, _part_bytecode
        priv.lazy_globals = lua.table_from({name.encode(): True for name in lazy_globals})
        # the core must be loaded after the sandbox (it captures the sandboxed globals) and before user code
        self.core = core_fn(priv)
        self._export = self.core.export
        self.values = Values(self, deterministic=deterministic)
        # generational GC (stable in Lua 5.4.8): the garbage of each message dies young and is freed by minor
        # collections, so a process that handled messages idles with less garbage than under the incremental GC.
        # (Switching is a full collection, ~10 us: it also frees the garbage of making the state, which a state
        # with a small max_memory needs. Deferring it to the first idle left that garbage in states that never
        # idle, and the boundary fuzz froze lupa at a 64 KiB limit.)
        self._gc(b"generational")

    def _init_pool(self, helpers: Any) -> None:
        raise TypeError("only a PooledRuntime can be made with pool=True")

    def __getattr__(self, name: str) -> Any:
        if name not in _EXPORTS:
            raise AttributeError(name)
        value = self._export(name.encode(), _EXPORTS[name])
        setattr(self, name, value)
        return value

    def collect(self) -> None:
        """A full garbage collection of the state (no user code runs: the sandbox allows no ``__gc``)."""
        self._gc(b"collect")

    def memory_used(self) -> int:
        """Bytes the state uses above its empty size: what ``max_memory`` limits (no Lua code runs)."""
        used: int = self.lua.get_memory_used()
        return used

    @property
    def channel_module(self) -> Any:
        """The ``channel`` module table (loads the core's channel part)."""
        return self._export(b"channel")

    def load_builtin(self, source: str, name: str) -> Any:
        """Load one of pidflow's own Lua chunks (module code), compiled once per Python process and stripped of
        debug info: smaller per state, and faster than compiling text. Not for user code (no line numbers)."""
        return self._raw_load(_bytecode(name, source), ("=" + name).encode(), self.env)

    def compile(self, source: str | bytes, chunkname: str) -> Any:
        """Compile text; a syntax error raises INVALID whose message is ``file:LINE: reason``."""
        src = source.encode("utf-8") if isinstance(source, str) else source
        result = self._load(src, chunkname.encode("utf-8"), b"t", self.env)
        if isinstance(result, tuple):
            fn, msg = result[0], result[1]
        else:
            fn, msg = result, None
        if fn is None:
            text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
            raise Error(ErrorKind.INVALID, f"lua syntax error: {text}", details={"line": _line_of(text)})
        return fn


def _print(line: bytes) -> None:
    _log.info("%s", line.decode("utf-8", "replace") if isinstance(line, bytes) else line)


def compile_check(source: str | bytes, path: str) -> None:
    """Raise INVALID ``"lua syntax error: PATH:LINE: reason"`` (details ``file``, ``line``) if ``source`` does not
    compile; run nothing. Used by ``pidflow check`` and when an entry is loaded."""
    lua = lupa.LuaRuntime(encoding=None, register_eval=False, register_builtins=False, unpack_returned_tuples=True)
    load = lua.execute(_LOAD_LUA)
    src = source.encode("utf-8") if isinstance(source, str) else source
    result = load(src, ("@" + path).encode("utf-8"))
    if isinstance(result, tuple) and result[0] is None:
        text = result[1].decode("utf-8", "replace")
        raise Error(ErrorKind.INVALID, f"lua syntax error: {text}", details={"file": path, "line": _line_of(text)})
