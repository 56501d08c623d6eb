"""Monitors: one-way, always EXIT with the result; at once with NOT_FOUND (noproc) for a dead PID."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

import pidflow
from pidflow import ErrorKind, EventKind, ExitResult

from ._support import Seen, crash, drain, puppet, return_input, root_events, settle, wait_forever


async def test_monitor_gets_exit_with_the_return_value(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(return_input, None, {"answer": 42})
    event = await node.process.events().receive()
    assert event.kind is EventKind.EXIT
    assert event.from_ == pid
    assert event.result == ExitResult({"answer": 42}, None)
    assert event.result.ok


async def test_monitor_gets_exit_with_the_raised_error(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def fail(_: Any) -> None:
        raise pidflow.Error(ErrorKind.CONFLICT, "already paid", details={"order": 7})

    pid = await node.process.spawn_monitored(fail)
    event = await node.process.events().receive()
    assert event.from_ == pid and event.result.value is None
    assert event.result.error == pidflow.Error(ErrorKind.CONFLICT, "already paid")
    assert event.result.error.details == {"order": 7}


async def test_crashing_body_exits_with_internal_error_and_traceback(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    await node.process.spawn_monitored(crash, None, "kaboom")
    error = (await node.process.events().receive()).result.error
    assert error.kind is ErrorKind.INTERNAL
    assert error.message == "RuntimeError: crashed: kaboom"
    assert "Traceback" in error.details["traceback"]
    assert "in crash" in error.details["traceback"]


async def test_node_keeps_running_after_a_process_crashes(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    await node.process.spawn_monitored(crash, None, "kaboom")
    await node.process.events().receive()
    await node.process.spawn_monitored(return_input, None, "still here")
    assert (await node.process.events().receive()).result.value == "still here"


async def test_monitor_of_running_process_gets_exit_when_it_ends(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def stop_on_message(_: Any) -> str:
        return (await pidflow.process.inbox().receive()).data

    pid = await node.process.spawn(stop_on_message)
    await node.process.monitor(pid)
    await settle()
    assert drain(node.process.events()) == []
    await node.process.send(pid, "stop", "bye")
    event = await node.process.events().receive()
    assert (event.from_, event.result.value) == (pid, "bye")


async def test_monitor_is_one_way(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    watcher_record: list[Seen] = []
    watcher = await node.process.spawn_monitored(puppet, None, watcher_record)
    target = await node.process.spawn_monitored(puppet, None, [])
    await node.process.send(watcher, "monitor", target)
    await settle()
    await node.process.send(watcher, "raise", "x")  # the watcher's crash does not touch the target
    await settle()
    assert node.host(target.host).is_alive(target)
    await node.process.send(target, "exit")
    await settle()
    assert watcher_record == []  # the watcher was dead before the target ended: nothing delivered


async def test_monitoring_process_gets_exit_of_crashed_target(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    record: list[Seen] = []
    watcher = await node.process.spawn(puppet, None, record)
    target = await node.process.spawn(puppet, None, [])
    await node.process.send(watcher, "monitor", target)
    await settle()
    await node.process.send(target, "raise", "x")
    await settle()
    assert record == [Seen("EXIT", target, None, "INTERNAL")]
    assert node.host(watcher.host).is_alive(watcher)  # monitors never kill


async def test_unmonitor_stops_further_exit_events(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(crash, None, "x")
    await node.process.unmonitor(pid)
    await settle()
    assert drain(node.process.events()) == []


async def test_unmonitor_of_dead_pid_is_a_no_op(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(return_input)
    await node.process.events().receive()
    await node.process.unmonitor(pid)


async def test_monitoring_dead_pid_gives_exit_at_once_with_not_found(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(return_input, None, 1)
    await node.process.events().receive()
    await node.process.monitor(pid)
    event = node.process.events().receive_nowait()  # no waiting: already queued
    assert event.kind is EventKind.EXIT and event.from_ == pid
    assert event.result.error.kind is ErrorKind.NOT_FOUND
    assert event.result.error.details == {"reason": "noproc"}


async def test_monitoring_pid_that_never_existed_gives_not_found(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    never = pidflow.Pid(node.default_host_id, "999999", node.name)
    await node.process.monitor(str(never))
    assert root_events(node) == [Seen("EXIT", never, None, "NOT_FOUND")]


async def test_monitoring_twice_gives_one_exit(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(wait_forever)
    await node.process.monitor(pid)
    await node.process.terminate(pid)
    await settle()
    assert root_events(node) == [Seen("EXIT", pid, None, "TERMINATED")]


async def test_every_watcher_gets_its_own_exit(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    records: list[list[Seen]] = [[], []]
    watchers = [await node.process.spawn(puppet, None, r) for r in records]
    target = await node.process.spawn_monitored(wait_forever)
    for w in watchers:
        await node.process.send(w, "monitor", target)
    await settle()
    await node.process.terminate(target)
    await settle()
    assert records == [[Seen("EXIT", target, None, "TERMINATED")]] * 2


async def test_message_sent_before_exit_is_queued_when_exit_arrives(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def talk_then_exit(to: pidflow.Pid) -> str:
        await pidflow.process.send(to, "last words")
        return "gone"

    await node.process.spawn_monitored(talk_then_exit, None, node.process.pid())
    with trio.fail_after(1):
        event = await node.process.events().receive()
    assert event.result.value == "gone"
    assert node.process.inbox().receive_nowait().topic == "last words"
