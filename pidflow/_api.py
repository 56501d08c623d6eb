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
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Iterator, Mapping, TypeVar

import attrs
import trio

from . import _call, _groups, codec
from ._duration import parse_duration
from ._events import REPLY_PREFIX, Event, EventKind, Message
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
    async def register(self, name: str, pid: Pid | str | None = None, *, scope: str = "node") -> None:
        """Register ``name`` on this node for ``pid`` (default: the caller) until it is unregistered or ``pid``
        ends. ALREADY_EXISTS when another PID holds it (the same PID again is fine; a PID may hold several
        names), NOT_FOUND when ``pid`` is a local process that is not running, INVALID for a bad name (empty,
        not a string, starting with ``{``, over 1000 characters). ``scope="cluster"``: unique across every node
        of the cluster, reachable by name from all of them (docs/cluster.md); UNAVAILABLE in no cluster."""
        target = self._proc.pid if pid is None else Pid.parse(pid)
        await self.node.register_name(check_name(name), target, scope)

    def lookup(self, name: str) -> Pid:
        """The PID registered as ``name``; NOT_FOUND when nobody holds it."""
        return self.node.names.lookup(name)

    def whereis(self, name: str) -> Pid | None:
        """The PID registered as ``name``, or None (Erlang's ``whereis``)."""
        return self.node.names.whereis(name)

    async def unregister(self, name: str, *, scope: str = "node") -> bool:
        """Release ``name`` (whoever holds it); False when nobody did."""
        return await self.node.unregister_name(check_name(name), scope)

    async def whereis_global(self, name: str) -> Pid | None:
        """The PID registered as ``name`` on this node, else in the cluster (a round trip to Temporal), else None
        (Erlang's ``global:whereis_name``). Every call that takes a destination resolves a name this way."""
        return await self.node.whereis_name(check_name(name))

    def _dest(self, dest: Pid | str) -> Pid:
        return dest if isinstance(dest, Pid) else self.node.names.resolve(dest)

    async def _resolve(self, dest: Pid | str) -> Pid:
        """:meth:`_dest`, where a name nobody on this node holds is looked up among the cluster's names."""
        if isinstance(dest, Pid):
            return dest
        try:
            return self.node.names.resolve(dest)
        except Error as exc:
            if exc.kind is not ErrorKind.NOT_FOUND:
                raise
            holder = await self.node.whereis_name(dest)
            if holder is None:
                raise
            return holder

    # -- messaging ----------------------------------------------------------------------------------------------
    async def send(self, pid: Pid | str, topic: str, data: Any = None) -> None:
        """Fire-and-forget. Per-sender FIFO; dropped silently if ``pid`` is not running (Erlang semantics);
        NOT_FOUND if ``pid`` is a name nobody holds; INVALID at once if the payload cannot be encoded for a
        target on another host."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if not isinstance(pid, Pid) and isinstance(pid, str) and pid[:1] != "{":  # a name: resolved here, once
            holder = self.node.names.whereis(pid)
            pid = holder if holder is not None else await self._resolve(pid)  # (then a cluster name)
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
        await self.node.monitor(self._proc.pid, await self._resolve(pid))

    async def unmonitor(self, pid: Pid | str) -> None:
        await self.node.unmonitor(self._proc.pid, await self._resolve(pid))

    async def monitor_node(self, node: str) -> None:
        """Erlang's ``monitor_node``: an Event NODEDOWN (``event.node``; ``event.reason`` UNAVAILABLE,
        noconnection) arrives when node ``node`` of the cluster goes down, at once when it is down or unknown;
        NODEUP when it is back; until :meth:`demonitor_node`. INVALID for a malformed node name."""
        await self.node.monitor_node(self._proc.pid, node)

    async def demonitor_node(self, node: str) -> bool:
        """Stop :meth:`monitor_node`; False when this process did not monitor ``node``."""
        return await self.node.demonitor_node(self._proc.pid, node)

    async def link(self, pid: Pid | str) -> None:
        """Bidirectional. Linking to a process that is not running raises NOT_FOUND, or gives LINK_DOWN at
        once when trapping links (Erlang's noproc)."""
        await self.node.link(self._proc, await self._resolve(pid))

    async def unlink(self, pid: Pid | str) -> None:
        await self.node.unlink(self._proc.pid, await self._resolve(pid))

    async def terminate(self, pid: Pid | str) -> bool:
        """End ``pid`` unconditionally (trapping links does not protect it). False if it was not running."""
        pid = await self._resolve(pid)
        return await self.node.terminate(pid, Error(ErrorKind.TERMINATED, f"terminated by {self._proc.pid}"))

    async def cancel(self, pid: Pid | str, deadline: Any = 5.0) -> bool:
        """Deliver CANCEL {deadline}; terminate when ``deadline`` (seconds or "5s") passes if still running."""
        seconds = parse_duration(deadline, number_unit=1.0, what="cancel deadline")
        return await self.node.cancel(await self._resolve(pid), seconds, self._proc.pid)

    # -- call and reply (OTP's gen_server:call) -------------------------------------------------------------------
    async def call(self, dest: Pid | str, topic: str, payload: Any = None, *, timeout: Any = 5.0) -> Any:
        """Send ``payload`` under ``topic`` to ``dest`` (a PID or a registered name) and wait for its answer: the
        value the callee gives :meth:`reply`, or the error it replies with, raised.

        The request is a :class:`Message` whose ``ref`` is a new reference; the callee replies with
        ``process.reply(message, value)``. The reference makes every answer this call's own: a reply that comes
        after the call ended (its timeout passed) is dropped, never taken as the answer to a later call nor left
        in the inbox. ``dest`` is monitored during the call, as OTP does (the monitor is the call's own: it neither
        needs nor disturbs this process's monitors, and its EXIT never reaches :meth:`events`), so a dead target
        answers at once: NOT_FOUND (``details["reason"]`` ``"noproc"``) when it is not running, and when it ends
        before it replied, its error (or NOT_FOUND, reason ``"exit"``, after a normal end). No answer within
        ``timeout`` (seconds, or a duration string like ``"500ms"``; None waits forever) raises TIMEOUT.

        INVALID, naming the argument (``details["argument"]``): a ``dest`` that is neither a PID nor a name, a
        ``topic`` that is empty or reserved (``@...``), a negative or malformed ``timeout``, a call to this
        process itself, and a ``payload`` that cannot cross to a target on another host."""
        if type(timeout) is float and 0 <= timeout < 1e12:  # the common case, the default 5.0, first
            seconds: float | None = timeout
        else:
            seconds = _call.call_timeout(timeout)
        if type(topic) is not str or not topic or topic[0] == "@":
            topic = _call.call_topic(topic)
        target = dest if type(dest) is Pid else self._call_dest(dest)
        proc = self._proc
        if target == proc.pid:
            raise Error(ErrorKind.INVALID, "can't call self: nobody would reply", details={"argument": "dest"})
        node = self.node
        calls: _call.NodeCalls = node.resources.get(_call.RESOURCE) or await _call.node_calls(node)
        host = node.route(target)
        key, ref = _call.new_ref()
        reply_topic = REPLY_PREFIX + ref
        answers = proc.claim_reply(reply_topic)
        waiting, first = calls.enter(target, answers)
        tick = 0
        try:
            if first:  # the node monitors the target of a call (see pidflow._call)
                await host.monitor(calls.watcher, target)
            try:
                node.send(target, Message(topic, payload, proc.pid, ref))
            except Error as exc:
                if exc.kind is ErrorKind.INVALID:
                    raise Error(ErrorKind.INVALID, f"call: payload {exc.message}", retryable=False,
                                details={"argument": "payload"}) from None
                raise
            if seconds is not None:
                tick = calls.timers.add(seconds, key, answers)
            answer = await answers.receive()
        finally:
            if tick:
                calls.timers.discard(tick, key)
            proc.release_reply(reply_topic)
            unwatch = calls.exit(target, waiting, answers, host)
            if unwatch is not None:
                # (not shielded: a host's unmonitor does not wait, and a monitor left behind only sends an EXIT
                # that no call waits for, which NodeCalls drops)
                await (host if unwatch is target else node.route(unwatch)).unmonitor(calls.watcher, unwatch)
        if type(answer) is list and answer[1] is None:  # a reply's value (see call_answer)
            return answer[0]
        return _call.call_answer(answer, target, seconds, topic)

    async def reply(self, message: Message, value: Any = None, *, error: Error | None = None) -> None:
        """Answer a :meth:`call`: ``message`` is the request as received (from :meth:`inbox`, or a listener made
        with ``message=True``: a payload-only listener drops the reference), and the caller's ``call`` returns
        ``value``, or raises ``error`` when one is given. Never blocks, and is quiet when the caller is gone (or
        its call ended): the reply is dropped, as OTP's ``gen_server:reply``. INVALID when ``message`` is not a
        request (a message that was sent, not called: ``message.ref`` is None), when ``error`` is not a
        :class:`pidflow.Error`, and when ``value`` cannot cross to a caller on another host."""
        await trio.lowlevel.checkpoint_if_cancelled()
        self.reply_nowait(message, value, error=error)
        await trio.lowlevel.cancel_shielded_checkpoint()

    def reply_nowait(self, message: Message, value: Any = None, *, error: Error | None = None) -> None:
        """:meth:`reply` without the checkpoints (it never blocks)."""
        if not isinstance(message, Message):
            raise Error(ErrorKind.INVALID, f"reply takes the request message, got {type(message).__name__}",
                        details={"argument": "message"})
        if message.ref is None or message.sender is None:
            raise Error(ErrorKind.INVALID, f"reply: message {message.topic!r} is not a call (it was sent, not "
                                           "called: it has no reference to answer)", details={"argument": "message"})
        if error is not None and not isinstance(error, Error):
            raise Error(ErrorKind.INVALID, f"reply: error must be a pidflow.Error, got {type(error).__name__}",
                        details={"argument": "error"})
        answer = Message(REPLY_PREFIX + message.ref, [value, error], self._proc.pid, message.ref)
        try:
            self.node.send(message.sender, answer)
        except Error as exc:
            if exc.kind is ErrorKind.INVALID:
                raise Error(ErrorKind.INVALID, f"reply: value {exc.message}", retryable=False,
                            details={"argument": "value"}) from None
            raise

    def _call_dest(self, dest: Pid | str) -> Pid:
        if isinstance(dest, Pid):
            return dest
        if not isinstance(dest, str) or not dest:
            raise Error(ErrorKind.INVALID, f"call: dest must be a pid or a registered name, got {dest!r}"[:200],
                        details={"argument": "dest"})
        try:
            return self.node.names.resolve(dest, "dest")
        except Error as exc:
            if exc.kind is ErrorKind.INVALID:
                raise Error(ErrorKind.INVALID, f"call: dest {exc.message}", details={"argument": "dest"}) from None
            raise

    # -- process groups (OTP's pg; see pidflow._groups) -----------------------------------------------------------
    async def join(self, group: str, pid: Pid | str | None = None, *, scope: str | None = None) -> None:
        """``pid`` (default: the caller) joins ``group`` until it leaves or ends (joining again is a second
        membership: leave as many times). ``scope``: the group's scope (default: the node's default scope; Lua's
        ``pg.open(id)`` opens the scope ``id``). INVALID for a malformed group or scope name, NOT_FOUND for a local
        PID that is not running."""
        target = self._proc.pid if pid is None else Pid.parse(pid)
        await _groups.join(self.node, _groups.check_scope(scope), _groups.check_group(group), target)

    async def leave(self, group: str, pid: Pid | str | None = None, *, scope: str | None = None) -> bool:
        """Undo one :meth:`join` of ``pid`` (default: the caller); False when it was not in ``group``."""
        target = self._proc.pid if pid is None else Pid.parse(pid)
        return await _groups.leave(self.node, _groups.check_scope(scope), _groups.check_group(group), target)

    def get_members(self, group: str, *, scope: str | None = None) -> list[Pid]:
        """The members of ``group``, once per join, in join order; empty for a group nobody is in."""
        return _groups.registry(self.node).members(_groups.check_scope(scope), _groups.check_group(group))

    def which_groups(self, *, scope: str | None = None) -> list[str]:
        """The groups of ``scope`` that have a member."""
        return _groups.registry(self.node).which_groups(_groups.check_scope(scope))

    async def broadcast(self, group: str, topic: str, data: Any = None, *, scope: str | None = None) -> int:
        """Send ``data`` under ``topic`` to every member of ``group`` (each member process once, however often it
        joined), as :meth:`send` does; the number of members it was sent to. INVALID for a malformed group,
        scope or topic, and, before anything is sent, for ``data`` that cannot cross to a member on another host."""
        await trio.lowlevel.checkpoint_if_cancelled()
        members = self.get_members(group, scope=scope)
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, "broadcast takes a non-empty topic", details={"argument": "topic"})
        node, sender = self.node, self._proc.pid
        targets = list(dict.fromkeys(members))
        if any(pid.node != node.name for pid in targets):   # a member elsewhere: the payload must cross
            try:
                codec.encode(data, what="broadcast data")
            except Error as exc:
                raise Error(ErrorKind.INVALID, exc.message, retryable=False, details={"argument": "data"}) from None
        for pid in targets:
            node.send(pid, Message(topic, data, sender))
        await trio.lowlevel.cancel_shielded_checkpoint()
        return len(targets)


