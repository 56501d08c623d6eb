"""The worker of a ``temporal.worker`` entry: the generic Lua workflow plus the activities it relies on.

Activities run on the service's asyncio loop and reach the node (function entries, local processes) through
the trio bridge. A :class:`pidflow.Error` raised by a function leaves as an ``ApplicationError`` with its kind,
so the Lua caller of ``funcs.call`` gets the same ``err:kind()``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from .._events import Event, Message
from .._host import noproc
from .._pid import Pid
from ..errors import Error
from . import _protocol as protocol
from ._failures import to_application_error, to_error
from ._node_queue import group_activities, name_activities
from ._workflow import WorkerConfig, register_config

if TYPE_CHECKING:
    from ._host import TemporalHost

_WORKER_OPTIONS = {
    "max_concurrent_activities": "max_concurrent_activities",
    "max_concurrent_workflow_tasks": "max_concurrent_workflow_tasks",
    "max_cached_workflows": "max_cached_workflows",
}


def _activities(host: "TemporalHost") -> list[Any]:
    node = host.node
    aio = host.service.aio

    @activity.defn(name=protocol.CALL)
    async def call(entry_id: str, args: list[Any], context: dict[str, Any]) -> Any:
        async def run() -> Any:
            return await node.call(entry_id, *args, context=context)

        try:
            return await aio.run_trio(run)
        except Error as err:
            raise to_application_error(err) from None

    @activity.defn(name=protocol.AWAIT_EXIT)
    async def await_exit(pid: Pid) -> dict[str, Any]:
        async def beat() -> None:
            while True:
                activity.heartbeat()
                await asyncio.sleep(5)

        beater = asyncio.get_running_loop().create_task(beat())
        try:
            return_value = await host.client.get_workflow_handle(pid.id).result()
            return {"value": return_value, "error": None}
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return {"value": None, "error": noproc(pid)}
            raise
        except Exception as exc:  # the workflow failed, was terminated, timed out...
            return {"value": None, "error": to_error(exc)}
        finally:
            beater.cancel()

    @activity.defn(name=protocol.TERMINATE)
    async def terminate(pid: Pid, reason: Error) -> bool:
        try:
            await host.client.get_workflow_handle(pid.id).terminate(reason, reason=reason.message)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return False
            raise
        return True

    @activity.defn(name=protocol.IS_RUNNING)
    async def is_running(pid: Pid) -> bool:
        try:
            description = await host.client.get_workflow_handle(pid.id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return description.status == WorkflowExecutionStatus.RUNNING

    @activity.defn(name=protocol.DELIVER_HERE)
    async def deliver_here(pid: Pid, signal: str, wire: dict[str, Any]) -> bool:
        """Deliver to a local PID if it belongs to this node (False: it lives on another node)."""
        if pid.node != node.name:
            return False

        async def go() -> None:
            if signal == protocol.MESSAGE:
                node.send(pid, Message.from_wire(wire))
            else:
                node.post_event(pid, Event.from_wire(wire))

        try:
            await aio.run_trio(go)
        except Error as err:  # no such host here (not retryable), or the node is stopping (retryable)
            raise to_application_error(err) from None
        return True

    return [call, await_exit, terminate, is_running, deliver_here, *name_activities(node, aio),
            *group_activities(node, aio)]


def worker_config(host: "TemporalHost") -> WorkerConfig:
    return WorkerConfig.build(host.id, host.task_queue, host.node.registry, host.workflow_types,
                              host.search_attribute_types, host.node.kinds)


async def start_worker(host: "TemporalHost") -> Worker:
    """Create the worker on the asyncio loop and run it in the host's nursery (stopped by ``shutdown``)."""
    config = worker_config(host)
    options = {target: host.entry.spec[key] for key, target in _WORKER_OPTIONS.items() if key in host.entry.spec}

    async def create() -> Worker:
        return Worker(host.client, task_queue=host.task_queue, workflows=[register_config(config)],
                      activities=_activities(host), workflow_runner=UnsandboxedWorkflowRunner(), **options)

    worker = await host.service.aio.run(create)
    assert host._nursery is not None
    host._nursery.start_soon(host.service.aio.run, worker.run)
    return worker
