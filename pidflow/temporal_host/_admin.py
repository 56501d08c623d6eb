"""An app's durable processes from the command line: list them, terminate, cancel or send to one.

:class:`Admin` is a Temporal *client* only. It connects as the app's nodes do, through each worker's
``temporal.client`` entry (its ``address``, else ``PIDFLOW_TEMPORAL_ADDRESS``, else the embedded server of the
state folder, found through ``server.json`` or started when none runs, and then stopped when the command ends),
and starts no worker: nothing polls the app's task queues, so a command never runs a workflow task or an activity
of the app, whatever runs at the same time.

The operations are the node's (``_host``), so a workflow cannot tell them apart from a node's: ``terminate`` is a
client terminate with the reason as its detail, ``cancel`` the ``pidflow.cancel`` signal with the deadline
followed by a terminate at the deadline if the workflow still runs, ``send`` a ``msg:<topic>`` signal whose
sender is None (sent from outside any process). Each acts only on a workflow of the app: one that the PID's
worker runs (its task queue and one of its workflow types); listing finds the same ones, by the workers' task
queues and the app's workflow types, and maps each type back to its ``workflow.lua`` entry.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import gc
from pathlib import Path
from typing import Any

import attrs
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from .._events import Message
from .._pid import Pid
from ..entries import Entry, Registry
from ..errors import Error, ErrorKind
from . import _protocol as protocol
from ._failures import to_error
from ._service import configured_address, connect_options, embedded_server

_GONE = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


@attrs.frozen
class WorkflowRow:
    """One workflow of the app as ``pidflow ps`` shows it."""

    pid: Pid
    entry: str
    status: str  # RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT
    started: datetime.datetime | None
    closed: datetime.datetime | None
    run_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"pid": str(self.pid), "workflow_id": self.pid.id, "worker": self.pid.host, "entry": self.entry,
                "status": self.status, "started": _iso(self.started), "closed": _iso(self.closed),
                "run_id": self.run_id}


class Admin:
    """``async with Admin(registry, state_dir) as admin``: connections are made on first use, one per
    ``temporal.client`` entry; an embedded server started for the command stops on exit."""

    def __init__(self, registry: Registry, state_dir: str | Path) -> None:
        self.registry = registry
        self.state_dir = Path(state_dir)
        self._clients: dict[str | None, Client] = {}
        self._embedded: Any = None

    async def __aenter__(self) -> "Admin":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Drop the clients while the loop and the interpreter still run: a temporalio client freed during
        # interpreter shutdown crashes the process now and then (sdk-python issue 300: PyGILState_Release,
        # SIGABRT or SIGSEGV after the command's work is done).
        self._clients.clear()
        gc.collect()
        if self._embedded is not None:
            await self._embedded.astop()

    # -- arguments ----------------------------------------------------------------------------------------------
    def workers(self) -> list[Entry]:
        return self.registry.of_kind(protocol.WORKER_KIND)

    def durable_pid(self, text: str) -> Pid:
        """``text`` as the PID of a workflow of this app's workers; INVALID naming the argument otherwise."""
        try:
            pid = Pid.parse(text)
        except Error:
            raise Error(ErrorKind.INVALID, f"PID {text!r} is malformed: expected '{{worker|workflow id}}', such as"
                                           " '{app:worker|order-1}' (quote it in the shell)") from None
        if pid.is_local:
            raise Error(ErrorKind.INVALID, f"PID {pid} is a local process of node {pid.node}: only durable processes"
                                           " (workflows) can be reached from the command line; it lives in its node")
        worker = self.registry.find(pid.host)
        if worker is None or worker.kind != protocol.WORKER_KIND:
            known = ", ".join(w.id for w in self.workers()) or "none"
            raise Error(ErrorKind.INVALID, f"PID {pid}: {pid.host} is not a {protocol.WORKER_KIND} entry of the app"
                                           f" (its workers: {known})")
        return pid

    # -- listing ------------------------------------------------------------------------------------------------
    async def list(self, *, include_closed: bool = False) -> list[WorkflowRow]:
        """The app's workflows, oldest first: the running ones, or every one with ``include_closed`` (runs that
        continued as new are left out: their PID lives on in the newer run)."""
        by_client: dict[str | None, list[Entry]] = {}
        for worker in self.workers():
            by_client.setdefault(worker.ref("client"), []).append(worker)
        rows: list[WorkflowRow] = []
        for workers in by_client.values():
            owners = {(str(w.spec["task_queue"]), name): (w, entry)
                      for w in workers for name, entry in protocol.workflow_types(self.registry, w.id).items()}
            if not owners:
                continue
            query = (f"TaskQueue IN ({_quoted(q for q, _ in owners)})"
                     f" AND WorkflowType IN ({_quoted(t for _, t in owners)})")
            if not include_closed:
                query += " AND ExecutionStatus = 'Running'"
            client = await self._client(workers[0])
            try:
                async for execution in client.list_workflows(query):
                    owner = owners.get((execution.task_queue, execution.workflow_type))
                    status = execution.status.name if execution.status is not None else "UNKNOWN"
                    if owner is None or status == "CONTINUED_AS_NEW":
                        continue
                    worker, entry = owner
                    rows.append(WorkflowRow(Pid(worker.id, execution.id), entry.id, status, execution.start_time,
                                            execution.close_time, execution.run_id))
            except RPCError as exc:
                raise _rpc_error(exc, "listing workflows") from None
        return sorted(rows, key=lambda r: (r.started or datetime.datetime.min.replace(tzinfo=datetime.UTC),
                                           str(r.pid)))

    # -- acting on one ------------------------------------------------------------------------------------------
    async def terminate(self, pid: Pid, reason: str = "terminated from the command line") -> None:
        """End the workflow at once (NOT_FOUND if it is not running)."""
        handle = await self._running(pid)
        error = Error(ErrorKind.TERMINATED, reason)
        await self._act(pid, functools.partial(handle.terminate, error, reason=reason))

    async def cancel(self, pid: Pid, deadline: float) -> bool:
        """Deliver CANCEL with ``deadline`` (seconds); terminate it if it still runs when the deadline passes.
        True when the workflow ended by itself within the deadline, False when it was terminated."""
        handle = await self._running(pid)
        await self._act(pid, functools.partial(handle.signal, protocol.CANCEL, {"deadline": deadline, "from": None}))
        try:
            await asyncio.wait_for(_ended(handle), deadline)
            return True
        except asyncio.TimeoutError:
            pass
        except RPCError as exc:
            raise _rpc_error(exc, f"waiting for {pid} to end") from None
        error = Error(ErrorKind.CANCELED, f"{pid} did not stop within its cancel deadline")
        try:
            await handle.terminate(error, reason=error.message)
        except RPCError as exc:
            if exc.status in _GONE:  # it ended just now
                return True
            raise _rpc_error(exc, f"terminating {pid}") from None
        return False

    async def send(self, pid: Pid, topic: str, data: Any) -> None:
        """Signal a message on ``topic`` to the workflow (NOT_FOUND if it is not running)."""
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, "TOPIC must be a non-empty string")
        handle = await self._running(pid)
        await self._act(pid, functools.partial(handle.signal, protocol.message_signal(topic),
                                                Message(topic, data).to_wire()))

    # -- internals ----------------------------------------------------------------------------------------------
    async def _client(self, worker: Entry) -> Client:
        ref = worker.ref("client")
        if ref not in self._clients:
            entry = self.registry.get(ref) if ref else None
            address = configured_address(entry)
            if not address:
                if self._embedded is None:
                    self._embedded = embedded_server(self.state_dir, entry.spec if entry is not None else {})
                    await self._embedded.astart()
                address = self._embedded.address
            try:
                self._clients[ref] = await Client.connect(address, **connect_options(entry))
            except Exception as exc:
                where = f"entry {entry.id}" if entry is not None else "the default client"
                raise Error(ErrorKind.UNAVAILABLE, f"{where}: cannot connect to Temporal at {address}: {exc}") from None
        return self._clients[ref]

    async def _running(self, pid: Pid) -> WorkflowHandle[Any, Any]:
        """The handle of ``pid``'s workflow after checking that it runs and is the app's."""
        worker = self.registry.get(pid.host, kinds=(protocol.WORKER_KIND,))
        handle = (await self._client(worker)).get_workflow_handle(pid.id)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise _not_running(pid) from None
            raise _rpc_error(exc, f"describing {pid}") from None
        types = protocol.workflow_types(self.registry, worker.id)
        if description.task_queue != worker.spec["task_queue"] or description.workflow_type not in types:
            raise Error(ErrorKind.INVALID, f"workflow {pid.id} is not one of {worker.id}'s: it is a"
                                           f" {description.workflow_type} on task queue {description.task_queue}")
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise _not_running(pid, description.status)
        return handle

    async def _act(self, pid: Pid, call: Any) -> None:
        try:
            await call()
        except RPCError as exc:
            if exc.status in _GONE:
                raise _not_running(pid) from None
            raise _rpc_error(exc, f"reaching {pid}") from None


