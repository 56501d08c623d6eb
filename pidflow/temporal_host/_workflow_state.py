"""A workflow's process state: mailboxes, links, monitors, trap flag, and what crosses continue-as-new.

The same :class:`pidflow.actors.Process` record as a local process (delivery, topic claiming), with mailboxes
whose blocking receive waits on the workflow's deterministic loop. Signals arrive through
:meth:`WorkflowProcess.on_signal`, which may run before the workflow's main function (signal-with-start), so
everything here is ready at construction.
"""

from __future__ import annotations

from typing import Any, Sequence

from temporalio import workflow

from .._events import REPLY_PREFIX, Event, EventKind, Message
from .._host import linked_failure
from .._pid import Pid
from .._mailbox import Mailbox
from .._process import Process
from ..errors import Error, ErrorKind
from . import _protocol as protocol


class WorkflowMailbox(Mailbox[Any]):
    """A mailbox whose blocking receive is a workflow condition (replay-safe)."""

    __slots__ = ()

    async def receive(self) -> Any:
        await workflow.wait_condition(lambda: bool(self._items) or self._closed)
        if not self._items:
            import trio

            raise trio.EndOfChannel
        return self._items.popleft()


def _message(wire: Any) -> Message:
    message = Message.from_wire(wire)
    if not isinstance(message.topic, str) or not message.topic:
        raise ValueError(f"a message's topic must be a non-empty string, got {message.topic!r}")
    return message


class WorkflowProcess:
    """The pidflow side of one workflow run."""

    def __init__(self, pid: Pid) -> None:
        self.proc = Process(pid, inbox=WorkflowMailbox())
        self.monitoring: set[Pid] = set()
        #: The calls this run waits on, by target: the EXIT of a target goes to each (``WorkflowPort.call``).
        self.calls: dict[Pid, list[Mailbox[Any]]] = {}
        # Set when a linked process failed and this workflow does not trap links: the run must end with it.
        self.killed_by: Error | None = None
        self.on_killed: Any = None

    @property
    def pid(self) -> Pid:
        return self.proc.pid

    # -- signals --------------------------------------------------------------------------------------------------
    def on_signal(self, name: str, args: Sequence[Any]) -> None:
        """A signal, by what it carries (``protocol.signal_kind``): messages are named ``msg:<topic>`` /
        ``msgs:<topic>`` and events ``event:<kind>`` since issue 10, ``pidflow.message`` / ``.messages`` /
        ``.event`` before (still handled: histories recorded then replay, and anyone may still send them).

        A signal that does not carry what its name says (sent by hand with the Temporal CLI, say) is dropped with
        a warning: raising here would fail the workflow task, and its retries would fail the same way."""
        try:
            self._on_signal(protocol.signal_kind(name), args)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, Error) as exc:
            workflow.logger.warning("pidflow: dropped signal %r that does not carry what its name says: %s",
                                    name, exc)

    def _on_signal(self, kind: str, args: Sequence[Any]) -> None:
        proc = self.proc
        if kind == protocol.MESSAGE:
            proc.deliver(_message(args[0]))
        elif kind == protocol.MESSAGES:
            messages = [_message(wire) for wire in args[0]]  # all or nothing
            for message in messages:
                proc.deliver(message)
        elif kind == protocol.EVENT:
            self.on_event(Event.from_wire(args[0]))
        elif kind == protocol.LINK_EXIT:
            self.on_link_exit(Pid.parse(args[0]["from"]), args[0]["reason"])
        elif kind == protocol.LINK:
            proc.links.add(Pid.parse(args[0]["from"]))
        elif kind == protocol.UNLINK:
            proc.links.discard(Pid.parse(args[0]["from"]))
        elif kind == protocol.CANCEL:
            sender = args[0].get("from")
            proc.events.put(Event.cancel(float(args[0]["deadline"]), Pid.parse(sender) if sender else None))
        else:
            workflow.logger.warning("pidflow: ignoring unknown signal %r", kind)

    def on_event(self, event: Event) -> None:
        """An EXIT/LINK_DOWN for this workflow as a watcher: dropped once it stopped watching the sender. A call
        waiting on the sender gets the EXIT too (and it goes no further unless this run monitors the sender)."""
        if event.kind is EventKind.EXIT and event.sender is not None:
            for answers in self.calls.get(event.sender, ()):
                answers.put(event)
            if event.sender not in self.monitoring:
                return
            self.monitoring.discard(event.sender)
        self.proc.events.put(event)

    def on_link_exit(self, sender: Pid, reason: Any) -> None:
        proc = self.proc
        if sender not in proc.links:
            return
        proc.links.discard(sender)
        reason = reason if isinstance(reason, Error) else Error(ErrorKind.INTERNAL, str(reason))
        if proc.trap_links:
            proc.events.put(Event.link_down(sender, reason))
        elif self.killed_by is None:
            self.killed_by = linked_failure(sender, reason)
            if self.on_killed is not None:
                self.on_killed()

    # -- continue-as-new ------------------------------------------------------------------------------------------
    def carry(self, pending: dict[int, list[Any]]) -> dict[str, Any]:
        """What the next run needs: unreceived messages (in order, those a pump already took first), events,
        links, monitors and the trap flag. ``pending`` maps ``id(mailbox)`` to items the Lua driver holds."""
        proc = self.proc

        def drained(mailbox: Mailbox[Any]) -> list[Any]:
            return list(pending.get(id(mailbox), [])) + mailbox.drain()

        messages = [m.to_wire() for m in drained(proc.inbox)]
        for topic, (mailbox, whole) in (proc._listeners or {}).items():
            if topic.startswith(REPLY_PREFIX):
                continue  # a call's reply claim: its call ends with this run
            for item in drained(mailbox):
                message = item if whole else Message(topic, item, None)
                messages.append(message.to_wire())
        events = [e.to_wire() for e in drained(proc._events)] if proc._events is not None else []
        return {"messages": messages, "events": events, "links": sorted(proc.links, key=str),
                "monitoring": sorted(self.monitoring, key=str), "trap_links": proc.trap_links}

    def restore(self, carried: dict[str, Any] | None, context: dict[str, Any], links: list[Any],
                messages: list[dict[str, Any]]) -> None:
        proc = self.proc
        proc.context = context
        for pid in links:
            proc.links.add(Pid.parse(pid))
        if carried:
            proc.trap_links = bool(carried.get("trap_links"))
            for pid in carried.get("links", []):
                proc.links.add(Pid.parse(pid))
            self.monitoring.update(Pid.parse(p) for p in carried.get("monitoring", []))
            for wire in carried.get("events", []):
                proc.events.put(Event.from_wire(wire))
            start = [Message.from_wire(w) for w in carried.get("messages", [])]
        else:
            start = []
        # Carried messages first, then start messages; signals that arrived before main ran are already queued,
        # and start messages must precede them.
        queued = proc.inbox.drain()
        for message in [*start, *(Message.from_wire(w) for w in messages)]:
            proc.deliver(message)
        for message in queued:
            proc.inbox.put(message)
