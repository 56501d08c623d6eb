"""Calls from asyncio tasks into the node's trio run, both on the loop's thread (see ``_guest``).

A :class:`Portal` is one trio task in the node's nursery that serves a queue: an asyncio caller appends its call
and, if the portal is parked, reschedules it (on the loop's thread this schedules trio's next tick with
``call_soon``: no thread, no socket). A synchronous call runs in the portal's own task and answers at once; an
async one runs as a task of its own. The answer is set on an asyncio future directly (same thread).

Cancellation is structured both ways, as in ``temporal_host._aio``: a cancelled asyncio caller cancels its trio
task and waits for it to finish, then raises ``asyncio.CancelledError`` (asyncio must see its cancellation even
if the call completed meanwhile); the trio task never sees an asyncio exception. A call made after the node
stopped raises UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import outcome
import trio

from ..errors import Error, ErrorKind

T = TypeVar("T")

_CLOSED = "the pidflow node has stopped"


class _AsyncCall:
    __slots__ = ("fn", "args", "future", "scope")

    def __init__(self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...],
                 future: asyncio.Future[outcome.Outcome[Any]]) -> None:
        self.fn = fn
        self.args = args
        self.future = future
        self.scope = trio.CancelScope()


class Portal:
    """Serves asyncio callers from inside the trio run. Start :meth:`serve` in the node's nursery."""

    def __init__(self) -> None:
        self._queue: deque[tuple[bool, Any]] = deque()
        self._task: trio.lowlevel.Task | None = None
        self._parked = False
        self._closed = False
        self._nursery: trio.Nursery | None = None

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._task = trio.lowlevel.current_task()
            task_status.started()
            try:
                while True:
                    self._drain(nursery)
                    self._parked = True
                    await trio.lowlevel.wait_task_rescheduled(self._abort)
            finally:
                self._closed = True
                self._parked = False
                self._drain(None)  # what was queued meanwhile is refused
                nursery.cancel_scope.cancel()

    def _abort(self, _raise_cancel: Any) -> trio.lowlevel.Abort:
        self._parked = False
        return trio.lowlevel.Abort.SUCCEEDED

    def _drain(self, nursery: trio.Nursery | None) -> None:
        queue = self._queue
        while queue:
            is_async, call = queue.popleft()
            if nursery is None:
                future = call.future if is_async else call[2]
                if not future.done():
                    future.set_result(outcome.Error(Error(ErrorKind.UNAVAILABLE, _CLOSED)))
            elif is_async:
                nursery.start_soon(self._run, call)
            else:
                fn, args, future = call
                if not future.done():  # (a sync call whose caller was cancelled is not made)
                    future.set_result(outcome.capture(fn, *args))

    async def _run(self, call: _AsyncCall) -> None:
        def answer(result: outcome.Outcome[Any]) -> None:
            if not call.future.done():
                call.future.set_result(result)

        try:
            with call.scope:
                value = await call.fn(*call.args)
        except trio.Cancelled:  # the node is stopping under the call
            answer(outcome.Error(Error(ErrorKind.CANCELED, "the pidflow node stopped during the call")))
            raise
        except BaseException as exc:
            answer(outcome.Error(exc))
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, SystemExit: trio must see these too
        else:
            answer(outcome.Error(asyncio.CancelledError()) if call.scope.cancelled_caught else outcome.Value(value))

    def _submit(self, is_async: bool, call: Any) -> None:
        if self._closed or self._task is None:
            raise Error(ErrorKind.UNAVAILABLE, _CLOSED)
        self._queue.append((is_async, call))
        if self._parked:
            self._parked = False
            trio.lowlevel.reschedule(self._task)

    # -- from asyncio -----------------------------------------------------------------------------------------------
    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` inside the trio run (synchronous: it runs in the portal's task)."""
        future: asyncio.Future[outcome.Outcome[T]] = asyncio.get_running_loop().create_future()
        self._submit(False, (fn, args, future))
        result: outcome.Outcome[T] = await future  # (cancelled before it ran: it is never run)
        return result.unwrap()

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` as a trio task of the node; see the module docstring for cancellation."""
        future: asyncio.Future[outcome.Outcome[Any]] = asyncio.get_running_loop().create_future()
        call = _AsyncCall(fn, args, future)
        self._submit(True, call)
        cancelled = False
        while True:
            try:
                result = await asyncio.shield(future)
                break
            except asyncio.CancelledError:
                if future.done():
                    result = future.result()
                    cancelled = True
                    break
                if not cancelled:
                    cancelled = True
                    call.scope.cancel()  # (trio sees it at its next tick: the cancel reschedules the task)
        if cancelled:
            raise asyncio.CancelledError()
        value: T = result.unwrap()
        return value
