"""Registered names (``pidflow._names``, ``Node.register_name``) through the Python process API: register, lookup,
whereis, unregister; release when the holder ends; ``with_name`` spawns agreeing with the registry; names as the
destination of every operation; bad names."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import pidflow
from pidflow import ErrorKind, Pid

from ._support import Seen, crash, is_alive, return_input, root_events, settle, wait_forever


async def until_told(_: Any) -> str:
    """Ends when it receives "stop" (its value: "stopped"), crashes on "crash"."""
    async for message in pidflow.process.inbox():
        if message.topic == "stop":
            return "stopped"
        if message.topic == "crash":
            raise RuntimeError("told to crash")
    return "closed"


async def collect(record: list[Any]) -> None:
    async for message in pidflow.process.inbox():
        record.append((message.topic, message.data))


# -- register, lookup, whereis, unregister -------------------------------------------------------------------------

async def test_a_registered_name_is_found_by_lookup_and_whereis(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn(wait_forever)
    await node.process.register("svc", pid)
    assert node.process.lookup("svc") == pid
    assert node.process.whereis("svc") == pid


async def test_lookup_of_a_name_nobody_holds_is_not_found(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="could not resolve name 'nobody'") as info:
        node.process.lookup("nobody")
    assert info.value.kind is ErrorKind.NOT_FOUND
    assert node.process.whereis("nobody") is None


async def test_register_defaults_to_the_caller(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def register_self(_: Any) -> Pid:
        await pidflow.process.register("me")
        await trio.sleep_forever()

    pid = await node.process.spawn(register_self)
    await settle()
    assert node.process.lookup("me") == pid


async def test_registering_the_same_name_for_the_same_pid_again_is_fine(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn(wait_forever)
    await node.process.register("svc", pid)
    await node.process.register("svc", str(pid))  # a PID string names the same process
    assert node.process.lookup("svc") == pid


async def test_a_name_held_by_another_pid_is_already_exists(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    first = await node.process.spawn(wait_forever)
    second = await node.process.spawn(wait_forever)
    await node.process.register("svc", first)
    with pytest.raises(pidflow.Error, match=f"name 'svc' is already registered to {first}") as info:
        await node.process.register("svc", second)
    assert info.value.kind is ErrorKind.ALREADY_EXISTS
    assert info.value.details == {"name": "svc", "pid": str(first)}
    assert node.process.lookup("svc") == first


async def test_a_process_may_hold_several_names(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn(wait_forever)
    await node.process.register("a", pid)
    await node.process.register("b", pid)
    assert (node.process.lookup("a"), node.process.lookup("b")) == (pid, pid)
    assert node.names.names_of(pid) == ["a", "b"]


async def test_unregister_releases_the_name_for_anyone(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    first = await node.process.spawn(wait_forever)
    second = await node.process.spawn(wait_forever)
    await node.process.register("svc", first)
    assert await node.process.unregister("svc") is True
    assert node.process.whereis("svc") is None
    assert await node.process.unregister("svc") is False
    await node.process.register("svc", second)
    assert node.process.lookup("svc") == second


async def test_an_unregistered_process_ending_leaves_the_names_new_holder_alone(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    first = await node.process.spawn(wait_forever)
    second = await node.process.spawn(wait_forever)
    await node.process.register("svc", first)
    await node.process.unregister("svc")
    await node.process.register("svc", second)
    await node.process.terminate(first)
    await settle()
    assert node.process.lookup("svc") == second


async def test_registering_a_process_that_is_not_running_is_not_found(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(return_input, None, 1)
    await node.process.events().receive()
    with pytest.raises(pidflow.Error, match=f"no such process {pid}") as info:
        await node.process.register("late", pid)
    assert info.value.kind is ErrorKind.NOT_FOUND
    assert node.process.whereis("late") is None


async def test_the_root_process_can_hold_a_name(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    await node.process.register("shell")
    assert node.process.lookup("shell") == node.process.pid()


# -- release when the holder ends ----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["stop", "crash", "terminate", "cancel"])
async def test_every_name_is_released_when_its_holder_ends(node: pidflow.Node, how: str, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(until_told)
    await node.process.register("a", pid)
    await node.process.register("b", pid)
    if how == "terminate":
        await node.process.terminate("a")
    elif how == "cancel":
        await node.process.cancel("a", 1)
    else:
        await node.process.send("b", how)
    await node.process.events().receive()
    # released in the same tick as the EXIT: a watcher that sees the EXIT never finds the name still held
    assert (node.process.whereis("a"), node.process.whereis("b")) == (None, None)
    assert len(node.names) == 0


async def test_a_released_name_can_be_registered_again(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    first = await node.process.spawn_monitored(until_told)
    await node.process.register("svc", first)
    await node.process.send("svc", "stop")
    await node.process.events().receive()
    second = await node.process.spawn(wait_forever)
    await node.process.register("svc", second)
    assert node.process.lookup("svc") == second


async def test_names_of_a_host_go_when_the_node_stops(autojump_clock: trio.testing.MockClock) -> None:
    async with pidflow.open_node() as node:
        pid = await node.process.spawn(wait_forever)
        await node.process.register("svc", pid)
        names = node.names
    assert len(names) == 0


# -- with_name agrees with the registry ------------------------------------------------------------------------------

async def test_a_with_name_spawn_registers_the_name(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.with_name("svc").spawn(wait_forever)
    assert node.process.lookup("svc") == pid


async def test_a_with_name_spawn_reaches_a_holder_registered_with_register(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    record: list[Any] = []
    holder = await node.process.spawn(collect, None, record)
    await node.process.register("svc", holder)
    again = await node.process.with_name("svc").with_message("hello", 1).spawn(wait_forever)
    await settle()
    assert again == holder
    assert record == [("hello", 1)]


async def test_a_with_name_spawn_reaches_a_holder_on_another_host(autojump_clock: trio.testing.MockClock) -> None:
    registry = pidflow.entries.from_dicts("app", [{"name": "processes", "kind": "process.host"}])
    async with pidflow.open_node(registry) as node:
        record: list[Any] = []
        holder = await node.process.with_name("svc").spawn(collect, "app:processes", record)
        again = await node.process.with_name("svc").with_message("hello", 2).spawn_monitored(wait_forever,
                                                                                               "pidflow:local")
        await settle()
        assert again == holder and record == [("hello", 2)]
        await node.process.terminate(holder)
        await settle()
        assert root_events(node) == [Seen("EXIT", holder, None, "TERMINATED")]  # monitored as asked


async def test_a_with_name_process_releases_its_name_at_its_end(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.with_name("svc").spawn_monitored(until_told)
    await node.process.register("extra", pid)
    await node.process.send("svc", "stop")
    await node.process.events().receive()
    assert (node.process.whereis("svc"), node.process.whereis("extra")) == (None, None)


async def test_a_with_name_process_whose_name_was_unregistered_is_no_longer_reached(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    first = await node.process.with_name("svc").spawn(wait_forever)
    assert await node.process.unregister("svc") is True
    second = await node.process.with_name("svc").spawn(wait_forever)
    assert second != first and is_alive(node, first)
    await node.process.terminate(first)
    await settle()
    assert node.process.lookup("svc") == second


async def test_a_failed_with_name_spawn_leaves_the_name_free(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error):
        await node.process.with_name("svc").spawn("app:nope")
    assert node.process.whereis("svc") is None


# -- names as destinations -------------------------------------------------------------------------------------------

async def test_send_to_a_name_reaches_its_holder(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    record: list[Any] = []
    pid = await node.process.spawn(collect, None, record)
    await node.process.register("svc", pid)
    await node.process.send("svc", "a", 1)
    node.process.send_nowait("svc", "b", 2)
    await settle()
    assert record == [("a", 1), ("b", 2)]


async def test_send_to_a_name_nobody_holds_is_not_found(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="could not resolve name 'nobody'") as info:
        await node.process.send("nobody", "t", 1)
    assert info.value.kind is ErrorKind.NOT_FOUND


async def test_send_to_a_pid_that_is_not_running_stays_quiet(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_monitored(return_input, None, 1)
    await node.process.events().receive()
    await node.process.send(pid, "t", 1)  # Erlang: a send to a dead PID is dropped, not an error


@pytest.mark.parametrize("operation", ["terminate", "cancel", "monitor", "unmonitor", "link", "unlink"])
async def test_every_operation_on_a_name_nobody_holds_is_not_found(node: pidflow.Node, operation: str, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="could not resolve name 'nobody'") as info:
        await getattr(node.process, operation)("nobody")
    assert info.value.kind is ErrorKind.NOT_FOUND


async def test_monitor_and_terminate_by_name(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn(wait_forever)
    await node.process.register("svc", pid)
    await node.process.monitor("svc")
    assert await node.process.terminate("svc") is True
    await settle()
    assert root_events(node) == [Seen("EXIT", pid, None, "TERMINATED")]


async def test_unmonitor_by_name(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn(wait_forever)
    await node.process.register("svc", pid)
    await node.process.monitor("svc")
    await node.process.unmonitor("svc")
    await node.process.terminate(pid)
    await settle()
    assert root_events(node) == []


async def test_link_and_unlink_by_name(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    linked = await node.process.spawn(wait_forever)
    unlinked = await node.process.spawn(wait_forever)
    await node.process.register("linked", linked)
    await node.process.register("unlinked", unlinked)
    await node.process.link("linked")
    await node.process.link("unlinked")
    await node.process.unlink("unlinked")
    await node.process.terminate(linked)
    await node.process.terminate(unlinked)
    await settle()
    assert root_events(node) == [Seen("LINK_DOWN", linked, None, "TERMINATED")]  # the root traps links


async def test_cancel_by_name_delivers_cancel(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def quit_on_cancel(_: Any) -> str:
        event = await pidflow.process.events().receive()
        return event.kind.value

    pid = await node.process.spawn_monitored(quit_on_cancel)
    await node.process.register("svc", pid)
    assert await node.process.cancel("svc", "5s") is True
    assert (await node.process.events().receive()).result.value == "CANCEL"


async def test_a_pid_string_is_still_a_pid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    record: list[Any] = []
    pid = await node.process.spawn(collect, None, record)
    await node.process.send(str(pid), "t", 1)
    await settle()
    assert record == [("t", 1)]


# -- bad names -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "message"), [
    ("", "name must be a non-empty string"),
    (None, "name must be a string, got NoneType"),
    (7, "name must be a string, got int"),
    ("{app|1", "can't be a name: names that start with '{' would read as a pid"),
    ("x" * 1001, "name is 1001 characters long, over the limit of 1000"),
])
async def test_a_bad_name_is_invalid_naming_the_argument(node: pidflow.Node, name: Any, message: str, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn(wait_forever)
    for call in (lambda: node.process.register(name, pid), lambda: node.process.unregister(name)):
        with pytest.raises(pidflow.Error, match=message) as info:
            await call()
        assert info.value.kind is ErrorKind.INVALID
    for sync_call in (node.process.lookup, node.process.whereis):
        with pytest.raises(pidflow.Error, match=message):
            sync_call(name)
    assert len(node.names) == 0


async def test_a_name_of_the_longest_length_is_fine(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    await node.process.register("x" * 1000)
    assert node.process.lookup("x" * 1000) == node.process.pid()


async def test_with_name_rejects_a_name_that_reads_as_a_pid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="with_name '{x}' can't be a name") as info:
        node.process.with_name("{x}")
    assert info.value.kind is ErrorKind.INVALID


async def test_register_takes_a_pid_not_a_name(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="a pid must be a string") as info:
        await node.process.register("svc", 42)
    assert info.value.kind is ErrorKind.INVALID


async def test_a_destination_that_is_neither_pid_nor_name_is_invalid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="destination must be a pid or a registered name, got 42") as info:
        await node.process.send(42, "t")
    assert info.value.kind is ErrorKind.INVALID


async def test_a_crashed_holders_names_are_released(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.with_name("svc").spawn_monitored(crash, None, "boom")
    await node.process.events().receive()
    assert node.process.whereis("svc") is None and not is_alive(node, pid)
