"""``process.call`` / ``process.reply`` between local processes (OTP's ``gen_server:call``): answers and error
answers, references that keep a late reply from answering another call, the call's own monitor of its target,
timeouts, bad input; ``Message.sender`` / ``Event.sender``. Durable callers and callees: tests/workflows/
test_workflow_call.py; Lua: tests/lua_apps/call."""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest
import trio
import trio.testing

import pidflow
from pidflow import Error, ErrorKind, Event, EventKind, Message, Pid, process
from pidflow._call import RESOURCE, NodeCalls


@pytest.fixture
async def node() -> AsyncIterator[pidflow.Node]:
    async with pidflow.open_node() as node:
        yield node


@pytest.fixture
def clock(autojump_clock: trio.testing.MockClock) -> trio.testing.MockClock:
    """Virtual time (pytest-trio runs a test on the clock among the fixtures the test itself requests)."""
    return autojump_clock


async def server(record: list[Any]) -> None:
    """Answers calls: add [a, b]; fail (an error answer); slow (answers after 10 s); ignore (no answer); die
    (raises); exit (ends normally); twice (answers twice). Records every message's (topic, ref is set)."""
    async for message in process.inbox():
        record.append((message.topic, message.ref is not None))
        if message.topic == "add":
            await process.reply(message, message.data[0] + message.data[1])
        elif message.topic == "fail":
            await process.reply(message, error=Error(ErrorKind.CONFLICT, "refused"))
        elif message.topic == "slow":
            await trio.sleep(10)
            await process.reply(message, "late")
        elif message.topic == "die":
            raise RuntimeError("asked to die")
        elif message.topic == "exit":
            return
        elif message.topic == "twice":
            await process.reply(message, 1)
            await process.reply(message, 2)


def calls_of(node: pidflow.Node) -> NodeCalls:
    return node.resources[RESOURCE]


async def test_a_call_returns_the_value_the_callee_replies(node: pidflow.Node, clock: Any) -> None:
    record: list[Any] = []
    pid = await node.process.spawn(server, None, record)
    assert await node.process.call(pid, "add", [2, 3]) == 5
    assert record == [("add", True)]


async def test_an_error_reply_is_raised_with_its_kind(node: pidflow.Node, clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])
    with pytest.raises(Error, match="refused") as info:
        await node.process.call(pid, "fail")
    assert info.value.kind is ErrorKind.CONFLICT


async def test_a_call_by_registered_name(node: pidflow.Node, clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])
    await node.process.register("adder", pid)
    assert await node.process.call("adder", "add", [1, 1]) == 2
    assert await node.process.call(str(pid), "add", [1, 2]) == 3


async def test_no_reply_within_the_timeout_is_timeout(node: pidflow.Node, clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])
    start = trio.current_time()
    with pytest.raises(Error, match="no reply within 2 s") as info:
        await node.process.call(pid, "slow", timeout=2)
    assert info.value.kind is ErrorKind.TIMEOUT and info.value.retryable
    assert 2 <= trio.current_time() - start <= 2.02  # one tick of the call timers at most
    with pytest.raises(Error, match="within 0.25 s"):
        await node.process.call(pid, "slow", timeout="250ms")


async def test_a_late_reply_is_dropped_never_taken_for_the_next_answer_nor_left_in_the_inbox(
        node: pidflow.Node, clock: Any) -> None:
    record: list[Any] = []
    pid = await node.process.spawn(server, None, record)
    with pytest.raises(Error) as info:
        await node.process.call(pid, "slow", timeout=1)
    assert info.value.kind is ErrorKind.TIMEOUT
    await trio.sleep(10)  # the server replies "late" now, to a call that is over
    await trio.testing.wait_all_tasks_blocked()
    assert await node.process.call(pid, "add", [20, 22]) == 42
    assert len(node.process.inbox()) == 0
    assert record == [("slow", True), ("add", True)]


async def test_a_second_reply_to_one_call_is_dropped(node: pidflow.Node, clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])
    assert await node.process.call(pid, "twice") == 1
    await trio.testing.wait_all_tasks_blocked()
    assert len(node.process.inbox()) == 0
    assert await node.process.call(pid, "add", [1, 2]) == 3


