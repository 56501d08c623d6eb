"""One PID space across hosts: workflows and local processes message, monitor and link each other, and EXIT /
LINK_DOWN mean the same in every direction (issue: across hosts)."""

from __future__ import annotations

import trio

import pidflow
from pidflow import process

ENTRIES = [
    {"name": "echo", "kind": "workflow.lua", "source": "file://xh_echo.lua"},
    {"name": "watch", "kind": "workflow.lua", "source": "file://xh_watch.lua"},
    {"name": "wait", "kind": "workflow.lua", "source": "file://xh_wait.lua"},
]


def app(make_app):
    return make_app([dict(e) for e in ENTRIES])


async def replier(_input):
    message = await process.inbox().receive()
    await process.send(message.sender, "reply", {"got": message.topic, "workflow": str(message.data["from_workflow"])})
    return message.sender


async def test_workflow_sends_to_a_local_pid_and_gets_its_reply(make_app):
    async with pidflow.open_node(app(make_app)) as node:
        local = await node.process.spawn_monitored(replier)
        with trio.fail_after(60):
            result = await node.process.exec("app:echo", "app:worker", {"target": local})
            exit_event = await node.process.events().receive()
    assert result["topic"] == "reply"
    assert result["from_local"] is True
    assert result["data"]["got"] == "hello"
    # The local process saw the workflow's PID as the sender and in the payload, and replied to it.
    assert exit_event.result.value == pidflow.Pid.parse(result["data"]["workflow"])
    assert exit_event.result.value.host == "app:worker"


async def finish_when_watched(input):
    message = await process.inbox().receive()
    assert message.topic == "watching"
    if input == "crash":
        raise pidflow.Error("NOT_FOUND", "the thing is gone")
    return "finished"


async def test_workflow_monitoring_a_local_process_gets_exit_with_its_value(make_app):
    async with pidflow.open_node(app(make_app)) as node:
        local = await node.process.spawn(finish_when_watched, None, "normal")
        with trio.fail_after(60):
            result = await node.process.exec("app:watch", "app:worker", {"target": local, "mode": "monitor"})
    assert result == {"kind": "pid.exit", "from_target": True, "value": "finished"}


async def test_workflow_monitoring_a_local_process_gets_exit_with_its_error(make_app):
    async with pidflow.open_node(app(make_app)) as node:
        local = await node.process.spawn(finish_when_watched, None, "crash")
        with trio.fail_after(60):
            result = await node.process.exec("app:watch", "app:worker", {"target": local, "mode": "monitor"})
    assert result == {"kind": "pid.exit", "from_target": True, "error_kind": "NOT_FOUND"}


async def test_workflow_trapping_links_gets_link_down_when_a_linked_local_process_fails(make_app):
    async with pidflow.open_node(app(make_app)) as node:
        local = await node.process.spawn(finish_when_watched, None, "crash")
        with trio.fail_after(60):
            result = await node.process.exec("app:watch", "app:worker", {"target": local, "mode": "link"})
    assert result == {"kind": "pid.link.down", "from_target": True, "reason_kind": "NOT_FOUND",
                      "error_kind": "NOT_FOUND"}  # LINK_DOWN carries result.error, as EXIT does


async def test_a_failing_local_process_linked_to_a_workflow_fails_the_workflow(make_app):
    async def linked_then_crash(target):
        await process.link(target)
        raise pidflow.Error("CONFLICT", "local side gave up")

    async with pidflow.open_node(app(make_app)) as node:
        workflow_pid = await node.process.spawn_monitored("app:wait", "app:worker", {})
        await node.process.spawn(linked_then_crash, None, workflow_pid)
        with trio.fail_after(60):
            event = await node.process.events().receive()
    assert event.kind is pidflow.EventKind.EXIT
    assert event.from_ == workflow_pid
    assert event.result.error.kind is pidflow.ErrorKind.CONFLICT
    assert "local side gave up" in event.result.error.message


async def test_normal_exit_of_a_linked_local_process_does_not_end_the_workflow(make_app):
    async def linked_then_return(target):
        await process.link(target)
        return "done"

    async with pidflow.open_node(app(make_app)) as node:
        workflow_pid = await node.process.spawn_monitored("app:wait", "app:worker", {})
        linker = await node.process.spawn_monitored(linked_then_return, None, workflow_pid)
        with trio.fail_after(60):
            first = await node.process.events().receive()
            assert first.from_ == linker
            await node.process.send(workflow_pid, "still-alive")
            second = await node.process.events().receive()
    assert second.from_ == workflow_pid
    assert second.result.value == "still-alive"


async def idle(_input):
    await trio.sleep_forever()


async def test_clean_node_stop_gives_watching_workflows_exit_with_unavailable(make_app):
    path = app(make_app)
    async with pidflow.open_node(path) as node:
        local = await node.process.spawn(idle)
        workflow_pid = await node.process.spawn("app:watch", "app:worker", {"target": local, "mode": "monitor"})
        with trio.fail_after(60):
            while not await _has_monitor(node, local):
                await trio.sleep(0.05)
    # The node stopped: its local process ended with UNAVAILABLE and the workflow was told. Another node
    # (same app, same task queue) runs the workflow on to its end.
    async with pidflow.open_node(path) as node:
        with trio.fail_after(60):
            result = await node.hosts["app:worker"].result_of(workflow_pid)
    assert result.value == {"kind": "pid.exit", "from_target": True, "error_kind": "UNAVAILABLE"}


async def _has_monitor(node, pid) -> bool:
    proc = node.hosts[pid.host].lookup(pid)
    return proc is not None and bool(proc._watchers)


async def test_workflow_reaches_a_local_process_of_another_node_through_that_nodes_task_queue(make_app, tmp_path):
    import yaml

    path = app(make_app)
    # Node B runs a worker for another task queue only: the workflow's tasks run on node A, so its message to
    # B's process cannot be delivered where the workflow runs and must travel on B's node task queue.
    other = yaml.safe_load(path.read_text())
    for entry in other["entries"]:
        if entry.get("kind") == "temporal.worker":
            entry["task_queue"] = entry["task_queue"] + "-b"
    other_path = tmp_path / "b" / "app.yaml"
    other_path.parent.mkdir()
    other_path.write_text(yaml.safe_dump(other))
    (other_path.parent / "functions.py").write_text((path.parent / "functions.py").read_text())
    async with pidflow.open_node(path, name="node-a") as a, pidflow.open_node(other_path, name="node-b") as b:
        local = await b.process.spawn_monitored(replier)
        assert local.node == "node-b"
        with trio.fail_after(60):
            result = await a.process.exec("app:echo", "app:worker", {"target": local})
            exit_event = await b.process.events().receive()
    assert result["topic"] == "reply" and result["from_local"] is True
    assert exit_event.result.value.host == "app:worker"