class _CurrentProcess:
    """``pidflow.process``: the calling process's :class:`ProcessAPI`, resolved at each call.

    Every member is spelled out (no ``__getattr__``), so a type checker and an IDE know the API and flag a typo
    such as ``process.sned``; tests/test_typing.py checks that it mirrors :class:`ProcessAPI` member for member.
    The coroutine methods hand back the API's own coroutine instead of awaiting it in a frame of their own: same
    awaitable, one frame less on the messaging hot path.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<pidflow.process: the calling process>"

    # -- self ---------------------------------------------------------------------------------------------------
    @property
    def node(self) -> "NodePort":
        """The node the calling process runs on."""
        return current().node

    def pid(self) -> Pid:
        """The calling process's PID."""
        return current().pid()

    @property
    def context(self) -> Mapping[str, Any]:
        """The context values given to the calling process (see :meth:`ProcessAPI.with_context`)."""
        return current().context

    def inbox(self) -> Mailbox[Message]:
        """See :meth:`ProcessAPI.inbox`."""
        return current().inbox()

    def listen(self, topic: str, message: bool = False) -> Mailbox[Any]:
        """See :meth:`ProcessAPI.listen`."""
        return current().listen(topic, message)

    def unlisten(self, topic: str) -> bool:
        """See :meth:`ProcessAPI.unlisten`."""
        return current().unlisten(topic)

    def events(self) -> Mailbox[Event]:
        """See :meth:`ProcessAPI.events`."""
        return current().events()

    def started(self) -> None:
        """See :meth:`ProcessAPI.started`."""
        current().started()

    def set_options(self, options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """See :meth:`ProcessAPI.set_options`."""
        current().set_options(options, **kwargs)

    def get_options(self) -> dict[str, Any]:
        """See :meth:`ProcessAPI.get_options`."""
        return current().get_options()

    # -- builders -----------------------------------------------------------------------------------------------
    def with_options(self, options: Mapping[str, Any]) -> Spawner:
        """See :meth:`Spawner.with_options`."""
        return current().with_options(options)

    def with_name(self, name: str) -> Spawner:
        """See :meth:`Spawner.with_name`."""
        return current().with_name(name)

    def with_message(self, topic: str, data: Any = None) -> Spawner:
        """See :meth:`Spawner.with_message`."""
        return current().with_message(topic, data)

    def with_context(self, values: Mapping[str, Any]) -> Spawner:
        """See :meth:`Spawner.with_context`."""
        return current().with_context(values)

    def spawn(self, entry: Any, host: str | None = None, input: Any = None) -> Coroutine[Any, Any, Pid]:
        """See :meth:`ProcessAPI.spawn`."""
        return current().spawn(entry, host, input)

    def spawn_monitored(self, entry: Any, host: str | None = None, input: Any = None) -> Coroutine[Any, Any, Pid]:
        """See :meth:`ProcessAPI.spawn_monitored`."""
        return current().spawn_monitored(entry, host, input)

    def spawn_linked(self, entry: Any, host: str | None = None, input: Any = None) -> Coroutine[Any, Any, Pid]:
        """See :meth:`ProcessAPI.spawn_linked`."""
        return current().spawn_linked(entry, host, input)

    def exec(self, entry: Any, host: str | None = None, input: Any = None) -> Coroutine[Any, Any, Any]:
        """See :meth:`ProcessAPI.exec`."""
        return current().exec(entry, host, input)

    # -- names --------------------------------------------------------------------------------------------------
    def register(self, name: str, pid: Pid | str | None = None, *, scope: str = "node") -> Coroutine[Any, Any, None]:
        """See :meth:`ProcessAPI.register`."""
        return current().register(name, pid, scope=scope)

    def lookup(self, name: str) -> Pid:
        """See :meth:`ProcessAPI.lookup`."""
        return current().lookup(name)

    def whereis(self, name: str) -> Pid | None:
        """See :meth:`ProcessAPI.whereis`."""
        return current().whereis(name)

    def unregister(self, name: str, *, scope: str = "node") -> Coroutine[Any, Any, bool]:
        """See :meth:`ProcessAPI.unregister`."""
        return current().unregister(name, scope=scope)

    def whereis_global(self, name: str) -> Coroutine[Any, Any, Pid | None]:
        """See :meth:`ProcessAPI.whereis_global`."""
        return current().whereis_global(name)

    # -- messaging ----------------------------------------------------------------------------------------------
    def send(self, pid: Pid | str, topic: str, data: Any = None) -> Coroutine[Any, Any, None]:
        """See :meth:`ProcessAPI.send`."""
        return current().send(pid, topic, data)

    def send_nowait(self, pid: Pid | str, topic: str, data: Any = None) -> None:
        """See :meth:`ProcessAPI.send_nowait`."""
        current().send_nowait(pid, topic, data)

    # -- relations ----------------------------------------------------------------------------------------------
    def monitor(self, pid: Pid | str) -> Coroutine[Any, Any, None]:
        """See :meth:`ProcessAPI.monitor`."""
        return current().monitor(pid)

    def unmonitor(self, pid: Pid | str) -> Coroutine[Any, Any, None]:
        """See :meth:`ProcessAPI.unmonitor`."""
        return current().unmonitor(pid)

    def monitor_node(self, node: str) -> Coroutine[Any, Any, None]:
        """See :meth:`ProcessAPI.monitor_node`."""
        return current().monitor_node(node)

    def demonitor_node(self, node: str) -> Coroutine[Any, Any, bool]:
        """See :meth:`ProcessAPI.demonitor_node`."""
        return current().demonitor_node(node)

    def link(self, pid: Pid | str) -> Coroutine[Any, Any, None]:
        """See :meth:`ProcessAPI.link`."""
        return current().link(pid)

    def unlink(self, pid: Pid | str) -> Coroutine[Any, Any, None]:
        """See :meth:`ProcessAPI.unlink`."""
        return current().unlink(pid)

    def terminate(self, pid: Pid | str) -> Coroutine[Any, Any, bool]:
        """See :meth:`ProcessAPI.terminate`."""
        return current().terminate(pid)

    def cancel(self, pid: Pid | str, deadline: Any = 5.0) -> Coroutine[Any, Any, bool]:
        """See :meth:`ProcessAPI.cancel`."""
        return current().cancel(pid, deadline)

    # -- call and reply -------------------------------------------------------------------------------------------
    def call(self, dest: Pid | str, topic: str, payload: Any = None, *,
             timeout: Any = 5.0) -> Coroutine[Any, Any, Any]:
        """See :meth:`ProcessAPI.call`."""
        return current().call(dest, topic, payload, timeout=timeout)

    def reply(self, message: Message, value: Any = None, *, error: Error | None = None) -> Coroutine[Any, Any, None]:
        """See :meth:`ProcessAPI.reply`."""
        return current().reply(message, value, error=error)

    def reply_nowait(self, message: Message, value: Any = None, *, error: Error | None = None) -> None:
        """See :meth:`ProcessAPI.reply_nowait`."""
        current().reply_nowait(message, value, error=error)

    # -- process groups -------------------------------------------------------------------------------------------
    def join(self, group: str, pid: Pid | str | None = None, *, scope: str | None = None) -> Coroutine[Any, Any, None]:
        """See :meth:`ProcessAPI.join`."""
        return current().join(group, pid, scope=scope)

    def leave(self, group: str, pid: Pid | str | None = None, *, scope: str | None = None) -> Coroutine[Any, Any, bool]:
        """See :meth:`ProcessAPI.leave`."""
        return current().leave(group, pid, scope=scope)

    def get_members(self, group: str, *, scope: str | None = None) -> list[Pid]:
        """See :meth:`ProcessAPI.get_members`."""
        return current().get_members(group, scope=scope)

    def which_groups(self, *, scope: str | None = None) -> list[str]:
        """See :meth:`ProcessAPI.which_groups`."""
        return current().which_groups(scope=scope)

    def broadcast(self, group: str, topic: str, data: Any = None, *,
                  scope: str | None = None) -> Coroutine[Any, Any, int]:
        """See :meth:`ProcessAPI.broadcast`."""
        return current().broadcast(group, topic, data, scope=scope)


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
