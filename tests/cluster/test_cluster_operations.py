"""Every process operation between local processes of different nodes (real OS processes, one Temporal dev
server): the test's own node and ``pidflow run --node`` children."""

from __future__ import annotations

from typing import Any

import pytest
import trio

import pidflow
from pidflow import EventKind, Pid
from pidflow.errors import Error, ErrorKind

from cluster_nodes import APP, DOWN_AFTER, Cluster

pytestmark = pytest.mark.trio


async def _events_of(node: Any, kind: EventKind, timeout: float = 30) -> Any:
    with trio.fail_after(timeout):
        while True:
            event = await node.process.events().receive()
            if event.kind is kind:
                return event


async def test_send_spawn_monitor_and_exit_across_nodes(cluster: Cluster) -> None:
    b = cluster.start("b")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        pid = await t.process.spawn_monitored("app:echo", f"app:processes@{b.name}", None)
        assert pid.node == b.name and pid.host == "app:processes"
        for i in range(5):
            await t.process.send(pid, "ping", {"n": i})
        with trio.fail_after(30):
            replies = [await t.process.inbox().receive() for _ in range(5)]
        assert [m.data["n"] for m in replies] == list(range(5))  # in order
        assert all(m.sender == pid for m in replies)
        await t.process.send(pid, "crash")
        event = await _events_of(t, EventKind.EXIT)
        assert event.sender == pid
        assert event.result.error.kind is ErrorKind.INVALID  # a ValueError in user code
        assert "asked to crash" in event.result.error.message
        assert t.nodes() == {b.name: True}


async def test_monitor_unmonitor_terminate_and_cancel_across_nodes(cluster: Cluster) -> None:
    b = cluster.start("b")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        host = f"app:processes@{b.name}"
        first = await t.process.spawn("app:echo", host, None)
        await t.process.monitor(first)
        await t.process.unmonitor(first)
        assert await t.process.terminate(first) is True
        assert await t.process.terminate(first) is False  # not running any more
        second = await t.process.spawn("app:echo", host, None)
        await t.process.monitor(second)
        assert await t.process.cancel(second, 1.0) is True
        event = await _events_of(t, EventKind.EXIT)
        assert event.sender == second  # and no EXIT of `first`: it was unmonitored
        # monitoring a process of the other node that is not running: EXIT noproc at once
        ghost = Pid("app:processes", "999999", b.name)
        await t.process.monitor(ghost)
        event = await _events_of(t, EventKind.EXIT)
        assert event.sender == ghost and event.result.error.details["reason"] == "noproc"


async def test_links_across_nodes_both_ways(cluster: Cluster) -> None:
    b = cluster.start("b")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        host = f"app:processes@{b.name}"
        got: list[Any] = []

        async def trapper(_: Any) -> None:
            pidflow.process.set_options(trap_links=True)
            remote = await pidflow.process.spawn_linked("app:echo", host, None)
            await pidflow.process.send(remote, "crash")
            got.append(await pidflow.process.events().receive())
            # a link made after the spawn, then undone: the remote crash does not reach us
            other = await pidflow.process.spawn("app:echo", host, None)
            await pidflow.process.link(other)
            await pidflow.process.unlink(other)
            await pidflow.process.monitor(other)
            await pidflow.process.send(other, "crash")
            got.append(await pidflow.process.events().receive())

        await t.process.spawn(trapper)
        with trio.fail_after(60):
            while len(got) < 2:
                await trio.sleep(0.05)
        assert got[0].kind is EventKind.LINK_DOWN and got[0].reason.kind is ErrorKind.INVALID
        assert got[1].kind is EventKind.EXIT  # the monitor's, not a LINK_DOWN: the link was undone

        # the other way: a process on b links to a process here, which fails: b's process dies with it
        victim = await t.process.spawn_monitored(trapper_target)
        linked = await t.process.spawn("app:linker", host, {"link": victim, "report_to": t.process.pid()})
        with trio.fail_after(30):
            message = await t.process.inbox().receive()
        assert message.topic == "linked"
        await t.process.monitor(linked)
        await t.process.send(victim, "fail")
        ended: dict[Pid, Any] = {}
        while linked not in ended or victim not in ended:
            event = await _events_of(t, EventKind.EXIT)
            ended[event.sender] = event
        assert ended[linked].result.error.details["linked"] == str(victim)


