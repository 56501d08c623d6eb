"""pidflow.aio._guest: trio runs on the asyncio loop with its I/O wait in asyncio's selector; wakeups from the
loop's thread, from other threads, from I/O and from timers all reach it."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import outcome
import trio

from pidflow.aio._guest import _hosts, start_guest


def guest(fn: Any) -> tuple[bool, Any]:
    async def main() -> tuple[bool, Any]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[outcome.Outcome[Any]] = loop.create_future()
        fast = start_guest(loop, fn, done.set_result)
        return fast, (await done).unwrap()

    return asyncio.run(main())


def test_the_fast_selector_mode_is_on_with_this_trio_and_this_loop() -> None:
    # (a trio upgrade that changes the internals it refines turns this off, and this test tells)
    async def nothing() -> str:
        return "ran"

    assert guest(nothing) == (True, "ran")
    assert _hosts == {}  # nothing left behind


def test_timers_fire() -> None:
    async def sleeper() -> float:
        start = trio.current_time()
        await trio.sleep(0.05)
        return trio.current_time() - start

    fast, slept = guest(sleeper)
    assert fast and slept >= 0.05


def test_io_wakes_trio() -> None:
    async def reader() -> bytes:
        a, b = trio.socket.socketpair()
        with a, b:
            async with trio.open_nursery() as nursery:
                async def later() -> None:
                    await trio.sleep(0.01)
                    await b.send(b"ping")
                nursery.start_soon(later)
                return await a.recv(10)

    assert guest(reader) == (True, b"ping")


def test_another_thread_wakes_trio_through_its_token() -> None:
    async def waiter() -> str:
        event = trio.Event()
        token = trio.lowlevel.current_trio_token()
        threading.Timer(0.02, lambda: token.run_sync_soon(event.set)).start()
        await event.wait()
        return "woken"

    assert guest(waiter) == (True, "woken")


def test_trio_threads_answer() -> None:
    async def offload() -> int:
        return await trio.to_thread.run_sync(lambda: 6 * 7)

    assert guest(offload) == (True, 42)


def test_asyncio_tasks_keep_running_while_trio_waits() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[outcome.Outcome[Any]] = loop.create_future()
        record: list[str] = []

        async def trio_side() -> None:
            await trio.sleep(0.05)
            record.append("trio")

        start_guest(loop, trio_side, done.set_result)
        await asyncio.sleep(0.01)
        record.append("asyncio")
        (await done).unwrap()
        return record

    assert asyncio.run(main()) == ["asyncio", "trio"]


