"""Durability (spec: 定时器 "持久化定时器在重启后仍然有效", 错误处理; DESIGN "The workflow activation turns every
Lua error into a workflow-task failure"): workflows survive a killed worker and a restarted server, a Lua error
waits for a fixed deploy, and ``return nil, err`` ends the workflow with that error."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import yaml
from temporalio.api.enums.v1 import EventType

import pidflow
from history_helpers import wait_for_event, workflow_task_failure
from pidflow.temporal_host._devserver import DevServer, free_port
from pidflow.temporal_host._service import ADDRESS_ENV

HERE = Path(__file__).parent
LUA = HERE / "lua"
ECHO = {"name": "echo", "kind": "function.lua", "source": "file://replay_functions.lua", "method": "echo"}
SLEEPER = {"name": "sleeper", "kind": "workflow.lua", "source": "file://durable_sleep.lua", "modules": ["funcs", "time"]}


def worker_app(app: Path, task_queue: str) -> Path:
    """The same app with its worker on another task queue, for a worker process of its own."""
    doc = yaml.safe_load(app.read_text())
    for entry in doc["entries"]:
        if entry["kind"] == "temporal.worker":
            entry["task_queue"] = task_queue
    path = app.with_name("worker_app.yaml")
    path.write_text(yaml.safe_dump(doc))
    return path


async def start_worker_process(app: Path, nursery: trio.Nursery) -> trio.Process:
    """A node in a subprocess; returns once it printed ``ready``."""
    proc = await nursery.start(lambda task_status: trio.run_process(
        [sys.executable, str(HERE / "worker_process.py"), str(app)], stdout=subprocess.PIPE, check=False,
        task_status=task_status, env={**os.environ}))
    buffer = b""
    with trio.fail_after(60):
        while b"ready" not in buffer:
            chunk = await proc.stdout.receive_some()
            assert chunk, "the worker process exited before it was ready"
            buffer += chunk
    return proc


async def test_worker_killed_during_a_durable_sleep_is_replaced_and_the_workflow_finishes(make_app, task_queue):
    app = make_app([dict(SLEEPER), dict(ECHO)])
    # The test's own node polls `task_queue`; the workflow runs on another queue, served only by the subprocess.
    remote_queue = f"{task_queue}-remote"
    remote_app = worker_app(app, remote_queue)
    async with pidflow.open_node(app) as node, trio.open_nursery() as nursery:
        first = await start_worker_process(remote_app, nursery)
        pid = await node.process.with_options({"temporal.workflow.task_queue": remote_queue}).spawn_monitored(
            "app:sleeper", "app:worker", {"sleep": "3s", "tag": "t1"})
        await wait_for_event(node, pid, EventType.EVENT_TYPE_TIMER_STARTED)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        second = await start_worker_process(remote_app, nursery)
        with trio.fail_after(60):
            event = await node.process.events().receive()
        second.send_signal(signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL
    assert event.from_ == pid
    assert event.result.error is None
    assert event.result.value == {"before": "before", "after": "after", "input": "t1"}


async def test_running_workflow_continues_after_the_dev_server_restarts_on_the_same_sqlite_file(
        make_app, tmp_path, monkeypatch):
    app = make_app([{"name": "waiter", "kind": "workflow.lua", "source": "file://durable_wait.lua",
                     "modules": ["funcs"]}, dict(ECHO)])
    port = free_port()
    db = tmp_path / "temporal.sqlite"

    async def start_server() -> DevServer:
        server = DevServer(db_filename=db, port=port)
        await trio.to_thread.run_sync(server.start)
        monkeypatch.setenv(ADDRESS_ENV, server.address)
        return server

    server = await start_server()
    try:
        async with pidflow.open_node(app) as node:
            pid = await node.process.spawn("app:waiter", "app:worker")
            await wait_for_event(node, pid, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    finally:
        await trio.to_thread.run_sync(server.stop)
    server = await start_server()
    try:
        async with pidflow.open_node(app) as node:
            await node.process.monitor(pid)
            await node.process.send(pid, "go", "after restart")
            with trio.fail_after(60):
                event = await node.process.events().receive()
    finally:
        await trio.to_thread.run_sync(server.stop)
    assert event.from_ == pid
    assert event.result.value == {"topic": "go", "echoed": "after restart"}


async def test_lua_error_fails_the_workflow_task_with_file_and_line_and_a_fixed_deploy_completes_the_run(
        make_app, tmp_path):
    script = tmp_path / "durable_buggy.lua"
    shutil.copy(LUA / "durable_buggy.lua", script)
    app = make_app([{"name": "fixable", "kind": "workflow.lua", "source": f"file://{script}", "modules": ["time"]}])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn("app:fixable", "app:worker", "in")
        failure = await workflow_task_failure(node, pid)
        assert "durable_buggy.lua:6:" in failure
        assert "attempt to index a nil value" in failure
        assert await node.host("app:worker").is_running(pid)  # a task failure does not end the run
    shutil.copy(LUA / "durable_fixed.lua", script)  # the fixed deploy, same path
    async with pidflow.open_node(app) as node:
        await node.process.monitor(pid)
        with trio.fail_after(60):
            event = await node.process.events().receive()
    assert event.from_ == pid
    assert event.result.value == {"value": 42, "input": "in"}


async def test_workflow_returning_nil_and_an_error_fails_with_that_error(make_app):
    app = make_app([{"name": "refuser", "kind": "workflow.lua", "source": "file://durable_returns_error.lua"}])
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30), pytest.raises(pidflow.Error) as info:
            await node.process.exec("app:refuser", "app:worker", {"id": "o-7"})
    assert info.value.kind == "NOT_FOUND"
    assert info.value.message == "no order o-7"
    assert info.value.retryable is False