async def trapper_target(_: Any) -> None:
    async for message in pidflow.process.inbox():
        if message.topic == "fail":
            raise Error(ErrorKind.CONFLICT, "failing on purpose")


async def test_spawn_on_a_node_that_is_not_up_fails_at_once(cluster: Cluster) -> None:
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        with trio.fail_after(10), pytest.raises(Error) as raised:
            await t.process.spawn("app:echo", f"app:processes@{cluster.name('nobody')}", None)
        assert raised.value.kind is ErrorKind.UNAVAILABLE
        assert raised.value.details["reason"] == "noconnection"
        with pytest.raises(Error) as raised:
            await t.process.spawn(trapper_target, f"app:processes@{cluster.name('nobody')}", None)
        assert raised.value.kind is ErrorKind.INVALID and "entry id" in raised.value.message


async def test_a_workflow_and_local_processes_of_two_nodes_in_one_link_chain(cluster: Cluster) -> None:
    """workflow <-> local on t <-> local on b: the process on b fails; t's (not trapping) dies of it; the
    workflow (trapping) gets the LINK_DOWN of t's process, whose reason names the chain."""
    b = cluster.start("b")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        on_b = await t.process.spawn("app:echo", f"app:processes@{b.name}", None)

        async def middle(_: Any) -> None:
            await pidflow.process.link(on_b)
            await trio.sleep_forever()

        here = await t.process.spawn_monitored(middle)
        await trio.sleep(0.5)  # the link to b is in place
        workflow = await t.process.spawn_monitored("app:chain_workflow", "app:worker", str(here))
        await trio.sleep(2)  # the workflow linked itself to `here` (it then waits for a LINK_DOWN)
        await t.process.send(on_b, "crash")
        ended: dict[Pid, Any] = {}
        with trio.fail_after(60):
            while workflow not in ended or here not in ended:
                event = await t.process.events().receive()
                ended[event.sender] = event
        assert ended[here].result.error.details["linked"] == str(on_b)
        result = ended[workflow].result.value
        assert result["kind"] == "pid.link.down" and result["from"] == str(here), result
        assert "asked to crash" in result["message"]


async def test_n_by_m_senders_across_three_nodes_lose_and_duplicate_nothing(cluster: Cluster) -> None:
    """3 senders on t and 3 on c send 200 numbered messages each to each of 3 collectors on b."""
    b, c = cluster.start("b"), cluster.start("c")
    per_sender, receivers = 200, 3
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        me = t.process.pid()
        collectors = [await t.process.spawn("app:collector", f"app:processes@{b.name}",
                                            {"per_sender": per_sender, "senders": 6, "report_to": me})
                      for _ in range(receivers)]
        remote_senders = [await t.process.spawn("app:sender", f"app:processes@{c.name}",
                                                {"to": [str(p) for p in collectors], "n": per_sender})
                          for _ in range(3)]

        async def sender(_: Any) -> None:
            for i in range(per_sender):
                for collector in collectors:
                    await pidflow.process.send(collector, "n", i)

        local_senders = [await t.process.spawn(sender) for _ in range(3)]
        reports: list[Any] = []
        with trio.fail_after(120):
            while len(reports) < receivers:
                message = await t.process.inbox().receive()
                if message.topic == "collected":
                    reports.append(message.data)
        expected = {str(p) for p in [*remote_senders, *local_senders]}
        for report in reports:
            assert set(report) == expected
            for first, last, count, in_order, duplicates in report.values():
                assert (first, last, count, in_order, duplicates) == (0, per_sender - 1, per_sender, True, 0)
