"""Looking at workflows from Temporal's side (describe, history), for the workflow-module, starting, options and
context tests: what pidflow mapped must be visible to any Temporal client, not only through pidflow."""

from __future__ import annotations

from typing import Any

import trio
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus

import pidflow


def _host(node: Any, host_id: str = "app:worker") -> Any:
    return node.hosts[host_id]


def _workflow_id(pid: pidflow.Pid | str) -> str:
    return pid.id if isinstance(pid, pidflow.Pid) else pid


async def describe(node: Any, pid: pidflow.Pid | str, run_id: str | None = None) -> WorkflowExecutionDescription:
    """``describe`` through the node's own Temporal client (the one ``app:worker`` uses)."""
    host = _host(node)
    handle = host.client.get_workflow_handle(_workflow_id(pid), run_id=run_id)
    return await host.service.aio.run(handle.describe)


async def history(node: Any, pid: pidflow.Pid | str, run_id: str | None = None) -> list[HistoryEvent]:
    host = _host(node)
    handle = host.client.get_workflow_handle(_workflow_id(pid), run_id=run_id)

    async def fetch() -> list[HistoryEvent]:
        return list((await handle.fetch_history()).events)

    return await host.service.aio.run(fetch)


async def started_attributes(node: Any, pid: pidflow.Pid | str, run_id: str | None = None) -> Any:
    """The WorkflowExecutionStarted event's attributes: what the start request asked of Temporal."""
    events = await history(node, pid, run_id)
    return events[0].workflow_execution_started_event_attributes


async def wait_status(node: Any, pid: pidflow.Pid | str, status: WorkflowExecutionStatus,
                      run_id: str | None = None) -> WorkflowExecutionDescription:
    """Poll describe until the execution has ``status`` (the caller bounds the wait with trio.fail_after)."""
    while True:
        description = await describe(node, pid, run_id)
        if description.status == status:
            return description
        await trio.sleep(0.05)


async def terminate(node: Any, pid: pidflow.Pid | str) -> None:
    """Clean up a workflow a test left running (the dev server outlives the test)."""
    host = _host(node)
    handle = host.client.get_workflow_handle(_workflow_id(pid))
    try:
        await host.service.aio.run(handle.terminate, "test cleanup")
    except Exception:  # noqa: BLE001 - already closed is fine
        pass
