"""What the workflow side and the client/worker side of the Temporal host agree on, and nothing else.

The closed set of what crosses into a pidflow workflow (signal names, the start record), the activities a
workflow asks its worker for, and how a ``workflow.lua`` entry names its workflow type. Both sides import this
module; neither imports the other (the worker registers the workflow class, which is the one exception, in
``_worker``).
"""

from __future__ import annotations

from typing import Any

import attrs

from .._pid import Pid
from ..entries import Entry, Registry, qualify

MESSAGE = "pidflow.message"  # [wire Message]
MESSAGES = "pidflow.messages"  # [[wire Message, ...]]: start messages, delivered before anything else
EVENT = "pidflow.event"  # [wire Event]: EXIT / LINK_DOWN / CANCEL for the workflow as a watcher
LINK_EXIT = "pidflow.link_exit"  # [{from, reason}]: a linked process ended abnormally
LINK = "pidflow.link"  # [{from}]: a process linked to this workflow after it started
UNLINK = "pidflow.unlink"  # [{from}]
CANCEL = "pidflow.cancel"  # [{deadline, from}]

ALL = frozenset({MESSAGE, MESSAGES, EVENT, LINK_EXIT, LINK, UNLINK, CANCEL})

# The kinds this package declares (see ``_kinds``).
CLIENT_KIND = "temporal.client"
WORKER_KIND = "temporal.worker"
WORKFLOW_KIND = "workflow.lua"

# Activities a workflow runs on its own worker's task queue (defined in ``_worker``).
CALL = "pidflow.call"  # [entry id, args, context]: a function entry
AWAIT_EXIT = "pidflow.await_exit"  # [pid]: the end of another workflow, as an ExitResult wire dict
TERMINATE = "pidflow.terminate"  # [pid, reason]
IS_RUNNING = "pidflow.is_running"  # [pid]
DELIVER_HERE = "pidflow.deliver_here"  # [pid, signal, wire]: to a local PID, if it lives on this worker's node


def workflow_type_name(entry: Entry) -> str:
    """A ``workflow.lua`` entry's Temporal workflow type: ``meta.temporal.workflow.name``, else the entry id."""
    return str(entry.workflow_meta.get("name") or entry.id)


def worker_of(entry: Entry) -> str:
    """The ``temporal.worker`` entry id that runs a ``workflow.lua`` entry."""
    return qualify(str(entry.workflow_meta.get("worker")), entry.namespace)


def workflow_types(registry: Registry, worker_id: str) -> dict[str, Entry]:
    """The workflow types that the ``temporal.worker`` entry ``worker_id`` runs, by type name."""
    return {workflow_type_name(wf): wf for wf in registry.of_kind(WORKFLOW_KIND) if worker_of(wf) == worker_id}


@attrs.frozen
class StartInfo:
    """The second workflow argument: who started it, its context, its initial links and start messages."""

    parent: Pid | None = None
    context: dict[str, Any] = attrs.field(factory=dict)
    links: list[Pid] = attrs.field(factory=list)
    messages: list[dict[str, Any]] = attrs.field(factory=list)
    carried: dict[str, Any] | None = None  # state carried over continue-as-new (queued messages, links, ...)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"parent": self.parent, "context": self.context, "links": self.links}
        if self.messages:
            wire["messages"] = self.messages
        if self.carried is not None:
            wire["carried"] = self.carried
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any] | None) -> "StartInfo":
        wire = wire or {}
        return cls(wire.get("parent"), dict(wire.get("context") or {}), list(wire.get("links") or []),
                   list(wire.get("messages") or []), wire.get("carried"))
