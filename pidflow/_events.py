"""What processes receive: messages in their inbox or topic listeners, and lifecycle events.

These are the records that cross hosts (a signal to a workflow, an EXIT from a workflow to a local watcher), so
they are frozen values with a stable wire form (``to_wire``/``from_wire``).
"""

from __future__ import annotations

import enum
from typing import Any

import attrs
from typing_extensions import deprecated

from ._pid import Pid
from .errors import Error


#: The topic of a reply to a ``call`` is this prefix and the call's reference. Topics beginning with ``@`` are the
#: runtime's: a reply is claimed by the call waiting for it, and one that comes after its call ended (a timeout,
#: the caller gave up) is dropped on delivery (``Process.deliver``), never left in the inbox.
REPLY_PREFIX = "@reply:"


@attrs.frozen(slots=True)
class Message:
    """A message: ``topic``, ``data`` (the payload), ``sender`` (None when sent from outside any process) and
    ``ref``: the reference of a ``call``, set when the sender waits for an answer (give it with
    ``process.reply(message, value)``), None for a plain send.

    Lua sees the same fields as ``msg:topic()``, ``msg:payload():data()`` and ``msg:from()`` (the seed runtime's
    name for the sender)."""

    topic: str
    data: Any = None
    sender: Pid | None = None
    ref: str | None = None

    def to_wire(self) -> dict[str, Any]:
        if self.ref is None:
            return {"topic": self.topic, "data": self.data, "from": self.sender}
        return {"topic": self.topic, "data": self.data, "from": self.sender, "ref": self.ref}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> "Message":
        sender = wire.get("from")
        ref = wire.get("ref")
        return cls(wire["topic"], wire.get("data"), Pid.parse(sender) if sender else None,
                   ref if isinstance(ref, str) and ref else None)


class EventKind(str, enum.Enum):
    EXIT = "EXIT"
    LINK_DOWN = "LINK_DOWN"
    CANCEL = "CANCEL"
    #: ``process.monitor_node``: the node named by ``Event.node`` went down (``reason``: noconnection) / came back.
    NODEDOWN = "NODEDOWN"
    NODEUP = "NODEUP"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(slots=True)
class ExitResult:
    """How a process ended: ``value`` on success, ``error`` otherwise (exactly one is meaningful)."""

    value: Any = None
    error: Error | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen(slots=True)
class Event:
    """A lifecycle event. ``sender`` is the process it is about (the one that ended, the linked one that failed)
    or the canceller (None when cancelled from outside any process), as :attr:`Message.sender` is a message's
    (Lua: ``ev.from`` and ``msg:from()``). EXIT has ``result``; LINK_DOWN has ``reason``; CANCEL has ``deadline``
    (seconds); NODEDOWN and NODEUP have ``node`` (NODEDOWN a ``reason`` too) and no sender."""

    kind: EventKind
    sender: Pid | None = None
    result: ExitResult | None = None
    reason: Error | None = None
    deadline: float | None = None
    node: str | None = None

    @property
    @deprecated("Event.from_ is Event.sender (the name Message has too)", category=None)
    def from_(self) -> Pid | None:
        """Deprecated: :attr:`sender` (kept for code written before the two records shared the name)."""
        return self.sender

    @classmethod
    def exit(cls, pid: Pid, result: ExitResult) -> "Event":
        return cls(EventKind.EXIT, pid, result=result)

    @classmethod
    def link_down(cls, pid: Pid, reason: Error) -> "Event":
        return cls(EventKind.LINK_DOWN, pid, reason=reason)

    @classmethod
    def cancel(cls, deadline: float, sender: Pid | None = None) -> "Event":
        return cls(EventKind.CANCEL, sender, deadline=deadline)

    @classmethod
    def node_down(cls, node: str, reason: Error) -> "Event":
        return cls(EventKind.NODEDOWN, None, reason=reason, node=node)

    @classmethod
    def node_up(cls, node: str) -> "Event":
        return cls(EventKind.NODEUP, None, node=node)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"kind": self.kind.value, "from": self.sender}
        if self.result is not None:
            wire["result"] = {"value": self.result.value, "error": self.result.error}
        if self.reason is not None:
            wire["reason"] = self.reason
        if self.deadline is not None:
            wire["deadline"] = self.deadline
        if self.node is not None:
            wire["node"] = self.node
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> "Event":
        result = wire.get("result")
        sender = wire.get("from")
        return cls(
            EventKind(wire["kind"]),
            Pid.parse(sender) if sender else None,
            result=ExitResult(result.get("value"), result.get("error")) if result is not None else None,
            reason=wire.get("reason"),
            deadline=wire.get("deadline"),
            node=wire.get("node"),
        )
