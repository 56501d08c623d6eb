"""Ending processes (terminate, cancel), names, exec, spawn errors and node shutdown."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import pidflow
from pidflow import ErrorKind, EventKind, Pid
from pidflow._host import SpawnRequest
from pidflow.actors import LocalHost

from ._support import Seen, crash, drain, is_alive, return_input, root_events, settle, wait_forever


# -- terminate -------------------------------------------------------------------------------------------------

async def test_terminate_ends_process_with_terminated_error(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(wait_forever)
    assert await node.process.terminate(pid) is True
    event = await node.process.events().receive()
    assert event.from_ == pid and event.result.error.kind is ErrorKind.TERMINATED
    assert str(node.process.pid()) in event.result.error.message


async def test_terminate_ends_a_trapping_process_too(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.with_options({"trap_links": True}).spawn_monitored(wait_forever)
    await node.process.terminate(pid)
    event = await node.process.events().receive()
    assert event.result.error.kind is ErrorKind.TERMINATED
    assert not is_alive(node, pid)


async def test_terminate_ends_a_process_that_catches_exceptions(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def stubborn(_: Any) -> str:
        try:
            await trio.sleep_forever()
        except Exception:  # Cancelled is a BaseException: this cannot swallow it
            return "survived"
        return "unreachable"

    pid = await node.process.spawn_monitored(stubborn)
    await settle()
    await node.process.terminate(pid)
    assert (await node.process.events().receive()).result.error.kind is ErrorKind.TERMINATED


async def test_terminate_of_dead_pid_returns_false(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(return_input)
    await node.process.events().receive()
    assert await node.process.terminate(pid) is False


async def test_terminate_before_first_checkpoint_still_reports_terminated(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(return_input, None, "value")
    await node.process.terminate(pid)  # the task has not run yet
    event = await node.process.events().receive()
    assert event.result.error.kind is ErrorKind.TERMINATED


# -- cancel ----------------------------------------------------------------------------------------------------

async def test_cancel_delivers_cancel_event_with_deadline(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def obedient(_: Any) -> Any:
        event = await pidflow.process.events().receive()
        return (event.kind.value, event.deadline, event.from_)

    pid = await node.process.spawn_monitored(obedient)
    assert await node.process.cancel(pid, "2s") is True
    event = await node.process.events().receive()
    assert event.result.value == ("CANCEL", 2.0, node.process.pid())


async def test_cancel_terminates_when_deadline_passes(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(wait_forever)
    start = trio.current_time()
    await node.process.cancel(pid, 3)
    event = await node.process.events().receive()
    assert event.from_ == pid and event.result.error.kind is ErrorKind.CANCELED
    assert trio.current_time() - start == pytest.approx(3.0)  # virtual time: exactly the deadline


async def test_cancel_does_not_terminate_process_that_exits_before_deadline(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def tidy(_: Any) -> str:
        await pidflow.process.events().receive()
        await trio.sleep(1)  # clean up, well within the deadline
        return "clean"

    pid = await node.process.spawn_monitored(tidy)
    await node.process.cancel(pid, 5)
    event = await node.process.events().receive()
    assert event.result.value == "clean"
    await trio.sleep(10)  # past the deadline: nothing more happens
    assert drain(node.process.events()) == []


async def test_cancel_deadline_does_not_touch_a_new_process_with_the_same_name(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def quit_on_cancel(_: Any) -> str:
        await pidflow.process.events().receive()
        return "quit"

    first = await node.process.with_name("svc").spawn_monitored(quit_on_cancel)
    await node.process.cancel(first, 5)
    await node.process.events().receive()
    second = await node.process.with_name("svc").spawn_monitored(wait_forever)
    await trio.sleep(10)
    assert second != first and is_alive(node, second)


async def test_cancel_of_dead_pid_returns_false(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(return_input)
    await node.process.events().receive()
    assert await node.process.cancel(pid, 1) is False


async def test_cancel_rejects_malformed_deadline(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn(wait_forever)
    with pytest.raises(pidflow.Error, match="cancel deadline") as info:
        await node.process.cancel(pid, "soon")
    assert info.value.kind is ErrorKind.INVALID


# -- names -----------------------------------------------------------------------------------------------------

async def test_spawning_running_name_returns_existing_pid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    first = await node.process.with_name("svc").spawn(wait_forever)
    second = await node.process.with_name("svc").spawn(return_input, None, "ignored")
    assert first == second
    await settle()
    assert is_alive(node, first)


async def test_name_is_released_when_process_exits(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    first = await node.process.with_name("svc").spawn_monitored(wait_forever)
    await node.process.terminate(first)
    await node.process.events().receive()
    second = await node.process.with_name("svc").spawn(wait_forever)
    assert second != first and is_alive(node, second)


async def test_names_are_unique_per_node_across_hosts(autojump_clock: trio.testing.MockClock) -> None:
    registry = pidflow.entries.from_dicts("app", [{"name": "processes", "kind": "process.host"}])
    async with pidflow.open_node(registry) as node:
        here = await node.process.with_name("svc").spawn(wait_forever, "app:processes")
        there = await node.process.with_name("svc").spawn(wait_forever, "pidflow:local")
        assert here == there and here.host == "app:processes"  # the holder on the other host is reached
        assert node.process.lookup("svc") == here


async def test_spawn_monitored_of_running_name_monitors_the_existing_process(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    first = await node.process.with_name("svc").spawn(wait_forever)
    again = await node.process.with_name("svc").spawn_monitored(wait_forever)
    await node.process.terminate(first)
    await settle()
    assert root_events(node) == [Seen("EXIT", first, None, "TERMINATED")] and again == first


async def test_with_name_rejects_empty_name(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="non-empty string"):
        node.process.with_name("")


# -- exec ------------------------------------------------------------------------------------------------------

async def test_exec_returns_the_child_value(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    assert await node.process.exec(return_input, None, [1, 2]) == [1, 2]


async def test_exec_raises_the_child_error(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="crashed: oops") as info:
        await node.process.exec(crash, None, "oops")
    assert info.value.kind is ErrorKind.INTERNAL


async def test_exec_does_not_put_its_own_exit_in_events(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    await node.process.exec(return_input, None, 1)
    await settle()
    assert drain(node.process.events()) == []


async def test_exec_leaves_other_events_queued(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def slow(_: Any) -> str:
        await trio.sleep(2)
        return "slow"

    async def fast_exit_then_slow(_: Any) -> str:
        await trio.sleep(1)
        return "fast"

    earlier = await node.process.spawn_monitored(return_input, None, "earlier")
    await settle()
    during = await node.process.spawn_monitored(fast_exit_then_slow)  # ends while exec waits
    assert await node.process.exec(slow) == "slow"
    assert root_events(node) == [Seen("EXIT", earlier, "earlier"), Seen("EXIT", during, "fast")]


async def test_exec_from_inside_a_process(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def outer(x: int) -> int:
        return await pidflow.process.exec(return_input, None, x + 1) * 10

    assert await node.process.exec(outer, None, 1) == 20


async def test_exec_abandoned_by_a_timeout_leaves_no_stray_exit(node: pidflow.Node,
                                                                autojump_clock: trio.testing.MockClock) -> None:
    async def slow(_: Any) -> str:
        await trio.sleep(5)
        return "late"

    with trio.move_on_after(1):
        await node.process.exec(slow)
    await trio.sleep(10)  # the child has ended by now
    assert drain(node.process.events()) == []


class _SlowSpawnHost(LocalHost):
    """A host whose spawn takes a while, as a remote (Temporal) host's does, then fails."""

    async def spawn(self, request: SpawnRequest) -> Pid:
        await trio.sleep(1)
        raise pidflow.Error(ErrorKind.UNAVAILABLE, "host unreachable")


