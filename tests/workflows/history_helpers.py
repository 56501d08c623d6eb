"""Reading a workflow's history from a test that drives it through a pidflow node."""

from __future__ import annotations

from typing import Any

import trio
from temporalio.api.enums.v1 import EventType

from pidflow import Pid


async def history_events(node: Any, pid: Pid) -> list[Any]:
    host = node.host(pid.host)

    async def fetch() -> list[Any]:
        return list((await host.client.get_workflow_handle(pid.id).fetch_history()).events)

    return await host.service.aio.run(fetch)


async def wait_for_event(node: Any, pid: Pid, event_type: EventType.ValueType, timeout: float = 30) -> Any:
    """The first history event of ``event_type`` (polling the history until it appears)."""
    with trio.fail_after(timeout):
        while True:
            for event in await history_events(node, pid):
                if event.event_type == event_type:
                    return event
            await trio.sleep(0.1)


async def workflow_task_failure(node: Any, pid: Pid, timeout: float = 30) -> str:
    event = await wait_for_event(node, pid, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, timeout)
    return event.workflow_task_failed_event_attributes.failure.message


async def terminate(node: Any, pid: Pid) -> None:
    await node.process.terminate(pid)
