"""Node failures, with real OS processes: a node SIGKILLed (its watchers elsewhere get ``noconnection`` within the
bound, nothing else is lost), a node restarted under its name (a supervisor elsewhere restarts its child there),
a node paused past the bound (it learns it was declared down, and breaks its side too)."""

from __future__ import annotations

import signal
from typing import Any

import pytest
import trio

import pidflow
from pidflow import EventKind, Pid
from pidflow.errors import Error, ErrorKind
from pidflow.supervision import ChildSpec, SupervisorSpec, start_supervisor

from cluster_nodes import APP, DOWN_AFTER, Cluster

pytestmark = pytest.mark.trio

#: Generous: the bound is DOWN_AFTER; this only keeps a broken test from hanging (never a speed assertion).
PATIENCE = DOWN_AFTER * 10


def _noconnection(error: Error | None, node: str) -> bool:
    return (error is not None and error.kind is ErrorKind.UNAVAILABLE and isinstance(error.details, dict)
            and error.details.get("reason") == "noconnection" and error.details.get("node") == node)


async def test_sigkill_gives_noconnection_to_every_watcher_and_spares_the_rest(cluster: Cluster) -> None:
    b, c = cluster.start("b"), cluster.start("c")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        on_b = f"app:processes@{b.name}"
        monitored = await t.process.spawn_monitored("app:echo", on_b, None)
        seen: dict[str, Any] = {}

        async def trapping(_: Any) -> None:
            pidflow.process.set_options(trap_links=True)
            await pidflow.process.spawn_linked("app:echo", on_b, None)
            seen["trapping"] = await pidflow.process.events().receive()

        async def not_trapping(_: Any) -> None:
            await pidflow.process.spawn_linked("app:echo", on_b, None)
            await trio.sleep_forever()

        async def node_watcher(_: Any) -> None:
            await pidflow.process.monitor_node(b.name)
            seen["nodedown"] = await pidflow.process.events().receive()

        await t.process.spawn(trapping)
        dies = await t.process.spawn_monitored(not_trapping)
        await t.process.spawn(node_watcher)
        on_c = await t.process.spawn("app:echo", f"app:processes@{c.name}", None)
        await t.process.send(monitored, "ping", 1)
        with trio.fail_after(PATIENCE):
            assert (await t.process.inbox().receive()).data == 1
        await trio.sleep(0.5)  # the links and monitors above are in place on b

        b.kill()
        killed_at = trio.current_time()
        exits: dict[Pid, Any] = {}
        with trio.fail_after(PATIENCE):
            while monitored not in exits or dies not in exits:
                event = await t.process.events().receive()
                exits[event.sender] = event
            while len(seen) < 2:
                await trio.sleep(0.05)
        detected_after = trio.current_time() - killed_at
        assert _noconnection(exits[monitored].result.error, b.name)
        assert _noconnection(exits[dies].result.error.details and Error(  # it died of the link's reason
            exits[dies].result.error.kind, "", details=exits[dies].result.error.details), b.name) or \
            exits[dies].result.error.kind is ErrorKind.UNAVAILABLE
        assert seen["trapping"].kind is EventKind.LINK_DOWN and _noconnection(seen["trapping"].reason, b.name)
        assert seen["nodedown"].kind is EventKind.NODEDOWN and seen["nodedown"].node == b.name
        print(f"node_down_detect_s={detected_after:.2f} (bound {DOWN_AFTER})")

        # fast failure from now on, and the third node is untouched
        with pytest.raises(Error) as raised:
            await t.process.send(monitored, "ping", 2)
        assert _noconnection(raised.value, b.name)
        await t.process.send(on_c, "ping", 3)
        with trio.fail_after(PATIENCE):
            assert (await t.process.inbox().receive()).data == 3
        assert t.nodes() == {b.name: False, c.name: True}


async def test_supervisor_restarts_its_child_on_a_node_that_was_killed_and_restarted(cluster: Cluster) -> None:
    b = cluster.start("b")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        spec = SupervisorSpec(children=(ChildSpec("remote", "app:echo", host=f"app:processes@{b.name}"),),
                              intensity=100, period=120)
        supervisor = await start_supervisor(t.process, spec)
        [child] = await supervisor.which_children()
        first = child["pid"]
        assert first.node == b.name
        b.kill()
        await trio.sleep(DOWN_AFTER)  # down, and a restart or two refused meanwhile
        again = await trio.to_thread.run_sync(cluster.restart, b)
        with trio.fail_after(PATIENCE):
            while True:
                [child] = await supervisor.which_children()
                if child["pid"] is not None and child["pid"] != first:
                    break
                await trio.sleep(0.2)
        restarted = child["pid"]
        assert restarted.node == again.name
        await t.process.send(restarted, "ping", "after restart")
        with trio.fail_after(PATIENCE):
            assert (await t.process.inbox().receive()).data == "after restart"


async def test_a_paused_node_learns_it_was_declared_down(cluster: Cluster) -> None:
    b = cluster.start("b")
    async with pidflow.open_node(APP, name=cluster.name("t"), node_down_after=DOWN_AFTER) as t:
        got: dict[str, Any] = {}

        async def anchor(_: Any) -> None:  # linked to b's linker; traps, so it sees the LINK_DOWN
            pidflow.process.set_options(trap_links=True)
            async for event in pidflow.process.events():
                got.setdefault("link_down", event)

        here = await t.process.spawn(anchor)
        linker = await t.process.spawn("app:linker", f"app:processes@{b.name}",
                                       {"link": here, "report_to": t.process.pid()})
        await t.process.spawn("app:reporter", f"app:processes@{b.name}",
                              {"watch": linker, "report_to": t.process.pid()})
        with trio.fail_after(PATIENCE):
            assert (await t.process.inbox().receive()).topic == "linked"
        await trio.sleep(0.5)

        b.signal(signal.SIGSTOP)
        with trio.fail_after(PATIENCE):
            while "link_down" not in got:
                await trio.sleep(0.05)
        assert _noconnection(got["link_down"].reason, b.name)
        await trio.sleep(1)
        b.signal(signal.SIGCONT)
        # b finds out it was declared down: its linker dies of the same reason, and its reporter (on b) says so
        with trio.fail_after(PATIENCE):
            report = await t.process.inbox().receive()
        assert report.topic == "ended" and report.data["pid"] == str(linker)
        assert report.data["kind"] == "UNAVAILABLE" and report.data["reason"] == "noconnection", report.data
        assert "declared down" in b.text()
