"""Messages: per-sender FIFO, inbox versus ``listen``, start messages, delivery to dead PIDs, no loss."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given, settings, strategies as st

import pidflow
from pidflow import Message, Pid

from ._support import drain, return_input, settle


async def collect_inbox(count: int) -> list[tuple[str, Any, Pid | None]]:
    out = []
    inbox = pidflow.process.inbox()
    for _ in range(count):
        message = await inbox.receive()
        out.append((message.topic, message.data, message.sender))
    return out


async def send_numbered(spec: tuple[Pid, str, int]) -> None:
    target, tag, count = spec
    for i in range(count):
        await pidflow.process.send(target, tag, i)


async def test_messages_from_one_sender_arrive_in_send_order(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    receiver = await node.process.spawn_monitored(collect_inbox, None, 50)
    for i in range(50):
        node.process.send_nowait(receiver, "n", i)
    event = await node.process.events().receive()
    assert event.result.value == [("n", i, node.process.pid()) for i in range(50)]


async def test_interleaved_senders_each_keep_their_order(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    receiver = await node.process.spawn_monitored(collect_inbox, None, 30)
    for tag in ("a", "b", "c"):
        await node.process.spawn(send_numbered, None, (receiver, tag, 10))
    event = await node.process.events().receive()
    received = event.result.value
    senders = {sender for _, _, sender in received}
    assert len(senders) == 3 and node.process.pid() not in senders
    for tag in ("a", "b", "c"):
        assert [data for topic, data, _ in received if topic == tag] == list(range(10))


async def test_message_carries_topic_data_and_sender_pid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def relay(_: Any) -> Message:
        return await pidflow.process.inbox().receive()

    pid = await node.process.spawn_monitored(relay)
    await node.process.send(pid, "greet", {"who": ["world"]})
    event = await node.process.events().receive()
    assert event.result.value == Message("greet", {"who": ["world"]}, node.process.pid())


async def test_listen_claims_topic_so_inbox_never_sees_it(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    record: list[Any] = []

    async def body(_: Any) -> None:
        pings = pidflow.process.listen("ping")
        await pidflow.process.send(node.process.pid(), "ready")
        inbox = pidflow.process.inbox()
        while (message := await inbox.receive()).topic != "stop":
            record.append(("inbox", message.topic, message.data))
        record.extend(("listen", data) for data in drain(pings))

    pid = await node.process.spawn_monitored(body)
    assert (await node.process.inbox().receive()).topic == "ready"
    for topic, data in [("ping", 1), ("other", 2), ("ping", 3), ("stop", None)]:
        await node.process.send(pid, topic, data)
    await node.process.events().receive()
    assert record == [("inbox", "other", 2), ("listen", 1), ("listen", 3)]


async def test_listen_claims_messages_already_queued_in_inbox(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    go = trio.Event()

    async def body(_: Any) -> tuple[list[Any], list[str]]:
        await go.wait()
        pings = drain(pidflow.process.listen("ping"))
        rest = [m.topic for m in drain(pidflow.process.inbox())]
        return pings, rest

    pid = await node.process.spawn_monitored(body)
    for topic, data in [("ping", 1), ("pong", 2), ("ping", 3)]:
        await node.process.send(pid, topic, data)
    go.set()
    event = await node.process.events().receive()
    assert event.result.value == ([1, 3], ["pong"])


async def test_listen_with_message_option_yields_whole_messages(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def body(_: Any) -> Message:
        return await pidflow.process.listen("ping", {"message": True}).receive()

    pid = await node.process.spawn_monitored(body)
    await node.process.send(pid, "ping", 7)
    event = await node.process.events().receive()
    assert event.result.value == Message("ping", 7, node.process.pid())


async def test_listen_rejects_empty_topic(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="non-empty topic") as info:
        node.process.listen("")
    assert info.value.kind is pidflow.ErrorKind.INVALID


async def test_start_messages_arrive_before_messages_sent_after_spawn(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    spawner = node.process.with_message("first", 1).with_message("second", 2)
    pid = await spawner.spawn_monitored(collect_inbox, None, 3)
    await node.process.send(pid, "third", 3)
    event = await node.process.events().receive()
    assert [(topic, data) for topic, data, _ in event.result.value] == [("first", 1), ("second", 2), ("third", 3)]


async def test_start_messages_come_from_the_spawning_process(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.with_message("hello").spawn_monitored(collect_inbox, None, 1)
    event = await node.process.events().receive()
    assert event.result.value == [("hello", None, node.process.pid())]


async def test_start_messages_reach_running_named_process_before_later_messages(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    first = await node.process.with_name("svc").spawn_monitored(collect_inbox, None, 3)
    await node.process.send(first, "before", 0)
    again = await node.process.with_name("svc").with_message("start", 1).spawn(collect_inbox, None, 99)
    await node.process.send(first, "after", 2)
    event = await node.process.events().receive()
    assert again == first
    assert [(topic, data) for topic, data, _ in event.result.value] == [("before", 0), ("start", 1), ("after", 2)]


async def test_start_messages_are_claimed_by_listen(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def body(_: Any) -> Any:
        return await pidflow.process.listen("config").receive()

    pid = await node.process.with_message("config", {"x": 1}).spawn_monitored(body)
    event = await node.process.events().receive()
    assert (event.from_, event.result.value) == (pid, {"x": 1})


async def test_send_to_exited_process_is_dropped_silently(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(return_input, None, "v")
    await node.process.events().receive()
    await node.process.send(pid, "late", 1)  # no error, nothing delivered anywhere
    await node.process.send(str(pid), "late", 2)
    await settle()
    assert drain(node.process.inbox()) == []


async def test_send_to_malformed_pid_string_raises_invalid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="malformed pid") as info:
        await node.process.send("{not-a-pid", "t", 1)  # "{" starts a pid; without it, a name (NOT_FOUND)
    assert info.value.kind is pidflow.ErrorKind.INVALID


async def test_send_rejects_empty_topic(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="non-empty topic"):
        await node.process.send(node.process.pid(), "", 1)


async def test_send_accepts_pid_string_form(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(collect_inbox, None, 1)
    await node.process.send(str(pid), "t", "x")
    event = await node.process.events().receive()
    assert event.result.value == [("t", "x", node.process.pid())]


async def test_messages_are_not_received_after_inbox_is_closed_by_exit(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def body(_: Any) -> pidflow.Mailbox[Any]:
        return pidflow.process.inbox()

    await node.process.spawn_monitored(body)
    inbox = (await node.process.events().receive()).result.value
    with pytest.raises(trio.EndOfChannel):
        inbox.receive_nowait()


# -- property: nothing is lost ---------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(senders=st.integers(1, 6), messages=st.integers(0, 20), root_too=st.booleans())
def test_every_message_of_every_sender_is_delivered_in_order(senders: int, messages: int, root_too: bool) -> None:
    async def scenario() -> None:
        async with pidflow.open_node() as node:
            total = senders * messages + (messages if root_too else 0)
            receiver = await node.process.spawn_monitored(collect_inbox, None, total)
            async with trio.open_nursery() as nursery:
                for s in range(senders):
                    await node.process.spawn(send_numbered, None, (receiver, f"s{s}", messages))
                if root_too:
                    nursery.start_soon(send_numbered_from_root, node, receiver, messages)
            event = await node.process.events().receive()
            received = event.result.value
            assert len(received) == total
            by_tag: dict[str, list[int]] = {}
            for topic, data, _ in received:
                by_tag.setdefault(topic, []).append(data)
            expected = {f"s{s}": list(range(messages)) for s in range(senders)}
            if root_too:
                expected["root"] = list(range(messages))
            assert by_tag == {tag: seq for tag, seq in expected.items() if seq}

    trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))


async def send_numbered_from_root(node: pidflow.Node, target: Pid, count: int) -> None:
    for i in range(count):
        await node.process.send(target, "root", i)
