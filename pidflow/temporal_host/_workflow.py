"""The generic Lua workflow: one dynamic Temporal workflow definition runs every ``workflow.lua`` entry.

Design note. A workflow run is one :class:`~pidflow.lua_bindings.LuaProcess` on the deterministic
:class:`WorkflowBackend`; signals feed its mailboxes; its ``process`` module is a :class:`WorkflowPort`.
How the Lua code ends decides how the workflow ends:

* returns a value -> the workflow completes with it; returns ``nil, err`` -> the workflow fails with that
  error (kind, retryable, message and details survive as an ``ApplicationError``);
* raises a Lua error -> the *workflow task* fails with the Lua error (file:line and Lua traceback, see
  :class:`PidflowLuaError`), and Temporal retries it, so a fixed deploy continues the run where it stopped (as a Python
  workflow bug does in temporalio);
* computes longer than the budget without waiting -> the workflow fails with an error naming the entry and
  pointing to ``funcs.call`` (temporalio would otherwise kill the task at 2 s and retry it forever);
* a linked process failed and the workflow does not trap links -> the workflow fails with that reason;
* ``workflow.continue_as_new(input)`` -> the run continues as new with the same workflow id (so the same PID),
  carrying its unreceived messages, events, links and monitors.

The workflow sandbox is off: user code is Lua (sandboxed by lua_bindings), and lupa is a C extension.

What an operator sees. temporalio logs every failed activation at WARNING with the Python traceback, and a
failed task is retried (after each task timeout) until the code is fixed: a Lua bug used to print the same stack
of pidflow's driver frames every few seconds. So a Lua error leaves as a :class:`PidflowLuaError`: its text is the Lua
error and Lua traceback, and it has no Python traceback, so the failure recorded in history has an empty stack
trace. pidflow logs it once per run and worker process at ERROR on logger ``pidflow``; filters on temporalio's
loggers drop temporalio's own reports of it (``temporalio.worker._workflow_instance``, every attempt; and
``temporalio.core``, where core's "Failing workflow task" warning goes when the client's runtime forwards core
logs to Python). Only :class:`PidflowLuaError` is filtered: a bug in pidflow itself still shows its Python traceback.
Rejected: a custom failure converter (it belongs to the client's data converter, shared with everything else the
client encodes) and failing the workflow instead of the task (a fixed deploy could no longer continue the run).

Lua ``print`` goes to logger ``pidflow.lua``; a filter on it drops what a workflow prints while Temporal
replays its history (a worker restart or a cache eviction replays a run from its start), so each line is
printed once, by the execution that first ran it.

Who else learns of a task failure: :func:`watch_task_failures` calls back (from a worker thread) whenever a
workflow task of a PID fails here with a Lua error; ``pidflow run --entry`` uses it to stop waiting for a run
that cannot end until a fixed deploy. It sees the tasks run by this process's workers only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from temporalio import workflow
from temporalio.common import RawValue

from .. import _kind
from .._kind import KindRegistry
from .._log import log as _log
from .._pid import Pid
from ..entries import Entry, Registry
from ..errors import Error, ErrorKind
from ..lua_bindings import Imports, LuaProcess, lua_imports
from . import _workflow_module  # noqa: F401  (registers the workflow module)
from ._failures import to_application_error
from ._protocol import StartInfo, split_workflow_args
from ._workflow_port import WorkflowBackend, WorkflowPort
from ._workflow_state import WorkflowProcess


@attrs.frozen
class WorkerConfig:
    """What a worker's workflows need; plain data, so the Replayer can build the same workflow offline."""

    host_id: str
    task_queue: str
    registry: Registry
    workflow_types: dict[str, Entry]
    sources: dict[str, str] = attrs.field(factory=dict)
    #: The namespace's search attribute types (name -> IndexedValueType), for workflow.attrs and child starts.
    search_attribute_types: dict[str, int] = attrs.field(factory=dict)
    #: ``entry.source_name`` by entry id, resolved once: it costs filesystem calls, which each release the GIL
    #: (milliseconds per workflow run on a busy worker).
    source_names: dict[str, str] = attrs.field(factory=dict)
    #: The kinds ``funcs.call`` accepts: those with the function role in the node's kind registry.
    function_kinds: tuple[str, ...] = ()
    #: The libraries of each entry that imports some (``lua_bindings.Imports``), sources read once, as the
    #: entries' own: a worker runs the code it started with.
    imports: dict[str, Imports] = attrs.field(factory=dict)

    @classmethod
    def build(cls, host_id: str, task_queue: str, registry: Registry, workflow_types: dict[str, Entry],
              search_attribute_types: dict[str, int] | None = None,
              kinds: KindRegistry | None = None) -> "WorkerConfig":
        sources = {entry.id: entry.read_source() for entry in workflow_types.values()}
        names = {entry.id: entry.source_name for entry in workflow_types.values()}
        functions = tuple(kind.name for kind in (kinds or _kind.DEFAULT).with_role("function"))
        imports = {entry.id: found for entry in workflow_types.values()
                   if (found := lua_imports(entry, registry)) is not None}
        return cls(host_id, task_queue, registry, dict(workflow_types), sources, dict(search_attribute_types or {}),
                   names, functions, imports)


