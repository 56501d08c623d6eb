"""Durable sends never hold a workflow hostage (issue 10): a workflow's message to a local PID of another node is
best effort within ``LOCAL_DELIVERY_TIMEOUT`` (``WorkflowPort._deliver_local``). A node killed with SIGKILL
while a workflow sends to its process costs the workflow one bound, logged, and the workflow completes; a live
node still gets every message, in order. Both runs replay against the current code."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import trio
import yaml
from temporalio.api.enums.v1 import EventType

import pidflow
from history_helpers import history_events
from pidflow import entries
from pidflow.temporal_host import _node_queue as nodeq
from pidflow.temporal_host import _replay, _workflow_port
from pidflow.temporal_host._workflow_port import LOCAL_DELIVERY_TIMEOUT

SENDER = {"name": "sender", "kind": "workflow.lua", "source": "file://dead_node_delivery.lua", "modules": ["time"]}
BOUND = LOCAL_DELIVERY_TIMEOUT.total_seconds()

# Node B: a pidflow node in a process of its own, with one local process that answers each message with "ack"
# (a signal to the workflow, through B's Temporal host). Prints "ready <pid of that process>".
NODE_B = '''
import sys

import trio

import pidflow
from pidflow import process


async def acker(_input):
    async for message in process.inbox():
        await process.send(message.sender, "ack", message.data)


async def main(app):
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn(acker)
        print("ready", pid, flush=True)
        await trio.sleep_forever()


trio.run(main, sys.argv[1])
'''


def other_node_app(app: Path) -> Path:
    """The same app for node B, its worker on another task queue: the workflow's tasks run on the test's node, so
    its messages to B's process travel on B's node task queue (``pidflow-node-<B>``)."""
    doc = yaml.safe_load(app.read_text())
    for entry in doc["entries"]:
        if entry.get("kind") == "temporal.worker":
            entry["task_queue"] = entry["task_queue"] + "-b"
    path = app.parent / "b" / "app.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(doc))
    (path.parent / "node_b.py").write_text(NODE_B)
    return path


@contextlib.asynccontextmanager
async def node_b(app: Path) -> AsyncIterator[tuple[trio.Process, pidflow.Pid]]:
    """Node B running; yields its OS process and the PID of its acker. Killed (SIGKILL) at the end if still alive."""
    async with trio.open_nursery() as nursery:
        proc = await nursery.start(lambda task_status: trio.run_process(
            [sys.executable, str(app.parent / "node_b.py"), str(app)], stdout=subprocess.PIPE, check=False,
            task_status=task_status))
        try:
            buffer = b""
            with trio.fail_after(60):
                while not (b"ready " in buffer and buffer.endswith(b"\n")):
                    chunk = await proc.stdout.receive_some()
                    assert chunk, "node B exited before it was ready"
                    buffer += chunk
            line = buffer[buffer.index(b"ready "):].split(b"\n")[0]
            yield proc, pidflow.Pid.parse(line[len(b"ready "):].decode())
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            await proc.wait()


async def replays(node: pidflow.Node, app: Path, pid: pidflow.Pid) -> _replay.ReplayResult:
    """The run's history replayed against the current code (the patched, bounded path)."""
    host = node.host(pid.host)
    history = await host.service.aio.run(lambda: _replay.fetch_history(host.client, pid.id))
    registry = entries.load(app)
    [result] = await trio.to_thread.run_sync(lambda: asyncio.run(_replay.replay(registry, [history])))
    return result


async def test_workflow_sending_to_a_node_killed_with_sigkill_completes_within_the_bound_and_logs_the_drops(
        make_app, caplog):
    app = make_app([dict(SENDER)])
    ticks, every = 20, 0.1
    caplog.set_level(logging.WARNING, logger="temporalio.workflow")
    async with pidflow.open_node(app) as node, node_b(other_node_app(app)) as (b, target):
        pid = await node.process.spawn_monitored("app:sender", "app:worker", {
            "mode": "keep_sending", "target": target, "observer": node.process.pid(), "n": ticks,
            "every": f"{int(every * 1000)}ms"})
        with trio.fail_after(60):
            acked = await node.process.inbox().receive()  # tick 0 made the round trip: B is alive
        assert (acked.topic, acked.data) == ("acked", 0)
        b.send_signal(signal.SIGKILL)
        await b.wait()
        killed_at = trio.current_time()
        # Before the bound, a message to the dead node was retried for an hour, and the workflow's end waited.
        with trio.fail_after(ticks * every + 2 * BOUND + 30):
            event = await node.process.events().receive()
        took = trio.current_time() - killed_at
        replay = await replays(node, app, pid)
    assert event.from_ == pid
    assert event.result.error is None
    assert event.result.value == {"sent": ticks}
    assert took < ticks * every + 2 * BOUND + 15, took
    drops = [r.getMessage() for r in caplog.records if r.name == "temporalio.workflow" and "dropped" in r.getMessage()]
    assert drops, "the dropped deliveries were not logged"
    assert all(str(target) in drop and f"its node {target.node} took none within {BOUND:g} s" in drop
               for drop in drops), drops
    assert replay.ok, f"{replay.error_type}: {replay.message}"


async def test_messages_to_a_live_node_land_in_order_each_delivery_bounded(make_app, monkeypatch):
    app = make_app([dict(SENDER)])
    count = 30
    async with pidflow.open_node(app) as node, node_b(other_node_app(app)) as (_b, target):
        pid = await node.process.spawn_monitored("app:sender", "app:worker",
                                                 {"mode": "burst", "target": target, "n": count})
        with trio.fail_after(60):
            event = await node.process.events().receive()
        history = await history_events(node, pid)
        replay = await replays(node, app, pid)
        # Temporal does not compare timeouts on replay: another bound still replays the runs recorded with this one.
        monkeypatch.setattr(_workflow_port, "LOCAL_DELIVERY_TIMEOUT", LOCAL_DELIVERY_TIMEOUT + datetime.timedelta(seconds=7))
        replay_with_another_bound = await replays(node, app, pid)
    assert event.result.error is None
    assert event.result.value == {"acks": list(range(1, count + 1))}
    scheduled = [e.activity_task_scheduled_event_attributes for e in history
                 if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    assert len(scheduled) == count
    assert {a.activity_type.name for a in scheduled} == {nodeq.DELIVER}
    assert {a.task_queue.name for a in scheduled} == {f"pidflow-node-{target.node}"}
    assert {a.schedule_to_close_timeout.ToTimedelta() for a in scheduled} == {LOCAL_DELIVERY_TIMEOUT}
    markers = [e for e in history if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert any(b"pidflow.bounded-delivery" in e.SerializeToString() for e in markers)
    assert replay.ok, f"{replay.error_type}: {replay.message}"
    assert replay_with_another_bound.ok, f"{replay_with_another_bound.error_type}: {replay_with_another_bound.message}"
