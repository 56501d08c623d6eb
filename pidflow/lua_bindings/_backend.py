"""The one interface between the Lua runtime and whatever runs it.

The driver (:mod:`._driver`) is host-independent: everything that touches time, concurrency, randomness or the
rest of pidflow goes through a :class:`LuaBackend`. Two implementations are intended: :class:`TrioBackend` for
local Lua processes, and a deterministic one inside Temporal workflows (temporalio's asyncio loop, where only
``asyncio`` tasks/events, ``workflow.sleep``/``wait_condition``, ``workflow.now/random/uuid4`` are allowed). Every
method below is implementable with just those.

A backend instance serves one Lua process (it carries that process's context and process API).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, Protocol, TypeVar

import attrs


class WakeupEvent(Protocol):
    """A one-shot, level-triggered flag (``trio.Event``, ``asyncio.Event``)."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...


class TaskGroup(Protocol):
    """Tasks owned by one Lua process: all cancelled when the group's context exits."""

    def start_soon(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> None: ...


@attrs.frozen
class TimeSlice:
    """Preemption policy for local processes: after ``seconds`` of uninterrupted Lua execution the driver yields
    to the event loop (``backend.checkpoint()``) and then continues; a terminated process stops at that point.
    Default 3 ms."""

    seconds: float = 0.003


@attrs.frozen
class Budget:
    """Preemption policy for workflows: Lua may run at most ``seconds`` between two waits (one workflow
    activation); beyond that the process fails with an INTERNAL, non-retryable error naming the entry and
    advising to move the heavy work into ``funcs.call``. Default 1.5 s (temporalio kills a task at 2 s)."""

    seconds: float = 1.5


Preemption = TimeSlice | Budget


EventT = TypeVar("EventT", bound=WakeupEvent)


class LuaBackend(abc.ABC, Generic[EventT]):
    """What a Lua process needs from the place it runs in, waking up on events of type ``EventT`` (its own:
    :meth:`wait` only ever gets events its :meth:`new_event` made).

    Attributes a subclass must set (plain data, read by the modules):

    * ``preemption``: :class:`TimeSlice` or :class:`Budget`.
    * ``deterministic``: True inside workflows: canonical ``pairs``/``next`` order, and ``os.time``, ``os.date``,
      ``math.random`` served from this backend (``os.clock``, ``math.randomseed`` fail).
    * ``context``: the ``with_context`` values read by ``ctx.get``/``ctx.all`` (a mapping of plain data).
    * ``process_api``: whatever the ``process``/``workflow`` module factories need (opaque to lua_bindings).
    """

    preemption: Preemption = TimeSlice()
    deterministic: bool = False
    context: Mapping[str, Any] = {}
    process_api: Any = None

    # -- clocks
    @abc.abstractmethod
    def now_ns(self) -> int:
        """Wall-clock time in ns since the Unix epoch (``time.now``, ``os.time``); ``workflow.now()`` in workflows."""

    @abc.abstractmethod
    def monotonic(self) -> float:
        """Seconds on the clock that :meth:`wait` deadlines use (trio: ``trio.current_time()``; workflows:
        ``workflow.time()``/loop time). It must not advance while Lua runs inside one workflow activation."""

    # -- waiting and concurrency
    @abc.abstractmethod
    def new_event(self) -> EventT:
        """A fresh, unset wakeup event."""

    @abc.abstractmethod
    async def wait(self, event: EventT, deadline: float | None) -> None:
        """Return when ``event`` is set or :meth:`monotonic` reaches ``deadline`` (None: no deadline).
        In workflows the deadline must be a durable timer (``workflow.wait_condition(..., timeout=)``)."""

    @abc.abstractmethod
    async def checkpoint(self) -> None:
        """Let other tasks run (``TimeSlice`` preemption); raising cancellation here terminates the process."""

    @abc.abstractmethod
    def open_task_group(self) -> AbstractAsyncContextManager[TaskGroup]:
        """A task group for the process's helper tasks (blocking calls, mailbox pumps); exiting it cancels them."""

    # -- deterministic sources
    @abc.abstractmethod
    def random_bytes(self, n: int) -> bytes:
        """``n`` random bytes (``crypto.random_bytes``, deterministic ``math.random``); ``workflow.random()`` in
        workflows."""

    @abc.abstractmethod
    def uuid4(self) -> str:
        """A random UUID string (``uuid.v4``); ``workflow.uuid4()`` in workflows."""

    def cancel_scope(self) -> Any:
        """A fresh cancel scope for one call (``funcs.async``): ``with scope: await ...`` runs the call, and
        ``scope.cancel()`` (before or during it) stops it; the ``with`` block then ends quietly, or with the
        ``CANCELED`` error the call raised. trio: a ``trio.CancelScope``; workflows: cancels the asyncio task,
        which asks Temporal to cancel the activity."""
        raise NotImplementedError(f"{type(self).__name__} cannot cancel a call")

    # -- the rest of pidflow
    @abc.abstractmethod
    async def call_function(self, entry_id: str, args: list[Any], options: Mapping[str, Any], *,
                            context: Mapping[str, Any] | None = None) -> Any:
        """Run function entry ``entry_id`` with positional ``args`` (``funcs.call``); an activity in workflows.
        ``context`` is what ``ctx`` reads in the callee (None: this process's context; the funcs module passes
        this context merged with an executor's ``with_context``). Raise :class:`pidflow.Error` on failure; the
        Lua caller gets ``nil, err``."""
