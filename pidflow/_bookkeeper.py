"""The node's bookkeeper: running totals, observer subscriptions and the supervisors' children, for the observer.

Design note. The bookkeeping must be cheap enough to leave on, so almost nothing happens on the hot path: a host
adds one to a process's ``messages_in`` / ``messages_out`` slot per message (``Process``), and only spawns, exits
and restarts reach this object. Totals over messages are not kept here: they are summed over the live processes
when someone asks (``Host.message_counts``) plus what ended processes had (``retire``), so that a send pays for
two increments, not four. Events are built only while somebody observes.

Subscriptions never block nor slow a process: each subscriber has a bounded mailbox that drops its oldest event
when full (and counts it), so a subscriber that does not read loses events instead of holding memory without
bound or making the publisher wait. Rejected: a trio memory channel per subscriber (a full one either blocks the
publisher, a process exit, or raises); an unbounded mailbox (a stuck HTTP client would grow the node).

``on`` (``Node.bookkeeping``) switches off the per-message counters, the totals and the events; what the hosts
know anyway (tables, links, monitors, names, supervisors' children) is still described.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import _log
from ._introspection import CRASH, EXIT, RESTART, SPAWN, ChildInfo, ObserverEvent
from ._mailbox import Mailbox
from ._pid import Pid

if TYPE_CHECKING:
    from ._host import Host
    from ._names import NameRegistry
    from .errors import Error

#: Events a subscriber may have waiting before the oldest are dropped (``Node.observe``).
DEFAULT_CAPACITY = 10_000


class EventMailbox(Mailbox[ObserverEvent]):
    """A subscription: a :class:`~pidflow.Mailbox` of at most ``capacity`` events that drops its oldest when
    full. ``dropped`` counts what it lost."""

    __slots__ = ("capacity", "dropped")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        super().__init__()
        self.capacity = capacity
        self.dropped = 0

    def put(self, item: ObserverEvent) -> None:
        if self._closed:
            return
        if len(self._items) >= self.capacity:
            self._items.popleft()
            self.dropped += 1
        super().put(item)


def entry_name(entry: Any) -> str | None:
    """An entry id, or ``module.qualname`` for a Python callable spawned directly; None for none."""
    return None if entry is None else _log.entry_name(entry)


def exit_kind(error: "Error | None") -> str:
    """How an end is counted: ``normal``, else the reason's kind (``TERMINATED``, ``INTERNAL`` ...)."""
    return "normal" if error is None else error.kind.value


