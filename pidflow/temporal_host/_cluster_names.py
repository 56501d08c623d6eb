"""Cluster-wide names: one standalone activity per name, held open while the name is taken.

Design note. ``register(name, pid, scope="cluster")`` starts an activity with the id ``pidflow-name:<name>`` on a
task queue no worker polls, carrying the holder's PID and the node that registered it (the *registrar*, with its
incarnation); Temporal refuses a second open activity with that id, so a name is unique across every node of the
namespace without a consensus protocol of ours (the seed runtime's CONSISTENT scope: first write wins).
Releasing terminates it. The registrar watches the holder and releases the name when it ends; when the registrar
itself dies, its names die with it: a name whose registrar's incarnation is no longer the live one is free, and
whoever finds that (a lookup, a register) terminates the stale activity. A lookup is one describe call (a couple of
milliseconds); this node's own names are answered from memory.

Rejected: a workflow per name (a history per name, for a value that never changes) and a replicated table (a
second source of truth beside Temporal).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.common import ActivityIDConflictPolicy, ActivityIDReusePolicy
from temporalio.exceptions import ActivityAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from .._names import already_registered, check_name
from .._pid import Pid
from ._presence import describe_open

if TYPE_CHECKING:
    from ._cluster import ClusterHost

NAME_ACTIVITY = "pidflow.cluster.name"
NAMES_QUEUE = "pidflow-names"  # never polled: a name's activity only has to exist


def name_id(name: str) -> str:
    return f"pidflow-name:{name}"


class ClusterNames:
    def __init__(self, cluster: "ClusterHost") -> None:
        self.cluster = cluster
        #: The names this node registered: name -> holder.
        self.mine: dict[str, Pid] = {}

    async def register(self, name: str, pid: Pid) -> bool:
        """Take ``name`` for ``pid``; True when it is new (False: ``pid`` held it already). ALREADY_EXISTS naming
        the holder when another PID holds it."""
        check_name(name)
        cluster = self.cluster
        if self.mine.get(name) == pid:
            return False
        record = {"pid": pid, "registrar": cluster.node.name, "incarnation": cluster.incarnation}
        for _ in range(2):
            try:
                await cluster.aio.run(self._start, name, record)
                self.mine[name] = pid
                return True
            except ActivityAlreadyStartedError:
                holder = await self.whereis(name)  # frees it when stale: then the second try takes it
                if holder == pid:
                    return False
                if holder is not None:
                    raise already_registered(name, holder) from None
        raise already_registered(name, await self.whereis(name) or pid)

    async def _start(self, name: str, record: dict[str, Any]) -> None:
        await self.cluster.client.start_activity(
            NAME_ACTIVITY, record, id=name_id(name), task_queue=NAMES_QUEUE,
            schedule_to_close_timeout=timedelta(days=3650), id_conflict_policy=ActivityIDConflictPolicy.FAIL,
            id_reuse_policy=ActivityIDReusePolicy.ALLOW_DUPLICATE,
            summary=f"pidflow cluster name {name!r} -> {record['pid']} (registered by node {record['registrar']})")

    async def whereis(self, name: str) -> Pid | None:
        """The holder of cluster name ``name``, or None. A name whose registrar node is down is released here."""
        check_name(name)
        if name in self.mine:
            return self.mine[name]
        cluster = self.cluster
        record = await cluster.aio.run(self._describe, name)
        if record is None:
            return None
        registrar, incarnation = str(record.get("registrar")), record.get("incarnation")
        view = await cluster.contact(registrar) if registrar != cluster.node.name else None
        live = view.up and view.incarnation == incarnation if view is not None else \
            incarnation == cluster.incarnation
        if not live:  # its registrar is gone, and the name with it
            await cluster.aio.run(self._terminate, name, record["run_id"], "its registrar node is down")
            return None
        return Pid.parse(record["pid"])

    async def _describe(self, name: str) -> dict[str, Any] | None:
        description = await describe_open(self.cluster.client, name_id(name), include_input=True)
        if description is None:
            return None
        args = await description.input()
        if not args or not isinstance(args[0], dict):
            return None
        return {**args[0], "run_id": description.activity_run_id}

    async def _terminate(self, name: str, run_id: str | None, reason: str) -> bool:
        try:
            await self.cluster.client.get_activity_handle(name_id(name), run_id=run_id).terminate(reason=reason)
            return True
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return False
            raise

    async def unregister(self, name: str) -> bool:
        """Release ``name``, whoever registered it; False when nobody held it."""
        check_name(name)
        self.mine.pop(name, None)
        record = await self.cluster.aio.run(self._describe, name)
        if record is None:
            return False
        return await self.cluster.aio.run(self._terminate, name, record["run_id"], "unregistered")

    def names_of(self, pid: Pid) -> list[str]:
        return [name for name, holder in self.mine.items() if holder == pid]

    async def release(self, pid: Pid) -> None:
        """``pid`` ended: the names this node registered for it go."""
        for name in self.names_of(pid):
            self.mine.pop(name, None)
            try:
                record = await self.cluster.aio.run(self._describe, name)
                if record is not None and record.get("registrar") == self.cluster.node.name:
                    await self.cluster.aio.run(self._terminate, name, record["run_id"], f"{pid} ended")
            except Exception:  # noqa: BLE001 - a name left behind is freed by the next lookup (stale registrar)
                pass

    def forget_all(self) -> list[str]:
        """This node was declared down: its names are gone (the next lookup anywhere frees them)."""
        names, self.mine = list(self.mine), {}
        return names
