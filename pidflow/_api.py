"""The process API: what a process (or top-level code) can do, mirroring Lua's ``process`` module.

``pidflow.process`` resolves to the calling process through a context variable (set by the host around a
process body); ``node.process`` is the same API bound to the node's root process, for top-level code. Outside
both there is no "self" to receive replies and events, so the call fails with an error saying what to use.
Errors are raised as :class:`pidflow.Error` where Lua returns ``nil, err``.

Every destination argument (``send``, ``terminate``, ``cancel``, ``monitor``, ``link`` and their undo) takes a
:class:`Pid`, a PID string (``{host|id}``) or a name registered on this node (``register``); a name nobody holds
raises NOT_FOUND, unlike a PID that is not running (a send to it is dropped quietly, as in Erlang): a name is a
lookup, and a failed lookup is the caller's mistake, not a race with the target's end.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, TypeVar

import attrs
import trio

from ._duration import parse_duration
from ._events import Event, EventKind, Message
from ._host import SpawnRequest
from ._pid import Pid
from ._mailbox import Mailbox
from ._names import check_name
from ._process import Process
from .errors import Error, ErrorKind

if TYPE_CHECKING:
    from ._host import NodePort

_current: contextvars.ContextVar["ProcessAPI"] = contextvars.ContextVar("pidflow_process")

#: The attribute :func:`acks_start` sets on a body.
ACKS_START = "_pidflow_acks_start"

_F = TypeVar("_F", bound=Callable[..., Any])


def acks_start(body: _F) -> _F:
    """Mark a process body that says itself when it has started, with ``pidflow.process.started()`` (as a
    supervisor does once its children run); a spawner that waits for the start (``start_supervisor``, a
    supervisor starting its children) waits for that call, or for the process's end."""
    setattr(body, ACKS_START, True)
    return body


def current() -> "ProcessAPI":
    try:
        return _current.get()
    except LookupError:
        raise Error(
            ErrorKind.INVALID,
            "pidflow.process is only available inside a process body; top-level code uses node.process",
        ) from None


