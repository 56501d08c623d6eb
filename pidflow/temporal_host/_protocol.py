"""What the workflow side and the client/worker side of the Temporal host agree on, and nothing else.

The closed set of what crosses into a pidflow workflow (signal names, the start record), the activities a
workflow asks its worker for, and how a ``workflow.lua`` entry names its workflow type. Both sides import this
module; neither imports the other (the worker registers the workflow class, which is the one exception, in
``_worker``).
"""

from __future__ import annotations

from typing import Any, Sequence

import attrs

from .._pid import Pid
from ..entries import Entry, Registry, qualify

# Signals. A message's signal is named after its topic, so that a history reads as what was sent ("msg:approve",
# "msgs:tick" for a batch of one topic); the wire form in the payload is what counts, the name is for people.
# Signals are delivered in the order they were sent whatever their names, so per-sender order holds.
MESSAGE_PREFIX = "msg:"  # "msg:<topic>": [wire Message]
MESSAGES_PREFIX = "msgs:"  # "msgs:<topic>": [[wire Message, ...]], all of that topic
EVENT_PREFIX = "event:"  # "event:EXIT" / "event:LINK_DOWN" / "event:CANCEL": [wire Event], for a watcher
MESSAGE = "pidflow.message"  # [wire Message]: a topic too long for a name (and every message before issue 10)
MESSAGES = "pidflow.messages"  # [[wire Message, ...]]: a batch of several topics; start messages come first
EVENT = "pidflow.event"  # [wire Event]: as "event:<kind>" (the name before issue 10)
LINK_EXIT = "pidflow.link_exit"  # [{from, reason}]: a linked process ended abnormally
LINK = "pidflow.link"  # [{from}]: a process linked to this workflow after it started
UNLINK = "pidflow.unlink"  # [{from}]
CANCEL = "pidflow.cancel"  # [{deadline, from}]

ALL = frozenset({MESSAGE, MESSAGES, EVENT, LINK_EXIT, LINK, UNLINK, CANCEL})
#: Topics longer than this (UTF-8 bytes) are not put in a signal name (the server refuses names over 1000 bytes).
MAX_TOPIC_IN_NAME = 200


def message_signal(topic: str) -> str:
    """The signal that carries one message of ``topic``: ``msg:<topic>``, or ``pidflow.message`` for a long topic."""
    if len(topic) * 4 <= MAX_TOPIC_IN_NAME or len(topic.encode("utf-8", "replace")) <= MAX_TOPIC_IN_NAME:
        return MESSAGE_PREFIX + topic
    return MESSAGE


def messages_signal(topics: set[str]) -> str:
    """The signal that carries a batch of messages of ``topics``: ``msgs:<topic>`` when they share one topic
    (not too long for a name), else ``pidflow.messages``."""
    return batch_signal({message_signal(topic) for topic in topics})


def batch_signal(names: set[str]) -> str:
    """The signal that carries, as one batch, messages whose own signals are ``names`` (``message_signal``)."""
    if len(names) == 1:
        for name in names:
            if name.startswith(MESSAGE_PREFIX):
                return MESSAGES_PREFIX + name[len(MESSAGE_PREFIX):]
    return MESSAGES


def event_signal(kind: str) -> str:
    """The signal that carries an event of ``kind`` (EXIT, LINK_DOWN, CANCEL) to a watcher: ``event:<kind>``."""
    return EVENT_PREFIX + kind


def signal_kind(name: str) -> str:
    """What a signal carries, whatever its name shows: MESSAGE, MESSAGES, EVENT, or the name itself (control
    signals, unknown names)."""
    if name.startswith(MESSAGE_PREFIX):
        return MESSAGE
    if name.startswith(MESSAGES_PREFIX):
        return MESSAGES
    if name.startswith(EVENT_PREFIX):
        return EVENT
    return name

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


def workflow_args(argv: Sequence[Any], start: dict[str, Any]) -> list[Any]:
    """A workflow's Temporal arguments: its main function's positional arguments, then the start record
    (``StartInfo.to_wire``), always last. One argument is ``[input, start]``, as before positional arguments
    existed; any other count is written in the start record (``argc``), and no argument still fills the first
    slot (with None), so that the start record is never first."""
    if len(argv) == 1:
        return [argv[0], start]
    return [*(argv or (None,)), {**start, "argc": len(argv)}]


def split_workflow_args(values: Sequence[Any]) -> tuple[list[Any], Any]:
    """The inverse of :func:`workflow_args`: (positional arguments, start record wire or None). A workflow started
    by hand with one argument (no start record) gets it as its one positional argument."""
    if len(values) < 2:
        return list(values[:1]) or [None], None
    start = values[-1]
    argc = start.get("argc", 1) if isinstance(start, dict) else 1
    return list(values[:argc]), start


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
