"""Recording and replaying workflow histories offline: golden histories in tests, and checking that a change to
a Lua workflow (or to pidflow) still replays the runs already recorded.

Usage::

    python -m pidflow.temporal_host._replay record --address HOST:PORT WORKFLOW_ID OUT.json
    python -m pidflow.temporal_host._replay replay APP HISTORY.json... [--source ENTRY=FILE.lua]

``replay`` prints one JSON line per history (``{"file", "workflow_id", "ok", "error_type", "message"}``) and
exits 1 if any failed. A replay fails on non-determinism (the code issues other commands than the history
recorded), on a workflow-task failure (a Lua error), and when a run that completed in the history returns a
different value on replay: Temporal does not compare values, but a Lua workflow that returns what it read
from ``time.now``, ``uuid.v4`` or ``pairs`` order makes the comparison catch sources that are not replay-safe.

A history file is ``{"workflow_id": ..., "history": <Temporal's history JSON>}``; a bare history JSON (as the
Temporal CLI and UI export it) also loads, with the file name as workflow id. The app gives the workflow
entries and their Lua sources; the history gives the task queue, so the configuration is registered under
it whatever task queue the app's worker names.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    Replayer,
    UnsandboxedWorkflowRunner,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from .. import entries as entries_mod
from .._pid import Pid
from ..entries import Registry
from ..errors import Error, ErrorKind
from ._converter import DATA_CONVERTER
from ._protocol import WORKER_KIND, workflow_types
from ._workflow import _CONFIGS, LuaWorkflow, WorkerConfig


# temporalio's Replayer runs every history on the task queue "replay-<build id>" (build id None here).
_REPLAY_TASK_QUEUE = "replay-None"


@attrs.frozen
class ReplayResult:
    """How one history replayed. ``ok`` is False with ``error_type`` ``NondeterminismError`` (other commands),
    the type of the workflow-task failure (a Lua error), or ``ResultMismatch`` (another return value)."""

    workflow_id: str
    run_id: str
    ok: bool
    error_type: str | None = None
    message: str | None = None


# ------------------------------------------------------------------------------------------------ files

async def fetch_history(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    """The history of one run (the latest one when ``run_id`` is None)."""
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


def save_history(history: WorkflowHistory, path: str | Path) -> None:
    doc = {"workflow_id": history.workflow_id, "history": history.to_json_dict()}
    Path(path).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def load_history(path: str | Path) -> WorkflowHistory:
    path = Path(path)
    doc = json.loads(path.read_text())
    if "history" in doc and "workflow_id" in doc:
        return WorkflowHistory.from_json(doc["workflow_id"], doc["history"])
    return WorkflowHistory.from_json(path.stem, doc)


# ------------------------------------------------------------------------------------------------ replaying

class _ReturnValues(Interceptor):
    """Records what each replayed run returned, by run id (the Replayer itself only reports failures)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        values = self.values

        class Inbound(WorkflowInboundInterceptor):
            async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
                value = await super().execute_workflow(input)
                values[workflow.info().run_id] = value
                return value

        return Inbound


def _started(history: WorkflowHistory) -> Any:
    first = history.events[0]
    if first.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        raise Error(ErrorKind.INVALID, f"history of {history.workflow_id} does not begin with WorkflowExecutionStarted")
    return first.workflow_execution_started_event_attributes


def _recorded_value(history: WorkflowHistory) -> tuple[bool, Any]:
    """(True, value) if the run completed with a value in this history."""
    last = history.events[-1]
    if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        return False, None
    payloads = list(last.workflow_execution_completed_event_attributes.result.payloads)
    return True, (DATA_CONVERTER.payload_converter.from_payload(payloads[0]) if payloads else None)


