"""Pools of reusable Lua states, one per Lua entry and node: the runs of a ``function.lua`` (``node.call`` /
``funcs.call``, and an HTTP endpoint's handler processes) and of a ``process.lua`` whose processes come and go.

Design note. Making a sandboxed Lua state with its core costs ~120 µs, and the parts and modules a run loads
into it as much again; a call that runs for microseconds paid that every time. A pool keeps the states of runs
that returned, reset to their clean point (``_snapshot``: every table, metatable and upvalue that existed
before the entry's code ran is put back as it was; whatever the run made becomes garbage), and runs the next
call or process of the same entry in one of them. The modules registered ``per_state`` (``http``, ``json``,
``channel``, ``process``) are built once per state, before its clean point, and read what belongs to a run
when called; the others, the context, the process and the Python side of the run are made anew per run
(:meth:`LuaProcess.rearm`), as in a fresh state.

A state is reused only after a run that returned a value. One whose run raised a Lua error, went over
``max_memory``, was terminated or cancelled, or returned ``nil, err``, is dropped: it may have been cut short in
the middle of pidflow's own Lua code, and an error path need not be fast. At most ``size`` pooled states exist
per pool (``pool.max_size`` of the entry, default :data:`DEFAULT_POOL_SIZE`); runs beyond that start at once on
fresh states, dropped afterwards, so the pool never limits concurrency (a call that calls its own entry cannot
wait for itself). ``size`` 0 turns pooling off.

A pooled state starts ~60 KiB fuller than a fresh one (preloaded parts and modules, the snapshot's copies). So
a ``process.lua`` pool is *seeded*: its processes run on fresh, lean states until one of them returned; an
entry whose processes idle for hours never gets a pooled state (the budget is 64 KiB per idle Lua process),
one whose processes come and go (a child that answers and ends) soon runs them all on pooled states.

Rejected: reusing a state without the reset (globals and module state would pass from one run to the next);
keeping every module across runs (most bind the run's context and process when built); pooled states for
every process (the idle-memory budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..entries import Entry
from ..errors import Error, ErrorKind
from ._driver import LuaProcess
from ._library import Imports
from ._trio_backend import TrioBackend

if TYPE_CHECKING:
    from .._host import NodePort
    from ._backend import LuaBackend

#: Pooled states per entry when the entry does not say (``pool.max_size``).
DEFAULT_POOL_SIZE = 16
#: An entry whose ``max_memory`` is below this runs on fresh states only: a pooled state starts ~60 KiB fuller
#: (its preloaded parts and snapshot), which a small limit would notice.
MIN_POOLED_MEMORY = 1 << 20
#: The key of the node's pools in ``node.resources``: (entry id, for processes) -> :class:`StatePool`.
RESOURCE = "lua_state_pools"
#: What an idle pooled process holds as its backend: nothing of its last caller. A pool for runs that are processes
#: (HTTP handlers, process.lua) says so with a placeholder process API, so that its states build the process module
#: before their clean point (its port is read per call: ``_ProcessModule.port``); ``node.call`` has no process.
_IDLE = TrioBackend()
_IDLE_PROCESS = TrioBackend(process_api=object())


def pool_size(entry: Entry) -> int:
    """``pool.max_size`` of a ``function.lua`` entry (the seed runtime's key), or the default; INVALID naming the
    entry when it is malformed (the kind's check reports the same at load)."""
    problems = check_pool(entry.spec.get("pool"))
    if problems:
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: {problems[0]}")
    pool = entry.spec.get("pool") or {}
    size = pool.get("max_size", DEFAULT_POOL_SIZE)
    return int(size)


#: The seed runtime's pool types: accepted; each call runs in a state of its own whichever is named.
POOL_TYPES = frozenset({"inline", "lazy", "static", "adaptive"})


def check_pool(pool: Any) -> list[str]:
    """Problems of a ``pool`` key: a mapping with ``max_size`` (idle states kept, >= 0) and optionally the seed's
    ``type``, ``workers``, ``size``, ``buffer`` (accepted, see docs/lua.md)."""
    if pool is None:
        return []
    if not isinstance(pool, Mapping):
        return [f"pool must be a mapping (max_size: N), got {type(pool).__name__}"]
    problems = []
    for key, value in pool.items():
        if key == "type":
            if value not in POOL_TYPES:
                problems.append(f"pool.type must be one of {', '.join(sorted(POOL_TYPES))}, got {value!r}")
        elif key in ("max_size", "workers", "size", "buffer"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f"pool.{key} must be a whole number >= 0, got {value!r}")
        else:
            problems.append(f"pool: unknown key {key!r} (known: max_size, type, workers, size, buffer)")
    return problems


class StatePool:
    """The pooled Lua states of one entry (see the module docstring). Not thread-safe: it lives on the node's
    trio loop, like the processes that use it.

    ``seeded`` (``process.lua``): until one of the entry's processes has returned, its processes run on fresh,
    lean states; after that, a process that finds no idle state gets a new pooled one while fewer than ``size``
    exist. So an entry whose processes never end never has a pooled state (an idle process keeps its lean state:
    the budget is 64 KiB per idle Lua process); one whose processes come and go ends up running them all on
    pooled states. Without ``seeded`` (``function.lua``) a call that finds no idle state makes a pooled one while
    fewer than ``size`` exist, else a fresh one."""

    def __init__(self, entry: Entry, imports: Imports | None, *, max_memory: int, size: int | None = None,
                 seeded: bool = False, process: bool = False) -> None:
        self.entry = entry
        self._idle_backend = _IDLE_PROCESS if process else _IDLE
        self._source = entry.read_source()
        self._path = entry.source_name
        self._method = entry.method or "main"
        self._imports = imports
        self._max_memory = max_memory
        self.seeded = seeded
        size = pool_size(entry) if size is None else size
        #: At most this many pooled states exist (idle or running a call); 0: none (a small ``max_memory`` too).
        self.size = size if max_memory >= MIN_POOLED_MEMORY else 0
        self._idle: list[LuaProcess] = []
        #: Pooled states in existence: idle, or running a call.
        self.live = 0
        #: Runs that returned on a fresh state (a seeded pool makes pooled states once there was one).
        self.returned = 0
        #: Counters (tests, docs): states made (pooled or fresh), calls that reused one, pooled states dropped.
        self.created = 0
        self.reused = 0
        self.dropped = 0

    def _new(self, backend: "LuaBackend[Any]", pooled: bool) -> LuaProcess:
        entry = self.entry
        proc = LuaProcess(entry_id=entry.id, source=self._source, path=self._path, method=self._method,
                          modules=entry.modules, backend=backend, max_memory=self._max_memory,
                          imports=self._imports, pooled=pooled)
        self.created += 1
        if pooled:
            self.live += 1
        return proc

    def prepare(self) -> None:
        """Make one state now, so that a syntax error fails at build time (INVALID ``file:LINE``); a pool that
        is not seeded keeps it for its first call."""
        pooled = not self.seeded and self.size > 0
        proc = self._new(self._idle_backend, pooled)
        if pooled:
            self._idle.append(proc)  # never ran: at its clean point

    def take(self, backend: "LuaBackend[Any]") -> LuaProcess:
        """A process ready to run once for a caller (``backend``: its context, process, function runner)."""
        if self._idle:
            proc = self._idle.pop()
            self.reused += 1
        elif self.live < self.size and (not self.seeded or self.returned):
            proc = self._new(self._idle_backend, True)  # (made with a backend holding nothing of the caller)
        else:
            return self._new(backend, False)
        try:
            proc.rearm(backend)
        except BaseException:
            self.live -= 1
            self.dropped += 1
            raise
        return proc

    def ended(self, proc: LuaProcess, returned: bool) -> None:
        """``proc`` ran (``returned``: its call returned a value): keep its state for the next call, or let it go."""
        if proc.pooled:
            try:
                kept = returned and proc.recycle(self._idle_backend)
            except Exception:  # noqa: BLE001 - a reset that fails drops the state, never the caller's result
                kept = False
            if kept:
                self._idle.append(proc)
            else:
                self.live -= 1
                self.dropped += 1
        elif returned:
            self.returned += 1

    async def run(self, backend: "LuaBackend[Any]", args: tuple[Any, ...]) -> Any:
        """Run the entry once for a caller: ``main(input)`` for one argument (a process's input), ``main(a, b,
        ...)`` for any other count. Only a call that returned a value gives its state back."""
        proc = self.take(backend)
        try:
            result = await proc.run_function(list(args))  # (one argument: the same call as run(input))
        except BaseException:
            self.ended(proc, False)
            raise
        self.ended(proc, True)
        return result

    @property
    def idle(self) -> int:
        """States waiting for a call."""
        return len(self._idle)


def state_pool(node: "NodePort", entry: Entry, imports: Imports | None, max_memory: int, *,
               seeded: bool = False, process: bool = False) -> StatePool:
    """The pool of ``entry`` on ``node`` for runs that are processes (``process``) or calls (made on first use,
    with one state: see :meth:`StatePool.prepare`; a new one when the entry was reloaded). A function entry that
    is both an HTTP handler and called with ``funcs.call`` has a pool for each: only the first has a process."""
    pools: dict[tuple[str, bool], StatePool] = node.resources.setdefault(RESOURCE, {})
    key = (entry.id, process)
    pool = pools.get(key)
    if pool is None or pool.entry is not entry:
        pool = pools[key] = StatePool(entry, imports, max_memory=max_memory, seeded=seeded, process=process)
        pool.prepare()
    return pool
