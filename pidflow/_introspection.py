"""What an observer can see of a node's processes: plain records, no runtime imports (core layer).

The node answers with these records (``Node.processes``, ``Node.process_info``, ``Node.tree``) and publishes
:class:`ObserverEvent`s (``Node.observe``); the observer's JSON API, web page, terminal commands and metrics all
read the same records, so they never disagree. Every record has ``to_json()``: the one wire form (PIDs as
strings, times as unix seconds), which the JSON API serves as is.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._pid import Pid

#: Process statuses: running (its task is executing or ready), waiting (parked on a receive/sleep), exiting
#: (ending: its EXIT is being fanned out), and for durable processes also the Temporal status in lower case
#: ("completed", "failed", "terminated", "canceled", "timed_out", "continued_as_new").
STATUSES = ("running", "waiting", "exiting")


def _pids(pids: Any) -> list[str]:
    return sorted(str(p) for p in pids)


@attrs.frozen
class DurableInfo:
    """The Temporal side of a durable process (a workflow)."""

    workflow_id: str
    run_id: str | None
    status: str
    #: The Temporal web UI page of the run, when the node knows the UI's address (embedded or ``pidflow dev``).
    ui_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class ProcessInfo:
    """One process as an observer sees it (``docs/observer.md``, Python API, says where each field comes from).

    Counters (``messages_in``/``messages_out``, ``started_at``) are kept while the node's bookkeeping is on. For a
    durable process the node tells what it saw: ``mailbox`` is its messages not yet signalled, ``messages_in``
    those this node posted to it, ``messages_out`` those from it this node delivered."""

    pid: Pid
    #: An entry id, or ``module.qualname`` for a Python callable spawned directly.
    entry: str | None
    host: str
    parent: Pid | None
    #: Its registered names on this node.
    names: tuple[str, ...]
    status: str
    #: Unix seconds (None when bookkeeping was off at its spawn).
    started_at: float | None
    #: Messages waiting to be received (inbox and topic listeners).
    mailbox: int
    messages_in: int
    messages_out: int
    #: For a supervisor's (or a service's) child: how many times it was started again; else None.
    restarts: int | None
    links: tuple[Pid, ...]
    #: Processes this one monitors, and processes that monitor it.
    monitors: tuple[Pid, ...]
    monitored_by: tuple[Pid, ...]
    trap_links: bool
    #: A waiting Lua process: the Lua ``file:line`` it waits at. Filled by ``Node.process_info`` only (a listing
    #: does not ask the Lua state).
    lua_where: str | None = None
    durable: DurableInfo | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": str(self.pid), "entry": self.entry, "host": self.host,
            "parent": None if self.parent is None else str(self.parent), "names": list(self.names),
            "status": self.status, "started_at": self.started_at, "mailbox": self.mailbox,
            "messages_in": self.messages_in, "messages_out": self.messages_out, "restarts": self.restarts,
            "links": _pids(self.links), "monitors": _pids(self.monitors), "monitored_by": _pids(self.monitored_by),
            "trap_links": self.trap_links, "lua_where": self.lua_where,
            "durable": None if self.durable is None else self.durable.to_json(),
        }


@attrs.frozen
class ChildInfo:
    """One child as its supervisor (or a service's keeper) sees it: what ``Node.tree`` and ``restarts`` read.

    A supervisor registers a function returning these with the node's bookkeeper while it runs
    (``Bookkeeper.add_parent``), so the node can draw trees without knowing what a supervisor is."""

    child_id: str
    #: None while the child does not run (stopped, or being restarted).
    pid: Pid | None
    #: How many times the supervisor started it again after its first start.
    restarts: int = 0
    #: The child's entry (an entry id, or a Python callable's ``module.name``).
    entry: str | None = None


@attrs.frozen
class TreeNode:
    """A supervisor (or any process) and its children in start order; durable children included."""

    pid: Pid
    entry: str | None
    #: The child id in the supervisor's spec (None for a root).
    child_id: str | None
    status: str
    host: str
    restarts: int | None
    children: tuple["TreeNode", ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"pid": str(self.pid), "entry": self.entry, "child_id": self.child_id, "status": self.status,
                "host": self.host, "restarts": self.restarts, "children": [c.to_json() for c in self.children]}


#: Observer event kinds.
SPAWN, EXIT, RESTART, CRASH = "spawn", "exit", "restart", "crash"


@attrs.frozen
class ObserverEvent:
    """Something that happened to a process: spawn, exit (with its reason), restart (by a supervisor), crash
    (a crash report: an abnormal end with the error and, for Python, the traceback)."""

    kind: str
    pid: Pid
    entry: str | None
    #: Unix seconds.
    at: float
    #: spawn: ``{"parent", "host"}``; exit: ``{"error": Error.to_dict() or None for a normal end, "kind":
    #: "normal" or the error's kind}``; crash: ``{"error": Error.to_dict()}`` (its ``details.traceback`` for a
    #: Python or Lua crash); restart: ``{"supervisor_pid", "child_id", "old_pid", "new_pid", "restarts"}`` (``pid``
    #: is the old PID; a durable child restarts under its workflow id, so old and new are the same PID).
    #: PIDs are strings here.
    details: dict[str, Any] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "pid": str(self.pid), "entry": self.entry, "at": self.at, "details": self.details}
