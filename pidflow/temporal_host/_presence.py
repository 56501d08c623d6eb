"""A node's presence in its Temporal namespace: one standalone activity per node name.

Design note. A node is *up* while its presence activity (id ``pidflow-node:<name>``) runs: the node's own
worker runs it and heartbeats it; Temporal closes it when the heartbeats stop for ``heartbeat_timeout`` (the
node was killed, its machine lost, or it was paused or cut off). So Temporal's own id uniqueness makes node names
unique (a second node cannot start a second presence under a taken name), and Temporal's heartbeat timeout is the
failure detector: every other node that cares long-polls the activity's outcome (``PollActivityExecution``: no
polling loop of ours) and learns that the node is down the moment Temporal decides it. The activity's run id
is the node's *incarnation*: a node that comes back (restarted, or resumed after being declared down) runs a new
presence, so anything sent by or about the old incarnation is recognised as stale.

Rejected: a per-node workflow (a heartbeat would be a signal or an activity per beat, written to history forever)
and a membership table of our own (a second source of truth beside Temporal).
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import timedelta
from typing import Any, Callable

from temporalio import activity
from temporalio.client import ActivityExecutionStatus, ActivityFailureError, Client
from temporalio.common import ActivityIDConflictPolicy, ActivityIDReusePolicy, RetryPolicy
from temporalio.exceptions import ActivityAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from ..errors import Error, ErrorKind

PRESENCE = "pidflow.node.presence"
LEFT = "left"  # the outcome of a presence that ended because its node stopped cleanly


def presence_id(node_name: str) -> str:
    return f"pidflow-node:{node_name}"


def presence_activity(current_leave: Callable[[], "asyncio.Event"], every: float) -> Any:
    """The activity a node's worker runs for its own presence: heartbeats every ``every`` seconds until the node
    leaves (the event ``current_leave()`` gave when it started is set, on the worker's loop). Temporal cancels it
    when it was declared down meanwhile; the node learns that from its own watch (:func:`watch`), so the
    cancellation needs no handling here."""

    @activity.defn(name=PRESENCE)
    async def presence(_info: dict[str, Any]) -> str:
        leave = current_leave()
        while not leave.is_set():
            activity.heartbeat()
            try:
                await asyncio.wait_for(leave.wait(), every)
            except asyncio.TimeoutError:
                pass
        return LEFT

    return presence


async def claim(client: Client, name: str, task_queue: str, heartbeat_timeout: float, wait: float) -> str:
    """Start this node's presence and return its run id (the incarnation). A presence of the same name that is
    still open is waited for up to ``wait`` seconds (a node restarted right after it was killed: Temporal closes
    the old one within its heartbeat timeout); ALREADY_EXISTS when it stays open (another live node has the name).
    Runs on the asyncio loop."""
    info = {"node": name, "os_pid": os.getpid(), "machine": socket.gethostname()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            handle = await client.start_activity(
                PRESENCE, info, id=presence_id(name), task_queue=task_queue,
                start_to_close_timeout=timedelta(days=3650), heartbeat_timeout=timedelta(seconds=heartbeat_timeout),
                retry_policy=RetryPolicy(maximum_attempts=1),
                id_conflict_policy=ActivityIDConflictPolicy.FAIL,
                id_reuse_policy=ActivityIDReusePolicy.ALLOW_DUPLICATE,
                summary=f"pidflow node {name} (process {info['os_pid']} on {info['machine']})")
            assert handle.run_id is not None
            return handle.run_id
        except ActivityAlreadyStartedError:
            pass
        holder = client.get_activity_handle(presence_id(name))
        remaining = deadline - loop.time()
        if remaining <= 0:
            where = await _holder_text(holder)
            raise Error(ErrorKind.ALREADY_EXISTS,
                        f"node name {name!r} is taken: a running node holds it{where}; pick another --node name, or "
                        f"stop that node (a killed node frees its name within {heartbeat_timeout:g}s)",
                        details={"node": name})
        try:
            await asyncio.wait_for(holder.result(), remaining)
        except (asyncio.TimeoutError, ActivityFailureError, RPCError):
            pass  # closed (failed or timed out) or still open: try again, or give up at the deadline


async def _holder_text(holder: Any) -> str:
    try:
        info = await (await holder.describe(include_input=True)).input()
        return f" (process {info[0]['os_pid']} on {info[0]['machine']})"
    except Exception:  # noqa: BLE001 - only decoration for the error message
        return ""


async def describe_open(client: Client, activity_id: str, *, include_input: bool = False) -> Any:
    """The description of standalone activity ``activity_id`` while it is open, else None (closed, or none)."""
    try:
        description = await client.get_activity_handle(activity_id).describe(include_input=include_input)
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return description if description.status is ActivityExecutionStatus.RUNNING else None


async def incarnation(client: Client, name: str) -> str | None:
    """The run id of node ``name``'s open presence, or None when it has none (down, or never started)."""
    description = await describe_open(client, presence_id(name))
    return None if description is None else description.activity_run_id


async def watch(client: Client, name: str, run_id: str) -> str:
    """Wait until incarnation ``run_id`` of node ``name`` ends; returns why (:data:`LEFT` for a clean stop, else
    what Temporal says, e.g. a heartbeat timeout). A lost connection to Temporal is retried, never taken for a
    node's death. Runs on the asyncio loop."""
    handle = client.get_activity_handle(presence_id(name), run_id=run_id)
    delay = 0.2
    while True:
        try:
            outcome = await handle.result()
            return str(outcome) if outcome else LEFT
        except ActivityFailureError as exc:
            return str(exc.cause or exc)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                return "its presence is gone"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
