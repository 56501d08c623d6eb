"""What processes receive: messages in their inbox or topic listeners, and lifecycle events.

These are the records that cross hosts (a signal to a workflow, an EXIT from a workflow to a local watcher), so
they are frozen values with a stable wire form (``to_wire``/``from_wire``).
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ._pid import Pid
from .errors import Error


@attrs.frozen(slots=True)
class Message:
    """A message: ``topic``, ``data`` (the payload) and ``sender`` (None when sent from outside any process)."""

    topic: str
    data: Any = None
    sender: Pid | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"topic": self.topic, "data": self.data, "from": self.sender}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> "Message":
        sender = wire.get("from")
        return cls(wire["topic"], wire.get("data"), Pid.parse(sender) if sender else None)


class EventKind(str, enum.Enum):
    EXIT = "EXIT"
    LINK_DOWN = "LINK_DOWN"
    CANCEL = "CANCEL"

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
    """A lifecycle event. EXIT has ``result``; LINK_DOWN has ``reason``; CANCEL has ``deadline`` (seconds)."""

    kind: EventKind
    from_: Pid | None = None
    result: ExitResult | None = None
    reason: Error | None = None
    deadline: float | None = None

    @classmethod
    def exit(cls, pid: Pid, result: ExitResult) -> "Event":
        return cls(EventKind.EXIT, pid, result=result)

    @classmethod
    def link_down(cls, pid: Pid, reason: Error) -> "Event":
        return cls(EventKind.LINK_DOWN, pid, reason=reason)

    @classmethod
    def cancel(cls, deadline: float, sender: Pid | None = None) -> "Event":
        return cls(EventKind.CANCEL, sender, deadline=deadline)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"kind": self.kind.value, "from": self.from_}
        if self.result is not None:
            wire["result"] = {"value": self.result.value, "error": self.result.error}
        if self.reason is not None:
            wire["reason"] = self.reason
        if self.deadline is not None:
            wire["deadline"] = self.deadline
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
        )
