"""A local process: a trio task plus its mailboxes, links, monitors and name.

Memory matters (tens of thousands of idle processes): slots, and the rarely used collections (listeners, links,
watchers, the event mailbox) are created on first use.
"""

from __future__ import annotations

from typing import Any, Mapping

import attrs
import trio

from ._events import REPLY_PREFIX, Event, Message
from ._pid import Pid
from .errors import Error
from ._mailbox import Mailbox


@attrs.define(eq=False, slots=True)
class Process:
    pid: Pid
    name: str | None = None
    context: Mapping[str, Any] = attrs.field(factory=dict)  # shared read-only with the spawn request
    trap_links: bool = False
    inbox: Mailbox[Message] = attrs.field(factory=Mailbox)
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    alive: bool = True
    # Set when something outside the body ends the process (terminate, a link, a cancel deadline).
    kill_reason: Error | None = None
    _listeners: dict[str, tuple[Mailbox[Any], bool]] | None = None
    _events: Mailbox[Event] | None = None
    _links: set[Pid] | None = None
    _watchers: set[Pid] | None = None
    #: Set once the process has started, for a spawner that waits for that (``SpawnRequest.await_start``).
    started: trio.Event | None = None
    # -- what the observer reads (``pidflow._introspection``): set by the host, counted while the node's
    # bookkeeping is on; a slot each (no per-process dict), and small counts are shared ints.
    #: The entry it runs (an entry id, or the Python callable), and the process that spawned it.
    entry: Any = None
    parent: Pid | None = None
    #: Unix seconds (None when bookkeeping was off at its spawn).
    started_at: float | None = None
    messages_in: int = 0
    messages_out: int = 0
    #: Its trio task (local processes): whether it is parked, and where a Lua process waits, are read from it.
    task: Any = None

    # -- delivery ---------------------------------------------------------------------------------------------
    def deliver(self, message: Message) -> None:
        """Route to the topic listener that claimed ``message.topic``, else to the inbox. A reply to a call that
        no longer waits for it (its topic, ``REPLY_PREFIX`` + reference, unclaimed) is dropped."""
        if self._listeners is not None:
            claimed = self._listeners.get(message.topic)
            if claimed is not None:
                mailbox, whole = claimed
                mailbox.put(message if whole else message.data)
                return
        if message.ref is not None and message.topic.startswith(REPLY_PREFIX):
            return
        self.inbox.put(message)

    def claim_reply(self, topic: str) -> Mailbox[Any]:
        """Claim the reply topic of a call this process makes (``REPLY_PREFIX`` + its new reference): the reply's
        data lands in the mailbox returned. Nothing of a new reference can be queued yet, so unlike
        :meth:`listen` the inbox is not searched."""
        if self._listeners is None:
            self._listeners = {}
        mailbox_type: type[Mailbox[Any]] = type(self.inbox)
        mailbox = mailbox_type()
        self._listeners[topic] = (mailbox, False)
        return mailbox

    def release_reply(self, topic: str) -> None:
        """The call is over: a reply that comes later is dropped (see :meth:`deliver`). (Its mailbox is the
        call's alone: nothing else waits on it, so it is just let go.)"""
        listeners = self._listeners
        if listeners is not None:
            listeners.pop(topic, None)
            if not listeners:
                self._listeners = None

    def listen(self, topic: str, whole_message: bool) -> Mailbox[Any]:
        """Claim ``topic``: queued inbox messages of that topic move to the listener, in order, so that start
        messages sent before the process got round to listening are not stranded in the inbox."""
        if self._listeners is None:
            self._listeners = {}
        existing = self._listeners.get(topic)
        if existing is not None:
            return existing[0]
        mailbox: Mailbox[Any] = type(self.inbox)()  # same kind of mailbox as the inbox (trio or workflow)
        for message in self.inbox.take_where(lambda m: m.topic == topic):
            mailbox.put(message if whole_message else message.data)
        self._listeners[topic] = (mailbox, whole_message)
        return mailbox

    def unlisten(self, topic: str) -> bool:
        """Release ``topic``: its later messages go to the inbox again, and so do those the listener held and
        nobody received yet (in order; a payload-only listener's lose their sender), so that nothing is lost. The
        listener's mailbox is closed, empty. False when nothing listened to ``topic``."""
        claimed = None if self._listeners is None else self._listeners.pop(topic, None)
        if claimed is None:
            return False
        mailbox, whole = claimed
        for item in mailbox.drain():
            self.inbox.put(item if whole else Message(topic, item, None))
        mailbox.close()
        return True

    def queued(self) -> int:
        """Messages waiting to be received: the inbox and every topic listener."""
        count = len(self.inbox)
        if self._listeners is not None:
            for mailbox, _ in self._listeners.values():
                count += len(mailbox)
        return count

    @property
    def events(self) -> Mailbox[Event]:
        events = self._events
        if events is None:
            mailbox_type: type[Mailbox[Any]] = type(self.inbox)  # the inbox's kind of mailbox, for events
            events = self._events = mailbox_type()
        return events

    # -- relations --------------------------------------------------------------------------------------------
    @property
    def links(self) -> set[Pid]:
        if self._links is None:
            self._links = set()
        return self._links

    @property
    def watchers(self) -> set[Pid]:
        if self._watchers is None:
            self._watchers = set()
        return self._watchers

    def has_link(self, pid: Pid) -> bool:
        return self._links is not None and pid in self._links

    def take_links(self) -> set[Pid]:
        links, self._links = self._links or set(), None
        return links

    def take_watchers(self) -> set[Pid]:
        watchers, self._watchers = self._watchers or set(), None
        return watchers

    def close_mailboxes(self) -> None:
        self.inbox.close()
        if self._events is not None:
            self._events.close()
        if self._listeners is not None:
            for mailbox, _ in self._listeners.values():
                mailbox.close()
