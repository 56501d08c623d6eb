"""Cluster-wide names (``scope="cluster"``): unique across nodes, reachable by name from any node, released when the
holder ends or its registrar node is declared down."""

from __future__ import annotations

from typing import Any

import pytest
import trio

import pidflow
from pidflow.errors import Error, ErrorKind

from cluster_nodes import APP, DOWN_AFTER, Cluster, next_message

pytestmark = pytest.mark.trio
PATIENCE = DOWN_AFTER * 10


async def _released(node: Any, name: str) -> None:
    with trio.fail_after(PATIENCE):
        while await node.process.whereis_global(name) is not None:
            await trio.sleep(0.2)


async def test_a_cluster_name_is_unique_reachable_everywhere_and_released_with_its_holder(cluster: Cluster) -> None:
    b, c = cluster.start("b"), cluster.start("c")
    name = cluster.name("orders-service")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        holder = await t.process.spawn("app:echo", f"app:processes@{b.name}", None)
        await t.process.register(name, holder, scope="cluster")
        await t.process.register(name, holder, scope="cluster")  # the same PID again: fine
        assert t.process.whereis(name) is None  # not a node name
        assert await t.process.whereis_global(name) == holder
        # a process on a third node reaches it by name
        await t.process.spawn("app:name_user", f"app:processes@{c.name}", {"name": name, "report_to": t.process.pid()})
        resolved = await next_message(t, "resolved")
        assert resolved.data == {"holder": str(holder), "data": "via-name"}
        # another node cannot take it
        await t.process.spawn("app:claimer", f"app:processes@{c.name}", {"name": name, "report_to": t.process.pid()})
        refused = await next_message(t, "refused")
        assert refused.data["pid"] == str(holder)
        other = await t.process.spawn("app:echo", f"app:processes@{c.name}", None)
        with pytest.raises(Error) as raised:
            await t.process.register(name, other, scope="cluster")
        assert raised.value.kind is ErrorKind.ALREADY_EXISTS and raised.value.details["pid"] == str(holder)
        # the holder ends: the name is free, and a Lua process on c takes it with the seed's CONSISTENT scope
        await t.process.terminate(holder)
        await _released(t, name)
        await t.process.spawn("app:lua_claimer", f"app:processes@{c.name}", {"name": name, "report_to": str(t.process.pid())})
        claimed = await next_message(t, "claimed")
        assert await t.process.whereis_global(name) == pidflow.Pid.parse(claimed.data)
        await t.process.send(name, "ping", 7)  # by name, from here
        assert (await next_message(t, "echo")).data == 7
        assert await t.process.unregister(name, scope="cluster") is True
        assert await t.process.whereis_global(name) is None
        assert await t.process.unregister(name, scope="cluster") is False


async def test_a_cluster_name_goes_with_its_registrar_node(cluster: Cluster) -> None:
    b = cluster.start("b")
    name = cluster.name("singleton")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        await t.process.spawn("app:claimer", f"app:processes@{b.name}", {"name": name, "report_to": t.process.pid()})
        claimed = await next_message(t, "claimed")
        assert str(await t.process.whereis_global(name)) == claimed.data
        b.kill()
        await _released(t, name)
        mine = await t.process.spawn(_idle)
        await t.process.register(name, mine, scope="cluster")  # free again
        assert await t.process.whereis_global(name) == mine


async def test_a_workflow_holds_a_cluster_name_until_it_ends(cluster: Cluster) -> None:
    b = cluster.start("b")
    name = cluster.name("durable-holder")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        workflow = await t.process.spawn_monitored("app:name_workflow", "app:worker", {"name": name})
        with trio.fail_after(PATIENCE):
            while await t.process.whereis_global(name) != workflow:
                await trio.sleep(0.2)
        await t.process.spawn("app:name_user", f"app:processes@{b.name}", {"name": name, "report_to": t.process.pid()})
        assert (await next_message(t, "resolved")).data == {"holder": str(workflow), "data": "via-name"}
        with trio.fail_after(PATIENCE):
            ended = await t.process.events().receive()
        assert ended.sender == workflow and ended.result.value == {"registered": True}
        await _released(t, name)


async def _idle(_: Any) -> None:
    await trio.sleep_forever()


async def test_cluster_scope_needs_a_cluster_and_a_valid_scope() -> None:
    async with pidflow.open_node() as lone:
        with pytest.raises(Error) as raised:
            await lone.process.register("x", scope="cluster")
        assert raised.value.kind is ErrorKind.UNAVAILABLE and "no cluster" in raised.value.message
        with pytest.raises(Error) as raised:
            await lone.process.register("x", scope="galaxy")
        assert raised.value.kind is ErrorKind.INVALID and raised.value.details["argument"] == "scope"
