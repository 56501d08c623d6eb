"""The durable processes a node knows, for the observer: those its Temporal hosts started, watch or name.

A workflow runs on the server, so the node can only tell what it saw: who started it and when, the run it
started, the messages it posted to it and got from it, and its end once a watch (a monitor, a link, a name, a
supervisor) saw it. A listing shows that, without a query; ``Node.process_info`` asks Temporal for the rest.

A record goes when the node sees its workflow end. One nobody watches is kept as last seen (the node never
learns of its end unless asked), at most :data:`MAX_KNOWN` of them: past that the oldest unwatched ones are
forgotten. A workflow id started again (a supervisor restarting its child under the same id, so the same PID)
starts a new *generation*: the end of an older run, seen late by a watch of that run, never ends the new one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterable, Iterator
from urllib.parse import quote

import attrs

from .._bookkeeper import entry_name
from .._introspection import DurableInfo, ProcessInfo
from .._pid import Pid
from ..errors import Error, ErrorKind

if TYPE_CHECKING:
    from .._bookkeeper import Directory

#: Records of workflows nobody watches kept at most (see the module docstring).
MAX_KNOWN = 10_000

RUNNING = "running"


@attrs.define(eq=False, slots=True)
class Known:
    entry: str | None = None
    parent: Pid | None = None
    #: Unix seconds (when this node started it; None for one it only watches).
    started_at: float | None = None
    run_id: str | None = None
    status: str = RUNNING
    #: Messages this node posted to it, and messages from it this node delivered.
    messages_in: int = 0
    messages_out: int = 0
    generation: int = 0
    #: Watches (monitors, links, names) waiting for its end now.
    watches: int = 0


def end_status(error: Error | None) -> str:
    """The Temporal status (lower case) an end most likely was, from the reason a watch got."""
    if error is None:
        return "completed"
    return {ErrorKind.TERMINATED: "terminated", ErrorKind.CANCELED: "canceled",
            ErrorKind.TIMEOUT: "timed_out"}.get(error.kind, "failed")


class KnownWorkflows:
    """PID -> :class:`Known`, in the order the node learned of them."""

    def __init__(self) -> None:
        self._known: dict[Pid, Known] = {}

    def __len__(self) -> int:
        return len(self._known)

    def __iter__(self) -> Iterator[tuple[Pid, Known]]:
        return iter(list(self._known.items()))

    def get(self, pid: Pid) -> Known | None:
        return self._known.get(pid)

    def started(self, pid: Pid, entry: str, parent: Pid | None, run_id: str | None, *, timed: bool) -> Known:
        """This node started (or reached, under its id) the workflow: a new generation of its record."""
        record = self._known.get(pid)
        if record is None:
            record = self._known[pid] = Known()
            self._trim()
        record.entry, record.parent, record.run_id = entry, parent, run_id
        record.started_at = time.time() if timed else None
        record.status = RUNNING
        record.generation += 1
        return record

    def watch(self, pid: Pid) -> Known:
        """A watch of ``pid`` begins (a record is made for a workflow the node did not know)."""
        record = self._known.get(pid)
        if record is None:
            record = self._known[pid] = Known()
            self._trim()
        record.watches += 1
        return record

    def unwatch(self, record: Known) -> None:
        record.watches = max(0, record.watches - 1)

    def end(self, pid: Pid, generation: int) -> Known | None:
        """A watch saw the run of ``generation`` end: the record, removed, if that is its current run and nobody
        saw its end before; else None."""
        record = self._known.get(pid)
        if record is None or record.generation != generation or record.status != RUNNING:
            return None
        del self._known[pid]
        return record

    def forget(self, pid: Pid) -> Known | None:
        return self._known.pop(pid, None)

    def message_counts(self) -> tuple[int, int]:
        delivered = sent = 0
        for record in self._known.values():
            delivered += record.messages_in
            sent += record.messages_out
        return delivered, sent

    def _trim(self) -> None:
        if len(self._known) <= MAX_KNOWN:
            return
        for pid, record in list(self._known.items()):
            if record.watches == 0:
                del self._known[pid]
                if len(self._known) <= MAX_KNOWN:
                    return


#: Per workflow: the processes linked to it, and those monitoring it.
Relations = dict[Pid, tuple[list[Pid], list[Pid]]]


def relations(watches: Iterable[tuple[Pid, Pid, str]], internal: Pid, only: Pid | None = None) -> Relations:
    """The host's watches ``(watcher, target, "link" | "monitor")`` by target (``only``: of that one), the node's
    name watcher ``internal`` left out."""
    out: Relations = {}
    for watcher, target, relation in list(watches):
        if (only is not None and target != only) or watcher == internal:
            continue
        links, monitors = out.setdefault(target, ([], []))
        (links if relation == "link" else monitors).append(watcher)
    return out


def describe(host: str, pid: Pid, record: Known, directory: "Directory", relations: Relations, mailbox: int,
             ui_url: str | None) -> ProcessInfo:
    """A known workflow as a listing shows it: what the node saw (``mailbox``: its posts not sent yet). What it
    monitors are the local processes it watches; its own ``trap_links`` is the workflow's, not visible here."""
    links, monitored_by = relations.get(pid, ((), ()))
    return ProcessInfo(
        pid=pid, entry=entry_name(record.entry), host=host, parent=record.parent, names=directory.names_of(pid),
        status=record.status, started_at=record.started_at, mailbox=mailbox, messages_in=record.messages_in,
        messages_out=record.messages_out, restarts=directory.restarts.get(pid), links=tuple(links),
        monitors=directory.monitors_of(pid), monitored_by=tuple(monitored_by), trap_links=False,
        durable=DurableInfo(pid.id, record.run_id, record.status, ui_url))


def ui_link(base: str, namespace: str, workflow_id: str, run_id: str | None) -> str | None:
    """The run's page in the Temporal web UI at ``base``; None without a run id."""
    if not run_id:
        return None
    return (f"{base.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}/"
            f"{quote(run_id, safe='')}/history")
