"""One sandboxed lupa state per Lua process, and the syntax check used by ``pidflow check``.

Design note: a process is one ``lupa.lua54.LuaRuntime`` (about 26 KB) plus the sandbox and the core (scheduler,
channels, value metatables), both compiled from text per state; modules are built lazily on first ``require``, so
an idle process pays for nothing it does not use. Rejected: sharing one Lua state between processes (a busy or
failing process could corrupt or starve the others, and ``max_memory`` is per state); Python objects visible in
Lua (every Python value is converted, and attribute access on the few Python callables Lua holds is refused).
"""

from __future__ import annotations

import importlib.resources
import logging
import re
from collections.abc import Callable
from typing import Any

import lupa.lua54 as lupa

from ..errors import Error, ErrorKind
from ._sandbox import SANDBOX_LUA
from ._values import Values

#: Default per-process Lua memory limit (bytes); ``LuaProcess(max_memory=...)`` overrides it.
DEFAULT_MAX_MEMORY = 32 * 1024 * 1024
#: Lua instructions between two calls of the preemption hook (one Python call per ~20-50 us of Lua).
HOOK_COUNT = 10_000

_log = logging.getLogger("pidflow.lua")
_CORE_LUA = importlib.resources.files(__package__).joinpath("_core.lua").read_text(encoding="utf-8")

_RAW_LOAD_LUA = "local load = load; return function(b, name) return load(b, name, 'b') end"
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


_GLUE_LUA = r"""
local S, pyreq, lazy = ...
local C = S.coroutine
coroutine.create, coroutine.resume, coroutine.wrap, coroutine.close, coroutine.spawn = C.create, C.resume, C.wrap, C.close, C.spawn
pcall, xpcall = S.pcall, S.xpcall
local loaded, rawset, type, error = {}, rawset, type, error
local function load_module(name, soft)
  local m = loaded[name]
  if m ~= nil then return m end
  local v, err = pyreq(name, soft)
  if err ~= nil then error(err, 3) end
  loaded[name] = v
  return v
end
require = function(name)
  if type(name) ~= "string" then error("require expects a module name (a string)", 2) end
  return load_module(name, false)
end
setmetatable(_G, {__index = function(_, k)
  if lazy[k] then
    local v = load_module(k, true)
    rawset(_G, k, v)
    return v
  end
end})
"""

_LOAD_LUA = "local load = load; return function(src, name) return load(src, name, 't') end"


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("Lua code cannot access attributes of Python objects")


def _line_of(message: str) -> int | None:
    m = re.search(r":(\d+):", message)
    return int(m[1]) if m else None


class Runtime:
    """A sandboxed Lua state with the core loaded. Internal: :class:`~._driver.LuaProcess` owns one.

    ``check`` is the preemption hook (return True to stop the running Lua code), ``src_poll(id)`` polls an
    external source, ``require(name, soft)`` builds a module; ``now_s``/``rand53`` are the deterministic sources
    (only used when ``deterministic``).
    """

    def __init__(
        self,
        *,
        max_memory: int,
        deterministic: bool,
        check: Callable[[], bool] | None,
        src_poll: Callable[[int], Any],
        require: Callable[[bytes, bool], Any],
        now_s: Callable[[], int] | None = None,
        rand53: Callable[[], int] | None = None,
    ) -> None:
        lua = self.lua = lupa.LuaRuntime(
            encoding=None,
            source_encoding="utf-8",
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_deny_attributes,
            max_memory=max_memory,
        )
        self.max_memory = max_memory
        opts = lua.table_from({
            b"check": check, b"hookcount": HOOK_COUNT, b"deterministic": deterministic,
            b"print": _print, b"now_s": now_s, b"rand53": rand53,
        })
        raw_load = lua.execute(_RAW_LOAD_LUA)  # binary loading, for our own chunks, before the sandbox removes it
        core_fn = raw_load(_bytecode("core", _CORE_LUA), b"=core")
        priv = raw_load(_bytecode("sandbox", SANDBOX_LUA), b"=sandbox")(opts)
        # kept on the Python side only (sandboxed code has no way to reach it): loads our own precompiled chunks
        self._raw_load = raw_load
        priv.src_poll = src_poll
        # the core must be loaded after the sandbox (it captures the sandboxed globals) and before user code
        self.core = core_fn(priv)
        self.load_builtin(_GLUE_LUA, "glue")(self.core, require, lua.table_from({b"channel": True, b"process": True, b"errors": True}))
        # lupa 2.8 returns (thread, value) for table indexing done from Python while Lua runs inside a coroutine
        # (calls are fine), so every core function is fetched here, once, outside any coroutine.
        core = self.core
        for name in ("start", "step", "complete", "source_ready", "blocking", "new_channel", "make_error",
                     "make_pid", "empty_array", "classify", "flat_map", "unpack"):
            setattr(self, name, core[name.encode()])
        self.channel_module = core[b"channel"]
        self._load = lua.execute(_LOAD_LUA)
        self.collect = lua.eval("function() collectgarbage('collect') end")
        self.tostring = lua.globals().tostring
        self.values = Values(lua, self, deterministic=deterministic)

    def load_builtin(self, source: str, name: str) -> Any:
        """Load one of pidflow's own Lua chunks (module code), compiled once per Python process and stripped of
        debug info: smaller per state, and faster than compiling text. Not for user code (no line numbers)."""
        return self._raw_load(_bytecode(name, source), ("=" + name).encode())

    def compile(self, source: str | bytes, chunkname: str) -> Any:
        """Compile text; a syntax error raises INVALID whose message is ``file:LINE: reason``."""
        src = source.encode("utf-8") if isinstance(source, str) else source
        result = self._load(src, chunkname.encode("utf-8"))
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