# Worker configurations by task queue. temporalio takes workflow classes, not instances, and rejects classes
# defined in a function, so the one module-level class finds its configuration through the run's task queue.
_CONFIGS: dict[str, WorkerConfig] = {}


def register_config(config: WorkerConfig) -> type:
    """Make ``config`` the configuration of runs on its task queue; returns the workflow class to register."""
    _CONFIGS[config.task_queue] = config
    return LuaWorkflow


@workflow.defn(dynamic=True, sandboxed=False)
class LuaWorkflow:
    """Every ``workflow.lua`` entry: the workflow type names the entry (meta ``name``, else the entry id)."""

    @workflow.init
    def __init__(self, args: Sequence[RawValue]) -> None:
        info = workflow.info()
        self.config = _CONFIGS.get(info.task_queue)
        host_id = self.config.host_id if self.config is not None else "unknown"
        self.state = WorkflowProcess(Pid(host_id, info.workflow_id))
        # The start record (links, context, start and carried messages, trap flag) is in place before any signal
        # is handled: Temporal hands over the signals that came with the start before the run begins, and a
        # link exit among them must find the link.
        converter = workflow.payload_converter()
        self.values = [converter.from_payload(a.payload) for a in args]
        start = StartInfo.from_wire(split_workflow_args(self.values)[1])
        self.state.restore(start.carried, start.context, start.links, start.messages)

    @workflow.signal(dynamic=True)
    def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        converter = workflow.payload_converter()
        try:
            values = [converter.from_payload(a.payload) for a in args]
        except Exception as exc:  # noqa: BLE001 - a payload sent by hand that pidflow cannot read
            # Raising would fail the workflow task on every retry: the signal is dropped, as a malformed one is.
            workflow.logger.warning("pidflow: dropped signal %r whose payload cannot be read: %s", name, exc)
            return
        self.state.on_signal(name, values)

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> Any:
        if self.config is None:
            raise RuntimeError(f"no pidflow worker configuration for task queue {workflow.info().task_queue!r}")
        return await run_lua_workflow(self.config, self.state, self.values)


# Runs recorded before this marker ran on after such a kill (and waited); see run_lua_workflow.
_KILLED_BEFORE_START_PATCH = "pidflow.killed-before-start"