async def test_a_call_to_a_process_that_is_not_running_answers_at_once_noproc(node: pidflow.Node,
                                                                             clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])
    await node.process.terminate(pid)
    await trio.testing.wait_all_tasks_blocked()
    start = trio.current_time()
    with pytest.raises(Error, match="no such process") as info:
        await node.process.call(pid, "add", [1, 2], timeout=None)
    assert info.value.kind is ErrorKind.NOT_FOUND and info.value.details["reason"] == "noproc"
    assert trio.current_time() == start


async def test_a_target_that_crashes_during_the_call_answers_with_its_error(node: pidflow.Node, clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])
    with pytest.raises(Error, match="asked to die") as info:
        await node.process.call(pid, "die", timeout=None)
    assert info.value.kind is ErrorKind.INTERNAL and info.value.details["reason"] == "exit"
    assert info.value.details["error"].message == "RuntimeError: asked to die"


async def test_a_target_that_ends_normally_without_replying_is_not_found(node: pidflow.Node, clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])
    with pytest.raises(Error, match="ended without replying") as info:
        await node.process.call(pid, "exit", timeout=None)
    assert info.value.kind is ErrorKind.NOT_FOUND and info.value.details["reason"] == "exit"


async def test_the_calls_monitor_is_its_own_no_event_and_the_callers_monitor_is_kept(node: pidflow.Node,
                                                                                    clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])
    await node.process.monitor(pid)
    assert await node.process.call(pid, "add", [1, 2]) == 3
    assert not any(calls_of(node).waiting.values())  # no call waits on it any more
    await node.process.terminate(pid)
    event = await node.process.events().receive()  # the caller's own monitor still stands
    assert event.kind is EventKind.EXIT and event.sender == pid
    with pytest.raises(Error) as info:
        await node.process.call(pid, "add", [1, 2])
    assert info.value.details["reason"] == "noproc"
    await trio.testing.wait_all_tasks_blocked()
    assert len(node.process.events()) == 0  # the call's monitor gave no event to the caller


async def test_recently_called_local_targets_stay_monitored_up_to_a_bound_and_leave_when_they_end(
        node: pidflow.Node, clock: Any) -> None:
    from pidflow._call import IDLE_MONITORS

    calls = None
    servers = [await node.process.spawn(server, None, []) for _ in range(IDLE_MONITORS + 3)]
    for pid in servers:
        assert await node.process.call(pid, "add", [1, 1]) == 2
        calls = calls_of(node)
    assert calls is not None and list(calls.idle) == servers[3:] and set(calls.waiting) == set(servers[3:])
    watching = {target for watcher, target in node.hosts["pidflow:local"].watches() if watcher == calls.watcher}
    assert watching == set(servers[3:])  # the oldest were unmonitored
    await node.process.terminate(servers[-1])
    await trio.testing.wait_all_tasks_blocked()
    assert servers[-1] not in calls.waiting and servers[-1] not in calls.idle


async def test_concurrent_calls_get_their_own_answers(node: pidflow.Node, clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])
    answers: dict[int, Any] = {}

    async def one(i: int) -> None:
        answers[i] = await node.process.call(pid, "add", [i, i])

    async with trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(one, i)
    assert answers == {i: 2 * i for i in range(20)}
    assert not any(calls_of(node).waiting.values()) and calls_of(node).timers.pending() == 0


async def test_a_cancelled_call_leaves_nothing_behind(node: pidflow.Node, clock: Any) -> None:
    record: list[Any] = []
    pid = await node.process.spawn(server, None, record)
    with trio.move_on_after(1):
        await node.process.call(pid, "slow", timeout=None)
    assert not any(calls_of(node).waiting.values())
    await trio.sleep(10)
    await trio.testing.wait_all_tasks_blocked()
    assert len(node.process.inbox()) == 0


async def test_a_call_from_inside_a_process_and_pidflow_process(node: pidflow.Node, clock: Any) -> None:
    pid = await node.process.spawn(server, None, [])

    async def client(target: Pid) -> Any:
        return await pidflow.process.call(target, "add", [40, 2])

    assert await node.process.exec(client, None, pid) == 42