async def _ended(handle: WorkflowHandle[Any, Any]) -> None:
    try:
        await handle.result()
    except RPCError:
        raise
    except Exception:  # noqa: BLE001 - it failed, was terminated, ...: it ended, which is all we wait for
        pass


def _not_running(pid: Pid, status: WorkflowExecutionStatus | None = None) -> Error:
    ended = f" (it ended: {status.name})" if status is not None else ""
    return Error(ErrorKind.NOT_FOUND, f"{pid} is not running{ended}", details={"pid": str(pid)})


def _rpc_error(exc: RPCError, what: str) -> Error:
    err = to_error(exc)
    return Error(err.kind, f"{what}: {err.message}", retryable=err.retryable)


def _quoted(values: Any) -> str:
    """Values as a visibility query list: ``'a', 'b'`` (quotes and backslashes escaped)."""
    unique = dict.fromkeys(str(v) for v in values)
    return ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in unique)


def _iso(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(rows: list[WorkflowRow]) -> list[str]:
    """``pidflow ps`` lines: a header, then one line per workflow, columns aligned."""
    cells = [("PID", "ENTRY", "STATUS", "STARTED")]
    cells += [(str(r.pid), r.entry, r.status, _iso(r.started) or "-") for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(3)]
    return ["  ".join(c[i].ljust(widths[i]) for i in range(3)) + "  " + c[3] for c in cells]