async def run_lua_workflow(config: WorkerConfig, state: WorkflowProcess, args: list[Any]) -> Any:
    info = workflow.info()
    entry = config.workflow_types.get(info.workflow_type)
    if entry is None:
        known = ", ".join(sorted(config.workflow_types)) or "none"
        raise to_application_error(Error(ErrorKind.NOT_FOUND, f"workflow type {info.workflow_type!r} is not a "
                                         f"workflow.lua entry of worker {config.host_id} (it runs: {known})"))
    argv, start_wire = split_workflow_args(args)  # main's positional arguments, then the start record
    start = StartInfo.from_wire(start_wire)  # restored into ``state`` by LuaWorkflow
    port = WorkflowPort(config, state)
    backend = WorkflowBackend(config, port, start.context)
    path = config.source_names.get(entry.id) or entry.source_name
    lua = LuaProcess(entry_id=entry.id, source=config.sources[entry.id], path=path,
                     method=entry.method or "main", modules=entry.modules, backend=backend,
                     imports=config.imports.get(entry.id))
    state.on_killed = lua.terminate
    port.on_continue = lua.terminate
    if state.killed_by is not None and workflow.patched(_KILLED_BEFORE_START_PATCH):
        # A linked process failed in the signals Temporal handed over before the run began (they come first
        # in an activation): nothing was there to stop yet, so end now instead of running as if linked to none.
        raise to_application_error(state.killed_by)
    try:
        value = await (lua.run(argv[0]) if len(argv) == 1 else lua.run_function(argv))
    except Error as err:
        if port.continue_with is not None:
            await _continue_as_new(port, state, lua, start)
        if state.killed_by is not None:
            raise to_application_error(state.killed_by) from None
        if lua.ended_by in ("returned", "budget"):
            _TASK_FAILURES.forget(Pid(config.host_id, info.workflow_id))
            raise to_application_error(err) from None
        # A Lua error: fail the workflow task (retried), so that a fixed deploy continues this run.
        raise _task_failed(config, entry, err) from None
    _TASK_FAILURES.forget(Pid(config.host_id, info.workflow_id))
    await workflow.wait_condition(port.flushed)  # sends issued before returning still land
    return value


async def _continue_as_new(port: WorkflowPort, state: WorkflowProcess, lua: LuaProcess, start: StartInfo) -> None:
    await workflow.wait_condition(port.flushed)
    proc = state.proc
    sources = [proc.inbox, *(mailbox for mailbox, _ in (proc._listeners or {}).values())]
    if proc._events is not None:
        sources.append(proc._events)
    pending = {id(source): lua.pending_items(source) for source in sources}
    carried = state.carry(pending)
    assert port.continue_with is not None
    nxt = StartInfo(parent=start.parent, context=start.context, links=[], carried=carried)
    workflow.continue_as_new(args=[port.continue_with[0], nxt.to_wire()])


# -- Lua errors that fail a workflow task -----------------------------------------------------------------------------

class PidflowLuaError(Exception):
    """A Lua error (or an error reached from Lua code) in a workflow: it fails the workflow *task*, not the
    workflow, so Temporal retries the task and a fixed deploy continues the run where it stopped.

    ``str()`` is the Lua error with its file:line, then the Lua traceback: Temporal records it as the task
    failure's message (the Temporal UI and ``temporal workflow show`` show it) and the class name as its type (not
    ``LuaError``, which is lupa's own exception: a pidflow bug can fail a task with that). ``error`` is the pidflow
    error.

    It has no Python traceback (``__traceback__`` is always None): temporalio copies an exception's traceback into
    the failure's stack trace and its logs, and pidflow's driver frames say nothing about a Lua bug.
    """

    def __init__(self, error: Error) -> None:
        super().__init__(describe_lua_error(error))
        self.error = error

    @property
    def __traceback__(self) -> None:
        return None

    @__traceback__.setter
    def __traceback__(self, value: Any) -> None:
        pass


def describe_lua_error(error: Error) -> str:
    """The Lua error with file:line (prefixed with its kind unless INTERNAL), then its Lua traceback if any."""
    text = error.message if error.kind is ErrorKind.INTERNAL else str(error)
    return text + lua_traceback(error)


def lua_traceback(error: Error) -> str:
    """A Lua error's traceback (``stack traceback:`` and its lines) after a newline, without the message line Lua
    puts first; "" if the error has none."""
    details = error.details if isinstance(error.details, dict) else {}
    trace = str(details.get("traceback") or "").rstrip()
    at = trace.find("stack traceback:")
    if at >= 0:
        return "\n" + trace[at:]
    return "\n" + trace if trace and trace != error.message else ""