async def test_exit_arriving_during_a_failed_exec_spawn_is_not_lost(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    slow = _SlowSpawnHost("test:slow")
    await node._add_host(slow)
    other = await node.process.spawn_monitored(return_input, None, "mine")  # ends during the slow spawn
    with pytest.raises(pidflow.Error, match="unreachable"):
        await node.process.exec(return_input, "test:slow", None)
    await settle()
    assert root_events(node) == [Seen("EXIT", other, "mine")]


# -- spawn errors ----------------------------------------------------------------------------------------------

async def test_spawn_of_unknown_entry_raises_not_found_naming_it(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="entry app:nope not found") as info:
        await node.process.spawn("app:nope")
    assert info.value.kind is ErrorKind.NOT_FOUND


async def test_spawn_with_an_option_the_host_does_not_own_passes_it_through(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.with_options({"network": "app:proxy", "temporal.workflow.id": "x"}).spawn(wait_forever)
    assert is_alive(node, pid)


async def test_spawn_with_mistyped_option_raises_invalid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="'trap_links' must be bool") as info:
        await node.process.with_options({"trap_links": "yes"}).spawn(wait_forever)
    assert info.value.kind is ErrorKind.INVALID


async def test_spawn_of_sync_function_raises_invalid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="must be an async function") as info:
        await node.process.spawn(lambda x: x)
    assert info.value.kind is ErrorKind.INVALID


async def test_spawn_on_unknown_host_raises_not_found(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="host app:nowhere not found") as info:
        await node.process.spawn(wait_forever, "app:nowhere")
    assert info.value.kind is ErrorKind.NOT_FOUND


async def test_failed_spawn_does_not_register_the_name(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error):
        await node.process.with_name("svc").spawn("app:nope")
    pid = await node.process.with_name("svc").spawn_monitored(return_input, None, "real")
    assert (await node.process.events().receive()).from_ == pid


# -- node shutdown ---------------------------------------------------------------------------------------------

async def test_closing_the_node_ends_running_processes(autojump_clock: trio.testing.MockClock) -> None:
    ended: list[str] = []

    async def guarded(_: Any) -> None:
        try:
            await trio.sleep_forever()
        finally:
            ended.append("cleanup ran")

    async with pidflow.open_node() as node:
        pid = await node.process.spawn(guarded)
        await settle()
        assert is_alive(node, pid)
    assert ended == ["cleanup ran"]


async def test_events_report_kind_as_enum(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    await node.process.spawn_monitored(return_input)
    assert (await node.process.events().receive()).kind is EventKind.EXIT
