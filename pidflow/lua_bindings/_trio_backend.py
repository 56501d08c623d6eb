"""The trio backend: local Lua processes on the node's trio loop."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import trio

from ..errors import Error, ErrorKind
from ._backend import LuaBackend, Preemption, TimeSlice

#: ``(entry_id, args, options)``, and ``context=`` when the runner takes it (both shapes are accepted).
CallFunction = Callable[..., Awaitable[Any]]


class _NurseryGroup:
    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery

    def start_soon(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self._nursery.start_soon(fn)


class _Wakeup:
    """A one-shot wakeup for the one task that waits on it: cheaper than ``trio.Event`` (no parking lot), since
    the driver makes one per scheduler step."""

    __slots__ = ("_set", "_task")

    def __init__(self) -> None:
        self._set = False
        self._task: Any = None

    def set(self) -> None:
        if not self._set:
            self._set = True
            task, self._task = self._task, None
            if task is not None:
                trio.lowlevel.reschedule(task)

    def is_set(self) -> bool:
        return self._set

    def _abort(self, _raise_cancel: Any) -> trio.lowlevel.Abort:
        self._task = None
        return trio.lowlevel.Abort.SUCCEEDED

    async def wait(self) -> None:
        if self._set:
            await trio.lowlevel.checkpoint()
            return
        self._task = trio.lowlevel.current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort)


class TrioBackend(LuaBackend[_Wakeup]):
    """Backend for a local Lua process.

    ``call_function`` is the node's function runner, ``(entry_id, args, options[, context=])`` (absent:
    ``funcs.call`` fails with UNAVAILABLE);
    ``process_api`` is handed to the ``process`` module factory; ``context`` feeds the ``ctx`` module.
    Time is ``trio.current_time()`` (so ``MockClock`` drives timers) and wall time is ``time.time_ns()``.
    """

    def __init__(
        self,
        *,
        context: Mapping[str, Any] | None = None,
        process_api: Any = None,
        call_function: CallFunction | None = None,
        preemption: Preemption = TimeSlice(),
    ) -> None:
        self.context = dict(context or {})
        self.process_api = process_api
        self.preemption = preemption
        self.deterministic = False
        self._call_function = call_function

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return trio.current_time()

    def new_event(self) -> _Wakeup:
        return _Wakeup()

    async def wait(self, event: _Wakeup, deadline: float | None) -> None:
        if deadline is None:
            await event.wait()
            return
        with trio.move_on_at(deadline):
            await event.wait()

    async def checkpoint(self) -> None:
        await trio.lowlevel.checkpoint()

    @asynccontextmanager
    async def open_task_group(self) -> AsyncIterator[_NurseryGroup]:
        async with trio.open_nursery() as nursery:
            try:
                yield _NurseryGroup(nursery)
            finally:
                nursery.cancel_scope.cancel()

    def random_bytes(self, n: int) -> bytes:
        return os.urandom(n)

    def uuid4(self) -> str:
        return str(uuid.uuid4())

    def cancel_scope(self) -> trio.CancelScope:
        return trio.CancelScope()

    async def call_function(self, entry_id: str, args: list[Any], options: Mapping[str, Any], *,
                            context: Mapping[str, Any] | None = None) -> Any:
        if self._call_function is None:
            raise Error(ErrorKind.UNAVAILABLE, f"funcs.call({entry_id!r}): no function runner is attached to this process")
        if context is None:  # (a runner that takes no context keeps working)
            return await self._call_function(entry_id, args, options)
        return await self._call_function(entry_id, args, options, context=context)