class _TaskFailures:
    """The Lua errors that failed a workflow task in this process, by PID (the last one each, for the newest
    ``LIMIT`` PIDs), and who watches them. Workflow tasks run on temporalio's threads, watchers anywhere."""

    LIMIT = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[Pid, tuple[str, str, Error]] = {}  # pid -> (run id, text, error)
        self._watchers: dict[Pid, list[Callable[[Error], None]]] = {}

    def record(self, pid: Pid, run_id: str, text: str, error: Error) -> bool:
        """Note a failure and call its watchers; True unless this run already failed here with the same text."""
        with self._lock:
            previous = self._last.pop(pid, None)
            self._last[pid] = (run_id, text, error)
            if len(self._last) > self.LIMIT:
                del self._last[next(iter(self._last))]
            watchers = list(self._watchers.get(pid, ()))
        for watcher in watchers:
            _call_watcher(watcher, error)
        return previous is None or previous[:2] != (run_id, text)

    def forget(self, pid: Pid) -> None:
        if self._last:
            with self._lock:
                self._last.pop(pid, None)

    def watch(self, pid: Pid, callback: Callable[[Error], None]) -> Callable[[], None]:
        with self._lock:
            self._watchers.setdefault(pid, []).append(callback)
            known = self._last.get(pid)
        if known is not None:
            _call_watcher(callback, known[2])

        def stop() -> None:
            with self._lock:
                callbacks = self._watchers.get(pid, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._watchers.pop(pid, None)

        return stop


def _call_watcher(callback: Callable[[Error], None], error: Error) -> None:
    try:
        callback(error)
    except Exception:  # noqa: BLE001 - a watcher must not change how the workflow task ends
        _log.exception("a watcher of workflow task failures failed")


_TASK_FAILURES = _TaskFailures()


def watch_task_failures(pid: Pid, callback: Callable[[Error], None]) -> Callable[[], None]:
    """Call ``callback(error)`` each time a Lua error fails a workflow task of ``pid`` in a worker of this process
    (at once if one did already and the run has not completed since); returns the function that stops watching.

    ``callback`` runs on a worker thread, inside the workflow task: it must be quick and thread-safe (hand the
    error over, e.g. with ``trio.lowlevel.TrioToken.run_sync_soon``). ``error`` is the Lua error (file:line in its
    message, the Lua traceback in ``details["traceback"]``). Tasks that workers of other processes run are not
    seen."""
    return _TASK_FAILURES.watch(pid, callback)


def _task_failed(config: WorkerConfig, entry: Entry, error: Error) -> PidflowLuaError:
    """The exception that fails this workflow task; logged (ERROR, logger ``pidflow``) the first time this run
    fails here with this error, not on each retry of the task."""
    info = workflow.info()
    pid = Pid(config.host_id, info.workflow_id)
    failure = PidflowLuaError(error)
    if _TASK_FAILURES.record(pid, info.run_id, str(failure), error):
        _log.error("workflow %s (entry %s, host %s) failed a workflow task; it stays open and Temporal retries "
                   "the task, so a fixed deploy continues the run: %s%s", pid, entry.id, pid.host, error,
                   lua_traceback(error), extra={"pid": str(pid), "entry": entry.id, "host": pid.host,
                                                "error_kind": error.kind.value})
    return failure


def _not_a_lua_error(record: logging.LogRecord) -> bool:
    """temporalio's warning for a failed activation, dropped when the failure is a :class:`PidflowLuaError` (already
    logged once by pidflow; temporalio would repeat it, with Python frames, on every retry of the task)."""
    return not (record.exc_info and isinstance(record.exc_info[1], PidflowLuaError))


def _not_a_lua_error_report(record: logging.LogRecord) -> bool:
    """temporalio core's "Failing workflow task" warning (once per failing run), dropped for a :class:`PidflowLuaError`
    when a client's runtime forwards core logs to logger ``temporalio.core`` (by default core writes to stdout)."""
    fields = getattr(getattr(record, "temporal_log", None), "fields", None)
    return not (isinstance(fields, dict) and f'r#type: "{PidflowLuaError.__name__}"' in str(fields.get("failure", "")))


def _not_replayed(record: logging.LogRecord) -> bool:
    """Drop what Lua prints while a workflow replays history: it was printed when that history was made."""
    return record.levelno > logging.INFO or not (workflow.in_workflow() and workflow.unsafe.is_replaying())


logging.getLogger("temporalio.worker._workflow_instance").addFilter(_not_a_lua_error)
logging.getLogger("temporalio.core").addFilter(_not_a_lua_error_report)
logging.getLogger("pidflow.lua").addFilter(_not_replayed)
