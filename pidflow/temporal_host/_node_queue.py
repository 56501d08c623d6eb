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
from datetime import timedelta
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from .. import _groups
from .._events import Event, Message
from .._pid import Pid
from ..errors import Error
from ._failures import to_application_error

if TYPE_CHECKING:
    from .._host import NodePort
    from ._cluster import ClusterHost
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
REGISTER_NAME = "pidflow.name.register"  # [name, pid] or [name, pid, "cluster"] -> None
LOOKUP_NAME = "pidflow.name.lookup"  # [name] -> the holder's PID, or None
UNREGISTER_NAME = "pidflow.name.unregister"  # [name] or [name, "cluster"] -> True, or False when nobody held it
# The node's process groups (pidflow._groups), local activities like the names (see group_activities).
JOIN_GROUP = "pidflow.group.join"  # [scope, group, pid] -> None
LEAVE_GROUP = "pidflow.group.leave"  # [scope, group, pid] -> True, or False when it was not a member
GROUP_MEMBERS = "pidflow.group.members"  # [scope, group] -> [pid, ...] once per join, in join order
WHICH_GROUPS = "pidflow.group.which"  # [scope] -> [group, ...]


_T = TypeVar("_T")


def _activities(service: "TemporalService") -> list[Any]:
    node = service.node
    aio = service.aio

    async def on_trio(fn: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        return await aio.run_trio(fn, *args)

    @activity.defn(name=DELIVER)
    async def deliver(pid: Pid, message: dict[str, Any]) -> None:
        async def go() -> None:
            node.send(pid, Message.from_wire(message))

        try:
            await on_trio(go)
        except Error as err:  # no such host here (not retryable), or the node is stopping (retryable)
            raise to_application_error(err) from None

    @activity.defn(name=EVENT)
    async def event(pid: Pid, wire: dict[str, Any]) -> None:
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


def _answering(aio: "AsyncioThread") -> Callable[..., Awaitable[Any]]:
    """``answer(fn, *args)``: ``fn``'s result on the node's trio loop, or the Error that refused it (a refusal is
    an answer for a local activity: recorded, never retried)."""

    async def answer(fn: Callable[..., Any], *args: Any) -> Any:
        async def go() -> Any:
            try:
                result = fn(*args)
                return await result if inspect.isawaitable(result) else result
            except Error as err:
                return err

        return await aio.run_trio(go)

    return answer


def name_activities(node: "NodePort", aio: "AsyncioThread") -> list[Any]:
    """The node's name registry for the workflows its workers run (local activities). A refusal is the
    activity's *result* (an Error value), not a failure: it is an answer, and a retry would give the same one."""

    answer = _answering(aio)

    @activity.defn(name=REGISTER_NAME)
    async def register(name: str, pid: Pid, scope: str = "node") -> Any:
        return await answer(node.register_name, name, pid, scope)

    @activity.defn(name=LOOKUP_NAME)
    async def lookup(name: str) -> Any:
        return await answer(node.whereis_name, name)

    @activity.defn(name=UNREGISTER_NAME)
    async def unregister(name: str, scope: str = "node") -> Any:
        return await answer(node.unregister_name, name, scope)

    return [register, lookup, unregister]


def group_activities(node: "NodePort", aio: "AsyncioThread") -> list[Any]:
    """The node's process groups for the workflows its workers run: local activities, as :func:`name_activities`
    (answers recorded in the workflow's history; a refusal is the answer, an Error value). A workflow that joins
    is watched by the node like any member, and leaves its groups when the node learns of its end."""

    answer = _answering(aio)

    @activity.defn(name=JOIN_GROUP)
    async def join(scope: str, group: str, pid: Pid) -> Any:
        return await answer(_groups.join, node, scope, group, pid)

    @activity.defn(name=LEAVE_GROUP)
    async def leave(scope: str, group: str, pid: Pid) -> Any:
        return await answer(_groups.leave, node, scope, group, pid)

    @activity.defn(name=GROUP_MEMBERS)
    async def members(scope: str, group: str) -> Any:
        return await answer(lambda: _groups.registry(node).members(scope, group))

    @activity.defn(name=WHICH_GROUPS)
    async def which(scope: str) -> Any:
        return await answer(lambda: _groups.registry(node).which_groups(scope))

    return [join, leave, members, which]


async def start_node_worker(service: "TemporalService", client: Client, cluster: "ClusterHost | None") -> Worker:
    """Start polling this node's queue (on the service's asyncio loop); returns the running worker. In a cluster
    it also runs the node's presence (one activity slot, for the node's life) and other nodes' batches, and
    heartbeats go out as often as the presence needs (the SDK otherwise holds them back for most of the
    heartbeat timeout)."""
    activities = _activities(service)
    options: dict[str, Any] = {}
    if cluster is not None:
        activities += cluster.activities()
        options["max_heartbeat_throttle_interval"] = timedelta(seconds=cluster.timeouts.heartbeat_every)
        options["max_concurrent_activities"] = 1000

    async def start() -> Worker:
        import asyncio

        worker = Worker(client, task_queue=service.task_queue, activities=activities, **options)
        asyncio.get_running_loop().create_task(worker.run(), name=f"worker {service.task_queue}")
        return worker

    return await service.aio.run(start)
