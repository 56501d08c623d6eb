"""Introspection of durable processes (``Node.processes`` / ``process_info`` / ``tree`` / ``observe``): the durable
child of examples/mixed_tree in its tree with its workflow id, run id, status and Temporal UI link; its restart
under the same PID; messages and signals counted; the events of a workflow's end; a workflow the node only knows
through Temporal. Local processes: tests/test_introspection.py."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest
import trio
import yaml

import pidflow
from pidflow import Error, ErrorKind, Pid
from pidflow._introspection import DurableInfo, ObserverEvent

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "mixed_tree"
UI = "http://127.0.0.1:18233"


@pytest.fixture
def mixed_tree(tmp_path: Path, task_queue: str, temporal_address: str) -> Path:
    """examples/mixed_tree as it is, on this test's task queue."""
    for path in EXAMPLE.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    doc = yaml.safe_load((EXAMPLE / "app.yaml").read_text())
    [worker] = [e for e in doc["entries"] if e["name"] == "worker"]
    worker["task_queue"] = task_queue
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path / "app.yaml"


async def describe(node: pidflow.Node, workflow_id: str) -> Any:
    host: Any = node.hosts["app:worker"]
    return await host.service.aio.run(host.client.get_workflow_handle(workflow_id).describe)


async def until(kind: str, events: pidflow.Mailbox[ObserverEvent], seen: list[ObserverEvent]) -> ObserverEvent:
    with trio.fail_after(30):
        while True:
            seen.append(await events.receive())
            if seen[-1].kind == kind:
                return seen[-1]


async def end_orders(app: Path) -> None:
    """The durable child outlives the node: end it (a node without services, so nothing restarts it)."""
    async with pidflow.open_node(app, services=False) as node:
        await node.process.terminate(Pid("app:worker", "app-root/orders"))