def _config_for(registry: Registry, history: WorkflowHistory, sources: Mapping[str, str]) -> WorkerConfig:
    started = _started(history)
    workflow_type, task_queue = started.workflow_type.name, started.task_queue.name
    for worker in registry.of_kind(WORKER_KIND):
        types = workflow_types(registry, worker.id)
        if workflow_type in types:
            config = WorkerConfig.build(worker.id, task_queue, registry, types)
            return attrs.evolve(config, sources={**config.sources, **sources})
    raise Error(ErrorKind.NOT_FOUND, f"history of {history.workflow_id}: workflow type {workflow_type!r} is not a "
                                     "workflow.lua entry of this app")


async def replay(registry: Registry, histories: Iterable[WorkflowHistory], *,
                 sources: Mapping[str, str] | None = None) -> list[ReplayResult]:
    """Replay ``histories`` against the workflow entries of ``registry`` (``sources`` replaces the Lua source of
    the entries it names). Runs on an asyncio loop; never raises for a failed replay, see :class:`ReplayResult`."""
    values = _ReturnValues()
    replayer = Replayer(workflows=[LuaWorkflow], data_converter=DATA_CONVERTER,
                        workflow_runner=UnsandboxedWorkflowRunner(), interceptors=[values])
    results = []
    for history in histories:
        config = _config_for(registry, history, sources or {})
        # The Replayer runs every history on its own task queue; the run finds its configuration by it.
        previous = _CONFIGS.get(_REPLAY_TASK_QUEUE)
        _CONFIGS[_REPLAY_TASK_QUEUE] = config
        try:
            outcome = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        finally:
            if previous is None:
                _CONFIGS.pop(_REPLAY_TASK_QUEUE, None)
            else:
                _CONFIGS[_REPLAY_TASK_QUEUE] = previous
        run_id = history.run_id
        failure = outcome.replay_failure
        if failure is not None:
            results.append(ReplayResult(history.workflow_id, run_id, False, type(failure).__name__, str(failure)))
            continue
        completed, recorded = _recorded_value(history)
        if completed and _pids_as_text(values.values.get(run_id)) != _pids_as_text(recorded):
            results.append(ReplayResult(history.workflow_id, run_id, False, "ResultMismatch",
                                        f"recorded {recorded!r}, replay returned {values.values.get(run_id)!r}"))
            continue
        results.append(ReplayResult(history.workflow_id, run_id, True))
    return results


def _pids_as_text(value: Any) -> Any:
    """``value`` with every :class:`Pid` read as its string, for comparing results: Lua code returned PIDs as
    tables (decoded as Pid) before issue 11 and returns them as strings since; the same PID either way."""
    if isinstance(value, Pid):
        return str(value)
    if isinstance(value, dict):
        return {_pids_as_text(k): _pids_as_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pids_as_text(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------ command line

def _sources(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        entry, sep, path = pair.partition("=")
        if not sep:
            raise SystemExit(f"--source expects ENTRY=FILE, got {pair!r}")
        out[entry] = Path(path).read_text()
    return out


async def _record(address: str, namespace: str, workflow_id: str, out: str) -> None:
    client = await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER)
    save_history(await fetch_history(client, workflow_id), out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pidflow.temporal_host._replay", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="save the history of a workflow run as JSON")
    rec.add_argument("--address", required=True)
    rec.add_argument("--namespace", default="default")
    rec.add_argument("workflow_id")
    rec.add_argument("out")
    rep = sub.add_parser("replay", help="replay saved histories against an app")
    rep.add_argument("app")
    rep.add_argument("histories", nargs="+")
    rep.add_argument("--source", action="append", default=[], metavar="ENTRY=FILE",
                     help="replay with this Lua source for ENTRY (to check a change against recorded runs)")
    args = parser.parse_args(argv)
    if args.command == "record":
        asyncio.run(_record(args.address, args.namespace, args.workflow_id, args.out))
        return 0
    registry = entries_mod.load(args.app)
    histories = [load_history(p) for p in args.histories]
    results = asyncio.run(replay(registry, histories, sources=_sources(args.source)))
    for path, result in zip(args.histories, results):
        print(json.dumps({"file": path, **attrs.asdict(result)}), flush=True)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
