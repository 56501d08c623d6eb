"""The trio <-> asyncio bridge: results, errors and cancellation in both directions, start and stop."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio

from pidflow import Error, ErrorKind
from pidflow.temporal_host._aio import AsyncioThread, open_asyncio_thread


async def _thread_name() -> str:
    asyncio.get_running_loop()  # proves we are on an asyncio loop
    return threading.current_thread().name


async def _fail() -> None:
    raise ValueError("boom")


async def test_run_awaits_a_coroutine_on_the_asyncio_thread(aio: AsyncioThread) -> None:
    assert await aio.run(_thread_name) == "pidflow-asyncio"


async def test_run_propagates_the_exception(aio: AsyncioThread) -> None:
    with pytest.raises(ValueError, match="boom"):
        await aio.run(_fail)


async def test_trio_cancellation_cancels_the_asyncio_task_and_waits_for_its_cleanup(aio: AsyncioThread) -> None:
    record: list[str] = []
    started = trio.Event()

    async def set_started() -> None:
        started.set()

    async def slow() -> None:
        try:
            await aio.run_trio(set_started)
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            record.append("asyncio cancelled")
            await asyncio.sleep(0)
            record.append("asyncio cleanup done")
            raise

    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(aio.run, slow)
            await started.wait()
            scope.cancel()
    record.append("trio resumed")
    assert scope.cancelled_caught
    assert record == ["asyncio cancelled", "asyncio cleanup done", "trio resumed"]


async def test_result_of_an_asyncio_task_that_ignores_cancellation_is_returned(aio: AsyncioThread) -> None:
    entered = threading.Event()
    result = None

    async def stubborn() -> str:
        entered.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            pass
        return "finished anyway"

    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:

            async def cancel_when_entered() -> None:
                await trio.to_thread.run_sync(entered.wait)
                scope.cancel()

            nursery.start_soon(cancel_when_entered)
            result = await aio.run(stubborn)
    assert result == "finished anyway"


async def test_call_cancelled_before_it_starts_never_runs(aio: AsyncioThread) -> None:
    ran = threading.Event()

    async def never() -> None:
        ran.set()

    with trio.CancelScope() as scope:
        scope.cancel()
        await aio.run(never)
    assert scope.cancelled_caught
    await aio.run(asyncio.sleep, 0)  # the loop has processed the skipped call by now
    assert not ran.is_set()


async def test_run_trio_awaits_a_trio_function_from_asyncio(aio: AsyncioThread) -> None:
    async def on_trio(x: int) -> tuple[int, str]:
        await trio.sleep(0)
        return x * 2, threading.current_thread().name

    async def on_asyncio() -> tuple[int, str]:
        return await aio.run_trio(on_trio, 21)

    assert await aio.run(on_asyncio) == (42, threading.current_thread().name)


async def test_run_trio_propagates_the_exception(aio: AsyncioThread) -> None:
    async def on_trio() -> None:
        raise KeyError("missing")

    async def on_asyncio() -> str:
        try:
            await aio.run_trio(on_trio)
        except KeyError as exc:
            return f"caught {exc}"
        return "not raised"

    assert await aio.run(on_asyncio) == "caught 'missing'"


async def test_asyncio_cancellation_cancels_the_trio_task_and_waits_for_its_cleanup(aio: AsyncioThread) -> None:
    record: list[str] = []
    trio_started = trio.Event()

    async def on_trio() -> None:
        trio_started.set()
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(0)
            record.append("trio cleanup done")

    async def on_asyncio() -> str:
        task = asyncio.ensure_future(aio.run_trio(on_trio))
        await aio.run_trio(trio_started.wait)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            record.append("asyncio saw CancelledError")
        return "ok"

    assert await aio.run(on_asyncio) == "ok"
    assert record == ["trio cleanup done", "asyncio saw CancelledError"]


async def test_stopping_the_loop_fails_pending_calls_with_canceled() -> None:
    thread = AsyncioThread()
    thread.start()
    entered = threading.Event()

    async def forever() -> None:
        entered.set()
        await asyncio.sleep(60)

    async def stop_when_entered() -> None:
        await trio.to_thread.run_sync(entered.wait)
        await trio.to_thread.run_sync(thread.stop)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stop_when_entered)
        with pytest.raises(Error) as info:
            await thread.run(forever)
    assert info.value.kind is ErrorKind.CANCELED
    with pytest.raises(Error, match="asyncio thread is not running") as info:
        await thread.run(_thread_name)
    assert info.value.kind is ErrorKind.UNAVAILABLE


def test_stop_cancels_remaining_tasks_and_joins_the_thread() -> None:
    thread = AsyncioThread(name="pidflow-asyncio-stop")
    thread.start()
    cancelled = threading.Event()

    async def background() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    thread.submit(lambda: asyncio.ensure_future(background()))
    assert thread.run_sync(_thread_name) == "pidflow-asyncio-stop"
    thread.stop()
    assert cancelled.is_set()
    assert "pidflow-asyncio-stop" not in {t.name for t in threading.enumerate()}
    thread.stop()  # idempotent


def test_run_trio_without_a_trio_side_is_unavailable() -> None:
    with AsyncioThread() as thread:
        async def on_asyncio() -> None:
            await thread.run_trio(trio.sleep, 0)

        with pytest.raises(Error, match="no trio side attached"):
            thread.run_sync(on_asyncio)


async def test_open_asyncio_thread_reraises_the_body_exception_unwrapped() -> None:
    with pytest.raises(ZeroDivisionError):
        async with open_asyncio_thread():
            1 / 0
