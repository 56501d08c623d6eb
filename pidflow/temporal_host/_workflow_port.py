"""What a Lua workflow's modules run on: the deterministic backend and the ``process`` port inside a workflow.

Everything here runs on temporalio's deterministic loop and only uses what replays: activities (function
calls, operations on local PIDs through their node's task queue, operations on workflows that workflow code
cannot do itself, such as terminating one or awaiting the end of a non-child), child workflows, external
signals, durable timers, ``workflow.now/random/uuid4``.

Sends are ordered per target: one sender task per target drains a FIFO, so a burst of sends from Lua is
delivered in order and ``process.send`` never blocks the Lua code. Delivery to a local PID is best effort: what
its node does not take within ``LOCAL_DELIVERY_TIMEOUT`` is dropped with a warning, so a node that died never
holds a workflow (or its end) hostage.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
from collections import deque
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Coroutine, Mapping, NoReturn, Sequence

from temporalio import common, exceptions, workflow
from temporalio.common import RawValue

from .. import codec
from .._call import call_answer
from .._events import REPLY_PREFIX, Event, ExitResult, Message
from .._groups import check_group
from .._host import noproc
from .._names import already_registered, check_name, not_found as names_not_found
from .._pid import Pid
from ..entries import Entry, Registry
from ..errors import Error, ErrorKind
from ..lua_bindings import Budget, LuaBackend, ProcessPort
from . import _limits as limits
from . import _node_queue as nodeq
from . import _protocol as protocol
from ._converter import payload
from ._failures import to_error
from ._options import CONFLICT_POLICIES, ID_OPTION, activity_kwargs, workflow_pid, workflow_start_kwargs
from ._service import node_task_queue
from ._workflow_state import WorkflowProcess

if TYPE_CHECKING:
    from ._workflow import WorkerConfig

# Old runs delivered every message to a local PID through the node's task queue; runs that recorded this
# patch first try the worker's own node (see WorkflowPort._deliver).
_DELIVER_HERE_PATCH = "pidflow.deliver-here"
_LOCAL_TIMEOUT = datetime.timedelta(seconds=10)
# Runs that recorded this patch give each delivery to a local PID LOCAL_DELIVERY_TIMEOUT and drop what does not
# land (WorkflowPort._deliver_local); older runs retried each one for up to an hour, and their end waited for it.
_BOUNDED_DELIVERY_PATCH = "pidflow.bounded-delivery"
# Runs recorded before a named child was put in the node's registry start it without the registry's local
# activities.
_CHILD_NAMES_PATCH = "pidflow.child-names"
#: How long one message or event for a local PID may take to land, retries included, before it is dropped (the
#: one place to change it; Temporal does not compare timeouts on replay, so a new value replays old runs). A node
#: that died leaves nobody polling its task queue, and Erlang loses what is sent to a dead node too: monitors and
#: links are what tell of the death. The end of a workflow waits for its pending deliveries at most this long.
LOCAL_DELIVERY_TIMEOUT = datetime.timedelta(seconds=5)

# funcs.call defaults: bounded retries, so that an error reaches the Lua code as `nil, err` (Temporal's own
# default retries forever). Non-retryable errors (retryable=false) are never retried.
DEFAULT_ACTIVITY_RETRY = common.RetryPolicy(initial_interval=datetime.timedelta(seconds=1), maximum_attempts=3)
DEFAULT_ACTIVITY_TIMEOUT = datetime.timedelta(minutes=5)
# Operations on processes: retried until they land (a node restarting), each attempt short.
_OP_RETRY = common.RetryPolicy(initial_interval=datetime.timedelta(milliseconds=200),
                               maximum_interval=datetime.timedelta(seconds=10))
_OP_TIMEOUT = datetime.timedelta(seconds=30)
_FOREVER = datetime.timedelta(days=3650)


# What each local activity answers (besides an Error, for the names): anything else is the recorded answer of
# another one (see _not_its_answer)
_ANSWERS: dict[str, Callable[[Any], bool]] = {
    nodeq.REGISTER_NAME: lambda a: a is None, nodeq.LOOKUP_NAME: lambda a: a is None or isinstance(a, Pid),
    nodeq.UNREGISTER_NAME: lambda a: type(a) is bool, protocol.DELIVER_HERE: lambda a: type(a) is bool,
    nodeq.JOIN_GROUP: lambda a: a is None, nodeq.LEAVE_GROUP: lambda a: type(a) is bool,
    nodeq.GROUP_MEMBERS: lambda a: isinstance(a, list) and all(isinstance(p, Pid) for p in a),
    nodeq.WHICH_GROUPS: lambda a: isinstance(a, list) and all(isinstance(g, str) for g in a)}


async def _not_its_answer(activity: str, answer: Any) -> NoReturn:
    """A local activity got an answer that is not its kind's: a replay of a history whose local activities differ
    from this code's (Temporal resolves a local activity from the recorded marker of the same sequence number
    before it compares their activity types). Used as data, it would fail the run as a Lua error (a lookup that
    answered ``true``), or worse. So wait: Temporal compares the types when it reads that marker, before the next
    activation, and fails the workflow task as nondeterminism, naming both. Should the history move on anyway
    (the types matched: an answer this code cannot read), raise the nondeterminism error here."""
    length = workflow.info().get_current_history_length()
    await workflow.wait_condition(lambda: workflow.info().get_current_history_length() > length)
    raise workflow.NondeterminismError(f"local activity {activity} got an answer of another kind from the history: "
                                       f"a {type(answer).__name__}")


class _NodeUnreachable(Exception):
    """A delivery to a local PID timed out: its node took nothing within ``timeout``."""

    def __init__(self, timeout: datetime.timedelta) -> None:
        super().__init__(f"no delivery within {timeout}")
        self.timeout = timeout


class _TaskGroup:
    """Tasks owned by the Lua process; cancelled when the group exits (asyncio's TaskGroup would wait)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def start_soon(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        task = asyncio.get_running_loop().create_task(fn())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class _CancelScope:
    """``funcs.async``'s cancel scope on the workflow's asyncio loop (see ``LuaBackend.cancel_scope``): ``cancel()``
    cancels the task running the call, which makes temporalio request the activity's cancellation (a command, so
    deterministic); the call then raises CANCELED, or, cancelled before it scheduled anything, the block ends
    quietly. A cancel before the block starts cancels at its start."""

    __slots__ = ("_task", "_cancelled")

    def __init__(self) -> None:
        self._task: asyncio.Task[Any] | None = None
        self._cancelled = False

    def cancel(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            if self._task is not None:
                self._task.cancel()

    def __enter__(self) -> "_CancelScope":
        self._task = asyncio.current_task()
        if self._cancelled and self._task is not None:
            self._task.cancel()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        task, self._task = self._task, None
        if not self._cancelled or task is None:
            return False
        while task.cancelling():  # our cancel only: nothing else cancels a call's task but the process's end,
            task.uncancel()      # which cancels the whole task group (and its await re-raises)
        return exc_type is asyncio.CancelledError


class WorkflowBackend(LuaBackend[asyncio.Event]):
    preemption = Budget()
    deterministic = True

    def __init__(self, config: "WorkerConfig", port: "WorkflowPort", context: Mapping[str, Any]) -> None:
        self.config = config
        self.process_api = port
        self.context = dict(context)

    def now_ns(self) -> int:
        return int(workflow.now().timestamp() * 1_000_000_000)

    def monotonic(self) -> float:
        return workflow.time()

    def new_event(self) -> asyncio.Event:
        return asyncio.Event()

    async def wait(self, event: asyncio.Event, deadline: float | None) -> None:
        if event.is_set():
            return
        timeout = None if deadline is None else max(deadline - workflow.time(), 0.0)
        if timeout == 0.0:
            return
        try:
            await workflow.wait_condition(event.is_set, timeout=timeout)
        except asyncio.TimeoutError:
            pass

    async def checkpoint(self) -> None:  # Budget preemption never checkpoints
        await asyncio.sleep(0)

    @contextlib.asynccontextmanager
    async def open_task_group(self) -> AsyncIterator[_TaskGroup]:
        group = _TaskGroup()
        try:
            yield group
        finally:
            for task in list(group.tasks):
                task.cancel()

    def random_bytes(self, n: int) -> bytes:
        return workflow.random().randbytes(n)

    def uuid4(self) -> str:
        return str(workflow.uuid4())

    def cancel_scope(self) -> "_CancelScope":
        return _CancelScope()

    async def call_function(self, entry_id: str, args: list[Any], options: Mapping[str, Any], *,
                            context: Mapping[str, Any] | None = None) -> Any:
        kwargs: dict[str, Any] = {"start_to_close_timeout": DEFAULT_ACTIVITY_TIMEOUT,
                                  "retry_policy": DEFAULT_ACTIVITY_RETRY, "task_queue": self.config.task_queue}
        kwargs.update(activity_kwargs(options))
        entry = self.config.registry.get(entry_id, kinds=self.config.function_kinds)
        context = self.context if context is None else dict(context)
        try:
            return await workflow.execute_activity(protocol.CALL, args=[entry.id, args, context], summary=entry.id,
                                                   **kwargs)
        except exceptions.FailureError as exc:
            raise to_error(exc) from None


class WorkflowPort(ProcessPort):
    """``process`` inside a workflow. Children of a workflow are Temporal child workflows and always report
    their EXIT to it (Temporal's parent/child relation); other PIDs are reached by signal or activity."""

    def __init__(self, config: "WorkerConfig", state: WorkflowProcess) -> None:
        self.config = config
        self.state = state
        self._outbox: dict[Pid, deque[Callable[[], Awaitable[Any]]]] = {}
        self._watch_tasks: dict[tuple[Pid, str], asyncio.Task[Any]] = {}
        #: Why this workflow terminated a workflow (a cancel deadline, process.terminate): a child's end reaches
        #: the parent without the reason (Temporal records none for a terminated child), so its EXIT takes it here.
        self._terminated: dict[Pid, Error] = {}
        self.versions: dict[str, int] = {}
        #: Set by ``workflow.continue_as_new``: (input,) for the next run.
        self.continue_with: tuple[Any] | None = None
        self.on_continue: Callable[[], None] | None = None

    def request_continue_as_new(self, input: Any) -> None:
        codec.encode(input, what="continue_as_new input")
        self.continue_with = (input,)
        if self.on_continue is not None:
            self.on_continue()

    # -- self -----------------------------------------------------------------------------------------------------
    def pid(self) -> Pid:
        return self.state.pid

    def inbox(self) -> Any:
        return self.state.proc.inbox

    def listen(self, topic: str, whole_message: bool) -> Any:
        return self.state.proc.listen(topic, whole_message)

    def unlisten(self, topic: str) -> None:
        self.state.proc.unlisten(topic)

    def events(self) -> Any:
        return self.state.proc.events

    def set_options(self, options: Mapping[str, Any]) -> None:
        for key, value in options.items():
            if key != "trap_links":
                raise Error(ErrorKind.INVALID, f"unknown process option {key!r} (known: trap_links)")
            if not isinstance(value, bool):
                raise Error(ErrorKind.INVALID, "option 'trap_links' must be a boolean")
            self.state.proc.trap_links = value

    def get_options(self) -> dict[str, Any]:
        return {"trap_links": self.state.proc.trap_links}

    # -- sending --------------------------------------------------------------------------------------------------
    @functools.cached_property
    def max_payload_size(self) -> int:
        """What this run may send in one payload (``_limits.for_worker``): over it, a send, a child's input or
        a signal would fail the workflow task on every retry, so the Lua code gets ``nil, err`` instead."""
        return limits.for_worker(self.config.registry, self.config.host_id)

    def send(self, pid: Pid, topic: str, data: Any) -> None:
        if not isinstance(pid, Pid):   # (what a delivery, in a task of its own, could not handle)
            raise Error(ErrorKind.INVALID, f"send: the destination must be a pid, got {type(pid).__name__}")
        self._post_message(pid, Message(topic, data, self.state.pid))

    def _post_message(self, pid: Pid, message: Message) -> None:
        """Queue ``message`` for ``pid`` (checked first: INVALID when it cannot be encoded or is too large)."""
        topic = message.topic
        wire = message.to_wire()
        encoded = codec.encode(wire, what=f"message {topic!r} to {pid}")
        if pid == self.state.pid:
            self.state.proc.deliver(message)
            return
        limits.check(encoded, self.max_payload_size, f"message {topic!r} to {pid}")
        self._post(pid, lambda: self._deliver(pid, protocol.MESSAGE, wire, encoded))

    def _post(self, pid: Pid, op: Callable[[], Awaitable[Any]]) -> None:
        queue = self._outbox.get(pid)
        if queue is None:
            queue = self._outbox[pid] = deque()
            asyncio.get_running_loop().create_task(self._drain(pid, queue))
        queue.append(op)

    async def _drain(self, pid: Pid, queue: deque[Callable[[], Awaitable[Any]]]) -> None:
        # (a task nobody awaits: whatever happens, it ends and lets go of the queue, or the run would wait at its
        # end for a flush that never comes)
        try:
            while queue:
                try:
                    await queue[0]()
                except _NodeUnreachable as exc:
                    # What is queued behind goes the same way: a dead node costs one bound per target, not one per
                    # message, so the workflow's end never waits longer than one bound for it.
                    workflow.logger.warning(
                        "pidflow: dropped %d message(s) or event(s) for %s: its node %s took none within %g s (a "
                        "node that dies loses what is sent to its processes; monitor or link them to learn of it)",
                        len(queue), pid, pid.node, exc.timeout.total_seconds())
                    queue.clear()
                    break
                except exceptions.FailureError:
                    pass  # target gone: dropped, as a send to a dead process is
                except Exception as exc:  # noqa: BLE001 - a bug, or an answer of another kind (_not_its_answer)
                    workflow.logger.warning("pidflow: dropped a message or event for %s: %s: %s", pid,
                                            type(exc).__name__, exc)
                queue.popleft()
        finally:
            del self._outbox[pid]

    def flushed(self) -> bool:
        return not self._outbox

    async def _deliver(self, pid: Pid, signal: str, wire: Any, encoded: bytes | None = None) -> None:
        """A message (``signal`` MESSAGE) or event (EVENT) for ``pid``; ``encoded`` is ``wire`` already encoded.

        For a workflow, a signal named after the topic or the event's kind (``protocol.message_signal``; replay
        does not compare signal names, so runs recorded with ``pidflow.message`` replay). For a local PID, a local
        activity first tries the node that runs this workflow task (the common single-node case: no task
        matching, well under a millisecond); only when the PID lives elsewhere does it travel as an activity on
        its node's task queue. The local activity's answer is recorded in history, so replay takes the same path
        whichever node replays."""
        if pid.node is None:
            if signal == protocol.MESSAGE:
                name = protocol.message_signal(wire["topic"])
            else:
                name = protocol.event_signal(wire["kind"])
            arg = wire if encoded is None else RawValue(payload(encoded))
            await workflow.get_external_workflow_handle(pid.id).signal(name, arg)
            return
        if workflow.patched(_BOUNDED_DELIVERY_PATCH):
            await self._deliver_local(pid, signal, wire)
            return
        if workflow.patched(_DELIVER_HERE_PATCH):
            delivered = await workflow.execute_local_activity(
                protocol.DELIVER_HERE, args=[pid, signal, wire], start_to_close_timeout=_LOCAL_TIMEOUT,
                retry_policy=_OP_RETRY)
            if type(delivered) is not bool:
                await _not_its_answer(protocol.DELIVER_HERE, delivered)
            if delivered:
                return
        await self._node_op(pid, nodeq.DELIVER if signal == protocol.MESSAGE else nodeq.EVENT, pid, wire)

    async def _deliver_local(self, pid: Pid, signal: str, wire: Any) -> None:
        """Best effort within ``LOCAL_DELIVERY_TIMEOUT`` per step: a local activity on this worker's node, else an
        activity on the PID's node's task queue, each retried until it lands or the bound is up. A delivery that
        fails is dropped with a warning (``workflow.logger``, silent on replay); one that times out, its node
        unreachable, raises :class:`_NodeUnreachable` so that ``_drain`` drops what is queued behind it too."""
        assert pid.node is not None
        bound: dict[str, Any] = {"start_to_close_timeout": LOCAL_DELIVERY_TIMEOUT, "schedule_to_close_timeout": LOCAL_DELIVERY_TIMEOUT,
                 "retry_policy": _OP_RETRY}
        try:
            delivered = await workflow.execute_local_activity(protocol.DELIVER_HERE, args=[pid, signal, wire], **bound)
            if type(delivered) is not bool:
                await _not_its_answer(protocol.DELIVER_HERE, delivered)
            if delivered:
                return
            await workflow.execute_activity(nodeq.DELIVER if signal == protocol.MESSAGE else nodeq.EVENT,
                                            args=[pid, wire], task_queue=node_task_queue(pid.node), **bound)
        except exceptions.FailureError as exc:
            if isinstance(exc.cause, exceptions.TimeoutError):
                raise _NodeUnreachable(LOCAL_DELIVERY_TIMEOUT) from None
            workflow.logger.warning("pidflow: dropped a %s for %s: %s",
                                    "message" if signal == protocol.MESSAGE else "event", pid, to_error(exc))

    async def _node_op(self, pid: Pid, activity: str, *args: Any) -> Any:
        """An operation on a local PID: an activity on its node's task queue (its summary in the UI: the PID)."""
        assert pid.node is not None
        return await workflow.execute_activity(activity, args=list(args), task_queue=node_task_queue(pid.node),
                                               start_to_close_timeout=_OP_TIMEOUT, retry_policy=_OP_RETRY,
                                               schedule_to_close_timeout=datetime.timedelta(hours=1),
                                               summary=str(pid))

    # -- children -------------------------------------------------------------------------------------------------
    def _child_entry(self, entry_id: str, host: str | None) -> tuple[Entry, str]:
        entry = self.config.registry.get(entry_id)
        if entry.kind != protocol.WORKFLOW_KIND:
            raise Error(ErrorKind.INVALID, f"a workflow can start workflow.lua entries only; {entry_id} is a "
                                           f"{entry.kind} (send a message to a local process instead)")
        worker_id = protocol.worker_of(entry)
        if host is not None and host != worker_id:
            raise Error(ErrorKind.INVALID, f"entry {entry_id} runs on worker {worker_id}, not on {host}")
        worker = self.config.registry.get(worker_id, kinds=(protocol.WORKER_KIND,))
        return entry, str(worker.spec["task_queue"])

    def _child_kwargs(self, entry: Entry, task_queue: str, options: Mapping[str, Any], name: str | None,
                      messages: list[Message], context: Mapping[str, Any], link: bool,
                      args: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        kwargs = workflow_start_kwargs(options, where="child", search_types=self.config.search_attribute_types)
        kwargs.pop("execution_error_when_already_started", None)
        policy = kwargs.pop("id_conflict_policy", None)
        if policy not in (None, CONFLICT_POLICIES["use_existing"], CONFLICT_POLICIES["fail"]):
            raise Error(ErrorKind.INVALID, "option 'temporal.workflow.id_conflict_policy' = terminate_existing is not "
                                           "available for child workflows", details={"option": "id_conflict_policy"})
        option_id = kwargs.pop("id", None)
        workflow_id = option_id or name or f"{self.state.pid.id}/{workflow.uuid4()}"
        workflow_pid(protocol.worker_of(entry), workflow_id, f"option '{ID_OPTION}'" if option_id else "name")
        start = protocol.StartInfo(parent=self.state.pid, context={**self.state.proc.context, **context},
                                  links=[self.state.pid] if link else [],
                                  messages=[m.to_wire() for m in messages])
        kwargs.setdefault("task_queue", task_queue)
        return workflow_id, {"id": workflow_id, "args": protocol.workflow_args(args, start.to_wire()),
                             "workflow": protocol.workflow_type_name(entry), **kwargs}

    async def spawn(self, entry: str, host: str | None, args: Sequence[Any], *, options: Mapping[str, Any],
                    name: str | None, messages: list[Message], context: Mapping[str, Any],
                    monitor: bool, link: bool) -> Pid:
        spec, task_queue = self._child_entry(entry, host)
        workflow_id, kwargs = self._child_kwargs(spec, task_queue, options, name, messages, context, link, args)
        limits.check(codec.encode(kwargs["args"], what=f"input of {spec.id}"), self.max_payload_size,
                     f"input of {spec.id}")
        pid = Pid(protocol.worker_of(spec), workflow_id)
        # a named child holds its name in the node's registry, as a named durable spawn from the node does:
        # ALREADY_EXISTS when another PID holds it (nothing starts); registered once started (the node watches
        # the holder, and a workflow that does not exist yet would count as ended), released at its end
        named = name if name is not None and workflow.patched(_CHILD_NAMES_PATCH) else None
        if named is not None:
            await self._check_name_free(named, pid)
        try:
            handle = await workflow.start_child_workflow(kwargs.pop("workflow"), **kwargs)
        except exceptions.WorkflowAlreadyStartedError:
            if options.get("temporal.workflow.id_conflict_policy") == "fail" or \
                    options.get("temporal.workflow.execution_error_when_already_started"):
                raise Error(ErrorKind.ALREADY_EXISTS, f"workflow {workflow_id} is already started") from None
            for message in messages:  # use_existing: the start messages still reach it
                self._post(pid, functools.partial(self._deliver, pid, protocol.MESSAGE, message.to_wire()))
            if named is not None:
                await self.register_name(named, pid)
            return pid
        self.state.monitoring.add(pid)
        if link:
            self.state.proc.links.add(pid)
        asyncio.get_running_loop().create_task(self._await_child(pid, handle, link))
        if named is not None:
            await self.register_name(named, pid)
        return pid

    async def _check_name_free(self, name: str, pid: Pid) -> None:
        try:
            holder = await self.resolve_name(name)
        except Error as exc:
            if exc.kind is ErrorKind.NOT_FOUND:
                return
            raise
        if holder != pid:
            raise already_registered(name, holder)

    async def _await_child(self, pid: Pid, handle: Any, link: bool) -> None:
        try:
            result = ExitResult(await handle, None)
        except exceptions.FailureError as exc:
            error = to_error(exc)
            reason = self._terminated.pop(pid, None)
            if reason is not None and error.kind is ErrorKind.TERMINATED:
                error = reason
            result = ExitResult(None, error)
        except asyncio.CancelledError:
            return
        self.state.on_event(Event.exit(pid, result))
        if link and result.error is not None:
            self.state.on_link_exit(pid, result.error)

    async def exec(self, entry: str, host: str | None, args: Sequence[Any], *, options: Mapping[str, Any],
                   name: str | None, messages: list[Message], context: Mapping[str, Any]) -> Any:
        spec, task_queue = self._child_entry(entry, host)
        _, kwargs = self._child_kwargs(spec, task_queue, options, name, messages, context, False, args)
        limits.check(codec.encode(kwargs["args"], what=f"input of {spec.id}"), self.max_payload_size,
                     f"input of {spec.id}")
        try:
            return await workflow.execute_child_workflow(kwargs.pop("workflow"), **kwargs)
        except exceptions.FailureError as exc:
            raise to_error(exc) from None

    # -- relations ------------------------------------------------------------------------------------------------
    def _watch(self, pid: Pid, relation: str) -> None:
        """Await the end of a workflow that is not our child, through a long-running activity."""
        key = (pid, relation)
        if key in self._watch_tasks:
            return

        async def watch() -> None:
            try:
                wire = await workflow.execute_activity(
                    protocol.AWAIT_EXIT, args=[pid], task_queue=self.config.task_queue, start_to_close_timeout=_FOREVER,
                    heartbeat_timeout=datetime.timedelta(seconds=30), retry_policy=_OP_RETRY,
                    cancellation_type=workflow.ActivityCancellationType.TRY_CANCEL)
            except (exceptions.FailureError, asyncio.CancelledError):
                return
            finally:
                self._watch_tasks.pop(key, None)
            result = ExitResult(wire.get("value"), wire.get("error"))
            if relation == "monitor":
                self.state.on_event(Event.exit(pid, result))
            elif result.error is not None:
                self.state.on_link_exit(pid, result.error)

        self._watch_tasks[key] = asyncio.get_running_loop().create_task(watch())

    def _unwatch(self, pid: Pid, relation: str) -> None:
        task = self._watch_tasks.pop((pid, relation), None)
        if task is not None:
            task.cancel()

    async def monitor(self, pid: Pid) -> None:
        self.state.monitoring.add(pid)
        if pid.node is not None:
            await self._node_op(pid, nodeq.MONITOR, self.state.pid, pid)
        else:
            self._watch(pid, "monitor")

    async def unmonitor(self, pid: Pid) -> None:
        self.state.monitoring.discard(pid)
        if pid.node is not None:
            await self._node_op(pid, nodeq.UNMONITOR, self.state.pid, pid)
        else:
            self._unwatch(pid, "monitor")

    async def link(self, pid: Pid) -> None:
        if pid == self.state.pid:
            raise Error(ErrorKind.INVALID, "can't link to self")
        if pid.node is not None:
            alive = await self._node_op(pid, nodeq.LINK, self.state.pid, pid)
        else:
            alive = await self._is_running(pid)
            if alive:
                await workflow.get_external_workflow_handle(pid.id).signal(protocol.LINK, {"from": self.state.pid})
                self._watch(pid, "link")
        if not alive:
            reason = noproc(pid)
            if not self.state.proc.trap_links:
                raise reason
            self.state.proc.events.put(Event.link_down(pid, reason))
            return
        self.state.proc.links.add(pid)

    async def _is_running(self, pid: Pid) -> bool:
        running: bool = await workflow.execute_activity(protocol.IS_RUNNING, args=[pid], task_queue=self.config.task_queue,
                                               start_to_close_timeout=_OP_TIMEOUT, retry_policy=_OP_RETRY)
        return running

    async def unlink(self, pid: Pid) -> None:
        self.state.proc.links.discard(pid)
        if pid.node is not None:
            await self._node_op(pid, nodeq.UNLINK, self.state.pid, pid)
        else:
            self._unwatch(pid, "link")
            try:
                await workflow.get_external_workflow_handle(pid.id).signal(protocol.UNLINK, {"from": self.state.pid})
            except exceptions.FailureError:
                pass

    async def terminate(self, pid: Pid, reason: Error | None = None) -> bool:
        reason = reason or Error(ErrorKind.TERMINATED, f"terminated by {self.state.pid}")
        ended: bool
        if pid.node is not None:
            ended = await self._node_op(pid, nodeq.TERMINATE, pid, reason)
            return ended
        self._terminated[pid] = reason
        ended = await workflow.execute_activity(protocol.TERMINATE, args=[pid, reason], task_queue=self.config.task_queue,
                                                start_to_close_timeout=_OP_TIMEOUT, retry_policy=_OP_RETRY)
        return ended

    async def cancel(self, pid: Pid, deadline: float) -> bool:
        if pid.node is not None:
            running: bool = await self._node_op(pid, nodeq.CANCEL, pid, deadline, self.state.pid)
            return running
        if not await self._is_running(pid):
            return False
        await workflow.get_external_workflow_handle(pid.id).signal(
            protocol.CANCEL, {"deadline": deadline, "from": self.state.pid})

        async def enforce() -> None:
            await workflow.sleep(deadline)
            await self.terminate(pid, Error(ErrorKind.CANCELED, f"{pid} did not stop within its cancel deadline"))

        asyncio.get_running_loop().create_task(enforce())
        return True

    # -- names ----------------------------------------------------------------------------------------------------
    # The registry of the node that runs this workflow task, through local activities (``_node_queue``): their
    # answers are recorded, so a replay reads the same answers on any node. Names are checked here first: a bad
    # one is INVALID without a round trip.
    async def _names_op(self, activity: str, *args: Any) -> Any:
        answer = await workflow.execute_local_activity(activity, args=list(args), start_to_close_timeout=_LOCAL_TIMEOUT,
                                                       retry_policy=_OP_RETRY)
        if isinstance(answer, Error):
            raise answer
        if not _ANSWERS[activity](answer):
            await _not_its_answer(activity, answer)
        return answer

    async def resolve_name(self, name: str) -> Pid:
        holder = await self._names_op(nodeq.LOOKUP_NAME, check_name(name))
        if holder is None:
            raise names_not_found(name)
        pid: Pid = holder
        return pid

    async def register_name(self, name: str, pid: Pid, scope: str = "node") -> None:
        # (a node-scoped registration keeps the arguments recorded before cluster names existed)
        extra = () if scope == "node" else (scope,)
        await self._names_op(nodeq.REGISTER_NAME, check_name(name), pid, *extra)

    async def unregister_name(self, name: str, scope: str = "node") -> bool:
        extra = () if scope == "node" else (scope,)
        return bool(await self._names_op(nodeq.UNREGISTER_NAME, check_name(name), *extra))

    # -- call and reply -------------------------------------------------------------------------------------------
    # As ProcessAPI.call does, with what replays: the reference is workflow.uuid4(), the timeout a durable timer,
    # and the call's watch of its target is recorded: an activity awaiting a workflow target's end, or the
    # monitor of a local target on its node (whose EXIT comes back as a signal and goes to the call first, see
    # WorkflowProcess.on_event; dropped there unless this run monitors the target itself).
    async def call(self, pid: Pid, topic: str, data: Any, timeout: float | None) -> Any:
        state = self.state
        if pid == state.pid:
            raise Error(ErrorKind.INVALID, "can't call self: nobody would reply", details={"argument": "dest"})
        ref = str(workflow.uuid4())
        reply_topic = REPLY_PREFIX + ref
        answers = state.proc.claim_reply(reply_topic)
        waiting = state.calls.setdefault(pid, [])
        waiting.append(answers)
        watch = asyncio.get_running_loop().create_task(self._watch_for_call(pid, answers))
        try:
            try:
                self._post_message(pid, Message(topic, data, state.pid, ref))
            except Error as exc:
                if exc.kind is ErrorKind.INVALID:
                    raise Error(ErrorKind.INVALID, f"call: payload {exc.message}", retryable=False,
                                details={"argument": "payload"}) from None
                raise
            try:
                await workflow.wait_condition(lambda: len(answers) > 0, timeout=timeout)
            except asyncio.TimeoutError:
                raise Error(ErrorKind.TIMEOUT, f"call to {pid} ({topic!r}) got no reply within {timeout:g} s",
                            details={"reason": "timeout", "pid": str(pid)}) from None
            return call_answer(answers.receive_nowait(), pid)
        finally:
            state.proc.release_reply(reply_topic)
            waiting.remove(answers)
            if not waiting:
                del state.calls[pid]
            watch.cancel()

    async def _watch_for_call(self, pid: Pid, answers: Any) -> None:
        try:
            if pid.node is not None:
                await self._node_op(pid, nodeq.MONITOR, self.state.pid, pid)
                return
            wire = await workflow.execute_activity(
                protocol.AWAIT_EXIT, args=[pid], task_queue=self.config.task_queue, start_to_close_timeout=_FOREVER,
                heartbeat_timeout=datetime.timedelta(seconds=30), retry_policy=_OP_RETRY,
                cancellation_type=workflow.ActivityCancellationType.TRY_CANCEL, summary=f"call {pid}")
        except (exceptions.FailureError, asyncio.CancelledError):
            return
        answers.put(Event.exit(pid, ExitResult(wire.get("value"), wire.get("error"))))

    def reply(self, request: Message, value: Any, error: Error | None) -> None:
        assert request.ref is not None and request.sender is not None
        answer = Message(REPLY_PREFIX + request.ref, [value, error], self.state.pid, request.ref)
        try:
            self._post_message(request.sender, answer)
        except Error as exc:
            if exc.kind is ErrorKind.INVALID:
                raise Error(ErrorKind.INVALID, f"reply: value {exc.message}", retryable=False,
                            details={"argument": "value"}) from None
            raise

    # -- process groups: the node's (pidflow._groups), through recorded local activities as the names ---------------
    def entries(self) -> Registry:
        return self.config.registry

    async def join_group(self, scope: str, group: str, pid: Pid) -> None:
        await self._names_op(nodeq.JOIN_GROUP, check_group(scope, "scope"), check_group(group), pid)

    async def leave_group(self, scope: str, group: str, pid: Pid) -> bool:
        return bool(await self._names_op(nodeq.LEAVE_GROUP, check_group(scope, "scope"), check_group(group), pid))

    async def group_members(self, scope: str, group: str) -> list[Pid]:
        members: list[Pid] = await self._names_op(nodeq.GROUP_MEMBERS, check_group(scope, "scope"),
                                                  check_group(group))
        return members

    async def which_groups(self, scope: str) -> list[str]:
        groups: list[str] = await self._names_op(nodeq.WHICH_GROUPS, check_group(scope, "scope"))
        return groups

    async def broadcast(self, scope: str, group: str, topic: str, data: Any) -> int:
        targets = list(dict.fromkeys(await self.group_members(scope, group)))
        for pid in targets:
            self.send(pid, topic, data)
        return len(targets)
