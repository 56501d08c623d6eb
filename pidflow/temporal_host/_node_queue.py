"""The node's task queue: how a workflow reaches this node's local processes.

Every operation a workflow does on a local PID (send, monitor, link, their undo, an EXIT or LINK_DOWN for a
local watcher) is an activity on ``pidflow-node-<node>``; only the owning node polls that queue, so the call
lands on the right machine, is retried by Temporal while the node is briefly away, and is recorded in the
workflow's history (replay-safe). A message or event is retried for ``LOCAL_DELIVERY_TIMEOUT`` only (see
``_workflow_port``), then dropped: a node that died takes nothing, and a workflow never waits on it. A PID this
node cannot have (its host is not here) fails its delivery at once (non-retryable).

A workflow's registered names (``process.registry``, names as destinations) are this node's too, but they are
asked of the node that runs the workflow task, not of a PID's node: :func:`name_activities` are *local*
activities, registered on every worker of the node, so they run where the workflow runs and their answers are
recorded in its history (replay reads them back instead of asking the registry again).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from .._events import Event, Message
from .._pid import Pid
from ..errors import Error
from ._failures import to_application_error

if TYPE_CHECKING:
    from .._host import NodePort
    from ._aio import AsyncioThread
    from ._service import TemporalService

DELIVER = "pidflow.node.deliver"
EVENT = "pidflow.node.event"
LINK_EXIT = "pidflow.node.link_exit"
MONITOR = "pidflow.node.monitor"
UNMONITOR = "pidflow.node.unmonitor"
LINK = "pidflow.node.link"
UNLINK = "pidflow.node.unlink"
TERMINATE = "pidflow.node.terminate"
CANCEL = "pidflow.node.cancel"
# Local activities on the workflow's own worker (see name_activities).
# Each answers its result, or the Error that refused it (ALREADY_EXISTS, NOT_FOUND, INVALID).
REGISTER_NAME = "pidflow.name.register"  # [name, pid] -> None
LOOKUP_NAME = "pidflow.name.lookup"  # [name] -> the holder's PID, or None
UNREGISTER_NAME = "pidflow.name.unregister"  # [name] -> True, or False when nobody held it


def _activities(service: "TemporalService") -> list[Any]:
    node = service.node
    aio = service.aio

    async def on_trio(fn: Any, *args: Any) -> Any:
        return await aio.run_trio(fn, *args)

    @activity.defn(name=DELIVER)
    async def deliver(pid: Pid, message: dict) -> None:
        async def go() -> None:
            node.send(pid, Message.from_wire(message))

        try:
            await on_trio(go)
        except Error as err:  # no such host here (not retryable), or the node is stopping (retryable)
            raise to_application_error(err) from None

    @activity.defn(name=EVENT)
    async def event(pid: Pid, wire: dict) -> None:
        async def go() -> None:
            node.post_event(pid, Event.from_wire(wire))

        await on_trio(go)

    @activity.defn(name=LINK_EXIT)
    async def link_exit(pid: Pid, sender: Pid, reason: Any) -> None:
        async def go() -> None:
            node.post_link_exit(pid, sender, reason)

        await on_trio(go)

    @activity.defn(name=MONITOR)
    async def monitor(watcher: Pid, target: Pid) -> None:
        await on_trio(node.monitor, watcher, target)

    @activity.defn(name=UNMONITOR)
    async def unmonitor(watcher: Pid, target: Pid) -> None:
        await on_trio(node.unmonitor, watcher, target)

    @activity.defn(name=LINK)
    async def link(watcher: Pid, target: Pid) -> bool:
        return await on_trio(node.route(target).link, watcher, target)

    @activity.defn(name=UNLINK)
    async def unlink(watcher: Pid, target: Pid) -> None:
        await on_trio(node.route(target).unlink, watcher, target)

    @activity.defn(name=TERMINATE)
    async def terminate(pid: Pid, reason: Any) -> bool:
        return await on_trio(node.terminate, pid, reason)

    @activity.defn(name=CANCEL)
    async def cancel(pid: Pid, deadline: float, sender: Pid) -> bool:
        return await on_trio(node.cancel, pid, deadline, sender)

    return [deliver, event, link_exit, monitor, unmonitor, link, unlink, terminate, cancel]


def name_activities(node: "NodePort", aio: "AsyncioThread") -> list[Any]:
    """The node's name registry for the workflows its workers run (local activities). A refusal is the
    activity's *result* (an Error value), not a failure: it is an answer, and a retry would give the same one."""

    async def answer(fn: Any, *args: Any) -> Any:
        async def go() -> Any:
            try:
                result = fn(*args)
                return await result if inspect.isawaitable(result) else result
            except Error as err:
                return err

        return await aio.run_trio(go)

    @activity.defn(name=REGISTER_NAME)
    async def register(name: str, pid: Pid) -> Any:
        return await answer(node.register_name, name, pid)

    @activity.defn(name=LOOKUP_NAME)
    async def lookup(name: str) -> Any:
        return await answer(node.names.whereis, name)

    @activity.defn(name=UNREGISTER_NAME)
    async def unregister(name: str) -> Any:
        return await answer(node.unregister_name, name)

    return [register, lookup, unregister]


async def start_node_worker(service: "TemporalService", client: Client) -> Worker:
    """Start polling this node's queue (on the service's asyncio loop); returns the running worker."""
    activities = _activities(service)

    async def start() -> Worker:
        import asyncio

        worker = Worker(client, task_queue=service.task_queue, activities=activities)
        asyncio.get_running_loop().create_task(worker.run(), name=f"worker {service.task_queue}")
        return worker

    return await service.aio.run(start)
