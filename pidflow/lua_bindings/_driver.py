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
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import greenlet
import trio

from ..errors import Error, ErrorKind
from . import _stdlib  # noqa: F401  (registers the built-in modules)
from ._backend import Budget, LuaBackend
from ._modules import ALWAYS_AVAILABLE, ModuleContext, module_factory
from ._runtime import DEFAULT_MAX_MEMORY, Runtime

_EMPTY = (trio.WouldBlock, asyncio.QueueEmpty)
_CLOSED = (trio.EndOfChannel, trio.ClosedResourceError, trio.BrokenResourceError)


# Steps run in pooled "runner" greenlets: creating a greenlet per step costs ~9 us, switching into a parked one
# ~0.5 us. A runner is busy while its step is preempted and goes back to the pool when the step ends; it keeps
# no reference to the process between steps.
_DONE = object()
_PREEMPTED = object()


class _Runners(threading.local):
    def __init__(self) -> None:
        self.idle: list[greenlet.greenlet] = []


_RUNNERS = _Runners()


def _runner_main(job: tuple) -> None:
    while True:
        caller, fn, *args = job
        job = None  # type: ignore[assignment]
        fn(*args)
        fn = args = None  # type: ignore[assignment]
        job = caller.switch(_DONE)


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
                 "parts")

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

    def on_put(self) -> None:
        """The observed source's callback (a bound method: cheaper than a closure per source)."""
        if self.waiting:
            self.waiting = False
            self.owner._source_ready(self.sid)


