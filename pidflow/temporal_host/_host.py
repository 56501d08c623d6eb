"""The Temporal host: a ``temporal.worker`` entry; its processes are Lua workflows on its task queue.

PIDs are ``{<worker entry id>|<workflow id>}``, valid across restarts of every node. Operations from the node
(local processes, top-level code) map to the Temporal client: spawn = start (or signal-with-start, so that start
messages reach an already running workflow too), send = signal, terminate = terminate, cancel = a CANCEL signal
then terminate at the deadline. A monitor or a link from a local process is a task that awaits the workflow's
result. Posts (send, events, link exits) go through a FIFO per target that retries until the signal lands or
the workflow is gone, so per-sender order holds and nothing is lost while the workflow lives.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any, Mapping

import trio
from temporalio import common
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from .. import codec
from .._events import Event, ExitResult, Message
from .._nursery import serve_nursery
from .._host import Host, SpawnRequest, noproc
from .._pid import Pid
from ..entries import Entry
from ..errors import Error, ErrorKind
from . import _protocol as protocol
from ._failures import to_error
from ._options import CONFLICT_POLICIES, workflow_start_kwargs
from ._service import TemporalService
from ._worker import start_worker

if TYPE_CHECKING:
    from .._host import NodePort


class TemporalHost(Host):
    durable = True

    def __init__(self, entry: Entry) -> None:
        self.id = entry.id
        self.entry = entry
        self.task_queue = str(entry.spec["task_queue"])
        self.node: NodePort = None  # type: ignore[assignment]
        self.service: TemporalService = None  # type: ignore[assignment]
        self.client: Client = None  # type: ignore[assignment]
        self._worker: Worker | None = None
        self._nursery: trio.Nursery | None = None
        self._done = trio.Event()
        self._outbox: dict[Pid, deque[tuple[str, list[Any]]]] = {}
        self._watchers: dict[tuple[Pid, Pid, str], trio.CancelScope] = {}
        self.workflow_types: dict[str, Entry] = {}
        self.search_attribute_types: dict[str, int] = {}

    # -- lifecycle ------------------------------------------------------------------------------------------------
    async def start(self, node: "NodePort") -> None:
        self.node = node
        self.workflow_types = protocol.workflow_types(node.registry, self.id)
        self.service = await TemporalService.for_node(node)
        client_ref = self.entry.ref("client")
        client_entry = node.registry.get(client_ref) if client_ref else None
        self.client = await self.service.client(client_entry)
        self.search_attribute_types = await self.service.search_attribute_types(self.client)
        self._nursery = await node.start_task(serve_nursery, self._done)
        self._worker = await start_worker(self)


    async def stop(self) -> None:
        # Flush what local processes posted while stopping (EXIT/LINK_DOWN with UNAVAILABLE), then stop.
        with trio.move_on_after(10):
            while self._outbox:
                await trio.sleep(0.01)
        if self._worker is not None:
            await self.service.aio.run(self._worker.shutdown)
        self._done.set()

    def validate_options(self, options: Mapping[str, Any]) -> None:
        workflow_start_kwargs(options, where="client")

    # -- helpers --------------------------------------------------------------------------------------------------
    def pid_of(self, workflow_id: str) -> Pid:
        return Pid(self.id, workflow_id)

    def _handle(self, pid: Pid) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(pid.id)

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await self.service.aio.run(fn, *args)

    def _entry_for(self, entry_id: Any) -> Entry:
        if not isinstance(entry_id, str):
            raise Error(ErrorKind.INVALID, f"host {self.id} runs workflow.lua entries by id, got {entry_id!r}")
        entry = self.node.registry.get(entry_id, kinds=("workflow.lua",))
        if protocol.workflow_type_name(entry) not in self.workflow_types:
            worker = entry.workflow_meta.get("worker")
            raise Error(ErrorKind.INVALID, f"entry {entry.id} runs on worker {worker}, not on {self.id}")
        return entry

    # -- spawning -------------------------------------------------------------------------------------------------
    async def spawn(self, request: SpawnRequest) -> Pid:
        entry = self._entry_for(request.entry)
        kwargs = workflow_start_kwargs(request.options, where="client", search_types=self.search_attribute_types)
        fail_if_running = kwargs.pop("execution_error_when_already_started", False)
        namespace = kwargs.pop("namespace", None)
        explicit_id = kwargs.pop("id", None) or request.name
        workflow_id = explicit_id or f"{entry.id.replace(':', '-')}-{uuid.uuid4()}"
        policy = kwargs.pop("id_conflict_policy", None)
        if fail_if_running:
            policy = CONFLICT_POLICIES["fail"]
        if policy is None:
            policy = CONFLICT_POLICIES["use_existing"] if explicit_id else common.WorkflowIDConflictPolicy.FAIL
        task_queue = kwargs.pop("task_queue", self.task_queue)
        messages = [m.to_wire() for m in request.messages]
        start = protocol.StartInfo(
            parent=request.parent,
            context=dict(request.context),
            links=[request.parent] if request.link and request.parent is not None else [],
        ).to_wire()
        codec.encode([request.input, start, messages], what=f"input of {entry.id}")
        client = self.client if namespace is None else Client(self.client.service_client, namespace=namespace,
                                                               data_converter=self.client.data_converter)
        use_signal = bool(messages) and policy == CONFLICT_POLICIES["use_existing"]
        if use_signal:
            # Signal-with-start: the batch reaches a new workflow before anything else (signals are handled
            # before the main function first runs), and reaches an already running one as well.
            call = dict(args=[request.input, start], start_signal=protocol.MESSAGES, start_signal_args=[messages])
        else:
            start["messages"] = messages
            call = dict(args=[request.input, start], id_conflict_policy=policy)

        async def do_start() -> WorkflowHandle[Any, Any]:
            return await client.start_workflow(protocol.workflow_type_name(entry), id=workflow_id, task_queue=task_queue,
                                               **call, **kwargs)

        try:
            await self._call(do_start)
        except Exception as exc:
            raise self._start_error(exc, entry, workflow_id) from None
        pid = self.pid_of(workflow_id)
        if request.parent is not None:
            if request.monitor:
                self._watch(request.parent, pid, "monitor")
            if request.link:
                self._watch(request.parent, pid, "link")
        return pid

    def _start_error(self, exc: Exception, entry: Entry, workflow_id: str) -> Error:
        from temporalio.exceptions import WorkflowAlreadyStartedError

        if isinstance(exc, WorkflowAlreadyStartedError):
            return Error(ErrorKind.ALREADY_EXISTS, f"workflow {workflow_id} ({entry.id}) is already started",
                         details={"workflow_id": workflow_id})
        if isinstance(exc, RPCError) and exc.status == RPCStatusCode.INVALID_ARGUMENT:
            return Error(ErrorKind.INVALID, f"cannot start {entry.id}: {exc.message}")
        if isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND:  # e.g. an unknown namespace
            return Error(ErrorKind.NOT_FOUND, f"cannot start {entry.id}: {exc.message}", retryable=False)
        err = to_error(exc)
        return Error(err.kind, f"cannot start {entry.id}: {err.message}", retryable=err.retryable)

    # -- watching results -----------------------------------------------------------------------------------------
    def _watch(self, watcher: Pid, target: Pid, relation: str) -> None:
        key = (watcher, target, relation)
        if key in self._watchers or self._nursery is None:
            return
        scope = trio.CancelScope()
        self._watchers[key] = scope
        self._nursery.start_soon(self._await_end, watcher, target, relation, scope)

    async def _await_end(self, watcher: Pid, target: Pid, relation: str, scope: trio.CancelScope) -> None:
        with scope:
            result = await self.result_of(target)
        if scope.cancelled_caught:
            return
        self._watchers.pop((watcher, target, relation), None)
        if relation == "monitor":
            self.node.post_event(watcher, Event.exit(target, result))
        elif result.error is not None:
            self.node.post_link_exit(watcher, target, result.error)

    async def result_of(self, pid: Pid) -> ExitResult:
        """Wait for the workflow (following continue-as-new) to end; its value, or the error it ended with."""
        handle = self._handle(pid)
        try:
            return ExitResult(await self._call(handle.result), None)
        except Error as exc:
            return ExitResult(None, exc)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return ExitResult(None, noproc(pid))
            return ExitResult(None, to_error(exc))
        except Exception as exc:
            return ExitResult(None, to_error(exc))

    async def is_running(self, pid: Pid) -> bool:
        try:
            description = await self._call(self._handle(pid).describe)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise to_error(exc) from None
        return description.status == WorkflowExecutionStatus.RUNNING

    # -- operations -----------------------------------------------------------------------------------------------
    async def terminate(self, pid: Pid, reason: Error) -> bool:
        try:
            # The reason travels as the termination's detail, so watchers see its kind (CANCELED at a deadline).
            await self._call(functools.partial(self._handle(pid).terminate, reason, reason=reason.message))
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise to_error(exc) from None
        return True

    async def cancel(self, pid: Pid, deadline: float, sender: Pid | None) -> bool:
        if not await self.is_running(pid):
            return False
        self._post(pid, protocol.CANCEL, [{"deadline": deadline, "from": sender}])
        assert self._nursery is not None
        self._nursery.start_soon(self._enforce_deadline, pid, deadline)
        return True

    async def _enforce_deadline(self, pid: Pid, deadline: float) -> None:
        await trio.sleep(deadline)
        if await self.is_running(pid):
            await self.terminate(pid, Error(ErrorKind.CANCELED, f"{pid} did not stop within its cancel deadline"))

    async def monitor(self, watcher: Pid, target: Pid) -> None:
        self._watch(watcher, target, "monitor")

    async def unmonitor(self, watcher: Pid, target: Pid) -> None:
        scope = self._watchers.pop((watcher, target, "monitor"), None)
        if scope is not None:
            scope.cancel()

    async def link(self, watcher: Pid, target: Pid) -> bool:
        if not await self.is_running(target):
            return False
        self._post(target, protocol.LINK, [{"from": watcher}])
        self._watch(watcher, target, "link")
        return True

    async def unlink(self, watcher: Pid, target: Pid) -> None:
        scope = self._watchers.pop((watcher, target, "link"), None)
        if scope is not None:
            scope.cancel()
            self._post(target, protocol.UNLINK, [{"from": watcher}])

    # -- posts ----------------------------------------------------------------------------------------------------
    def send(self, pid: Pid, message: Message) -> None:
        wire = message.to_wire()
        codec.encode(wire, what=f"message {message.topic!r} to {pid}")
        self._post(pid, protocol.MESSAGE, [wire])

    def deliver_event(self, pid: Pid, event: Event) -> None:
        self._post(pid, protocol.EVENT, [event.to_wire()])

    def link_exit(self, pid: Pid, sender: Pid, reason: Error) -> None:
        self._post(pid, protocol.LINK_EXIT, [{"from": sender, "reason": reason}])

    def _post(self, pid: Pid, signal: str, args: list[Any]) -> None:
        queue = self._outbox.get(pid)
        if queue is None:
            queue = self._outbox[pid] = deque()
            assert self._nursery is not None
            self._nursery.start_soon(self._drain, pid, queue)
        queue.append((signal, args))

    async def _drain(self, pid: Pid, queue: deque[tuple[str, list[Any]]]) -> None:
        """Signal one target in order; retry transient failures; drop when the workflow is gone (Erlang).

        Messages that queued up behind a signal in flight go out together as one ``pidflow.messages`` signal
        (in order, at most ``BATCH_MESSAGES`` or about ``BATCH_BYTES`` of payload): a burst of sends then
        costs a few signals instead of one each, which is what lets one workflow take tens of thousands of
        messages (the dev server takes a few hundred signals a second to one workflow)."""
        handle = self._handle(pid)
        backoff = 0.05
        while queue:
            signal, args, taken = _next_batch(queue)
            try:
                await self._call(handle.signal, signal, *args)
            except RPCError as exc:
                if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                    queue.clear()  # not running: dropped, as a send to a dead process is
                    break
                await trio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for _ in range(taken):
                queue.popleft()
            backoff = 0.05
        del self._outbox[pid]


BATCH_MESSAGES = 500
BATCH_BYTES = 512 * 1024


def _next_batch(queue: deque[tuple[str, list[Any]]]) -> tuple[str, list[Any], int]:
    """The next signal to send and how many queued posts it covers (consecutive messages are batched)."""
    signal, args = queue[0]
    if signal != protocol.MESSAGE or len(queue) == 1:
        return signal, args, 1
    batch, size = [], 0
    for queued_signal, queued_args in queue:
        if queued_signal != protocol.MESSAGE or len(batch) >= BATCH_MESSAGES or size > BATCH_BYTES:
            break
        batch.append(queued_args[0])
        size += len(codec.encode(queued_args[0]))
    return protocol.MESSAGES, [batch], len(batch)
