"""The driver: runs one Lua process on a :class:`LuaBackend`.

Design note. Lua runs in scheduler *steps*: ``core.step(now)`` resumes every runnable Lua coroutine until all
are parked, then reports the earliest timer. Between steps the driver awaits, on the backend, that timer or a
wakeup (a blocking Python call finished, an external source delivered). Preemption comes from an
instruction-count hook that calls :meth:`LuaProcess._check` every ``HOOK_COUNT`` instructions:

* ``TimeSlice`` (trio): each step runs in a greenlet; after the slice the hook switches back to the driver's
  greenlet, which awaits ``backend.checkpoint()`` (other trio tasks run) and switches back in. Terminating (or
  cancelling) the process makes the hook raise a private token that no ``pcall`` can catch.
* ``Budget`` (workflows): no greenlet (nothing may await mid-activation); past the budget the hook stops the
  Lua code and the process fails with an error that names the entry.

Rejected: running Lua in a worker thread (lupa holds the state's lock, a thread cannot be killed, and workflows
forbid threads); ``lua_sethook`` from C (not reachable through lupa).

The hook counts instructions, not time, and one instruction can be slow (comparing, copying or sorting a value
of many megabytes). So the hook paces itself: it gets the count that just ran out, and when those instructions
took longer than ``_PERIOD_SLOW`` it asks Lua to call it after proportionally fewer (down to one); fast periods
double the count back (see :meth:`LuaProcess._pace`). Slow instructions that allocate (building big strings)
also run the collector, whose finalizer tick (``_core.lua``) makes the hook come at the next instruction. C
functions whose single call could run unbounded (backtracking patterns ...) are guarded in Lua
(``_core_guards.lua``); finalizers never run user code (no ``__gc``).

Isolation at the boundary: every Python function made for Lua returns a value or ``nil, err``, never raises
into Lua (a Python exception would reach Lua code as a userdata). When one must end the process (a value over
the memory limit, see ``_values``), it records the error in ``_abort``, stops the process and sets the calling
coroutine's hook to fire at the next instruction (a poll answers the core's termination token instead): the
process ends with that error.
"""

from __future__ import annotations

import asyncio
import collections
import re
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

import attrs
import greenlet
import trio

import logging

import lupa.lua54 as lupa

from ..errors import Error, ErrorKind
from . import _stdlib  # noqa: F401  (registers the built-in modules)
from .._events import Message
from ._admission import SCALAR_MESSAGE, item_size
from ._backend import Budget, LuaBackend
from ._library import Imports
from ._modules import ALWAYS_AVAILABLE, ModuleContext, is_per_state, module_factory
from ._runtime import DEFAULT_MAX_MEMORY, HOOK_COUNT, Runtime
from ._snapshot import PRELOADED_MEMBERS, PooledRuntime, clean_objects, restore_objects
from ._values import ArgNames, OverMemory

_log = logging.getLogger("pidflow.lua")
# Hook pacing (see the module docstring): a period of instructions slower than _PERIOD_SLOW shrinks the count
# so that periods take about _PERIOD_TARGET; one faster than a quarter of it grows the count back.
_PERIOD_SLOW = 0.002
_PERIOD_TARGET = 0.0005
# The allocation tick is armed at a process's _TICK_AFTER-th hook call (it computes), or at once when its heap
# is past _TICK_HEAP (big values: their operations are the slow ones).
_TICK_AFTER = 4
_TICK_HEAP = 1 << 20
_MEMORY_ERRORS = (OverMemory, lupa.LuaMemoryError)

_EMPTY = (trio.WouldBlock, asyncio.QueueEmpty)
_CLOSED = (trio.EndOfChannel, trio.ClosedResourceError, trio.BrokenResourceError)