class LuaProcess:
    """One Lua process: ``module[method](input)`` from ``source`` as the main coroutine.

    Construction compiles the source (a syntax error raises INVALID ``"lua syntax error: PATH:LINE: ..."``);
    :meth:`run` executes it once and returns the converted result or raises :class:`Error`:

    * ``return value`` -> ``value``; ``return nil, err`` -> raises ``err`` (a string becomes INTERNAL; a
      second value after a non-nil first one is ignored);
    * ``error(...)`` or a failing spawned coroutine -> INTERNAL with ``file.lua:LINE`` (an error object raised
      with ``error(err)`` keeps its kind), traceback in ``details``;
    * memory above ``max_memory`` -> INTERNAL, not retryable; every coroutine blocked with nothing that could
      wake one -> INTERNAL "deadlock";
    * :meth:`terminate` (or cancelling the task running :meth:`run`) stops even a busy loop -> TERMINATED
      (cancellation propagates as cancellation).

    ``modules`` is the entry's capability list (``channel``, ``process`` and ``errors`` are always allowed).
    """

    def __init__(
        self,
        *,
        entry_id: str,
        source: str | bytes,
        path: str,
        backend: LuaBackend,
        method: str = "main",
        modules: Iterable[str] = (),
        max_memory: int = DEFAULT_MAX_MEMORY,
    ) -> None:
        self.entry_id = entry_id
        self.backend = backend
        self._modules = tuple(modules)  # the entry's extra modules (often the shared empty tuple)
        self._budget = isinstance(backend.preemption, Budget)
        self._slice = backend.preemption.seconds
        self._slice_start = 0.0
        self._stopping = False
        self._over_budget = False
        self._parent: greenlet.greenlet | None = None
        self._greenlet: greenlet.greenlet | None = None
        self._step_out: tuple | None = None
        self._tg: Any = None
        self._wakeup: Any = None
        self._ops = 0
        self._op_seq = 0
        self._completions: list[tuple[int, Any, Error | None]] = []
        self._sources: dict[int, _Source] = {}
        self._ready_sources: list[int] = []  # ids of sources with news for Lua (a list: no set per idle process)
        self._ctx: ModuleContext | None = None
        #: The Python functions made for Lua (ModuleContext.function/.blocking), by id (see ``_register``).
        self._fns: list[Any] = [None]
        self._started = False
        #: How the last run ended: "returned" (a value, or ``nil, err``), "raised" (a Lua error), "terminated",
        #: or "budget" (Budget preemption). Hosts use it: in a workflow only "returned" ends the workflow.
        self.ended_by: str | None = None
        det = backend.deterministic
        self._rt = Runtime(
            max_memory=max_memory,
            deterministic=det,
            check=self._check,
            src_poll=self._src_poll,
            require=self._require,
            pycall=self._pycall,
            pysubmit=self._pysubmit,
            now_s=(lambda: backend.now_ns() // 1_000_000_000) if det else None,
            rand53=(lambda: int.from_bytes(backend.random_bytes(7), "big") >> 3) if det else None,
        )
        chunk = self._rt.compile(source, "@" + path)
        self._main = self._rt.main(chunk, method.encode(), entry_id.encode(), path.encode(), True)

    # ------------------------------------------------------------ running

    async def run(self, input: Any = None) -> Any:
        """Run the process to its end; see the class docstring for results and failures. Runs once."""
        return await self._run_main(self._rt.lua.table_from({b"n": 1, 1: self._rt.values.to_lua(input)}))

    async def run_function(self, args: list[Any]) -> Any:
        """Like :meth:`run` for a ``function.lua`` entry: ``method(...)`` with positional ``args``."""
        to_lua = self._rt.values.to_lua
        packed = {i + 1: to_lua(a) for i, a in enumerate(args)}
        packed[b"n"] = len(args)
        return await self._run_main(self._rt.lua.table_from(packed))

    async def _run_main(self, packed_args: Any) -> Any:
        if self._started:
            raise RuntimeError("a LuaProcess runs only once")
        self._started = True
        self._rt.start(self._main, packed_args)
        outcome: list[Any] = []
        try:
            async with self.backend.open_task_group() as tg:
                self._tg = tg
                self._wakeup = self.backend.new_event()
                try:
                    outcome[:] = [True, await self._loop()]
                except Error as exc:  # raised outside the task group, so it is not wrapped in an ExceptionGroup
                    outcome[:] = [False, exc]
        finally:
            self._stopping = True
            self._tg = None
            for s in self._sources.values():
                if s.observed:
                    s.source.observe(None)
        if not outcome[0]:
            raise outcome[1]
        return outcome[1]

    async def _loop(self) -> Any:
        first = True
        while True:
            if self._stopping:
                self.ended_by = "terminated"
                raise Error(ErrorKind.TERMINATED, f"process of {self.entry_id} was terminated", retryable=False)
            status = await self._step()
            if status[0] != b"wait":
                return self._result(status)
            deadline = status[1]
            if first:  # drop the garbage of compiling and starting (~20 KiB) before the process idles
                first = False
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

    def pending_items(self, source: Any) -> list[Any]:
        """Items already taken from ``source`` but not yet received by Lua (to carry over on continue-as-new)."""
        s = self._find_source(source)
        return [] if s is None else list(s.buffer or ())

    async def _step(self) -> tuple:
        rt, values = self._rt, self._rt.values
        core = rt
        # a fresh event before Lua runs: anything finishing during the step (preemption points) sets this one
        self._wakeup = self.backend.new_event()
        completions = self._completions
        if completions:
            self._completions = []
        for op_id, value, err in completions:
            try:
                core.complete(op_id, values.to_lua(value), None if err is None else values.to_lua(err))
            except Error as exc:
                core.complete(op_id, None, values.to_lua(exc))
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
            return out
        finally:
            self._greenlet = None
            if signal is _DONE:
                g.gr_context = None  # an idle runner must not keep the task's context (and the node) alive
                _RUNNERS.idle.append(g)

    def _call_step(self, now: float, channels: tuple[Any, ...] = ()) -> None:
        try:
            out = self._rt.step(now, *channels)
        except Exception as exc:  # lupa.LuaMemoryError at the top level, or a lupa error
            self._step_out = (b"python", exc)
            return
        self._step_out = out if isinstance(out, tuple) else (out,)

    def _check(self) -> bool:
        """The instruction hook: True stops the running Lua code (uncatchably)."""
        if self._stopping:
            return True
        if time.perf_counter() - self._slice_start < self._slice:
            return False
        if self._budget:
            self._over_budget = self._stopping = True
            return True
        if self._greenlet is None or greenlet.getcurrent() is not self._greenlet:
            return False
        self._parent.switch(_PREEMPTED)
        return self._stopping

    def _result(self, status: tuple) -> Any:
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
            self.ended_by = "budget" if self._over_budget else "terminated"
            if self._over_budget:
                raise Error(ErrorKind.INTERNAL, f"{self.entry_id} ran Lua for more than {self._slice:g} s without "
                            "waiting; move heavy computation into funcs.call (a function entry)", retryable=False)
            raise Error(ErrorKind.TERMINATED, f"process of {self.entry_id} was terminated", retryable=False)
        self.ended_by = "raised"
        if tag == b"python":
            exc = status[1]
            if type(exc).__name__ == "LuaMemoryError":
                raise self._memory_error()
            raise Error.wrap(exc)
        err, where, tb = (tuple(status[1:]) + (None, None, None))[:3]
        raise self._as_error(err, where, tb)

    def _memory_error(self) -> Error:
        return Error(ErrorKind.INTERNAL, f"{self.entry_id} exceeded its Lua memory limit of {self._rt.max_memory} bytes",
                     retryable=False)

    def _as_error(self, err: Any, where: Any, tb: Any) -> Error:
        details = {"traceback": tb.decode("utf-8", "replace")} if isinstance(tb, bytes) else None
        if isinstance(err, bytes):
            text = err.decode("utf-8", "replace")
            if text == "not enough memory":
                return self._memory_error()
            return Error(ErrorKind.INTERNAL, text, details=details)
        try:
            value = self._rt.values.from_lua(err)
        except Error:
            value = None
        if isinstance(value, Error):
            return value
        text = self._rt.tostring(err)
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        loc = where.decode() + ": " if isinstance(where, bytes) else ""
        return Error(ErrorKind.INTERNAL, loc + text, details=details)

    # ------------------------------------------------------------ modules, blocking calls, sources

    def _require(self, name: Any, soft: bool) -> Any:
        values = self._rt.values
        name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
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
        except Exception as exc:  # noqa: BLE001
            return None, values.to_lua(Error.wrap(exc))

    # Python functions for Lua: one id each in ``_fns``, called through two dispatchers (the bound methods
    # ``_pycall``/``_pysubmit``, handed to the core once) by Lua closures the core makes (``pyfn``/``pyblocking``).
    # Cheaper per process than one wrapped Python closure per function: a list slot and a small Lua closure.

    def _register(self, fn: Callable[..., Any]) -> int:
        self._fns.append(fn)
        return len(self._fns) - 1

    def _function(self, fn: Callable[..., Any], raw: bool) -> Any:
        """A Lua function calling ``fn`` (see :meth:`ModuleContext.function`); a raw one has a negative id."""
        fid = self._register(fn)
        return self._rt.pyfn(-fid if raw else fid)

    def _pycall(self, fid: int, *args: Any) -> Any:
        values = self._rt.values
        try:
            if fid < 0:
                return values.to_lua(self._fns[-fid](*args))
            return values.to_lua(self._fns[fid](*[values.from_lua(a) for a in args]))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Lua error value
            return None, values.to_lua(Error.wrap(exc))

    def _blocking(self, async_fn: Callable[..., Awaitable[Any]]) -> Any:
        """A Lua function running ``async_fn`` on the backend (see :meth:`ModuleContext.blocking`)."""
        return self._rt.pyblocking(self._register(async_fn))

    def _pysubmit(self, fid: int, *args: Any) -> Any:
        values = self._rt.values
        try:
            py = [values.from_lua(a) for a in args]
        except Error as exc:
            return None, values.to_lua(exc)
        if self._tg is None:
            return None, values.to_lua(Error(ErrorKind.UNAVAILABLE, "the process is not running"))
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
        sid = len(self._sources) + 1
        channel = self._rt.new_channel(0, sid, make)
        observed = callable(getattr(source, "observe", None))
        s = self._sources[sid] = _Source(source, convert or self._rt.values.to_lua, channel, observed)
        s.parts = make is not None
        if observed:
            s.owner, s.sid = self, sid
            source.observe(s.on_put)
        return channel

    def _find_source(self, source: Any) -> _Source | None:
        for s in self._sources.values():  # a process has a handful of sources at most
            if s.source is source:
                return s
        return None

    def _source_ready(self, sid: int) -> None:
        if sid not in self._ready_sources:
            self._ready_sources.append(sid)
        self._wakeup.set()

    def _src_poll(self, sid: int) -> tuple[bool, Any]:
        s = self._sources[sid]
        if s.observed:
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
            return (True, more, *s.convert(item)) if s.parts else (True, more, s.convert(item))
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

        async def pump() -> None:
            try:
                while True:
                    item = await s.source.receive()
                    s.buffer.append(item)
                    self._source_ready(sid)
            except _CLOSED:
                s.closed = True
                self._source_ready(sid)
            finally:
                s.pumping = False

        self._tg.start_soon(pump)