class Bookkeeper:
    """Counters, subscriptions and parents (supervisors) of one node. Synchronous, on the node's loop."""

    def __init__(self) -> None:
        #: ``Node.bookkeeping``: the per-message counters, totals and events are kept while True.
        self.on = True
        self.spawns = 0
        self.exits: dict[str, int] = {}
        self.restarts = 0
        #: Signals the node's Temporal hosts sent to workflows (a batch of messages is one signal).
        self.workflow_signals = 0
        #: Messages delivered and sent by processes that ended (the live ones are summed when asked).
        self.retired_in = 0
        self.retired_out = 0
        self._subscribers: list[EventMailbox] = []
        self._dropped = 0  # by subscriptions that ended
        self._parents: dict[Pid, Callable[[], list[ChildInfo]]] = {}

    # -- subscriptions ------------------------------------------------------------------------------------------
    def subscribe(self, capacity: int = DEFAULT_CAPACITY) -> EventMailbox:
        mailbox = EventMailbox(capacity)
        self._subscribers.append(mailbox)
        return mailbox

    def unsubscribe(self, mailbox: Mailbox[ObserverEvent]) -> bool:
        """End a subscription (its mailbox is closed; what it holds can still be read). False if unknown."""
        for i, subscriber in enumerate(self._subscribers):
            if subscriber is mailbox:
                del self._subscribers[i]
                self._dropped += subscriber.dropped
                subscriber.close()
                return True
        return False

    def close(self) -> None:
        for mailbox in list(self._subscribers):
            self.unsubscribe(mailbox)

    @property
    def observed(self) -> bool:
        return bool(self._subscribers)

    @property
    def dropped(self) -> int:
        return self._dropped + sum(m.dropped for m in self._subscribers)

    def publish(self, kind: str, pid: Pid, entry: Any, details: dict[str, Any]) -> None:
        if not self._subscribers:
            return
        event = ObserverEvent(kind, pid, entry_name(entry), time.time(), details)
        for mailbox in self._subscribers:
            mailbox.put(event)

    # -- what hosts and supervisors report ----------------------------------------------------------------------
    def spawned(self, pid: Pid, entry: Any, parent: Pid | None) -> None:
        self.spawns += 1
        if self._subscribers:
            self.publish(SPAWN, pid, entry, {"parent": None if parent is None else str(parent), "host": pid.host})

    def exited(self, pid: Pid, entry: Any, error: "Error | None") -> None:
        kind = exit_kind(error)
        self.exits[kind] = self.exits.get(kind, 0) + 1
        if self._subscribers:
            self.publish(EXIT, pid, entry, {"error": None if error is None else error.to_dict(), "kind": kind})

    def crashed(self, pid: Pid, entry: Any, error: "Error") -> None:
        """A crash report (the process's own code failed); its exit follows."""
        if self._subscribers:
            self.publish(CRASH, pid, entry, {"error": error.to_dict()})

    def restarted(self, supervisor: Pid, child: ChildInfo, old: Pid | None) -> None:
        """``supervisor`` started ``child`` again (``child.pid`` is the new PID, ``old`` the one that ended)."""
        if not self.on:
            return
        self.restarts += 1
        if self._subscribers and child.pid is not None:
            self.publish(RESTART, old or child.pid, child.entry, {
                "supervisor_pid": str(supervisor), "child_id": child.child_id,
                "old_pid": None if old is None else str(old), "new_pid": str(child.pid),
                "restarts": child.restarts})

    def retire(self, messages_in: int, messages_out: int) -> None:
        """A process ended: keep its message counts in the totals."""
        self.retired_in += messages_in
        self.retired_out += messages_out

    # -- parents: supervisors and service keepers ---------------------------------------------------------------
    def add_parent(self, pid: Pid, children: Callable[[], list[ChildInfo]]) -> None:
        """``pid`` supervises children: ``children()`` lists them in start order (called when the node draws a
        tree or describes a process; it must be synchronous and cheap). Until :meth:`remove_parent`."""
        self._parents[pid] = children

    def remove_parent(self, pid: Pid) -> None:
        self._parents.pop(pid, None)

    def parents(self) -> dict[Pid, list[ChildInfo]]:
        """Every registered parent and its children now, in registration (start) order."""
        out: dict[Pid, list[ChildInfo]] = {}
        for pid, children in list(self._parents.items()):
            try:
                out[pid] = children()
            except Exception:  # noqa: BLE001 - a parent that is ending: its children are read next time
                continue
        return out

    def counters(self, hosts: Iterable["Host"]) -> dict[str, Any]:
        """The running totals (``Node.observer_counters``)."""
        delivered, sent = self.retired_in, self.retired_out
        for host in hosts:
            live_in, live_out = host.message_counts()
            delivered += live_in
            sent += live_out
        return {"spawns": self.spawns, "exits": dict(self.exits), "restarts": self.restarts,
                "messages_sent": sent, "messages_delivered": delivered, "workflow_signals": self.workflow_signals,
                "events_dropped": self.dropped, "observers": len(self._subscribers)}


class Directory:
    """What the node knows across its hosts, handed to a host that describes its processes: names, restarts,
    and who monitors what (a monitor is kept by the target's host, so "what does P monitor" is the reverse of
    every host's watchers, built on first use)."""

    __slots__ = ("_names", "_hosts", "restarts", "_monitors")

    def __init__(self, names: "NameRegistry", hosts: Iterable["Host"], parents: dict[Pid, list[ChildInfo]]) -> None:
        self._names = names
        self._hosts = list(hosts)
        #: Supervisors' children (running) -> how many times they were restarted.
        self.restarts = {c.pid: c.restarts for children in parents.values() for c in children if c.pid is not None}
        self._monitors: dict[Pid, list[Pid]] | None = None

    @property
    def internal(self) -> Pid:
        """The names registry's watcher: not a process, never shown as one's monitor."""
        return self._names.watcher

    def names_of(self, pid: Pid) -> tuple[str, ...]:
        return tuple(self._names.names_of(pid))

    def named(self) -> list[tuple[str, Pid]]:
        return self._names.items()

    def monitors_of(self, pid: Pid) -> tuple[Pid, ...]:
        monitors = self._monitors
        if monitors is None:
            monitors = self._monitors = {}
            internal = self._names.watcher
            for host in self._hosts:
                for watcher, target in host.watches():
                    if watcher != internal:
                        monitors.setdefault(watcher, []).append(target)
        return tuple(monitors.get(pid, ()))
