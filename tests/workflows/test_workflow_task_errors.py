"""A Lua error in a workflow's code (pidflow/temporal_host/_workflow.py, ``PidflowLuaError``): it fails the workflow
task with the Lua error, file:line and Lua traceback and no Python frames, Temporal keeps retrying the task, pidflow
logs it once at ERROR (not on each retry) and temporalio's own warning for it is dropped; ``pidflow run --entry``
on such a workflow exits 1 saying so, and the workflow stays open."""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

import trio

import pidflow
from history_helpers import terminate, wait_for_event
from pidflow import Pid
from temporalio.api.enums.v1 import EventType

BUGGY = {"name": "buggy", "kind": "workflow.lua", "source": "file://workflow_task_errors_buggy.lua",
         "modules": ["time"]}
WHERE = "workflow_task_errors_buggy.lua:5: attempt to index a nil value (local 'order')"


async def pending_task_attempt(node: Any, pid: Pid) -> int:
    host = node.host(pid.host)

    async def describe() -> Any:
        return await host.client.get_workflow_handle(pid.id).describe()

    description = await host.service.aio.run(describe)
    return description.raw_description.pending_workflow_task.attempt


async def test_the_task_failure_is_the_lua_error_with_its_traceback_and_no_python_frames(make_app):
    app = make_app([dict(BUGGY)])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn("app:buggy", "app:worker", "in")
        event = await wait_for_event(node, pid, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
        running = await node.host("app:worker").is_running(pid)
        await terminate(node, pid)
    failure = event.workflow_task_failed_event_attributes.failure
    lines = failure.message.splitlines()
    assert lines[0].endswith(WHERE)  # the error as Lua reports it (the chunk name is the source path)
    assert lines[1] == "stack traceback:"
    assert "workflow_task_errors_buggy.lua:5: in " in failure.message  # price
    assert "workflow_task_errors_buggy.lua:11: in " in failure.message  # main, which called it
    assert ".py" not in failure.message
    assert failure.stack_trace == ""  # no frames of pidflow's Python driver
    assert failure.application_failure_info.type == "PidflowLuaError"
    assert running  # the task failed, not the workflow: Temporal retries it


async def test_the_error_is_logged_once_at_error_while_temporal_retries_the_task(make_app, caplog):
    caplog.set_level(logging.DEBUG, logger="pidflow")
    caplog.set_level(logging.DEBUG, logger="temporalio")
    app = make_app([dict(BUGGY)])
    async with pidflow.open_node(app) as node:
        # A short task timeout: a task that fails again is not reported by the worker, so the server retries it
        # when the task times out.
        pid = await node.process.with_options({"temporal.workflow.task_timeout": "1s"}).spawn(
            "app:buggy", "app:worker", "in")
        with trio.fail_after(60):
            while await pending_task_attempt(node, pid) < 3:  # attempts 1 and 2 failed, 3 is scheduled
                await trio.sleep(0.1)
        await terminate(node, pid)
    errors = [r for r in caplog.records if r.name == "pidflow" and r.levelno == logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    message = errors[0].getMessage()
    assert f"workflow {pid} (entry app:buggy, host app:worker) failed a workflow task" in message
    assert WHERE in message and "stack traceback:" in message and "stays open" in message
    assert (errors[0].pid, errors[0].entry, errors[0].error_kind) == (str(pid), "app:buggy", "INTERNAL")
    assert errors[0].exc_info is None
    from_temporalio = [r.getMessage() for r in caplog.records
                       if r.name.startswith("temporalio") and r.levelno >= logging.WARNING]
    assert from_temporalio == []  # temporalio's "Failed activation" warning, with Python frames, on each attempt


async def test_pidflow_run_entry_exits_1_with_the_lua_error_and_leaves_the_workflow_open(make_app, tmp_path):
    app = make_app([dict(BUGGY)])
    with trio.fail_after(90):
        done = await trio.run_process(
            [sys.executable, "-m", "pidflow.cli", "run", str(app), "--entry", "app:buggy", "--input", '"in"'],
            capture_stdout=True, capture_stderr=True, check=False, cwd=tmp_path, env={**os.environ})
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    # Nothing but temporalio core's own one-time warning for the failed task, which the core writes to stdout
    # unless the client's runtime forwards core logs to Python logging: no result.
    assert [line for line in done.stdout.decode().splitlines() if "Failing workflow task" not in line] == []
    summary = [line for line in stderr.splitlines() if line.startswith("pidflow: ")]
    assert len(summary) == 1, stderr
    assert WHERE in summary[0]
    assert "the workflow stays open" in summary[0] and "once a fixed version is deployed" in summary[0]
    assert "stack traceback:" in stderr
    assert "Traceback (most recent call last)" not in stderr and ".py\", line" not in stderr
    assert stderr.count("ERROR pidflow: workflow") == 1  # the crash report, once
    pid = Pid.parse(re.search(r"workflow (\{[^}]+\})", summary[0])[1])
    async with pidflow.open_node(app) as node:
        assert await node.host("app:worker").is_running(pid)
        await terminate(node, pid)