class _Deferred:
    """The task group of a process that has not needed one yet: tasks started are kept until the driver opens
    the real group (right after the step that started them, see ``_run_main``)."""

    __slots__ = ("tasks",)

    def __init__(self) -> None:
        self.tasks: list[Callable[[], Coroutine[Any, Any, Any]]] = []

    def start_soon(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self.tasks.append(fn)


@attrs.frozen
class _NeedsGroup:
    """What ``_loop`` returns when a step started helper tasks before the process had a task group."""

    status: tuple[Any, ...]
    first: bool

# Steps run in pooled "runner" greenlets: creating a greenlet per step costs ~9 us, switching into a parked one
# ~0.5 us. A runner is busy while its step is preempted and goes back to the pool when the step ends; it keeps
# no reference to the process between steps.
_DONE = object()
_PREEMPTED = object()


class _Runners(threading.local):
    def __init__(self) -> None:
        self.idle: list[greenlet.greenlet] = []


_RUNNERS = _Runners()


def _runner_main(job: tuple[Any, ...]) -> None:
    while True:
        caller, fn, *args = job
        job = None  # type: ignore[assignment]
        fn(*args)
        fn = args = None  # type: ignore[assignment]
        job = caller.switch(_DONE)


_POSITION = re.compile(r"^[^\s:]+:\d+: ")


def _has_position(text: str) -> bool:
    """Does a Lua error message start with ``file:LINE:``?"""
    return _POSITION.match(text) is not None


def _take_runner() -> greenlet.greenlet:
    idle = _RUNNERS.idle
    while idle:
        g = idle.pop()
        if not g.dead:
            return g
    return greenlet.greenlet(_runner_main)


class _Source:
    """An external source behind a Lua channel. An *observed* source (one with ``observe(callback)``, like
    :class:`pidflow.actors.Mailbox`) is polled with ``receive_nowait`` and calls back on every put, so it needs
    no helper task; any other source gets a pump task that moves its items into ``buffer``."""

    __slots__ = ("source", "convert", "buffer", "pumping", "closed", "channel", "observed", "waiting", "owner", "sid",
                 "parts", "gated")

    def __init__(self, source: Any, convert: Callable[[Any], Any], channel: Any, observed: bool) -> None:
        self.source = source
        self.convert = convert
        self.buffer: collections.deque[Any] | None = None if observed else collections.deque()
        self.pumping = False
        self.closed = False
        self.channel = channel
        self.observed = observed
        self.waiting = False  # observed only: Lua found it empty, so the next put must wake the driver
        self.owner: LuaProcess | None = None  # observed only: the process to wake (on_put), and our id there
        self.sid = 0
        self.parts = False  # convert returns the arguments of the channel's Lua `make` (see source_channel)
        self.gated = False  # the driver put its gate on the mailbox (local processes)

    def on_put(self) -> None:
        """The observed source's callback (a bound method: cheaper than a closure per source)."""
        if self.waiting:
            self.waiting = False
            assert self.owner is not None  # set with waiting (source_channel)
            self.owner._source_ready(self.sid)


class LuaProcess:
    """One Lua process: ``module[method](input)`` from ``source`` as the main coroutine.

    Construction compiles the source (a syntax error raises INVALID ``"lua syntax error: PATH:LINE: ..."``);
    :meth:`run` executes it once and returns the converted result or raises :class:`Error`:

    * ``return value`` -> ``value``; ``return nil, err`` -> raises ``err`` (a string becomes INTERNAL; a
      second value after a non-nil first one is ignored);
    * ``error(...)`` or a failing spawned coroutine -> INTERNAL with ``file.lua:LINE`` (an error object raised
      with ``error(err)`` keeps its kind), traceback in ``details``;
    * memory above ``max_memory`` (the Lua heap, a value given to Lua that does not fit, or queued messages
      plus the heap) -> INTERNAL, not retryable, "exceeded its memory limit"; every coroutine blocked with
      nothing that could wake one -> INTERNAL "deadlock";
    * :meth:`terminate` (or cancelling the task running :meth:`run`) stops even a busy loop -> TERMINATED
      (cancellation propagates as cancellation).

    ``modules`` is the entry's capability list (``channel``, ``process`` and ``errors`` are always allowed);
    ``imports`` the libraries its ``require`` loads by alias (see ``_library``), whose modules it may use too.
    """

    # (slots: past 30 attributes an instance no longer shares its attribute dict's keys, and an idle process would
    # pay a whole dict)
    __slots__ = ("entry_id", "backend", "_modules", "_budget", "_slice", "_slice_start", "_stopping", "_over_budget",
                 "_parent", "_greenlet", "_step_out", "_tg", "_wakeup", "_ops", "_op_seq", "_completions",
                 "_sources", "_ready_sources", "_ctx", "_fns", "_started", "_stepping", "_abort", "_gated",
                 "_queued", "_recheck", "_hooks", "_last_hook", "_rearmed", "ended_by", "_rt", "_main",
                 "_imports", "__weakref__")
    _ctx: ModuleContext | None
    #: The Python functions made for Lua (ModuleContext.function/.blocking), by id (see ``_register``).
    _fns: list[Any]

    def __init__(
        self,
        *,
        entry_id: str,
        source: str | bytes,
        path: str,
        backend: LuaBackend[Any],
        method: str = "main",
        modules: Iterable[str] = (),
        max_memory: int = DEFAULT_MAX_MEMORY,
        imports: Imports | None = None,
        pooled: bool = False,
    ) -> None:
        self.entry_id = entry_id
        self._modules = tuple(modules)  # the entry's extra modules (often the shared empty tuple)
        #: The libraries ``require`` can load (``_library``); their modules are granted to this process too.
        self._imports = imports
        if imports is not None:
            self._modules += imports.modules
        self._init_run(backend, max_memory)
        det = backend.deterministic
        if pooled and det:
            raise ValueError("a deterministic (workflow) Lua state cannot be pooled")
        self._rt = (PooledRuntime if pooled else Runtime)(
            max_memory=max_memory,
            deterministic=det,
            check=self._check,
            src_poll=self._src_poll,
            require=self._require,
            pycall=self._pycall,
            pysubmit=self._pysubmit,
            # the entry's modules are globals too, built on first access, as the always-available ones: code
            # written for the seed runtime (the workflow spec's HTTP handler) uses `http`, `json` unrequired
            lazy_globals=ALWAYS_AVAILABLE.union(self._modules) if self._modules else ALWAYS_AVAILABLE,
            now_s=(lambda: backend.now_ns() // 1_000_000_000) if det else None,
            rand53=(lambda: int.from_bytes(backend.random_bytes(7), "big") >> 3) if det else None,
            pool=pooled,
        )
        chunk = self._rt.compile(source, "@" + path)
        main_args = (chunk, method.encode(), entry_id.encode(), path.encode(), True)
        if pooled:
            # a pooled state: the clean point is here, before any code of the entry ran (see _snapshot); each run
            # makes its own main wrapper (rearm), so the chunk's top level runs again, with fresh locals. The
            # per_state modules it may use are built now, once, with their common members (the pool passes a
            # backend that holds nothing of a caller); the others per call, on first use, as in a fresh state.
            rt = self._rt
            assert isinstance(rt, PooledRuntime)
            for name in sorted(ALWAYS_AVAILABLE.union(self._modules)):
                if is_per_state(name):
                    rt.preload_module(name, PRELOADED_MEMBERS.get(name, ()))
            rt.main_args = main_args
            rt.clean_fns = tuple(self._fns)
            rt.clean_objects = clean_objects(self._fns, self)
            rt.snapshot(chunk)
            self._ctx = None
            self._hooks = _TICK_AFTER  # the tick part is preloaded (armed once per state)
        self._main = self._rt.main(*main_args)

    @property
    def pooled(self) -> bool:
        """Its state can be reset and reused (made with ``pooled=True``, see ``_state_pool``)."""
        return self._rt.__class__ is PooledRuntime

    def rearm(self, backend: LuaBackend[Any]) -> None:
        """Make a pooled process that ran and was :meth:`recycle`\\ d ready to run again, for a new caller
        (``backend``: its context and process). Its Lua state is at its clean point already."""
        rt = self._rt
        assert isinstance(rt, PooledRuntime)
        self._init_run(backend, rt.max_memory)
        self._fns = list(rt.clean_fns)  # (the functions of the modules built before the clean point)
        for obj, _ in rt.clean_objects:  # the modules built before the clean point that keep the run's backend
            rearm = getattr(obj, "rearm", None)
            if rearm is not None:
                rearm(backend)
        self._hooks = _TICK_AFTER
        self._main = rt.main(*rt.main_args)

    def recycle(self, idle: LuaBackend[Any]) -> bool:
        """After a run of a pooled process: put its Lua state back to its clean point (see ``_snapshot``) and
        drop what the run left on the Python side. False when it must not be reused: it did not return (a Lua
        error, its memory limit, terminated or cancelled: whatever it was doing was cut short), or the reset
        failed."""
        rt = self._rt
        if self.ended_by != "returned" or self._abort is not None or not isinstance(rt, PooledRuntime):
            return False
        # what the run left on the Python side goes now (rearm makes the rest anew): its module context and
        # functions, its sources and completions, the backend with the caller's context and process (``idle``: a
        # backend holding nothing in their place)
        self._init_run(idle, rt.max_memory)
        self._fns = list(rt.clean_fns)
        self._main = None
        try:
            rt.reset()
        except Exception:  # noqa: BLE001 - over its memory limit while rewriting: not reusable
            return False
        restore_objects(rt.clean_objects)
        return True

    def _init_run(self, backend: LuaBackend[Any], max_memory: int) -> None:
        """The Python state of one run, as a new process has it (also what :meth:`rearm` puts back)."""
        self.backend = backend
        self._budget = isinstance(backend.preemption, Budget)
        self._slice = backend.preemption.seconds
        self._slice_start = 0.0
        self._stopping = False
        self._over_budget = False
        self._parent: greenlet.greenlet | None = None
        self._greenlet: greenlet.greenlet | None = None
        self._step_out: tuple[Any, ...] | None = None
        self._tg: Any = None
        self._wakeup: Any = None
        self._ops = 0
        self._op_seq = 0
        self._completions: list[tuple[int, Any, Error | None]] = []
        self._sources: dict[int, _Source] = {}
        self._ready_sources: list[int] = []  # ids of sources with news for Lua (a list: no set per idle process)
        self._ctx = None
        self._fns = [None]
        self._started = False
        self._stepping = False  # inside core.step: only there may the hook stop or pre-empt the Lua code
        #: Why the process must end, set by a Python function made for Lua (see the module docstring) or a gate.
        self._abort: Error | None = None
        #: The mailboxes this process gates (local processes; see _admission and _admit) and the estimated bytes
        #: they hold; past _recheck queued bytes, each delivery reads the Lua heap again (see _admit).
        self._gated: list[Any] = []
        self._queued = 0
        self._recheck = max_memory // 2
        self._hooks = 0  # hook calls so far, up to _TICK_AFTER (then the allocation tick is armed)
        self._last_hook = 0.0  # when the hook last ran (see _pace)
        self._rearmed = False  # the hook's last answer changed the count (see _pace)
        #: How the last run ended: "returned" (a value, or ``nil, err``), "raised" (a Lua error), "terminated",
        #: "budget" (Budget preemption) or "memory" (over ``max_memory``). Hosts use it: in a workflow "returned"
        #: and "budget" end the workflow, anything else fails the workflow task.
        self.ended_by: str | None = None

    # ------------------------------------------------------------ running

    async def run(self, input: Any = None) -> Any:
        """Run the process to its end; see the class docstring for results and failures. Runs once."""
        return await self._run_main(self._input([input]))

    async def run_function(self, args: list[Any]) -> Any:
        """Like :meth:`run` for a ``function.lua`` entry: ``method(...)`` with positional ``args``."""
        return await self._run_main(self._input(list(args)))

    def _input(self, args: list[Any]) -> Any:
        """The packed arguments of the main function, as a Lua table ({n = #args, ...})."""
        values = self._rt.values
        try:
            packed: dict[int | bytes, Any] = {i + 1: values.to_lua(a, 1) for i, a in enumerate(args)}
            packed[b"n"] = len(args)
            values.fit(sum(len(v) + 40 for v in packed.values() if type(v) is bytes) + 96 + 80 * len(packed))
            return self._rt.lua.table_from(packed)
        except _MEMORY_ERRORS:
            raise self._memory_error("its input does not fit") from None

    async def _run_main(self, packed_args: Any) -> Any:
        if self._started:
            raise RuntimeError("a LuaProcess runs only once")
        self._started = True
        self._rt.start(self._main, packed_args)
        self._install_gates()
        outcome: list[Any] = []
        # The task group for helper tasks (blocking calls, pumps) is opened when a step first asks for one: a
        # process that never blocks on Python (a function that computes and returns, a child that sends and ends,
        # a process parked on its inbox) never pays for a nursery (~10 us, ~1.5 KB while it idles).
        deferred = self._tg = _Deferred()
        self._wakeup = self.backend.new_event()
        try:
            try:
                result = await self._loop()
                if result.__class__ is _NeedsGroup:
                    async with self.backend.open_task_group() as tg:
                        self._tg = tg
                        for fn in deferred.tasks:
                            tg.start_soon(fn)
                        deferred.tasks = []
                        try:
                            result = await self._loop(result.status, result.first)
                        except Error as exc:  # raised inside the group: caught there, so no ExceptionGroup wraps it
                            outcome[:] = [False, exc]
                if not outcome:
                    outcome[:] = [True, result]
            except Error as exc:
                outcome[:] = [False, exc]
        finally:
            self._stopping = True
            self._tg = None
            for s in self._sources.values():
                if s.observed:
                    s.source.observe(None)
            for mailbox in self._gated:
                mailbox.gate(None)
        if not outcome[0]:
            raise outcome[1]
        return outcome[1]

    async def _loop(self, parked: tuple[Any, ...] | None = None, first: bool = True) -> Any:
        """Step and wait until the main function ends: its result (or its error raised). Returns a
        :class:`_NeedsGroup` when a step asked for helper tasks before the task group is open; ``_loop(status,
        first)`` of it goes on from there (``parked``: the status of the step that just ran)."""
        while True:
            if self._stopping:
                self.ended_by = "terminated" if self._abort is None else self._ended_by_abort()
                raise self._abort or Error(ErrorKind.TERMINATED, f"process of {self.entry_id} was terminated",
                                           retryable=False)
            if parked is None:
                status = await self._step()
                if status[0] != b"wait":
                    return self._result(status)
                if self._tg.__class__ is _Deferred and self._tg.tasks:
                    return _NeedsGroup(status, first)
            else:
                status, parked = parked, None
            deadline = status[1]
            if first:  # drop the garbage of compiling and starting (~20 KiB) before the process idles
                first = False
                if self._rt.__class__ is Runtime:  # (a pooled state was collected at its clean point)
                    self._rt.collect()
            if deadline is None and not (self._ops or self._completions or self._ready_sources
                                         or self._a_source_can_wake()):
                raise Error(ErrorKind.INTERNAL, f"deadlock in {self.entry_id}: every coroutine is blocked "
                            "and nothing can wake one (a channel nobody sends to?)", retryable=False)
            await self.backend.wait(self._wakeup, deadline)

    def _a_source_can_wake(self) -> bool:
        for s in self._sources.values():  # a loop, not any(<genexpr>): this runs on every wait
            if s.pumping or s.waiting:
                return True
        return False

    def terminate(self) -> None:
        """Stop the process at its next instruction-hook call or wakeup; :meth:`run` raises TERMINATED."""
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()

    def lua_where(self) -> str | None:
        """``file.lua:LINE`` where the main coroutine waits (a receive, a select, a sleep, a blocking call), read
        from the Lua state now, for an observer (``Node.process_info``); None while Lua runs (a step, pre-empted or
        not), before the start and after the end, and in workflows (their state is Temporal's to show). Costs
        nothing until asked: the core part that reads it (``_core_where.lua``) is loaded on the first call."""
        if (not self._started or self._stopping or self._stepping or self._greenlet is not None or self._budget
                or self.ended_by is not None):
            return None
        try:
            where = self._rt._export(b"where", b"where")()
        except Exception:  # noqa: BLE001 - a state over its memory limit: it cannot say, and ends anyway
            return None
        return where.decode("utf-8", "replace") if isinstance(where, bytes) else None

    def pending_items(self, source: Any) -> list[Any]:
        """Items already taken from ``source`` but not yet received by Lua (to carry over on continue-as-new)."""
        s = self._find_source(source)
        return [] if s is None else list(s.buffer or ())

    async def _step(self) -> tuple[Any, ...]:
        rt, values = self._rt, self._rt.values
        core = rt
        # a fresh event before Lua runs: anything finishing during the step (preemption points) sets this one
        self._wakeup = self.backend.new_event()
        completions = self._completions
        if completions:
            self._completions = []
        for op_id, value, err in completions:
            try:
                try:
                    core.complete(op_id, values.to_lua(value), None if err is None else values.to_lua(err))
                except _MEMORY_ERRORS:
                    raise
                except Error as exc:
                    core.complete(op_id, None, values.to_lua(exc))
            except _MEMORY_ERRORS:
                raise self._memory_error("a result given to it does not fit") from None
        ready = self._ready_sources
        channels: tuple[Any, ...] = ()
        if ready:
            self._ready_sources = []
            if len(ready) > 1:
                ready.sort()
            channels = tuple(self._sources[sid].channel for sid in ready)
        now = self.backend.monotonic()
        self._slice_start = time.perf_counter()
        if self._budget:
            self._call_step(now, channels)
            out, self._step_out = self._step_out, None
            assert out is not None  # _call_step always sets it
            return out
        caller = self._parent = greenlet.getcurrent()
        g = self._greenlet = _take_runner()
        g.gr_context = caller.gr_context
        self._step_out = None
        signal: Any = None
        try:
            signal = g.switch((caller, self._call_step, now, channels))
            while signal is _PREEMPTED:  # let the loop run, then continue the step
                try:
                    await self.backend.checkpoint()
                except BaseException:
                    self._stopping = True
                    signal = g.switch()  # the hook now raises the termination token and the step unwinds
                    raise
                self._slice_start = time.perf_counter()
                signal = g.switch()
            out, self._step_out = self._step_out, None
            assert out is not None  # _call_step always sets it
            return out
        finally:
            self._greenlet = None
            if signal is _DONE:
                g.gr_context = None  # an idle runner must not keep the task's context (and the node) alive
                _RUNNERS.idle.append(g)

    def _call_step(self, now: float, channels: tuple[Any, ...] = ()) -> None:
        self._stepping = True
        try:
            out = self._rt.step(now, *channels)
        except Exception as exc:  # lupa.LuaMemoryError at the top level, or a lupa error
            # (the hook also fires in the scheduler's own code, outside any task: stopping there raises TERM
            # out of the step)
            self._step_out = (b"terminated",) if self._stopping else (b"python", exc)
            return
        finally:
            self._stepping = False
        self._step_out = out if isinstance(out, tuple) else (out,)

    def _check(self, n: int = HOOK_COUNT) -> bool | int:
        """The instruction hook, called when the running coroutine's count ``n`` of instructions ran out: True
        stops the running Lua code (uncatchably); a number asks for the next call after that many instructions
        (see :meth:`_pace`). Only inside a step: elsewhere it is pidflow's own Lua running for Python (making the
        state, handing a result over), which TERM must not interrupt."""
        if not self._stepping:
            return False
        if self._stopping:
            return True
        now = time.perf_counter()
        if self._hooks < _TICK_AFTER:
            self._hooks += 1
            if self._hooks == _TICK_AFTER or self._rt.memory_used() > _TICK_HEAP:
                self._arm_tick()
        count = self._pace(now, n)
        if now - self._slice_start < self._slice:
            return count
        if self._budget:
            self._over_budget = self._stopping = True
            return True
        if self._greenlet is None or greenlet.getcurrent() is not self._greenlet:
            return count
        assert self._parent is not None  # set with _greenlet
        self._parent.switch(_PREEMPTED)
        return self._stopping or count

    def _arm_tick(self) -> None:
        """Arm the allocation tick (``_core_tick.lua``): for a process that computes, not one that idles."""
        self._hooks = _TICK_AFTER
        try:
            self._rt.clock  # noqa: B018 - fetching it loads the tick part, which arms itself
        except Exception:  # noqa: BLE001 - no memory left to load it: the count alone paces the hook
            pass

    def _pace(self, now: float, n: int) -> int | bool:
        """A new count for the running coroutine's hook, or False to keep ``n``: proportionally fewer instructions
        when the last ``n`` took longer than ``_PERIOD_SLOW`` (shrink at once), eight times as many when they took
        less than half of ``_PERIOD_TARGET`` (grow in steps, so that slow instructions mixed with fast ones keep it
        low). Few changes: each costs a walk of the coroutine's call stack (``lua_sethook`` marks every frame), and
        the period after a change, which includes that walk, decides nothing (at a deep stack the walk alone would
        look like slow instructions, and keep the count at one)."""
        last = self._last_hook
        self._last_hook = now
        if last < self._slice_start:
            last = self._slice_start
        if self._rearmed:
            self._rearmed = False
            return False
        period = now - last
        if not isinstance(n, int) or n < 1:
            n = 1
        if period > _PERIOD_SLOW and n > 1:
            self._rearmed = True
            return max(1, int(n * _PERIOD_TARGET / period))
        if period < _PERIOD_TARGET / 2 and n < HOOK_COUNT:
            self._rearmed = True
            return min(HOOK_COUNT, n * 8)
        return False

    def _result(self, status: tuple[Any, ...]) -> Any:
        values = self._rt.values
        tag = status[0]
        if tag == b"done":
            value, err = (tuple(status[1:]) + (None, None))[:2]
            if value is None and err is not None:
                self.ended_by = "returned"
                raise self._as_error(err, None, None)
            self.ended_by = "returned"
            return values.from_lua(value)
        if tag == b"terminated":
            if self._abort is not None or (len(status) > 1 and status[1]):
                error = self._abort or self._memory_error()
                self.ended_by = self._ended_by_abort(error)
                raise error
            self.ended_by = "budget" if self._over_budget else "terminated"
            if self._over_budget:
                raise Error(ErrorKind.INTERNAL, f"{self.entry_id} ran Lua for more than {self._slice:g} s without "
                            "waiting; move heavy computation into funcs.call (a function entry)", retryable=False)
            raise Error(ErrorKind.TERMINATED, f"process of {self.entry_id} was terminated", retryable=False)
        self.ended_by = "raised"
        if tag == b"python":
            exc = status[1]
            if isinstance(exc, lupa.LuaMemoryError):
                raise self._memory_error()
            raise Error.wrap(exc)
        err, where, tb, text = (tuple(status[1:]) + (None, None, None, None))[:4]
        raise self._as_error(err, where, tb, text)

    def _memory_error(self, why: str | None = None) -> Error:
        """The error a process ends with when it goes over ``max_memory`` (``ended_by`` "memory")."""
        text = f"{self.entry_id} exceeded its Lua memory limit of {self._rt.max_memory} bytes"
        self.ended_by = "memory"
        return Error(ErrorKind.INTERNAL, f"{text}: {why}" if why else text, retryable=False,
                     details={"limit": "max_memory", "max_memory": self._rt.max_memory})

    def _ended_by_abort(self, error: Error | None = None) -> str:
        error = error or self._abort
        details = error.details if error is not None else None
        return "memory" if isinstance(details, dict) and details.get("limit") == "max_memory" else "raised"

    def _as_error(self, err: Any, where: Any, tb: Any, text: Any = None) -> Error:
        """The Error of a Lua error value. ``text`` is ``tostring(err)`` as the step made it (never computed here:
        a __tostring is user code, and only the step pre-empts it); a message without a position (``stack
        overflow``, ``error(msg, 0)``) gets the file:line where the coroutine died."""
        details = {"traceback": tb.decode("utf-8", "replace")} if isinstance(tb, bytes) else None
        loc = where.decode("utf-8", "replace") if isinstance(where, bytes) else None
        if isinstance(err, bytes):
            text = err.decode("utf-8", "replace")
            if text == "not enough memory" or text.endswith(": not enough memory"):
                return self._memory_error()
            if loc and not _has_position(text):
                text = f"{loc}: {text}"
            return Error(ErrorKind.INTERNAL, text, details=details)
        try:
            value = self._rt.values.from_lua(err)
        except Error:
            value = None
        if isinstance(value, Error):
            return value
        if text is None:   # `return nil, err` with an err that is no error object nor string
            text = repr(value)
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return Error(ErrorKind.INTERNAL, (f"{loc}: " if loc else "") + text, details=details)

    def _mailbox_overflow(self, queued: int) -> None:
        """A gate found queued messages plus the Lua heap over ``max_memory``: end the process."""
        if self._abort is None:
            self._abort = self._memory_error(f"{queued} bytes of queued messages and {self._rt.memory_used()} bytes "
                                             "of Lua heap (a process that does not keep up with its inbox)")
        self.terminate()

    # ------------------------------------------------------------ modules, blocking calls, sources

    def _require(self, name: Any, soft: bool) -> Any:
        try:
            return self._require_module(name, soft)
        except Exception as exc:  # noqa: BLE001 - never raise into Lua
            return self._fail(exc)

    def _require_module(self, name: Any, soft: bool) -> Any:
        values = self._rt.values
        name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        if self._imports is not None and name in self._imports:
            if self._ctx is None:
                self._ctx = ModuleContext(self)
            return self._imports.load(self._ctx, name)
        if name not in ALWAYS_AVAILABLE and name not in self._modules:
            return None, values.to_lua(Error(
                ErrorKind.PERMISSION_DENIED,
                f"require('{name}'): module {name} is not allowed for entry {self.entry_id}; add it to the entry's modules",
            ))
        factory = module_factory(name)
        if factory is None:
            return None if soft else (None, values.to_lua(Error(ErrorKind.NOT_FOUND, f"require('{name}'): no such module")))
        if self._ctx is None:
            self._ctx = ModuleContext(self)
        try:
            module = factory(self._ctx)
            from lupa.lua54 import lua_type

            return module if lua_type(module) is not None else values.to_lua(module)
        except _MEMORY_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001
            return None, values.to_lua(Error.wrap(exc))

    # Python functions for Lua: one id each in ``_fns``, called through two dispatchers (the bound methods
    # ``_pycall``/``_pysubmit``, handed to the core once) by Lua closures the core makes (``pyfn``/``pyblocking``).
    # Cheaper per process than one wrapped Python closure per function: a list slot and a small Lua closure. A
    # function with a name has its (shared) ArgNames in the next slot, read only when an argument does not cross.

    def _register(self, fn: Callable[..., Any], names: ArgNames | None = None) -> int:
        fns = self._fns
        fns.append(fn)
        if names is not None:
            fns.append(names)
            return len(fns) - 2
        return len(fns) - 1

    def _argument_error(self, fid: int, args: tuple[Any, ...], exc: Error) -> Error:
        """``exc`` (converting the arguments of function ``fid`` failed) naming the call and the argument."""
        fns = self._fns
        names = fns[fid + 1] if fid + 1 < len(fns) else None
        if type(names) is not ArgNames or isinstance(exc, OverMemory):
            return exc
        return names.error(args, exc, self._rt.values)

    def _function(self, fn: Callable[..., Any], raw: bool, names: ArgNames | None = None) -> Any:
        """A Lua function calling ``fn`` (see :meth:`ModuleContext.function`); a raw one has a negative id."""
        fid = self._register(fn, names)
        return self._rt.pyfn(-fid if raw else fid)

    def _pycall(self, fid: int, *args: Any) -> Any:
        values = self._rt.values
        try:
            try:
                if fid < 0:
                    return values.to_lua(self._fns[-fid](*args))
                try:
                    py = [values.from_lua(a) for a in args]
                except Error as exc:
                    raise self._argument_error(fid, args, exc) from None
                return values.to_lua(self._fns[fid](*py))
            except _MEMORY_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure becomes a Lua error value
                return None, values.to_lua(Error.wrap(exc))
        except Exception as exc:  # noqa: BLE001 - over the memory limit, or the error itself did not cross
            return self._fail(exc)

    def _fail(self, exc: BaseException) -> Any:
        """End the process from a Python function made for Lua: it stops at the calling coroutine's next
        instruction (its hook is set to fire there). Returns the core's termination token (a poll raises it)."""
        if self._abort is None:
            if isinstance(exc, _MEMORY_ERRORS):
                self._abort = self._memory_error("a value given to it does not fit")
            else:
                _log.error("lua process %s: internal error in a call from Lua", self.entry_id, exc_info=exc)
                self._abort = Error.wrap(exc)
        self._stopping = True
        rt = self._rt
        if rt.hookfn is not None:
            try:
                rt.sethook(rt.hookfn, b"", 1)   # runs on the calling coroutine (lupa calls from a callback do)
            except Exception:  # noqa: BLE001 - the hook still fires at its count
                pass
        return rt.abort

    def _blocking(self, async_fn: Callable[..., Awaitable[Any]], names: ArgNames | None = None) -> Any:
        """A Lua function running ``async_fn`` on the backend (see :meth:`ModuleContext.blocking`)."""
        return self._rt.pyblocking(self._register(async_fn, names))

    def _pysubmit(self, fid: int, *args: Any) -> Any:
        values = self._rt.values
        try:
            try:
                py = [values.from_lua(a) for a in args]
            except Error as exc:
                return None, values.to_lua(self._argument_error(fid, args, exc))
            if self._tg is None:
                return None, values.to_lua(Error(ErrorKind.UNAVAILABLE, "the process is not running"))
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)
        async_fn = self._fns[fid]
        self._op_seq += 1
        op_id = self._op_seq
        self._ops += 1

        async def runner() -> None:
            try:
                result: tuple[int, Any, Error | None] = (op_id, await async_fn(*py), None)
            except Exception as exc:  # noqa: BLE001 - becomes `nil, err` in Lua
                result = (op_id, None, Error.wrap(exc))
            self._ops -= 1
            self._completions.append(result)
            self._wakeup.set()

        self._tg.start_soon(runner)
        return op_id

    def _source_channel(self, source: Any, convert: Callable[[Any], Any] | None, make: Any = None) -> Any:
        s = self._find_source(source)
        if s is not None:
            return s.channel
        self._forget_ended_sources()
        self._op_seq += 1  # (ids of sources and of blocking calls share the counter: each only needs to be unique)
        sid = self._op_seq
        channel = self._rt.new_channel(0, sid, make)
        observed = callable(getattr(source, "observe", None))
        s = self._sources[sid] = _Source(source, convert or self._rt.values.to_lua, channel, observed)
        s.parts = make is not None
        if observed:
            s.owner, s.sid = self, sid
            s.gated = self._gate(source)
            source.observe(s.on_put)
        return channel

    def _forget_ended_sources(self) -> None:
        """Let go of mailboxes that were closed and emptied (a topic released by ``process.unlisten``): a process
        that listens and unlistens in a loop keeps a bounded set of sources, and its gate checks stay short. The
        Lua channel of a forgotten source answers closed (``_src_poll`` of an unknown id)."""
        for sid, s in list(self._sources.items()):
            source = s.source
            statistics = getattr(source, "statistics", None) if s.observed else None
            if statistics is None or len(source) or not statistics().closed:
                continue
            source.observe(None)
            if s.gated:
                source.gate(None)
                self._gated = [m for m in self._gated if m is not source]
            del self._sources[sid]
            if sid in self._ready_sources:
                self._ready_sources.remove(sid)

    # Gates (see _admission): on the inbox from the start, and on every other mailbox when Lua first reads it.
    # Only local processes: a workflow's messages come from signals, already plain data, and what is in the
    # workflow's memory must not depend on timing.

    def _install_gates(self) -> None:
        port = self.backend.process_api
        if port is None or self.backend.deterministic or not hasattr(port, "inbox"):
            return
        self._gate(port.inbox())

    def _gate(self, mailbox: Any) -> bool:
        if self.backend.deterministic or not callable(getattr(mailbox, "gate", None)):
            return False
        for gated in self._gated:
            if gated is mailbox:
                return True
        self._gated.append(mailbox)
        mailbox.gate(self._admit)
        return True

    def _admit(self, item: Any) -> bool:
        """The gate of this process's mailboxes (see _admission): True admits ``item``, False drops it (the
        process is ending), INVALID refuses it (the sender's ``send`` fails). Runs on every delivery: the hot path
        is a message with a scalar payload, far from the limit."""
        if self._stopping:
            return False
        if item.__class__ is Message:
            data = item.data
            cls = data.__class__
            if (cls is int and -9223372036854775808 <= data <= 9223372036854775807) or cls is float \
                    or data is None or cls is bool:
                size = SCALAR_MESSAGE + len(item.topic)
            else:
                size = item_size(item)
        else:
            size = item_size(item)
        queued = self._queued + size
        if queued > self._recheck:
            # a queue past half the room the heap left when last read: read it now (so queued bytes plus the heap
            # go past max_memory by at most half of it between two reads, and a short queue never reads it)
            room = self._rt.max_memory - self._rt.memory_used()
            if queued > room:
                self._mailbox_overflow(queued)
                return False
            self._recheck = queued if queued > room // 2 else room // 2
        self._queued = queued
        return True

    def _taken(self, item: Any, more: bool) -> None:
        """The driver took ``item`` from a gated mailbox (``more``: it holds more)."""
        if not more:
            if len(self._gated) == 1:
                self._queued = 0
                return
            for mailbox in self._gated:
                if mailbox:
                    break
            else:
                self._queued = 0
                return
        self._queued = max(0, self._queued - item_size(item, strict=False))

    def _find_source(self, source: Any) -> _Source | None:
        for s in self._sources.values():  # a process has a handful of sources at most
            if s.source is source:
                return s
        return None

    def _source_ready(self, sid: int) -> None:
        if sid not in self._ready_sources:
            self._ready_sources.append(sid)
        self._wakeup.set()

    def _src_poll(self, sid: int) -> Any:
        """``true, more, value...`` (the next item), ``false, closed``, or the abort token; never raises. An item
        that cannot cross into Lua (one queued before the gate was there) is logged and skipped."""
        s = self._sources.get(sid)
        if s is None:
            return False, True
        try:
            if not s.observed:
                return self._poll_pumped(s, sid)
            try:
                item = s.source.receive_nowait()
            except _EMPTY:
                s.waiting = not s.closed
                return False, False
            except _CLOSED:
                s.closed = True
                s.waiting = False
                return False, True
            # Drained: Lua parks its next receive without asking (the put that refills it wakes the channel),
            # one Python call less per message.
            more = bool(s.source)
            if not more:
                s.waiting = not s.closed
            if s.gated and self._queued:
                if more or len(self._gated) > 1:
                    self._taken(item, more)
                else:
                    self._queued = 0
            return (True, more, *s.convert(item)) if s.parts else (True, more, s.convert(item))
        except _MEMORY_ERRORS as exc:
            return self._fail(exc)
        except Error as exc:
            _log.error("lua process %s: dropped an item it cannot receive: %s", self.entry_id, exc)
            return self._src_poll(sid)
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)

    def _poll_pumped(self, s: _Source, sid: int) -> tuple[Any, ...]:
        if s.buffer:
            item = s.buffer.popleft()
            return (True, True, *s.convert(item)) if s.parts else (True, True, s.convert(item))
        if s.closed:
            return False, True
        if not s.pumping:
            try:
                item = s.source.receive_nowait()
            except _EMPTY:
                self._start_pump(sid, s)
            except _CLOSED:
                s.closed = True
                return False, True
            else:
                return (True, True, *s.convert(item)) if s.parts else (True, True, s.convert(item))
        return False, False

    def _start_pump(self, sid: int, s: _Source) -> None:
        if self._tg is None:
            return
        s.pumping = True
        buffer = s.buffer
        assert buffer is not None  # only observed sources have none, and they need no pump

        async def pump() -> None:
            try:
                while True:
                    item = await s.source.receive()
                    buffer.append(item)
                    self._source_ready(sid)
            except _CLOSED:
                s.closed = True
                self._source_ready(sid)
            finally:
                s.pumping = False

        self._tg.start_soon(pump)
