"""The ``supervisor`` entry kind: a process body on a local host, and, for a supervisor that is nobody's child,
a service started with the node; and ``process.service``: a process kept running by its lifecycle, a service
started with the node (see ``_service``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import trio

from .._api import acks_start
from .._host import SpawnRequest
from .._kind import Body, Kind, Reference
from .._pid import Pid
from ..entries import Entry, qualify
from ._service import RunningService, start_service
from ._service_spec import service_spec, validate_service_spec
from ._spec import supervisor_spec, validate_supervisor_spec
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


KINDS = (
    Kind(name="supervisor", required={"children"}, optional={"strategy", "intensity", "period", "auto_start"},
         check=lambda entry: validate_supervisor_spec(entry.spec), references=_references, body=_body,
         service=_service),
    Kind(name="process.service", required={"process"}, optional={"host", "input", "lifecycle"},
         check=lambda entry: validate_service_spec(entry.spec), references=_service_references,
         service=_process_service),
)
