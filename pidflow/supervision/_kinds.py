"""The ``supervisor`` entry kind: a process body on a local host, and, for a supervisor that is nobody's child,
a service started with the node; and ``process.service``: a process kept running by its lifecycle, a service
started with the node (see ``_service``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import trio

from .._api import acks_start
from .._host import SpawnRequest
from .._kind import Body, Key, Kind, Reference
from .._pid import Pid
from ..entries import Entry, qualify
from ._service import RunningService, start_service
from . import _service_spec as svc
from ._service_spec import service_spec, validate_service_spec
from ._spec import (DEFAULT_INTENSITY, DEFAULT_PERIOD, DEFAULT_SHUTDOWN, RESTARTS, STRATEGIES, supervisor_spec,
                    validate_supervisor_spec)
from ._supervisor import supervise

if TYPE_CHECKING:
    from .._host import NodePort

#: How long a stopping node gives a root supervisor to stop its children.
ROOT_SHUTDOWN = 30.0


def _body(node: "NodePort", entry: Entry) -> Body:
    spec = supervisor_spec(entry.id, entry.spec, entry.namespace)

    @acks_start
    async def body(_input: Any) -> Any:
        return await supervise(spec)

    return body


def _children(entry: Entry) -> list[tuple[int, dict[str, Any]]]:
    """The child specs that are mappings, with their index (the others are reported by the check)."""
    children = entry.spec.get("children")
    return [(i, c) for i, c in enumerate(children) if isinstance(c, dict)] if isinstance(children, list) else []


def _references(entry: Entry) -> list[Reference]:
    refs = []
    for i, child in _children(entry):
        if isinstance(child.get("entry"), str) and child["entry"]:
            refs.append(Reference(f"children[{i}].entry", qualify(child["entry"], entry.namespace),
                                  roles=("process",)))
        if isinstance(child.get("host"), str) and child["host"]:
            refs.append(Reference(f"children[{i}].host", qualify(child["host"], entry.namespace), roles=("host",)))
    return refs


@attrs.define
class RootSupervisor:
    """A supervisor started with the node: stopping it cancels it and waits until its children are stopped."""

    node: "NodePort"
    pid: Pid

    async def stop(self) -> None:
        if await self.node.cancel(self.pid, ROOT_SHUTDOWN, None):
            host = self.node.route(self.pid)
            while host.is_alive(self.pid):
                await trio.sleep(0.01)


async def _service(node: "NodePort", entry: Entry) -> RootSupervisor | None:
    """Root supervisors (nobody's child, ``auto_start`` not false) start with the node, linked to nothing and
    monitored by nothing (the node's root events are the caller's to read)."""
    if entry.spec.get("auto_start", True) is False:
        return None
    for other in node.registry.of_kind(entry.kind):
        if any(isinstance(c.get("entry"), str) and qualify(c["entry"], other.namespace) == entry.id
               for _, c in _children(other)):
            return None
    request = SpawnRequest(entry=entry.id, name=entry.id, parent=node.process.pid(), monitor=False,
                           await_start=True)
    return RootSupervisor(node, await node.spawn(request, None))


def _service_references(entry: Entry) -> list[Reference]:
    refs = []
    if isinstance(entry.spec.get("process"), str) and entry.spec["process"]:
        refs.append(Reference("process", qualify(entry.spec["process"], entry.namespace), roles=("process",)))
    if isinstance(entry.spec.get("host"), str) and entry.spec["host"]:
        refs.append(Reference("host", qualify(entry.spec["host"], entry.namespace), roles=("host",)))
    return refs


async def _process_service(node: "NodePort", entry: Entry) -> RunningService | None:
    """Started with the node when ``lifecycle.auto_start`` is true (default false, as in the seed runtime)."""
    spec = service_spec(entry.id, entry.spec, entry.namespace)
    if not spec.lifecycle.auto_start:
        return None
    return await start_service(node, spec)


def _seconds(value: float) -> str:
    return f"{value:g}s"


SUPERVISOR_KEYS = (
    Key("children", "list of mappings", "the child specs, started one at a time in this order", required=True,
        keys=(Key("id", "string", "the child's id, unique in this supervisor", required=True),
              Key("entry", "entry id", "the process entry to run (process.lua, process.py, workflow.lua, supervisor)",
                  required=True),
              Key("host", "entry id", "the process.host or temporal.worker that runs it (a workflow child "
                                      "names its worker)", default="the node's default host"),
              Key("restart", " | ".join(RESTARTS), "permanent: always restarted; transient: after an abnormal end; "
                                                    "temporary: never", default="permanent"),
              Key("input", "any", "the child's input, main(input)", default="null"),
              Key("shutdown", "duration", "how long a child that traps links gets after CANCEL before it is "
                                          "terminated", default=_seconds(DEFAULT_SHUTDOWN)),
              Key("options", "mapping", "spawn options ([options.md](options.md)): trap_links, temporal.workflow.*, ...",
                  default="{}"),
              Key("name", "string", "the name the child is registered under (a workflow: its workflow id)",
                  default="none; a durable child: SUPERVISOR_ID/CHILD_ID (':' as '-'), so a new node adopts it"))),
    Key("strategy", " | ".join(STRATEGIES), "which children restart when one ends: itself, all, or it and those "
                                            "after it; simple_one_for_one takes one child template",
        default="one_for_one"),
    Key("intensity", "non-negative integer", "more than this many restarts within period: the supervisor gives up",
        default=str(DEFAULT_INTENSITY)),
    Key("period", "duration", "the window intensity counts restarts in", default=_seconds(DEFAULT_PERIOD)),
    Key("auto_start", "boolean", "a supervisor that no other supervisor lists starts with the node",
        default="true"),
)

_RESTART_KEYS = (
    Key("initial_delay", "duration", "the wait before the first restart", default=_seconds(svc.DEFAULT_INITIAL_DELAY)),
    Key("max_delay", "duration", "the cap of the wait", default=_seconds(svc.DEFAULT_MAX_DELAY)),
    Key("backoff_factor", "number >= 1", "each restart in a row waits this much longer",
        default=f"{svc.DEFAULT_BACKOFF_FACTOR:g}"),
    Key("jitter", "number 0..1", "each wait is spread by up to this share of itself, at random (0: exact)",
        default=f"{svc.DEFAULT_JITTER:g}"),
    Key("max_attempts", "non-negative integer", "give up after this many failed runs in a row (0: never)",
        default="0"),
)
SERVICE_KEYS = (
    Key("process", "entry id", "the process entry it keeps running (process.lua, process.py, workflow.lua)",
        required=True),
    Key("host", "entry id", "the host that runs it",
        default="the host that runs the entry (a workflow's worker), else the node's default host"),
    Key("input", "any", "the process's input; a list is its positional arguments, main(a, b)", default="null"),
    Key("lifecycle", "mapping", "when it starts and how it is restarted", default="{}",
        keys=(Key("auto_start", "boolean", "start with the node", default="false"),
              Key("start_timeout", "duration", "how long a start may take (a workflow: until accepted)",
                  default=_seconds(svc.DEFAULT_START_TIMEOUT)),
              Key("stop_timeout", "duration", "how long the process gets after CANCEL when the service stops",
                  default=_seconds(svc.DEFAULT_STOP_TIMEOUT)),
              Key("stable_threshold", "duration", "a run this long resets the count of failed runs in a row",
                  default=_seconds(svc.DEFAULT_STABLE_THRESHOLD)),
              Key("restart", "mapping", "the restart policy after a failed run", default="{}",
                  keys=_RESTART_KEYS))),
)

KINDS = (
    Kind(name="supervisor", keys=SUPERVISOR_KEYS,
         check=lambda entry: validate_supervisor_spec(entry.spec), references=_references, body=_body,
         service=_service,
         description="An OTP supervisor: starts its children in order and restarts them by its strategy; one that "
                     "is nobody's child starts with the node (see [supervision.md](supervision.md))."),
    Kind(name="process.service", keys=SERVICE_KEYS,
         check=lambda entry: validate_service_spec(entry.spec), references=_service_references,
         service=_process_service,
         description="One process the node keeps running: restarted after a failed run with exponential backoff, "
                     "done after a normal end (see [supervision.md](supervision.md))."),
)
