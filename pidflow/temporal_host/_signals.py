"""Signal names and the start record: the closed set of what crosses into a pidflow workflow."""

from __future__ import annotations

from typing import Any

import attrs

from .._pid import Pid

MESSAGE = "pidflow.message"  # [wire Message]
MESSAGES = "pidflow.messages"  # [[wire Message, ...]]: start messages, delivered before anything else
EVENT = "pidflow.event"  # [wire Event]: EXIT / LINK_DOWN / CANCEL for the workflow as a watcher
LINK_EXIT = "pidflow.link_exit"  # [{from, reason}]: a linked process ended abnormally
LINK = "pidflow.link"  # [{from}]: a process linked to this workflow after it started
UNLINK = "pidflow.unlink"  # [{from}]
CANCEL = "pidflow.cancel"  # [{deadline, from}]

ALL = frozenset({MESSAGE, MESSAGES, EVENT, LINK_EXIT, LINK, UNLINK, CANCEL})


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
