"""The Temporal host: a ``temporal.worker`` entry; its processes are Lua workflows on its task queue.

PIDs are ``{<worker entry id>|<workflow id>}``, valid across restarts of every node. Operations from the node
(local processes, top-level code) map to the Temporal client: spawn = start (or signal-with-start, so that start
messages reach an already running workflow too), send = signal, terminate = terminate, cancel = a CANCEL signal
then terminate at the deadline. A monitor or a link from a local process is a task that awaits the workflow's
result. Posts (send, events, link exits) go through a FIFO per target that retries until the signal lands or
the workflow is gone, so per-sender order holds and nothing is lost while the workflow lives.

A spawn with a name starts the workflow under that name as its id (Temporal keeps one running workflow per id:
a second spawn while it runs reaches it) and registers the name on the node (``NodePort.names``) for its PID,
before the start, so that a name another PID holds fails with ALREADY_EXISTS and nothing starts; the node
watches the workflow's current run and releases the name once it ended (continue-as-new keeps it: same PID).

Two rules keep that FIFO from ever wedging (see ``_limits``): a payload is encoded once, at send time, and one
over the payload limit fails its sender there; what the server refuses anyway (INVALID_ARGUMENT and other
answers that no retry changes) is dropped with a logged error, and the posts behind it go on. Retrying is for
outages only, and an outage is never an end: a watcher waits through one (retrying with backoff, logged) and
reports EXIT only when the workflow has really ended.
"""

from __future__ import annotations

import functools
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, TypeVar

import attrs
import trio
from temporalio import common
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from .. import codec
from .._events import Event, ExitResult, Message
from .._introspection import DurableInfo, ProcessInfo
from .._nursery import serve_nursery
from .._host import Host, SpawnRequest, noproc
from .._log import log as _log
from .._pid import Pid
from ..entries import Entry
from ..errors import Error, ErrorKind
from . import _limits as limits
from . import _protocol as protocol
from ._converter import ENCODING
from ._failures import is_transient, to_error
from . import _known as known_mod
from ._known import RUNNING, Known, KnownWorkflows, end_status
from ._options import CONFLICT_POLICIES, ID_OPTION, workflow_pid, workflow_start_kwargs
from ._service import TemporalService
from ._worker import start_worker
from ._workflow import lua_traceback, watch_task_failures

if TYPE_CHECKING:
    from .._bookkeeper import Directory
    from .._host import NodePort

