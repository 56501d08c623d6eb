"""Named nodes: unique names, bad names and hosts refused with the thing that is wrong, NODEDOWN / NODEUP for
``monitor_node`` (Python and Lua), and a call across nodes."""

from __future__ import annotations

from typing import Any

import pytest
import trio

import pidflow
from pidflow import EventKind
from pidflow.errors import Error, ErrorKind

from cluster_nodes import APP, DOWN_AFTER, Cluster, next_message

pytestmark = pytest.mark.trio
PATIENCE = DOWN_AFTER * 10


async def test_a_taken_node_name_fails_the_start_with_a_clear_error(cluster: Cluster) -> None:
    b = cluster.start("b")
    with pytest.raises(Error) as raised:
        async with pidflow.open_node(APP, name=b.name, node_down_after=DOWN_AFTER):
            pass
    assert raised.value.kind is ErrorKind.ALREADY_EXISTS
    assert f"node name {b.name!r} is taken" in raised.value.message


async def test_bad_node_names_and_hosts_are_refused(cluster: Cluster) -> None:
    with pytest.raises(Error) as raised:
        async with pidflow.open_node(APP, name="a|b"):
            pass
    assert raised.value.kind is ErrorKind.INVALID and raised.value.details["argument"] == "node"
    with pytest.raises(Error) as raised:
        async with pidflow.open_node(APP, node_down_after=0.1):
            pass
    assert raised.value.kind is ErrorKind.INVALID and raised.value.details["option"] == "node_down_after"
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        for host in ("app:processes@", "@b", "a@b@c"):
            with pytest.raises(Error) as raised:
                await t.process.spawn("app:echo", host, None)
            assert raised.value.kind is ErrorKind.INVALID and host in raised.value.message
        with pytest.raises(Error) as raised:
            await t.process.monitor_node("no|de")
        assert raised.value.kind is ErrorKind.INVALID
        assert await t.process.demonitor_node("never-watched") is False
    async with pidflow.open_node() as lone:  # in no cluster: another node's host cannot be reached
        with pytest.raises(Error) as raised:
            await lone.process.spawn(_idle, "pidflow:local@elsewhere", None)
        assert raised.value.kind is ErrorKind.UNAVAILABLE and "no cluster" in raised.value.message


async def _idle(_: Any) -> None:
    await trio.sleep_forever()


async def test_monitor_node_gives_nodedown_and_nodeup_in_python_and_lua(cluster: Cluster) -> None:
    b, c = cluster.start("b"), cluster.start("c")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        await t.process.monitor_node(b.name)
        await t.process.monitor_node(t.name)  # itself: nothing, ever
        await t.process.spawn("app:node_watcher", f"app:processes@{c.name}",
                              {"node": b.name, "report_to": str(t.process.pid())})
        assert (await next_message(t, "watching")).data == b.name
        b.kill()
        with trio.fail_after(PATIENCE):
            down = await t.process.events().receive()
        assert down.kind is EventKind.NODEDOWN and down.node == b.name
        assert down.reason.kind is ErrorKind.UNAVAILABLE and down.reason.details["reason"] == "noconnection"
        lua_down = await next_message(t, "node_event")
        assert lua_down.data == {"kind": "node.down", "node": b.name, "reason": "noconnection"}
        await trio.to_thread.run_sync(cluster.restart, b)
        with trio.fail_after(PATIENCE):
            up = await t.process.events().receive()
        assert up.kind is EventKind.NODEUP and up.node == b.name
        assert (await next_message(t, "node_event")).data == {"kind": "node.up", "node": b.name}
        assert await t.process.demonitor_node(b.name) is True
        # a node that never was: NODEDOWN at once
        await t.process.monitor_node(cluster.name("ghost"))
        with trio.fail_after(PATIENCE):
            ghost = await t.process.events().receive()
        assert ghost.kind is EventKind.NODEDOWN and ghost.node == cluster.name("ghost")


async def test_call_across_nodes(cluster: Cluster) -> None:
    b = cluster.start("b")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        server = await t.process.spawn("app:adder", f"app:processes@{b.name}", None)
        assert await t.process.call(server, "add", [2, 3], timeout=30) == 5
        await t.process.terminate(server)
        with pytest.raises(Error) as raised:
            await t.process.call(server, "add", [1, 1], timeout=30)
        assert raised.value.kind is ErrorKind.NOT_FOUND
