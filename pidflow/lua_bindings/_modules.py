"""The registry of Lua modules and the context their factories get.

A module is a factory ``factory(ctx: ModuleContext) -> value`` registered under a name. It runs lazily, the
first time a process ``require``\\ s the name (or touches one of the always-available globals ``channel``,
``process``, ``errors``), once per process; the result (a Lua table, or Python data converted to one) is cached
for that process. The ``process`` and ``workflow`` modules are registered by their hosts; the rest by
:mod:`._stdlib`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import lupa.lua54 as _lupa

from ._values import ArgNames

if TYPE_CHECKING:
    from ._backend import LuaBackend
    from ._driver import LuaProcess

ModuleFactory = Callable[["ModuleContext"], Any]

_registry: dict[str, ModuleFactory] = {}

#: Modules every process may use without listing them in ``modules``; they are also globals.
ALWAYS_AVAILABLE = frozenset({"channel", "process", "errors"})

# ModuleContext.call_protected: the sandbox's pcall (the coroutine part's: it lets the termination token through)
_PCALL_LUA = "local pcall = pcall; return function(f) local ok, v = pcall(f); return ok, v end"


_per_state: set[str] = set()


def register_module(name: str, factory: ModuleFactory, *, replace: bool = False, per_state: bool = False) -> None:
    """Make ``require(name)`` build its module with ``factory(ctx)``; registering a name twice is an error unless
    ``replace=True`` (tests, hosts that specialise a module).

    ``per_state``: the module may be built once per Lua state and serve every run of it. A pooled state
    (``_state_pool``) then builds it before its clean point instead of once per call: its Lua tables are put back
    by the state's reset, and the Python objects behind the functions it made get their attributes back as they
    were at the clean point (containers copied) before each call. So the factory, and those objects, must read
    what belongs to a run when they are called, through ``ctx.backend`` (the running process's backend: its
    context, its process API), or be given it: an object with a ``rearm(backend)`` method gets each run's backend
    before the run. The ``http`` module finds its request through the current exchange; the ``process`` module
    keeps its port, set by its ``rearm``."""
    if not replace and name in _registry:
        raise ValueError(f"lua module {name!r} is already registered; pass replace=True to override it")
    _registry[name] = factory
    if per_state:
        _per_state.add(name)
    else:
        _per_state.discard(name)


def is_per_state(name: str) -> bool:
    """Was ``name`` registered as ``per_state`` (see :func:`register_module`)?"""
    return name in _per_state


def module_factory(name: str) -> ModuleFactory | None:
    return _registry.get(name)


def registered_modules() -> frozenset[str]:
    return frozenset(_registry)


class ModuleContext:
    """What a module factory may use. All Lua-callable functions it makes convert values (see ``_values``) and
    follow Lua's convention: failures come back as ``nil, err``, never as raised Python exceptions."""

    def __init__(self, process: "LuaProcess") -> None:
        self._process = process
        self.entry_id: str = process.entry_id
        self.deterministic: bool = process.backend.deterministic
        #: The Lua core table (new_channel, make_error, add_timer, sleep_until, channel ...). Pass it to chunks
        #: run with :meth:`load_lua`; do not index it (or any Lua table) from Python while Lua runs: lupa 2.8
        #: returns wrong values for table indexing from Python inside Lua coroutines (calls are fine).
        self.core: Any = process._rt.core

    @property
    def backend(self) -> "LuaBackend[Any]":
        """The running process's backend (its context, process API, function runner): read it when called (a
        module built once per pooled state serves many runs, see :func:`register_module`)."""
        return self._process.backend

    @property
    def channel_module(self) -> Any:
        """The ``channel`` module table (channel.new, channel.select, channel.default)."""
        return self._process._rt.channel_module

    @property
    def make_error(self) -> Any:
        """``make_error(kind, message, retryable, details)`` -> a Lua error value (arguments as Lua strings)."""
        return self._process._rt.make_error

    @property
    def values(self) -> Any:
        """The process's value converter (``to_lua``/``from_lua``), for hot paths that skip these wrappers."""
        return self._process._rt.values

    def to_lua(self, value: Any) -> Any:
        return self._process._rt.values.to_lua(value)

    def from_lua(self, value: Any) -> Any:
        return self._process._rt.values.from_lua(value)

    def function(self, fn: Callable[..., Any], *, raw: bool = False, name: Any = None,
                 args: tuple[int | str, ...] = ()) -> Any:
        """A Lua function calling a synchronous ``fn``: arguments converted to Python (unless ``raw``), the
        result converted to Lua; a raised :class:`Error` (or any exception, boxed INTERNAL) returns ``nil, err``.
        (A small Lua closure over the process's one Python dispatcher: see ``LuaProcess._function``.)

        With ``name`` (the call as Lua code writes it, ``"process.listen"``), an argument that cannot be
        converted (a function, a coroutine) fails naming the call and the argument
        (``process.listen: argument #2: a Lua function cannot be converted to data``); ``args`` says what the
        Python parameters are to the caller (see :class:`ArgNames`; by default the same positions). It costs
        nothing until an argument fails (one list slot per named function)."""
        return self._process._function(fn, raw, None if name is None else ArgNames.of(name, args))

    def blocking(self, async_fn: Callable[..., Awaitable[Any]], *, name: Any = None,
                 args: tuple[int | str, ...] = ()) -> Any:
        """A Lua function that starts ``async_fn(*args)`` on the backend, parks the calling Lua coroutine (other
        coroutines keep running) and returns its result, or ``nil, err`` if it raised. One mechanism for every
        blocking call (``funcs.call``, ``process.exec``, signals from workflows ...). ``name`` and ``args``: as
        for :meth:`function`."""
        return self._process._blocking(async_fn, None if name is None else ArgNames.of(name, args))

    def source_channel(self, source: Any, convert: Callable[[Any], Any] | None = None, make: Any = None) -> Any:
        """A receive-only Lua channel over an external source (``receive_nowait()`` raising ``trio.WouldBlock``
        when empty and ``trio.EndOfChannel`` when closed; ``async receive()``). Works with ``receive`` and in
        ``channel.select``; order is preserved and nothing taken from the source is lost while the process runs.
        ``convert(item)`` makes the Lua value (default: the value rules). One channel per source object.

        With ``make`` (a Lua function), ``convert`` returns a tuple of up to three Lua values and the channel
        hands ``make(...)`` to the receiver: the object is built in Lua, without a call back into Lua from
        inside the poll (the per-message hot path of ``process.inbox()``)."""
        return self._process._source_channel(source, convert, make)

    @property
    def core_setmetatable(self) -> Any:
        """Lua's own ``setmetatable``, for pidflow's module chunks (the global one refuses ``__gc`` and is loaded on
        first use): never hand it to user code."""
        return self._process._rt.setmetatable

    def core_lazy(self, loader: Any) -> Any:
        """A Lua function that gets its implementation from the Lua function ``loader`` on its first call."""
        return self._process._rt.lazy(loader)

    def table(self, **fields: Any) -> Any:
        """A Lua table of already-Lua values (functions made with :meth:`function`, :meth:`blocking` ...)."""
        return self._process._rt.lua.table_from({k.encode(): v for k, v in fields.items()})

    def load_lua(self, source: str, name: str, *args: Any) -> Any:
        """Run a Lua chunk (text, chunk name ``=name``) with ``args`` as its ``...`` and return its result. The chunk
        is compiled once per Python process and loaded stripped of debug info (its errors carry no line)."""
        return self._process._rt.load_builtin(source, name)(*args)

    def compile(self, source: str, chunkname: str) -> Any:
        """Compile *user* Lua text (a library) into a function of the process's sandbox and globals, with line
        information (``chunkname`` ``@file.lua``); a syntax error raises INVALID ``"lua syntax error: ..."``."""
        return self._process._rt.compile(source, chunkname)

    def call_protected(self, fn: Any) -> Any:
        """Call the Lua function ``fn`` (user code) from inside a call from Lua and return its first result. Its
        error raises :class:`Error` (an error object keeps its kind; a message is INTERNAL with its file:line);
        when the process is being stopped meanwhile, the core's termination token is returned: hand it back
        to Lua as the result (the core ends the process with it). ``fn`` must not block: it runs inside a C call."""
        process = self._process
        try:
            ok, value = self.load_lua(_PCALL_LUA, "pcall")(fn)
        except _lupa.LuaError:  # only the termination token passes the pcall
            if process._stopping:
                return process._rt.abort
            raise
        if ok:
            return value
        if process._stopping:
            return process._rt.abort
        raise process._as_error(value, None, None)
