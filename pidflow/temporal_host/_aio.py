"""A bridge between trio (where pidflow lives) and asyncio (where the temporalio SDK lives).

One asyncio loop runs forever in a daemon thread (:class:`AsyncioThread`). Trio code awaits asyncio coroutines
with :meth:`AsyncioThread.run`; asyncio code (a Temporal activity, a workflow-result watcher) awaits trio
functions with :meth:`AsyncioThread.run_trio`. Neither side ever blocks its own loop.

Design notes:

- trio -> asyncio parks the trio task with ``wait_task_rescheduled`` and the asyncio task's done-callback wakes it
  with ``TrioToken.run_sync_soon(reschedule, ...)``: one hop each way, no worker thread. ``trio.to_thread`` plus a
  blocking ``future.result()`` was rejected: it costs a thread per in-flight call. ``asyncio.run_coroutine_threadsafe``
  was rejected too: cancelling its ``concurrent.futures.Future`` completes the future at once and the asyncio task
  is cancelled later, unobserved, so cleanup would outlive the trio call.
- Cancellation is structured in both directions: the cancelled side asks the other side to cancel and waits until
  it has really finished (as ``trio.to_thread.run_sync(abandon_on_cancel=False)`` does). If the other side
  finishes with a result anyway, trio gets that result (trio's convention); asyncio still gets ``CancelledError``
  (asyncio's: a swallowed cancellation breaks ``asyncio.timeout`` and task groups).
- asyncio -> trio spawns the call into a nursery owned by :func:`open_asyncio_thread`, so no trio task is an
  orphan; ``trio.from_thread.run`` was rejected because it blocks the calling thread (the asyncio loop).
- A call that the *other* side aborts (its loop stopping) raises :class:`~pidflow.Error` CANCELED, never a foreign
  cancellation exception: trio code must not see ``asyncio.CancelledError`` and vice versa.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import outcome
import trio

from ..errors import Error, ErrorKind

T = TypeVar("T")

_STOPPING = "the asyncio loop is stopping"


class _CancelledByRequest(Exception):
    """Marker outcome: the call ended by the cancellation its caller asked for."""


class AsyncioThread:
    """An asyncio event loop running in a dedicated daemon thread.

    ``start()`` returns once the loop runs; ``stop()`` cancels every task still on the loop, waits for them, shuts
    down async generators and the default executor, closes the loop and joins the thread (idempotent; safe to call
    from any thread except the loop's own). Use :func:`open_asyncio_thread` from trio: it also enables
    :meth:`run_trio`.
    """

    def __init__(self, name: str = "pidflow-asyncio") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards _accepting against stop() racing a submit
        self._accepting = False
        self._trio_token: trio.lowlevel.TrioToken | None = None
        self._trio_nursery: trio.Nursery | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise Error(ErrorKind.UNAVAILABLE, "asyncio thread is not running; call start() first")
        return self._loop

    @property
    def running(self) -> bool:
        return self._accepting

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise Error(ErrorKind.INVALID, "asyncio thread is already started")
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=main, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()
        self._accepting = True

    def stop(self, timeout: float | None = 30.0) -> None:
        with self._lock:
            was_accepting, self._accepting = self._accepting, False
        if self._thread is None or self._loop is None:
            return
        if threading.current_thread() is self._thread:
            raise Error(ErrorKind.INVALID, "can't stop the asyncio thread from its own loop")
        loop = self._loop
        if was_accepting:
            asyncio.run_coroutine_threadsafe(_shutdown(loop), loop).result(timeout)
        self._thread.join(timeout)
        if not loop.is_closed() and not self._thread.is_alive():
            loop.close()
        self._thread = None
        self._loop = None

    def __enter__(self) -> "AsyncioThread":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- any thread -> asyncio ------------------------------------------------------------------------------------

    def submit(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` on the loop soon; UNAVAILABLE if the loop is stopped or stopping."""
        with self._lock:
            if not self._accepting or self._loop is None:
                raise Error(ErrorKind.UNAVAILABLE, "asyncio thread is not running")
            self._loop.call_soon_threadsafe(callback, *args)

    def run_sync(self, coro_fn: Callable[..., Awaitable[T]], *args: Any, timeout: float | None = None) -> T:
        """Run ``coro_fn(*args)`` on the loop and block this (non-loop) thread for its result."""
        if threading.current_thread() is self._thread:
            raise Error(ErrorKind.INVALID, "run_sync would deadlock on the asyncio thread; await the coroutine")
        with self._lock:
            if not self._accepting:
                raise Error(ErrorKind.UNAVAILABLE, "asyncio thread is not running")
            fut = asyncio.run_coroutine_threadsafe(_call(coro_fn, args), self.loop)
        try:
            return fut.result(timeout)
        except asyncio.CancelledError:
            raise Error(ErrorKind.CANCELED, _STOPPING) from None

    # -- trio -> asyncio ------------------------------------------------------------------------------------------

    async def run(self, coro_fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Await ``coro_fn(*args)`` running on the asyncio loop, from trio.

        The coroutine is created on the loop. Its exception propagates unchanged. Cancelling the trio caller
        cancels the asyncio task and waits until it has finished, then raises ``trio.Cancelled`` (or returns the
        result if the task completed anyway). If the loop stops under the call, raises CANCELED.
        """
        token = trio.lowlevel.current_trio_token()
        task = trio.lowlevel.current_task()
        state: dict[str, Any] = {"task": None, "cancel": False}

        def deliver(result: outcome.Outcome[T]) -> None:
            token.run_sync_soon(trio.lowlevel.reschedule, task, result)

        def on_done(atask: asyncio.Task[T]) -> None:
            if not atask.cancelled():
                deliver(outcome.capture(atask.result))
            elif state["cancel"]:
                deliver(outcome.Error(_CancelledByRequest()))
            else:
                deliver(outcome.Error(Error(ErrorKind.CANCELED, _STOPPING)))

        def begin() -> None:  # on the loop
            if state["cancel"]:
                deliver(outcome.Error(_CancelledByRequest()))
                return
            atask = asyncio.ensure_future(_call(coro_fn, args))
            state["task"] = atask
            atask.add_done_callback(on_done)

        def cancel() -> None:  # on the loop
            state["cancel"] = True
            if state["task"] is not None:
                state["task"].cancel()

        def abort(_raise_cancel: Any) -> trio.lowlevel.Abort:
            state["cancel"] = True  # read on the loop; also covers a shutdown that cancels the task first
            try:
                self.submit(cancel)
            except Error:
                pass  # loop already stopping: its shutdown cancels the task and on_done still wakes us
            return trio.lowlevel.Abort.FAILED

        await trio.lowlevel.checkpoint_if_cancelled()  # already cancelled: never start the coroutine
        self.submit(begin)
        try:
            value: T = await trio.lowlevel.wait_task_rescheduled(abort)
            return value
        except _CancelledByRequest:
            await trio.lowlevel.checkpoint()  # our scope is cancelled, so this raises trio.Cancelled
            raise Error(ErrorKind.CANCELED, "asyncio call was cancelled") from None

    # -- asyncio -> trio ------------------------------------------------------------------------------------------

    async def run_trio(self, afn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Await trio ``afn(*args)`` from code running on this asyncio loop.

        The trio call runs as a task in the nursery of :func:`open_asyncio_thread`. Its exception propagates
        unchanged. Cancelling the asyncio caller cancels the trio task, waits until it has finished, and raises
        ``asyncio.CancelledError`` even if the trio task completed anyway (asyncio, unlike trio, must not swallow a
        requested cancellation). If the trio side is closing, raises UNAVAILABLE (not started) or CANCELED
        (cancelled under the call).
        """
        token, nursery = self._trio_token, self._trio_nursery
        if token is None or nursery is None:
            raise Error(ErrorKind.UNAVAILABLE, "no trio side attached; use 'async with open_asyncio_thread()'")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[outcome.Outcome[T]] = loop.create_future()
        scope = trio.CancelScope()

        def settle(result: outcome.Outcome[T]) -> None:  # on the loop
            if not done.done():
                done.set_result(result)

        def deliver(result: outcome.Outcome[T]) -> None:  # on trio
            loop.call_soon_threadsafe(settle, result)

        async def runner() -> None:
            try:
                with scope:
                    value = await afn(*args)
            except trio.Cancelled:
                deliver(outcome.Error(Error(ErrorKind.CANCELED, "the trio side is shutting down")))
                raise
            except BaseException as exc:
                deliver(outcome.Error(exc))
                if not isinstance(exc, Exception):
                    raise  # KeyboardInterrupt, SystemExit, groups of them: trio must see these too
            else:
                deliver(outcome.Error(_CancelledByRequest()) if scope.cancelled_caught else outcome.Value(value))

        def spawn() -> None:  # on trio
            try:
                nursery.start_soon(runner)
            except RuntimeError:  # nursery closed
                deliver(outcome.Error(Error(ErrorKind.UNAVAILABLE, "the trio side is closed")))

        try:
            token.run_sync_soon(spawn)
        except trio.RunFinishedError:
            raise Error(ErrorKind.UNAVAILABLE, "the trio side is closed") from None

        cancelled = False
        while True:
            try:
                result = await asyncio.shield(done)
                break
            except asyncio.CancelledError:
                if not cancelled:
                    cancelled = True
                    with contextlib.suppress(trio.RunFinishedError):
                        token.run_sync_soon(scope.cancel)
                if done.done():
                    result = done.result()
                    break
        if cancelled:
            # asyncio code relies on a requested cancellation being raised (asyncio.timeout, TaskGroup), so it
            # wins even over a result that arrived meanwhile.
            raise asyncio.CancelledError()
        return result.unwrap()


@contextlib.asynccontextmanager
async def open_asyncio_thread(name: str = "pidflow-asyncio") -> AsyncIterator[AsyncioThread]:
    """Run an :class:`AsyncioThread` for the duration of the block, with calls from asyncio into this trio run.

    On exit: the asyncio loop is stopped first (its tasks are cancelled, which cancels their trio calls, and the
    trio loop keeps running meanwhile), then any trio call still left in the nursery is cancelled.
    """
    thread = AsyncioThread(name)
    thread.start()
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            thread._trio_token = trio.lowlevel.current_trio_token()
            thread._trio_nursery = nursery
            try:
                yield thread
            except BaseException as exc:
                # Re-raised below, outside the nursery, so that the caller sees its own exception and not an
                # ExceptionGroup (the nursery's tasks deliver their errors to asyncio and never raise into it).
                body_error = exc
            finally:
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(thread.stop)
                nursery.cancel_scope.cancel()
    finally:
        thread._trio_token = None
        thread._trio_nursery = None
        thread.stop()
    if body_error is not None:
        raise body_error


async def _call(coro_fn: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
    return await coro_fn(*args)


async def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel every other task, wait for them, then stop the loop (the thread then exits ``run_forever``)."""
    try:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks(loop) if t is not current]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()
    finally:
        loop.call_soon(loop.stop)