T = TypeVar("T")
# Answers to a signal or a terminate that mean the workflow is not running (any more).
_GONE = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


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
        #: Per target, in order: (signal name, its one argument encoded).
        self._outbox: dict[Pid, deque[tuple[str, bytes]]] = {}
        self._watchers: dict[tuple[Pid, Pid, str], trio.CancelScope] = {}
        self.workflow_types: dict[str, Entry] = {}
        self.search_attribute_types: dict[str, int] = {}
        #: Bytes a signal's payload may take (``_limits``); known once started.
        self.max_payload_size = limits.DEFAULT_MAX_PAYLOAD_SIZE
        #: The workflows this node started, watches or names (the observer's view, ``_known``).
        self.known = KnownWorkflows()

    # -- lifecycle ------------------------------------------------------------------------------------------------
    async def start(self, node: "NodePort") -> None:
        self.node = node
        self.workflow_types = protocol.workflow_types(node.registry, self.id)
        self.service = await TemporalService.for_node(node)
        client_ref = self.entry.ref("client")
        client_entry = node.registry.get(client_ref) if client_ref else None
        self.client = await self.service.client(client_entry)
        self.search_attribute_types = await self.service.search_attribute_types(self.client)
        self.max_payload_size = await self.service.payload_limit(self.client, client_entry)
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

    async def _call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return await self.service.aio.run(fn, *args)

    def _entry_for(self, entry_id: Any) -> Entry:
        if not isinstance(entry_id, str):
            raise Error(ErrorKind.INVALID, f"host {self.id} runs workflow.lua entries by id, got {entry_id!r}")
        entry = self.node.registry.get(entry_id, kinds=(protocol.WORKFLOW_KIND,))
        if protocol.workflow_type_name(entry) not in self.workflow_types:
            worker = entry.workflow_meta.get("worker")
            raise Error(ErrorKind.INVALID, f"entry {entry.id} runs on worker {worker}, not on {self.id}")
        return entry

    def watch_stalls(self, pid: Pid, callback: Callable[[Error], None]) -> Callable[[], None]:
        """A Lua error that fails a workflow task of ``pid`` on a worker of this process (tasks that workers of
        other processes run are not seen; the next retry here is)."""
        token = trio.lowlevel.current_trio_token()

        def stalled(error: Error) -> None:  # on a worker thread, inside the workflow task
            what = error.message if error.kind is ErrorKind.INTERNAL else str(error)  # the Lua error, file:line
            trace = lua_traceback(error).lstrip("\n")
            report = Error(error.kind, f"workflow {pid} failed a workflow task: {what}; the workflow stays open: "
                           "Temporal retries the task, so the run resumes where it stopped once a fixed version "
                           "is deployed", details={"traceback": trace} if trace else None)
            try:
                token.run_sync_soon(callback, report)
            except trio.RunFinishedError:
                pass

        return watch_task_failures(pid, stalled)

    # -- spawning -------------------------------------------------------------------------------------------------
    async def spawn(self, request: SpawnRequest) -> Pid:
        entry = self._entry_for(request.entry)
        kwargs = workflow_start_kwargs(request.options, where="client", search_types=self.search_attribute_types)
        fail_if_running = kwargs.pop("execution_error_when_already_started", False)
        namespace = kwargs.pop("namespace", None)
        option_id = kwargs.pop("id", None)
        explicit_id = option_id or request.name
        workflow_id = explicit_id or f"{entry.id.replace(':', '-')}-{uuid.uuid4()}"
        # Before anything starts: a workflow that runs under an id no PID can name is out of everyone's reach.
        pid = workflow_pid(self.id, workflow_id, f"option '{ID_OPTION}'" if option_id else "name")
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
        args = protocol.workflow_args(request.argv, start)  # main's positional arguments, then the start record
        codec.encode([*args, messages], what=f"input of {entry.id}")
        client = self.client if namespace is None else Client(self.client.service_client, namespace=namespace,
                                                               data_converter=self.client.data_converter)
        names = self.node.names
        claimed = False
        if request.name is not None:
            claimed = names.register(request.name, pid)  # ALREADY_EXISTS: nothing starts
            # The node's watch of an earlier run (ended, its end not yet seen) must not release the name while
            # this start is on the way: it is dropped, and a watch of the run current after the start replaces it.
            self._cancel_watch((names.watcher, pid, "monitor"))
        use_signal = bool(messages) and policy == CONFLICT_POLICIES["use_existing"]
        call: dict[str, Any]  # start_workflow's keyword arguments
        if use_signal:
            # Signal-with-start: the batch reaches a new workflow before anything else (signals are handled
            # before the main function first runs), and reaches an already running one as well.
            call = dict(args=args, start_signal_args=[messages],
                        start_signal=protocol.messages_signal({m.topic for m in request.messages}))
        else:
            args[-1] = {**args[-1], "messages": messages}
            call = dict(args=args, id_conflict_policy=policy)

        async def do_start() -> WorkflowHandle[Any, Any]:
            return await client.start_workflow(protocol.workflow_type_name(entry), id=workflow_id, task_queue=task_queue,
                                               **call, **kwargs)

        try:
            handle = await self._call(do_start)
        except BaseException as exc:
            if claimed and names.whereis(request.name) == pid:  # type: ignore[arg-type]
                names.unregister(request.name)  # type: ignore[arg-type]
            if names.names_of(pid):
                self._watch(names.watcher, pid, "monitor")  # its other names: watched again
            if not isinstance(exc, Exception):
                raise
            raise self._start_error(exc, entry, workflow_id) from None
        book = self.node.bookkeeper
        self.known.started(pid, entry.id, request.parent, handle.result_run_id, timed=book.on)
        if book.on:
            book.spawned(pid, entry.id, request.parent)
        if request.name is not None:  # released when this run (or the one it reached) ends
            self._watch(names.watcher, pid, "monitor")
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
        record = self.known.watch(target)
        self._nursery.start_soon(self._await_end, watcher, target, relation, scope, record, record.generation)

    async def _await_end(self, watcher: Pid, target: Pid, relation: str, scope: trio.CancelScope, record: Known,
                         generation: int) -> None:
        key = (watcher, target, relation)
        try:
            with scope:
                result = await self.result_of(target)
        finally:
            self.known.unwatch(record)
        if not scope.cancelled_caught:
            self._ended(target, generation, result)
        if scope.cancelled_caught or self._watchers.get(key) is not scope:
            return  # undone (unmonitor, unlink) or renewed while its answer was on the way
        del self._watchers[key]
        if relation == "monitor":
            self.node.post_event(watcher, Event.exit(target, result))
        elif result.error is not None:
            self.node.post_link_exit(watcher, target, result.error)

    async def result_of(self, pid: Pid) -> ExitResult:
        """Wait for the workflow (following continue-as-new) to end; its value, or the error it ended with.

        An outage is not an end: while the server does not answer, the wait is retried (see ``_until_answered``),
        so the result is always the workflow's own."""
        handle = self._handle(pid)
        try:
            return ExitResult(await self._until_answered(f"waiting for the end of {pid}",
                                                         lambda: self._call(handle.result)), None)
        except Error as exc:
            return ExitResult(None, exc)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return ExitResult(None, noproc(pid))
            return ExitResult(None, to_error(exc))
        except Exception as exc:
            return ExitResult(None, to_error(exc))

    async def _until_answered(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` (an RPC of a background task), retried through outages: while it fails with a transient RPC
        error (``is_transient``), it is retried with backoff (0.1 s doubling up to 5 s) until the server answers.
        The first failure and the recovery are logged, not every attempt. Any other outcome is ``call``'s own."""
        delay, since = 0.1, None
        while True:
            try:
                value = await call()
            except Exception as exc:
                if is_transient(exc):
                    if since is None:
                        since = trio.current_time()
                        _log.warning("temporal does not answer while %s (%s): retrying until it does", what, exc)
                    await trio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                _log_recovery(what, since)
                raise
            _log_recovery(what, since)
            return value

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
        self._post(pid, protocol.CANCEL, codec.encode({"deadline": deadline, "from": sender}))
        assert self._nursery is not None
        self._nursery.start_soon(self._enforce_deadline, pid, deadline)
        return True

    async def _enforce_deadline(self, pid: Pid, deadline: float) -> None:
        await trio.sleep(deadline)
        reason = Error(ErrorKind.CANCELED, f"{pid} did not stop within its cancel deadline")
        terminate = functools.partial(self._handle(pid).terminate, reason, reason=reason.message)
        try:
            await self._until_answered(f"terminating {pid} at its cancel deadline", lambda: self._call(terminate))
        except RPCError as exc:
            if exc.status not in _GONE:
                _log.error("could not terminate %s at its cancel deadline: %s", pid, exc)
        except Exception as exc:  # noqa: BLE001 - a background task: say it, do not take the host down
            _log.error("could not terminate %s at its cancel deadline: %s", pid, exc)

    async def monitor(self, watcher: Pid, target: Pid) -> None:
        if watcher == self.node.names.watcher:
            # The node's name watch follows the run that is current now: a run that ended just before (the same
            # id started again, as a supervisor restarts a child) must not release the names of its successor.
            self._cancel_watch((watcher, target, "monitor"))
        self._watch(watcher, target, "monitor")

    def _cancel_watch(self, key: tuple[Pid, Pid, str]) -> bool:
        scope = self._watchers.pop(key, None)
        if scope is None:
            return False
        scope.cancel()
        return True

    async def unmonitor(self, watcher: Pid, target: Pid) -> None:
        self._cancel_watch((watcher, target, "monitor"))

    async def link(self, watcher: Pid, target: Pid) -> bool:
        if not await self.is_running(target):
            return False
        self._post(target, protocol.LINK, codec.encode({"from": watcher}))
        self._watch(watcher, target, "link")
        return True

    async def unlink(self, watcher: Pid, target: Pid) -> None:
        scope = self._watchers.pop((watcher, target, "link"), None)
        if scope is not None:
            scope.cancel()
            self._post(target, protocol.UNLINK, codec.encode({"from": watcher}))

    # -- posts ----------------------------------------------------------------------------------------------------
    def send(self, pid: Pid, message: Message) -> None:
        data = codec.encode(message.to_wire(), what=f"message {message.topic!r} to {pid}")
        if len(data) + limits.ENVELOPE > self.max_payload_size:
            raise limits.too_large(f"message {message.topic!r} to {pid}", len(data) + limits.ENVELOPE,
                                   self.max_payload_size)
        self._post(pid, protocol.message_signal(message.topic), data)
        if self.node.bookkeeper.on:
            record = self.known.get(pid)
            if record is not None:
                record.messages_in += 1
            self.node.count_sent(message.sender)

    def deliver_event(self, pid: Pid, event: Event) -> None:
        # Posts of the node never raise: an EXIT whose value cannot reach the watcher still tells it the end.
        try:
            data = self._encoded(event.to_wire(), f"{event.kind} event for {pid}")
        except Error as err:
            if event.result is None:
                _log.error("dropped %s: %s", f"{event.kind} event for {pid}", err.message)
                return
            _log.error("the result of %s cannot reach its watcher %s: %s", event.from_, pid, err.message)
            unsent = Error(err.kind, f"the result of {event.from_} cannot reach {pid}: {err.message}")
            data = codec.encode(Event.exit(event.from_, ExitResult(None, unsent)).to_wire())  # type: ignore[arg-type]
        self._post(pid, protocol.event_signal(event.kind.value), data)

    def link_exit(self, pid: Pid, sender: Pid, reason: Error) -> None:
        try:
            data = self._encoded({"from": sender, "reason": reason}, f"link exit for {pid}")
        except Error as err:  # a reason with details too big or unencodable: its kind and message still go
            _log.error("the reason %s ended with cannot reach %s as is: %s", sender, pid, err.message)
            data = codec.encode({"from": sender, "reason": Error(reason.kind, reason.message[:4096])})
        self._post(pid, protocol.LINK_EXIT, data)

    def _encoded(self, value: Any, what: str) -> bytes:
        return limits.check(codec.encode(value, what=what), self.max_payload_size, what)

    # -- introspection ------------------------------------------------------------------------------------------
    def _ended(self, pid: Pid, generation: int, result: ExitResult) -> None:
        """A watch saw the run of ``generation`` end: the first to see the current run's end reports it."""
        record = self.known.end(pid, generation)
        if record is None:
            return
        book = self.node.bookkeeper
        book.retire(record.messages_in, record.messages_out)
        error = result.error
        if error is not None and isinstance(error.details, dict) and error.details.get("reason") == "noproc":
            return  # it never ran (a watch of an unknown workflow id): no end to report
        if book.on:
            if error is not None and end_status(error) == "failed":
                book.crashed(pid, record.entry, error)
            book.exited(pid, record.entry, error)

    def describe_all(self, directory: "Directory") -> list[ProcessInfo]:
        relations = known_mod.relations(self._watchers, self.node.names.watcher)
        return [self._info(pid, record, directory, relations) for pid, record in self.known]

    def describe(self, pid: Pid, directory: "Directory") -> ProcessInfo | None:
        record = self.known.get(pid)
        if record is None:
            return None
        return self._info(pid, record, directory, known_mod.relations(self._watchers, self.node.names.watcher, pid))

    async def inspect(self, pid: Pid, directory: "Directory") -> ProcessInfo | None:
        """What the node knows, with the workflow's current run as Temporal describes it (its status, run id,
        start time, entry and UI link); a workflow this node does not know is described too. None when Temporal
        does not know the id either. When Temporal does not answer within :data:`DESCRIBE_TIMEOUT`, a workflow the
        node knows is shown as it knows it (UNAVAILABLE for another)."""
        description = None
        with trio.move_on_after(DESCRIBE_TIMEOUT):
            try:
                description = await self._call(self._handle(pid).describe)
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    return self.describe(pid, directory)
                if self.known.get(pid) is None:
                    raise to_error(exc) from None
        if description is None:
            known = self.describe(pid, directory)
            if known is None:
                raise Error(ErrorKind.UNAVAILABLE, f"temporal does not answer: cannot describe {pid}")
            return known
        record = self.known.get(pid)
        status = description.status.name.lower() if description.status is not None else RUNNING
        if record is not None and status != RUNNING and record.watches == 0:
            self.known.forget(pid)  # ended unwatched: the listing stops showing it as running
        entry = record.entry if record is not None and record.entry else None
        if entry is None:
            known_type = self.workflow_types.get(description.workflow_type)
            entry = known_type.id if known_type is not None else description.workflow_type
        shown = record if record is not None else Known(entry=entry)
        info = self._info(pid, shown, directory, known_mod.relations(self._watchers, self.node.names.watcher, pid))
        run_id = description.run_id
        started = description.start_time.timestamp() if description.start_time is not None else info.started_at
        return attrs.evolve(info, entry=entry, status=status, started_at=started,
                            durable=DurableInfo(pid.id, run_id, status, self._ui_url(pid.id, run_id)))

    def _info(self, pid: Pid, record: Known, directory: "Directory", relations: known_mod.Relations) -> ProcessInfo:
        outbox = self._outbox.get(pid)
        return known_mod.describe(self.id, pid, record, directory, relations, len(outbox) if outbox else 0,
                                  self._ui_url(pid.id, record.run_id))

    def _ui_url(self, workflow_id: str, run_id: str | None) -> str | None:
        base = self.service.ui_url if self.service is not None else None
        return known_mod.ui_link(base, self.client.namespace, workflow_id, run_id) if base else None

    def watches(self) -> list[tuple[Pid, Pid]]:
        return [(watcher, target) for watcher, target, relation in list(self._watchers) if relation == "monitor"]

    def message_counts(self) -> tuple[int, int]:
        return self.known.message_counts()

    def count_sent(self, pid: Pid) -> None:
        record = self.known.get(pid)
        if record is not None:
            record.messages_out += 1

    def _post(self, pid: Pid, signal: str, data: bytes) -> None:
        """Queue ``signal`` for ``pid``; ``data`` is its one argument, encoded."""
        queue = self._outbox.get(pid)
        if queue is None:
            queue = self._outbox[pid] = deque()
            assert self._nursery is not None
            self._nursery.start_soon(self._drain, pid, queue)
        queue.append((signal, data))

    async def _drain(self, pid: Pid, queue: deque[tuple[str, bytes]]) -> None:
        """Signal one target in order; retry through outages; drop when the workflow is gone (Erlang).

        Messages that queued up behind a signal in flight go out together as one ``msgs:<topic>`` signal
        (``pidflow.messages`` when their topics differ; in order, at most ``BATCH_MESSAGES`` and ``BATCH_BYTES``,
        never over the payload limit): a burst of sends then costs a few signals instead of one each, which is what
        lets one workflow take tens of thousands of messages (the dev server takes a few hundred signals a second
        to one workflow).

        A signal the server refuses for good (INVALID_ARGUMENT, say, from a server whose limit is below the
        configured one) is not retried: a refused batch is sent again message by message, and a refused single
        post is dropped with a logged error, so the posts behind it still land."""
        handle = self._handle(pid)
        budget = min(BATCH_BYTES, self.max_payload_size - limits.ENVELOPE)
        singles = 0  # after a refused batch: how many posts go out one by one
        while queue:
            if singles:
                (signal, data), taken = queue[0], 1
            else:
                signal, data, taken = _next_batch(queue, budget)
            arg = common.RawValue(Payload(metadata={"encoding": ENCODING}, data=data))
            try:
                await self._until_answered(f"signalling {pid}", lambda: self._call(handle.signal, signal, arg))
            except Exception as exc:
                if isinstance(exc, RPCError) and exc.status in _GONE:
                    queue.clear()  # not running: dropped, as a send to a dead process is
                    break
                if taken > 1:
                    singles = taken
                    continue
                _log.error("dropped %s to %s: %s", _describe(signal, data), pid,
                           f"temporal: {exc.message}" if isinstance(exc, RPCError) else exc,
                           extra={"pid": str(pid)})
            else:
                book = self.node.bookkeeper
                if book.on:
                    book.workflow_signals += 1
            for _ in range(taken):
                queue.popleft()
            singles = max(singles - taken, 0)
        del self._outbox[pid]


#: Seconds ``inspect`` waits for Temporal's description of a workflow.
DESCRIBE_TIMEOUT = 5.0
BATCH_MESSAGES = 500
# Batches stay at Temporal's warning size for one payload (limit.blobSize.warn, 512 KiB).
BATCH_BYTES = 512 * 1024


def _next_batch(queue: deque[tuple[str, bytes]], budget: int) -> tuple[str, bytes, int]:
    """The next signal to send (name and encoded argument) and how many queued posts it covers: consecutive
    messages are batched, up to ``BATCH_MESSAGES`` and ``budget`` bytes. The batch's argument is the JSON array
    of the messages, joined from their encodings (nothing is encoded twice); it is named ``msgs:<topic>`` when
    they share a topic (``protocol.batch_signal``)."""
    signal, data = queue[0]
    if len(queue) == 1 or protocol.signal_kind(signal) != protocol.MESSAGE:
        return signal, data, 1
    parts: list[bytes] = []
    names: set[str] = set()
    size = 1  # "[" and "]", and a "," before every part but the first
    for queued_signal, queued in queue:
        if len(parts) >= BATCH_MESSAGES or size + len(queued) + 1 > budget or \
                protocol.signal_kind(queued_signal) != protocol.MESSAGE:
            break
        parts.append(queued)
        names.add(queued_signal)
        size += len(queued) + 1
    if len(parts) <= 1:
        return signal, data, 1
    return protocol.batch_signal(names), codec.join(parts), len(parts)


def _describe(signal: str, data: bytes) -> str:
    """What a dropped signal carried, for the log (decoded only on this rare path)."""
    try:
        value = codec.decode(data)
    except Exception:  # noqa: BLE001 - a log line must not fail
        return f"a {signal} signal"
    kind = protocol.signal_kind(signal)
    if kind == protocol.MESSAGE and isinstance(value, dict):
        return f"message {value.get('topic')!r} ({len(data)} bytes)"
    if kind == protocol.MESSAGES and isinstance(value, list):
        return f"{len(value)} messages ({len(data)} bytes)"
    return f"a {signal} signal ({len(data)} bytes)"


def _log_recovery(what: str, since: float | None) -> None:
    if since is not None:
        _log.warning("temporal answers again while %s (after %.1f s)", what, trio.current_time() - since)