async def test_the_durable_child_of_mixed_tree_is_in_its_tree_with_its_workflow(
        mixed_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIDFLOW_TEMPORAL_UI_URL", UI)
    try:
        async with pidflow.open_node(mixed_tree) as node:
            [root] = node.tree()
            [root_pid] = node.root_supervisors
            assert [(c.child_id, c.entry, c.host) for c in root.children] == [
                ("journal", "app:journal", "app:processes"), ("orders", "app:orders", "app:worker"),
                ("cache", "app:cache", "app:processes"), ("audit", "app:journal", "app:processes")]
            orders = root.children[1]
            assert (orders.pid, orders.status, orders.restarts) == (Pid("app:worker", "app-root/orders"), "running", 0)

            run_id = (await describe(node, "app-root/orders")).run_id
            listed = [p for p in node.processes() if p.pid == orders.pid]
            ui_url = f"{UI}/namespaces/default/workflows/app-root%2Forders/{run_id}/history"
            # a listing asks nothing: the run it started, as the node knows it
            assert [p.durable for p in listed] == [DurableInfo("app-root/orders", run_id, "running", ui_url)]
            await node.process.send(orders.pid, "order", {"n": 1})
            info = await node.process_info(orders.pid)
            assert info.durable == DurableInfo("app-root/orders", run_id, "running", ui_url)
            assert (info.entry, info.host, info.parent, info.names, info.status, info.restarts) == \
                ("app:orders", "app:worker", root_pid, ("app-root/orders",), "running", 0)
            assert (info.messages_in, info.links, info.monitored_by, info.trap_links, info.lua_where) == \
                (1, (), (root_pid,), False, None)
            assert info.started_at is not None and abs(info.started_at - listed[0].started_at) < 60  # type: ignore[operator]
            assert set((await node.process_info(root_pid)).monitors) == {c.pid for c in root.children}
            with trio.fail_after(30):
                while node.observer_counters()["workflow_signals"] < 1:  # the message's signal landed
                    await trio.sleep(0.02)
            assert info.to_json()["durable"]["workflow_id"] == "app-root/orders"
    finally:
        await end_orders(mixed_tree)


async def test_a_durable_child_that_ends_is_restarted_under_the_same_pid_in_a_new_run(mixed_tree: Path) -> None:
    try:
        async with pidflow.open_node(mixed_tree) as node:
            events = node.observe()
            orders = node.tree()[0].children[1]
            first = await node.process_info(orders.pid)
            await node.process.send(orders.pid, "close")
            seen: list[ObserverEvent] = []
            restart = await until("restart", events, seen)
            assert [(e.kind, e.pid) for e in seen] == [("exit", orders.pid), ("spawn", orders.pid),
                                                      ("restart", orders.pid)]
            assert seen[0].details == {"error": None, "kind": "normal"}
            assert (restart.details["old_pid"], restart.details["new_pid"], restart.details["restarts"]) == \
                (str(orders.pid), str(orders.pid), 1)
            assert node.tree()[0].children[1].restarts == 1
            second = await node.process_info(orders.pid)
            assert second.durable is not None and first.durable is not None
            assert second.durable.run_id != first.durable.run_id and second.restarts == 1
            assert second.durable.run_id == (await describe(node, "app-root/orders")).run_id
    finally:
        await end_orders(mixed_tree)


def chatty() -> list[dict[str, Any]]:
    return [{"name": "chatty", "kind": "workflow.lua", "source": "file://introspection_chatty.lua"}]


async def test_a_workflow_s_messages_and_its_failure_are_counted_and_reported(
        make_app: Callable[..., Path]) -> None:
    async with pidflow.open_node(make_app(chatty())) as node:
        events = node.observe()
        pid = await node.process.spawn_monitored("app:chatty", "app:worker")
        await node.process.send(pid, "hello", 5)
        with trio.fail_after(30):
            assert (await node.process.inbox().receive()).data == 5
        info = await node.process_info(pid)
        assert (info.entry, info.parent, info.messages_in, info.messages_out, info.monitored_by) == \
            ("app:chatty", node.process.pid(), 1, 1, (node.process.pid(),))
        assert (await node.process_info(node.process.pid())).monitors == (pid,)
        await node.process.send(pid, "fail")
        with trio.fail_after(30):
            exit_ = await node.process.events().receive()
        assert exit_.result is not None and exit_.result.error is not None
        seen: list[ObserverEvent] = []
        await until("exit", events, seen)
        assert [e.kind for e in seen] == ["spawn", "crash", "exit"]
        assert seen[2].details["kind"] == exit_.result.error.kind.value
        assert "asked to fail" in seen[1].details["error"]["message"]
        assert pid not in [p.pid for p in node.processes()]  # ended: no longer listed
        counters = node.observer_counters()
        assert counters["messages_delivered"] >= 3 and counters["workflow_signals"] >= 2
        assert counters["exits"].get(exit_.result.error.kind.value) == 1


async def test_a_workflow_this_node_does_not_know_is_described_by_temporal(
        make_app: Callable[..., Path]) -> None:
    app = make_app(chatty())
    workflow_id = f"intro-{uuid.uuid4().hex[:8]}"
    async with pidflow.open_node(app) as starter:
        pid = await starter.process.with_name(workflow_id).spawn("app:chatty", "app:worker")
        async with pidflow.open_node(app, services=False) as node:
            assert pid not in [p.pid for p in node.processes()]
            info = await node.process_info(pid)
            assert (info.entry, info.status, info.parent, info.messages_in) == ("app:chatty", "running", None, 0)
            assert info.durable is not None and info.durable.workflow_id == workflow_id
            assert info.durable.run_id == (await describe(node, workflow_id)).run_id
            with pytest.raises(Error) as err:
                await node.process_info(Pid("app:worker", f"never-{workflow_id}"))
            assert err.value.kind is ErrorKind.NOT_FOUND
        await starter.process.send(pid, "done")
        with trio.fail_after(30):
            while (await starter.process_info(pid)).status == "running":
                await trio.sleep(0.05)
        assert (await starter.process_info(pid)).status == "completed"
