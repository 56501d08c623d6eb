"""Links: bidirectional, abnormal ends kill transitively unless trapped (then LINK_DOWN), normal ends don't."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import pidflow
from pidflow import ErrorKind, Pid

from ._support import Seen, crash, drain, is_alive, puppet, root_events, settle


async def spawn_puppet(node: pidflow.Node, trap: bool = False) -> tuple[Pid, list[Seen]]:
    record: list[Seen] = []
    spawner = node.process.with_options({"trap_links": True}) if trap else node.process
    pid = await spawner.spawn_monitored(puppet, None, record)
    return pid, record


async def command(node: pidflow.Node, pid: Pid, topic: str, data: Any = None) -> None:
    await node.process.send(pid, topic, data)
    await settle()


async def test_abnormal_exit_kills_linked_process(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, _ = await spawn_puppet(node)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, b, "raise", "x")
    assert not is_alive(node, a)
    exits = {e.from_: e for e in root_events(node)}
    assert exits[b].error == "INTERNAL"
    assert exits[a].error == "INTERNAL"  # the linked process dies with the original kind


async def test_link_is_bidirectional(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, _ = await spawn_puppet(node)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, a, "raise", "x")  # the linker dies: the linked one follows
    assert not is_alive(node, b)


async def test_abnormal_exit_propagates_through_chain_of_links(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, _ = await spawn_puppet(node)
    b, _ = await spawn_puppet(node)
    c, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, b, "link", c)
    await node.process.terminate(c)
    await settle()
    assert not is_alive(node, a) and not is_alive(node, b)
    assert {e.from_: e.error for e in root_events(node)} == {a: "TERMINATED", b: "TERMINATED", c: "TERMINATED"}


async def test_trapping_process_gets_link_down_instead_of_dying(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, record = await spawn_puppet(node, trap=True)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, b, "raise", "x")
    assert is_alive(node, a)
    assert record == [Seen("LINK_DOWN", b, None, "INTERNAL")]


async def test_trapping_process_stops_the_propagation(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, _ = await spawn_puppet(node)
    trapper, _ = await spawn_puppet(node, trap=True)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", trapper)
    await command(node, trapper, "link", b)
    await command(node, b, "raise", "x")
    assert is_alive(node, trapper) and is_alive(node, a)


async def test_set_options_trap_links_takes_effect_at_once(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, record = await spawn_puppet(node)
    b, _ = await spawn_puppet(node)
    await command(node, a, "trap", True)
    await command(node, a, "link", b)
    await command(node, b, "raise", "x")
    assert is_alive(node, a)
    assert record == [Seen("LINK_DOWN", b, None, "INTERNAL")]


async def test_turning_trap_off_makes_process_die_with_its_link(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, _ = await spawn_puppet(node, trap=True)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, a, "trap", False)
    await command(node, b, "raise", "x")
    assert not is_alive(node, a)


async def test_normal_exit_does_not_kill_linked_process(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, record = await spawn_puppet(node, trap=True)
    b, _ = await spawn_puppet(node)
    c, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, c, "link", b)
    await command(node, b, "exit")
    assert is_alive(node, a) and is_alive(node, c)
    assert record == []  # not even a LINK_DOWN for the trapping one


async def test_normal_exit_removes_the_link(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, record = await spawn_puppet(node, trap=True)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, b, "exit")
    await command(node, a, "raise", "x")  # a's crash must not touch anything on b's behalf
    exits = {e.from_: e for e in root_events(node)}
    assert exits[b].error is None and exits[a].error == "INTERNAL"


async def test_unlink_stops_propagation(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, _ = await spawn_puppet(node)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, a, "unlink", b)
    await command(node, b, "raise", "x")
    assert is_alive(node, a)


async def test_unlink_by_the_other_side_also_removes_the_link(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, record = await spawn_puppet(node, trap=True)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, b, "unlink", a)
    await command(node, b, "raise", "x")
    assert record == []


async def test_linking_twice_gives_one_link_down(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, record = await spawn_puppet(node, trap=True)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, b, "link", a)
    await command(node, b, "raise", "x")
    assert record == [Seen("LINK_DOWN", b, None, "INTERNAL")]


async def test_linking_dead_pid_raises_not_found(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    dead = await node.process.spawn_monitored(crash, None, "x")
    a, record = await spawn_puppet(node)
    await settle()
    await command(node, a, "link", dead)
    assert record == [Seen("ERROR", None, "link", "NOT_FOUND")]
    assert is_alive(node, a)


async def test_linking_dead_pid_while_trapping_gives_link_down_at_once(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    dead = await node.process.spawn_monitored(crash, None, "x")
    a, record = await spawn_puppet(node, trap=True)
    await settle()
    await command(node, a, "link", dead)
    assert record == [Seen("LINK_DOWN", dead, None, "NOT_FOUND")]


async def test_link_to_self_raises_invalid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="can't link to self") as info:
        await node.process.link(node.process.pid())
    assert info.value.kind is ErrorKind.INVALID


async def test_spawn_linked_child_crash_kills_parent(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def parent(_: Any) -> None:
        await pidflow.process.spawn_linked(crash, None, "child")
        await trio.sleep_forever()

    pid = await node.process.spawn_monitored(parent)
    event = await node.process.events().receive()
    assert event.from_ == pid and event.result.error.kind is ErrorKind.INTERNAL


async def test_spawn_linked_parent_crash_kills_child(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    parent, _ = await spawn_puppet(node)
    await command(node, parent, "spawn_linked", [])
    child = (await node.process.inbox().receive()).data
    assert is_alive(node, child)
    await command(node, parent, "raise", "x")
    assert not is_alive(node, child)


async def test_root_process_traps_links(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    pid = await node.process.spawn_linked(crash, None, "x")
    await settle()
    assert root_events(node) == [Seen("LINK_DOWN", pid, None, "INTERNAL")]
    assert node.process.pid() == Pid(pid.host, "0", node.name)


async def test_process_killed_by_link_exits_with_error_naming_the_link(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    a, _ = await spawn_puppet(node)
    b, _ = await spawn_puppet(node)
    await command(node, a, "link", b)
    await command(node, b, "raise", "x")
    exits = {e.from_: e.result.error for e in drain(node.process.events())}
    assert exits[a].message.startswith(f"linked process {b} failed: RuntimeError")
    assert exits[a].details == {"linked": str(b)}