@pytest.mark.parametrize(("args", "kwargs", "argument"), [
    ((42, "add"), {}, "dest"), (("", "add"), {}, "dest"), ((["x"], "add"), {}, "dest"),
    (("{bad", "add"), {}, "dest"),
    ((None, ""), {}, "topic"), ((None, "@reply:1"), {}, "topic"), ((None, 7), {}, "topic"),
    ((None, "add"), {"timeout": -1}, "timeout"), ((None, "add"), {"timeout": "soon"}, "timeout"),
    ((None, "add"), {"timeout": float("nan")}, "timeout"),
])
async def test_bad_input_is_invalid_naming_the_argument(node: pidflow.Node, clock: Any, args: tuple[Any, ...],
                                                        kwargs: dict[str, Any], argument: str) -> None:
    pid = await node.process.spawn(server, None, [])
    dest, topic = args
    with pytest.raises(Error) as info:
        await node.process.call(pid if dest is None else dest, topic, [1, 2], **kwargs)
    assert info.value.kind is ErrorKind.INVALID
    assert info.value.details["argument"] == argument


async def test_a_call_to_a_name_nobody_holds_is_not_found(node: pidflow.Node, clock: Any) -> None:
    with pytest.raises(Error, match="could not resolve name") as info:
        await node.process.call("nobody", "add", [1, 2])
    assert info.value.kind is ErrorKind.NOT_FOUND


async def test_a_call_to_itself_is_invalid(node: pidflow.Node, clock: Any) -> None:
    with pytest.raises(Error, match="can't call self") as info:
        await node.process.call(node.process.pid(), "add", [1, 2])
    assert info.value.details["argument"] == "dest"


async def test_reply_to_a_message_that_was_sent_is_invalid(node: pidflow.Node, clock: Any) -> None:
    for bad in (Message("x", 1, node.process.pid()), Message("x", 1, None, "ref"), "not a message"):
        with pytest.raises(Error, match="reply") as info:
            await node.process.reply(bad, 1)  # type: ignore[arg-type]
        assert info.value.kind is ErrorKind.INVALID and info.value.details["argument"] == "message"
    request = Message("x", 1, node.process.pid(), "ref")
    with pytest.raises(Error) as info:
        await node.process.reply(Message("x", 1, node.process.pid(), "ref"), error="nope")  # type: ignore[arg-type]
    assert info.value.details["argument"] == "error"
    await node.process.reply(request, 1)  # a reply nobody waits for: dropped quietly
    assert len(node.process.inbox()) == 0


async def test_a_reply_to_a_caller_that_is_gone_is_quiet(node: pidflow.Node, clock: Any) -> None:
    caller = await node.process.spawn(server, None, [])
    await node.process.terminate(caller)
    await node.process.reply(Message("x", None, caller, "r1"), 1)


async def test_an_unclaimed_reply_never_reaches_the_inbox_but_other_at_topics_do(node: pidflow.Node,
                                                                                 clock: Any) -> None:
    me = node.process.pid()
    node.process.send_nowait(me, "@reply:zzz", [1, None])  # no reference: an ordinary message
    node.send(me, Message("@reply:zzz", [1, None], me, "zzz"))  # a reply no call waits for: dropped
    await trio.testing.wait_all_tasks_blocked()
    assert [m.topic for m in node.process.inbox().drain()] == ["@reply:zzz"]


def test_message_and_event_name_their_sender_the_same_way() -> None:
    pid = Pid("app:h", "1")
    assert Message("t", 1, pid).sender == pid
    event = Event.exit(pid, pidflow.ExitResult(1))
    assert event.sender == pid
    assert event.from_ == pid  # the deprecated name still reads
    assert Event(EventKind.CANCEL, pid, deadline=1.0).to_wire()["from"] == pid
    assert Event.from_wire(event.to_wire()).sender == pid


def test_a_message_keeps_its_reference_on_the_wire_and_plain_ones_have_none() -> None:
    pid = Pid("app:h", "1")
    assert "ref" not in Message("t", 1, pid).to_wire()
    assert Message.from_wire(Message("t", 1, pid, "r9").to_wire()) == Message("t", 1, pid, "r9")
    assert Message.from_wire({"topic": "t", "data": 1, "from": None}).ref is None
