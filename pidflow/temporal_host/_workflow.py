"""The generic Lua workflow: one dynamic Temporal workflow definition runs every ``workflow.lua`` entry.

Design note. A workflow run is one :class:`~pidflow.lua_bindings.LuaProcess` on the deterministic
:class:`WorkflowBackend`; signals feed its mailboxes; its ``process`` module is a :class:`WorkflowPort`.
How the Lua code ends decides how the workflow ends:

* returns a value -> the workflow completes with it; returns ``nil, err`` -> the workflow fails with that
  error (kind, retryable, message and details survive as an ``ApplicationError``);
* raises a Lua error -> the *workflow task* fails with the file and line, and Temporal retries it, so a fixed
  deploy continues the run where it stopped (as a Python workflow bug does in temporalio);
* computes longer than the budget without waiting -> the workflow fails with an error naming the entry and
  pointing to ``funcs.call`` (temporalio would otherwise kill the task at 2 s and retry it forever);
* a linked process failed and the workflow does not trap links -> the workflow fails with that reason;
* ``workflow.continue_as_new(input)`` -> the run continues as new with the same workflow id (so the same PID),
  carrying its unreceived messages, events, links and monitors.

The workflow sandbox is off: user code is Lua (sandboxed by lua_bindings), and lupa is a C extension.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from temporalio import workflow
from temporalio.common import RawValue

from .. import _kind
from .._kind import KindRegistry
from .._pid import Pid
from ..entries import Entry, Registry
from ..errors import Error, ErrorKind
from ..lua_bindings import LuaProcess
from . import _workflow_module  # noqa: F401  (registers the workflow module)
from ._failures import to_application_error
from ._protocol import StartInfo
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

    @classmethod
    def build(cls, host_id: str, task_queue: str, registry: Registry, workflow_types: dict[str, Entry],
              search_attribute_types: dict[str, int] | None = None,
              kinds: KindRegistry | None = None) -> "WorkerConfig":
        sources = {entry.id: entry.read_source() for entry in workflow_types.values()}
        names = {entry.id: entry.source_name for entry in workflow_types.values()}
        functions = tuple(kind.name for kind in (kinds or _kind.DEFAULT).with_role("function"))
        return cls(host_id, task_queue, registry, dict(workflow_types), sources, dict(search_attribute_types or {}),
                   names, functions)


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

    def __init__(self) -> None:
        info = workflow.info()
        self.config = _CONFIGS.get(info.task_queue)
        host_id = self.config.host_id if self.config is not None else "unknown"
        self.state = WorkflowProcess(Pid(host_id, info.workflow_id))

    @workflow.signal(dynamic=True)
    def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        converter = workflow.payload_converter()
        self.state.on_signal(name, [converter.from_payload(a.payload) for a in args])

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> Any:
        if self.config is None:
            raise RuntimeError(f"no pidflow worker configuration for task queue {workflow.info().task_queue!r}")
        converter = workflow.payload_converter()
        values = [converter.from_payload(a.payload) for a in args]
        return await run_lua_workflow(self.config, self.state, values)


async def run_lua_workflow(config: WorkerConfig, state: WorkflowProcess, args: list[Any]) -> Any:
    info = workflow.info()
    entry = config.workflow_types.get(info.workflow_type)
    if entry is None:
        known = ", ".join(sorted(config.workflow_types)) or "none"
        raise to_application_error(Error(ErrorKind.NOT_FOUND, f"workflow type {info.workflow_type!r} is not a "
                                         f"workflow.lua entry of worker {config.host_id} (it runs: {known})"))
    input = args[0] if args else None
    start = StartInfo.from_wire(args[1] if len(args) > 1 else None)
    state.restore(start.carried, start.context, start.links, start.messages)
    port = WorkflowPort(config, state)
    backend = WorkflowBackend(config, port, start.context)
    path = config.source_names.get(entry.id) or entry.source_name
    lua = LuaProcess(entry_id=entry.id, source=config.sources[entry.id], path=path,
                     method=entry.method or "main", modules=entry.modules, backend=backend)
    state.on_killed = lua.terminate
    port.on_continue = lua.terminate
    try:
        value = await lua.run(input)
    except Error as err:
        if port.continue_with is not None:
            await _continue_as_new(port, state, lua, start)
        if state.killed_by is not None:
            raise to_application_error(state.killed_by) from None
        if lua.ended_by in ("returned", "budget"):
            raise to_application_error(err) from None
        # A Lua error: fail the workflow task (retried), so that a fixed deploy continues this run.
        raise RuntimeError(f"lua error in {entry.id}: {err.message}") from None
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

