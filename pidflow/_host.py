"""The host interface: where a process runs.

The Node routes every operation by the PID's host; a host implements the operations for the processes it owns.
Two implementations: the local host (trio tasks, ``pidflow.actors``) and the Temporal host (workflows,
``pidflow.temporal_host``). Nothing outside a host's package may ask which kind of host it is: if it needs to,
this interface is missing a method.

Cross-host semantics go through three inbound *posts* that every host implements for its own processes:
``send``, ``deliver_event`` (EXIT / LINK_DOWN / CANCEL for a watcher) and ``link_exit`` (a linked process ended
abnormally: trap it or die). Posts are synchronous and never block: a host whose delivery needs I/O (a Temporal
signal) queues it, per target and in order, and retries until it lands, so that a post is never lost and a
process exit (which fans out posts) never waits on the network.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Mapping

import attrs

from ._events import Event, Message
from ._pid import Pid
from .errors import Error, ErrorKind

if TYPE_CHECKING:
    from .node import Node


def noproc(pid: Pid) -> Error:
    """The reason a monitor or link of a process that is not running gets at once (Erlang's ``noproc``)."""
    return Error(ErrorKind.NOT_FOUND, f"no such process {pid}", details={"reason": "noproc"})


def linked_failure(sender: Pid, reason: Error) -> Error:
    """The reason a process that does not trap links ends with when ``sender``, linked to it, failed."""
    return Error(reason.kind, f"linked process {sender} failed: {reason.message}", retryable=reason.retryable,
                 details={"linked": str(sender)})


@attrs.frozen(kw_only=True)
class SpawnRequest:
    """Everything needed to start a process. ``entry`` is an entry id or, for local hosts, a Python callable.

    ``watcher``/``link`` make monitoring/linking atomic with the start: the parent can never miss the EXIT of a
    child that dies at once. ``messages`` are delivered before any other message, also when ``name`` resolves
    to an already running process.
    """

    entry: Any
    input: Any = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    name: str | None = None
    messages: tuple[Message, ...] = ()
    context: Mapping[str, Any] = attrs.field(factory=dict)
    parent: Pid | None = None
    monitor: bool = False
    link: bool = False


class Host(abc.ABC):
    """A place where processes run. All methods are called on the node's trio loop."""

    id: str
    node: "Node"
    #: True when processes outlive the node (workflows): supervisors monitor them but do not link them, and
    #: leave them running when the node stops, to adopt them when it starts again.
    durable: bool = False

    @abc.abstractmethod
    async def start(self, node: "Node") -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop cleanly: local processes are terminated; durable ones keep running and their local watchers
        are told (EXIT/LINK_DOWN with kind UNAVAILABLE)."""

    @abc.abstractmethod
    def validate_options(self, options: Mapping[str, Any]) -> None:
        """Raise INVALID naming the first unknown or malformed option key."""

    @abc.abstractmethod
    async def spawn(self, request: SpawnRequest) -> Pid: ...

    @abc.abstractmethod
    def send(self, pid: Pid, message: Message) -> None:
        """Post a message (dropped silently when ``pid`` is not running, as in Erlang).

        Raises INVALID at once when the payload cannot cross to this host."""

    @abc.abstractmethod
    async def terminate(self, pid: Pid, reason: Error) -> bool:
        """End ``pid`` unconditionally; False when it was not running."""

    @abc.abstractmethod
    async def cancel(self, pid: Pid, deadline: float, sender: Pid | None) -> bool:
        """Deliver CANCEL, then terminate once ``deadline`` seconds have passed if still running."""

    async def shutdown(self, pid: Pid, timeout: float, sender: Pid | None) -> bool:
        """Stop ``pid`` as a supervisor does (OTP ``shutdown``): by default CANCEL, then terminate after
        ``timeout`` seconds. A host may end at once a process that cannot react (one that does not trap links)."""
        return await self.cancel(pid, timeout, sender)

    @abc.abstractmethod
    async def monitor(self, watcher: Pid, target: Pid) -> None:
        """``watcher`` (any host) gets EXIT when ``target`` (this host) ends; at once if it is not running."""

    @abc.abstractmethod
    async def unmonitor(self, watcher: Pid, target: Pid) -> None: ...

    @abc.abstractmethod
    async def link(self, watcher: Pid, target: Pid) -> bool:
        """Record the half-link target -> watcher; False when ``target`` is not running."""

    @abc.abstractmethod
    async def unlink(self, watcher: Pid, target: Pid) -> None: ...

    @abc.abstractmethod
    def deliver_event(self, pid: Pid, event: Event) -> None:
        """Post an event to a process of this host (its watcher side)."""

    @abc.abstractmethod
    def link_exit(self, pid: Pid, sender: Pid, reason: Error) -> None:
        """``sender``, linked to ``pid``, ended abnormally: LINK_DOWN if ``pid`` traps links, else it ends too."""

    def is_alive(self, pid: Pid) -> bool | None:
        """True/False when known cheaply, None when only an async query could tell."""
        return None
