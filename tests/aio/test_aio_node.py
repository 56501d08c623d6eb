"""pidflow.aio.open_node: a node inside an asyncio program, its process API as awaitables of the asyncio loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
import trio

import pidflow
import pidflow.aio
from pidflow import ErrorKind, EventKind, process


T = TypeVar("T")


def run(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(fn())


async def echo(_input: object) -> None:
    async for message in process.inbox():
        if message.sender is not None:
            await process.send(message.sender, "echo", message.data)


async def replier(_input: object) -> None:
    async for message in process.inbox():
        if message.topic == "double":
            await process.reply(message, message.data * 2)


def test_pidflow_open_node_under_asyncio_says_to_use_pidflow_aio() -> None:
    async def main() -> None:
        async with pidflow.open_node():
            pass

    with pytest.raises(pidflow.Error, match=r"pidflow\.aio\.open_node") as caught:
        run(main)
    assert caught.value.kind is ErrorKind.INVALID


async def test_pidflow_aio_open_node_under_trio_says_to_use_pidflow_open_node() -> None:
    with pytest.raises(pidflow.Error, match=r"under trio use pidflow\.open_node") as caught:
        async with pidflow.aio.open_node():
            pass
    assert caught.value.kind is ErrorKind.INVALID


def test_an_asyncio_task_sends_to_a_local_process_and_receives_its_reply() -> None:
    async def main() -> list[Any]:
        async with pidflow.aio.open_node() as node:
            pid = await node.process.spawn(echo)
            await node.process.send(pid, "hello", {"n": 1})
            await node.process.send(pid, "again", 2)
            inbox = node.process.inbox()
            first = await inbox.receive()
            second = await inbox.receive()
            return [(first.topic, first.data, first.sender), (second.data, second.sender), pid]

    first, second, pid = run(main)
    assert first == ("echo", {"n": 1}, pid)
    assert second == (2, pid)


def test_a_name_registered_from_asyncio_is_a_destination() -> None:
    async def main() -> tuple[Any, Any, Any]:
        async with pidflow.aio.open_node() as node:
            pid = await node.process.spawn(echo)
            await node.process.register("echoer", pid)
            await node.process.send("echoer", "by-name", 3)
            reply = await node.process.inbox().receive()
            return node.process.whereis("echoer") == pid, reply.data, await node.process.unregister("echoer")

    assert run(main) == (True, 3, True)


def test_exit_events_reach_the_asyncio_side_in_order() -> None:
    async def body(_input: object) -> str:
        await trio.sleep(0.01)  # (trio's timers run on the asyncio loop)
        return "done"

    async def main() -> list[Any]:
        async with pidflow.aio.open_node() as node:
            quick = await node.process.spawn_monitored(body)
            stuck = await node.process.spawn_monitored(echo)
            first = await node.process.events().receive()
            assert await node.process.terminate(stuck)
            second = await node.process.events().receive()
            return [(first.kind, first.from_ == quick, first.result.value if first.result else None),
                    (second.kind, second.from_ == stuck, second.result.error.kind if second.result and
                     second.result.error else None)]

    assert run(main) == [(EventKind.EXIT, True, "done"), (EventKind.EXIT, True, ErrorKind.TERMINATED)]


def test_call_from_asyncio_gets_the_reply() -> None:
    async def main() -> Any:
        async with pidflow.aio.open_node() as node:
            pid = await node.process.spawn(replier)
            return await node.process.call(pid, "double", 21, timeout=5)

    assert run(main) == 42


def test_exec_and_a_spawner_built_from_asyncio() -> None:
    async def add(numbers: list[int]) -> int:
        return sum(numbers)

    async def main() -> tuple[Any, Any]:
        async with pidflow.aio.open_node() as node:
            total = await node.process.exec(add, None, [1, 2, 3])
            pid = await node.process.with_name("named-echo").with_message("pre", 7).spawn(echo)
            reply = await node.process.inbox().receive()
            return total, (reply.data, node.process.whereis("named-echo") == pid)

    assert run(main) == (6, (7, True))


def test_errors_of_the_node_are_raised_to_the_asyncio_caller() -> None:
    async def main() -> None:
        async with pidflow.aio.open_node() as node:
            await node.process.send("nobody-has-this-name", "x")

    with pytest.raises(pidflow.Error) as caught:
        run(main)
    assert caught.value.kind is ErrorKind.NOT_FOUND


def test_cancelling_the_asyncio_caller_cancels_the_call_inside_the_node() -> None:
    record: list[str] = []

    async def slow() -> None:
        try:
            await trio.sleep_forever()
        finally:
            record.append("trio side cancelled")

    async def main() -> None:
        async with pidflow.aio.open_node() as node:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await node.run(slow)
            record.append("asyncio side saw it")

    run(main)
    assert record == ["trio side cancelled", "asyncio side saw it"]


def test_several_asyncio_tasks_receive_from_one_mailbox_each_item_once() -> None:
    async def main() -> list[Any]:
        async with pidflow.aio.open_node() as node:
            pid = await node.process.spawn(echo)
            inbox = node.process.inbox()
            readers = [asyncio.create_task(inbox.receive()) for _ in range(3)]
            await asyncio.sleep(0)
            for n in range(3):
                await node.process.send(pid, "n", n)
            return sorted(m.data for m in await asyncio.gather(*readers))

    assert run(main) == [0, 1, 2]


def test_one_node_per_asyncio_loop() -> None:
    async def main() -> None:
        async with pidflow.aio.open_node():
            async with pidflow.aio.open_node():
                pass

    with pytest.raises(pidflow.Error, match="already runs on this thread") as caught:
        run(main)
    assert caught.value.kind is ErrorKind.INVALID


def test_a_node_that_fails_to_start_raises_its_error(tmp_path: Any) -> None:
    async def main() -> None:
        async with pidflow.aio.open_node(tmp_path / "missing.yaml"):
            pass

    with pytest.raises(pidflow.Error):
        run(main)


def test_the_node_stops_with_the_block_and_later_calls_are_unavailable() -> None:
    async def main() -> Any:
        async with pidflow.aio.open_node() as node:
            process_api = node.process
        with pytest.raises(pidflow.Error) as caught:
            await process_api.spawn(echo)
        return caught.value.kind

    assert run(main) is ErrorKind.UNAVAILABLE


def test_the_asyncio_process_api_covers_the_process_api() -> None:
    # every public ProcessAPI member has an asyncio form, but the _nowait ones (their awaitable is the form)
    from pidflow import ProcessAPI

    public = {name for name in dir(ProcessAPI) if not name.startswith("_")}
    ours = {name for name in dir(pidflow.aio.AioProcess) if not name.startswith("_")}
    assert public - ours == {"send_nowait", "reply_nowait"}


def test_a_group_joined_from_asyncio_gets_broadcasts() -> None:
    async def main() -> tuple[Any, Any, Any]:
        async with pidflow.aio.open_node() as node:
            pid = await node.process.spawn(echo)
            await node.process.join("echoers", pid)
            members = node.process.get_members("echoers")
            sent = await node.process.broadcast("echoers", "hi", 5)
            reply = await node.process.inbox().receive()
            return members == [pid], sent, reply.data

    assert run(main) == (True, 1, 5)