@attrs.frozen
class Spawner:
    """An immutable spawn configuration; every ``with_*`` returns a new one, so a spawner can be shared."""

    api: "ProcessAPI"
    options: Mapping[str, Any] = attrs.field(factory=dict)
    name: str | None = None
    messages: tuple[Message, ...] = ()
    context: Mapping[str, Any] = attrs.field(factory=dict)

    def with_options(self, options: Mapping[str, Any]) -> "Spawner":
        if not isinstance(options, Mapping):
            raise Error(ErrorKind.INVALID, f"with_options takes a table of options, got {type(options).__name__}")
        return attrs.evolve(self, options={**self.options, **options})

    def with_name(self, name: str) -> "Spawner":
        """Spawn-or-reach: the spawn registers ``name`` for the new process on this node; while a process holds
        the name, a spawn returns that holder instead (monitored or linked as asked) and gives it the start
        messages. For a workflow the name is also its workflow id (see ``docs/hosts.md``)."""
        return attrs.evolve(self, name=check_name(name, "with_name"))

    def with_message(self, topic: str, data: Any = None) -> "Spawner":
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, "with_message takes a non-empty topic")
        return attrs.evolve(self, messages=(*self.messages, Message(topic, data, self.api.pid())))

    def with_context(self, values: Mapping[str, Any]) -> "Spawner":
        if not isinstance(values, Mapping):
            raise Error(ErrorKind.INVALID, f"with_context takes a table, got {type(values).__name__}")
        return attrs.evolve(self, context={**self.context, **values})

    def request(self, entry: Any, input: Any, *, monitor: bool = False, link: bool = False) -> SpawnRequest:
        """The spawn request this spawner makes (the caller's context merged under its own)."""
        context = {**self.api.context, **self.context}
        return SpawnRequest(entry=entry, input=input, options=dict(self.options), name=self.name,
                            messages=self.messages, context=context, parent=self.api.pid(),
                            monitor=monitor, link=link)

    async def spawn(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        """Start ``entry`` on ``host`` (default: the node's default local host) and return its PID."""
        return await self.api.node.spawn(self.request(entry, input), host)

    async def spawn_monitored(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        """Start and monitor atomically: the caller gets EXIT even if the child ends at once."""
        return await self.api.node.spawn(self.request(entry, input, monitor=True), host)

    async def spawn_linked(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        """Start and link atomically."""
        return await self.api.node.spawn(self.request(entry, input, link=True), host)

    async def exec(self, entry: Any, host: str | None = None, input: Any = None) -> Any:
        """Run to the end and return its value; its error is raised. Other events stay queued for the caller."""
        return await self.api.node.exec(self.request(entry, input, monitor=True), host)


class ProcessAPI:
    """The calling process's view of the world. Obtain it as ``pidflow.process`` or ``node.process``."""

    __slots__ = ("node", "_proc")

    def __init__(self, node: "NodePort", proc: Process) -> None:
        self.node = node
        self._proc = proc

    # -- self ---------------------------------------------------------------------------------------------------
    def pid(self) -> Pid:
        return self._proc.pid

    @property
    def context(self) -> Mapping[str, Any]:
        return self._proc.context

    def inbox(self) -> Mailbox[Message]:
        """Every message no ``listen`` claimed, in arrival order (per sender: in send order)."""
        return self._proc.inbox

    def listen(self, topic: str, message: bool = False) -> Mailbox[Any]:
        """Claim ``topic``: its messages (already queued ones included) go here, never to the inbox.
        Yields payload data, or whole :class:`Message` objects with ``message=True``."""
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, "listen takes a non-empty topic")
        if isinstance(message, Mapping):  # Lua-style options table {message=true}
            message = bool(message.get("message", False))
        return self._proc.listen(topic, bool(message))

    def unlisten(self, topic: str) -> bool:
        """Release a topic claimed with :meth:`listen`: its later messages go to the inbox again, and the
        listener's mailbox is closed (what it holds can still be received). False when nothing listened."""
        return self._proc.unlisten(topic)

    def events(self) -> Mailbox[Event]:
        """EXIT, LINK_DOWN and CANCEL events, in order."""
        return self._proc.events

    def started(self) -> None:
        """Tell a spawner waiting for this process's start that it has started (bodies marked
        :func:`acks_start`); a no-op when nobody waits or it was said already."""
        if self._proc.started is not None:
            self._proc.started.set()

    def set_options(self, options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        for key, value in {**(options or {}), **kwargs}.items():
            if key != "trap_links":
                raise Error(ErrorKind.INVALID, f"unknown process option {key!r} (known: trap_links)")
            if not isinstance(value, bool):
                raise Error(ErrorKind.INVALID, f"option 'trap_links' must be a boolean, got {type(value).__name__}")
            self._proc.trap_links = value

    def get_options(self) -> dict[str, Any]:
        """The options :meth:`set_options` sets: ``{"trap_links": bool}``."""
        return {"trap_links": self._proc.trap_links}

    # -- builders -----------------------------------------------------------------------------------------------
    def _spawner(self) -> Spawner:
        return Spawner(self)

    def with_options(self, options: Mapping[str, Any]) -> Spawner:
        return self._spawner().with_options(options)

    def with_name(self, name: str) -> Spawner:
        return self._spawner().with_name(name)

    def with_message(self, topic: str, data: Any = None) -> Spawner:
        return self._spawner().with_message(topic, data)

    def with_context(self, values: Mapping[str, Any]) -> Spawner:
        return self._spawner().with_context(values)

    async def spawn(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        # The hot path: no builder, no copies (SpawnRequest is frozen and the context is shared read-only).
        request = SpawnRequest(entry=entry, input=input, context=self._proc.context, parent=self._proc.pid)
        return await self.node.spawn(request, host)

    async def spawn_monitored(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        return await self._spawner().spawn_monitored(entry, host, input)

    async def spawn_linked(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        return await self._spawner().spawn_linked(entry, host, input)

    async def exec(self, entry: Any, host: str | None = None, input: Any = None) -> Any:
        return await self._spawner().exec(entry, host, input)

    # -- names --------------------------------------------------------------------------------------------------
    async def register(self, name: str, pid: Pid | str | None = None) -> None:
        """Register ``name`` on this node for ``pid`` (default: the caller) until it is unregistered or ``pid``
        ends. ALREADY_EXISTS when another PID holds it (the same PID again is fine; a PID may hold several
        names), NOT_FOUND when ``pid`` is a local process that is not running, INVALID for a bad name (empty,
        not a string, starting with ``{``, over 1000 characters)."""
        target = self._proc.pid if pid is None else Pid.parse(pid)
        await self.node.register_name(check_name(name), target)

    def lookup(self, name: str) -> Pid:
        """The PID registered as ``name``; NOT_FOUND when nobody holds it."""
        return self.node.names.lookup(name)

    def whereis(self, name: str) -> Pid | None:
        """The PID registered as ``name``, or None (Erlang's ``whereis``)."""
        return self.node.names.whereis(name)

    async def unregister(self, name: str) -> bool:
        """Release ``name`` (whoever holds it); False when nobody did."""
        return await self.node.unregister_name(check_name(name))

    def _dest(self, dest: Pid | str) -> Pid:
        return dest if isinstance(dest, Pid) else self.node.names.resolve(dest)

    # -- messaging ----------------------------------------------------------------------------------------------
    async def send(self, pid: Pid | str, topic: str, data: Any = None) -> None:
        """Fire-and-forget. Per-sender FIFO; dropped silently if ``pid`` is not running (Erlang semantics);
        NOT_FOUND if ``pid`` is a name nobody holds; INVALID at once if the payload cannot be encoded for a
        target on another host."""
        await trio.lowlevel.checkpoint_if_cancelled()
        self.send_nowait(pid, topic, data)
        await trio.lowlevel.cancel_shielded_checkpoint()

    def send_nowait(self, pid: Pid | str, topic: str, data: Any = None) -> None:
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, "send takes a non-empty topic")
        if not isinstance(pid, Pid):
            pid = self.node.names.resolve(pid)
        self.node.send(pid, Message(topic, data, self._proc.pid))

    # -- relations ----------------------------------------------------------------------------------------------
    async def monitor(self, pid: Pid | str) -> None:
        """EXIT arrives when ``pid`` ends; at once (NOT_FOUND, "noproc") if it is not running."""
        await self.node.monitor(self._proc.pid, self._dest(pid))

    async def unmonitor(self, pid: Pid | str) -> None:
        await self.node.unmonitor(self._proc.pid, self._dest(pid))

    async def link(self, pid: Pid | str) -> None:
        """Bidirectional. Linking to a process that is not running raises NOT_FOUND, or gives LINK_DOWN at
        once when trapping links (Erlang's noproc)."""
        await self.node.link(self._proc, self._dest(pid))

    async def unlink(self, pid: Pid | str) -> None:
        await self.node.unlink(self._proc.pid, self._dest(pid))

    async def terminate(self, pid: Pid | str) -> bool:
        """End ``pid`` unconditionally (trapping links does not protect it). False if it was not running."""
        pid = self._dest(pid)
        return await self.node.terminate(pid, Error(ErrorKind.TERMINATED, f"terminated by {self._proc.pid}"))

    async def cancel(self, pid: Pid | str, deadline: Any = 5.0) -> bool:
        """Deliver CANCEL {deadline}; terminate when ``deadline`` (seconds or "5s") passes if still running."""
        seconds = parse_duration(deadline, number_unit=1.0, what="cancel deadline")
        return await self.node.cancel(self._dest(pid), seconds, self._proc.pid)


class _CurrentProcess:
    """``pidflow.process``: forwards to the calling process's :class:`ProcessAPI`."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(current(), name)

    def __repr__(self) -> str:
        return "<pidflow.process: the calling process>"


process = _CurrentProcess()


_call_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("pidflow_call_context")


@contextlib.contextmanager
def call_context(values: Mapping[str, Any] | None) -> Iterator[None]:
    """The context a function entry runs with (an activity has no calling process to read it from)."""
    token = _call_context.set(values or {})
    try:
        yield
    finally:
        _call_context.reset(token)


def current_context() -> Mapping[str, Any]:
    """The context of the running function call, else of the calling process, else empty."""
    values = _call_context.get(None)
    if values is not None:
        return values
    api = _current.get(None)
    return api.context if api is not None else {}


class _Ctx:
    """``pidflow.ctx``: the context values given with ``with_context`` to this process or an ancestor (or to
    the workflow whose activity is running)."""

    __slots__ = ()

    def get(self, key: str, default: Any = None) -> Any:
        return current_context().get(key, default)

    def all(self) -> dict[str, Any]:
        return dict(current_context())


ctx = _Ctx()
