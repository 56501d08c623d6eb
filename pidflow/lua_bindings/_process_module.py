"""The ``process`` Lua module: one Lua face over a :class:`ProcessPort`, whichever host runs the process.

The port is what differs between a local Lua process (:mod:`._local`, over the Python process API) and a Lua
workflow (``pidflow.temporal_host``, over deterministic Temporal calls); the Lua API, its builder and its
``value, err`` conventions are written once, here (the Lua halves in :mod:`._process_lua`).

PIDs are strings in Lua (``{host|id}``, ``{host@node|id}``): ``process.pid()``, ``msg:from()``, an event's
``from`` and what ``spawn*`` returns. Every call that takes a destination (``send``, ``terminate``, ``cancel``,
``monitor``, ``unmonitor``, ``link``, ``unlink``) takes a PID string or a registered name (any other string,
resolved through :meth:`ProcessPort.resolve_name`). ``send`` to a PID string never blocks; a name may take a
round trip to resolve, so a send to a name takes the blocking path.

Memory: every process has its own copy of the module, so it is built piecemeal: each member of ``process`` (a
Lua closure over the process's Python dispatcher, see ``LuaProcess._function``) is made on first access, the
spawner builder (``with_*``, ``spawn*``, ``exec``: most of the module's Lua code) is loaded on first access to
one of its members, and the message metatables with the first message received. An idle process that only
called ``process.inbox()`` pays for ``inbox`` alone.
"""

from __future__ import annotations

import abc
from typing import Any, Mapping, Sequence

from .._events import Event, EventKind, Message
from .._pid import Pid
from ..entries import Registry
from ..errors import Error, ErrorKind
from ._durations import parse_duration
from ._modules import ModuleContext, register_module
from ._process_lua import (LISTEN_LUA, MESSAGE_LUA, PROCESS_LUA, REPLY_LUA, SEND_LUA, SET_OPTIONS_LUA, SPAWNER_LUA,
                           SPAWNER_MEMBERS)
from ._values import OverMemory, argument_error, describe, pid_of, preview


class ProcessPort(abc.ABC):
    """What the ``process`` module needs from the host running the Lua code (``backend.process_api``).

    Sources (``inbox``/``listen``/``events``) have ``receive_nowait()`` (raising ``trio.WouldBlock`` when empty)
    and ``async receive()``. ``send`` never blocks (hosts queue what needs I/O). Methods raise
    :class:`pidflow.Error`; the Lua caller gets ``nil, err``. ``args`` of ``spawn``/``exec`` are the child's
    positional arguments (``main(a, b, ...)``; one argument is the ``input`` of the Python API).
    """

    @abc.abstractmethod
    def pid(self) -> Pid: ...

    @abc.abstractmethod
    def inbox(self) -> Any: ...

    @abc.abstractmethod
    def listen(self, topic: str, whole_message: bool) -> Any: ...

    @abc.abstractmethod
    def unlisten(self, topic: str) -> None:
        """Release ``topic``: its later messages go to the inbox again; the listener's source is closed (what it
        holds can still be received, then it reports closed)."""

    @abc.abstractmethod
    def events(self) -> Any: ...

    @abc.abstractmethod
    def send(self, pid: Pid, topic: str, data: Any) -> None:
        """Post a message. NOT_FOUND ("not found") when ``pid`` is known at once not to run (a local process of
        this node); a PID whose answer needs a round trip is posted and dropped quietly if it has ended."""

    @abc.abstractmethod
    async def spawn(self, entry: str, host: str | None, args: Sequence[Any], *, options: Mapping[str, Any],
                    name: str | None, messages: list[Message], context: Mapping[str, Any],
                    monitor: bool, link: bool) -> Pid: ...

    @abc.abstractmethod
    async def exec(self, entry: str, host: str | None, args: Sequence[Any], *, options: Mapping[str, Any],
                   name: str | None, messages: list[Message], context: Mapping[str, Any]) -> Any: ...

    @abc.abstractmethod
    async def monitor(self, pid: Pid) -> None: ...

    @abc.abstractmethod
    async def unmonitor(self, pid: Pid) -> None: ...

    async def monitor_node(self, node: str) -> None:
        """NODEDOWN / NODEUP events for node ``node`` (``pidflow.node.Node.monitor_node``)."""
        raise Error(ErrorKind.INVALID, "process.monitor_node: only a local process can monitor a node (a workflow "
                                       "outlives nodes: monitor processes instead)")

    async def demonitor_node(self, node: str) -> bool:
        raise Error(ErrorKind.INVALID, "process.demonitor_node: only a local process can monitor a node")

    @abc.abstractmethod
    async def link(self, pid: Pid) -> None: ...

    @abc.abstractmethod
    async def unlink(self, pid: Pid) -> None: ...

    @abc.abstractmethod
    async def terminate(self, pid: Pid) -> bool: ...

    @abc.abstractmethod
    async def cancel(self, pid: Pid, deadline: float) -> bool: ...

    @abc.abstractmethod
    def set_options(self, options: Mapping[str, Any]) -> None: ...

    @abc.abstractmethod
    def get_options(self) -> dict[str, Any]:
        """The process's options as ``set_options`` takes them: ``{"trap_links": bool}``."""

    # -- names (registered on the node; see pidflow._names) ---------------------------------------------------------
    @abc.abstractmethod
    async def resolve_name(self, name: str) -> Pid:
        """The PID that holds ``name``: NOT_FOUND ``"could not resolve name 'N' ..."`` when nobody does. Every
        destination argument that is not a PID string is resolved here."""

    @abc.abstractmethod
    async def register_name(self, name: str, pid: Pid, scope: str = "node") -> None:
        """Register ``name`` for ``pid`` until it is unregistered or ``pid`` ends: ALREADY_EXISTS when another
        PID holds it (registering the same PID again is fine), INVALID for a bad name."""

    @abc.abstractmethod
    async def unregister_name(self, name: str, scope: str = "node") -> bool:
        """Release ``name``; False when nobody held it."""

    # -- call and reply (``ProcessAPI.call``: a reference, the call's own monitor of ``pid``, a timeout) -----------
    @abc.abstractmethod
    async def call(self, pid: Pid, topic: str, data: Any, timeout: float | None) -> Any:
        """Send ``data`` under ``topic`` with a new reference and wait for the reply: its value, or its error
        raised; the EXIT of ``pid`` during the call raises (NOT_FOUND noproc, or its error); TIMEOUT when nothing
        came within ``timeout`` seconds. A late reply is dropped."""

    @abc.abstractmethod
    def reply(self, request: Message, value: Any, error: Error | None) -> None:
        """Answer the call ``request`` (its ``sender`` and ``ref``): never blocks, quiet when the caller is gone;
        INVALID when ``value`` cannot cross to the caller."""

    # -- process groups (``pidflow._groups``: the node's registry; the ``pg`` module) -------------------------------
    @abc.abstractmethod
    def entries(self) -> Registry:
        """The app's entries (``pg.open`` checks that its scope is a ``pg.scope`` entry)."""

    @abc.abstractmethod
    async def join_group(self, scope: str, group: str, pid: Pid) -> None:
        """``pid`` joins ``group`` of ``scope`` once more, until it leaves or ends."""

    @abc.abstractmethod
    async def leave_group(self, scope: str, group: str, pid: Pid) -> bool:
        """Undo one join of ``pid``; False when it had none."""

    @abc.abstractmethod
    async def group_members(self, scope: str, group: str) -> list[Pid]:
        """The members of ``group``, once per join, in join order."""

    @abc.abstractmethod
    async def which_groups(self, scope: str) -> list[str]:
        """The groups of ``scope`` that have a member."""

    @abc.abstractmethod
    async def broadcast(self, scope: str, group: str, topic: str, data: Any) -> int:
        """Send to each member process of ``group`` once; how many it was sent to."""


#: Event kinds as Lua sees them (``process.event.*``, an event's ``kind``): the seed runtime's strings.
LUA_EVENT_KINDS = {EventKind.EXIT: "pid.exit", EventKind.LINK_DOWN: "pid.link.down", EventKind.CANCEL: "pid.cancel",
                   EventKind.NODEDOWN: "node.down", EventKind.NODEUP: "node.up"}
_EVENT_CONSTANTS = {kind.value: text for kind, text in LUA_EVENT_KINDS.items()}


def _invalid(call: str, argument: str, problem: str) -> Error:
    return Error(ErrorKind.INVALID, f"{call}: {argument} {problem}", details={"argument": argument})


def _pid(value: Any, call: str, argument: str = "pid") -> Pid:
    """A PID string (or Pid) given to ``call``; INVALID naming ``argument`` otherwise."""
    if isinstance(value, Pid):
        return value
    if isinstance(value, str) and value.startswith("{"):
        return pid_of(value)
    raise _invalid(call, argument, f"must be a pid string like '{{host|id}}', got {describe(value)}")


def _topic(value: Any, call: str) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(call, "topic", f"must be a non-empty string, got {describe(value)}")
    if value[0] == "@":
        raise _invalid(call, "topic", f"{preview(value)} is reserved (topics beginning with '@' are the runtime's)")
    return value


def _name(value: Any, call: str) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(call, "name", f"must be a non-empty string, got {describe(value)}")
    return value


#: ``process.registry.LOCAL`` ... (the seed's numbers): a name's scope. Every cluster scope is pidflow's one
#: cluster scope, which is the seed's CONSISTENT (unique, first write wins; docs/cluster.md).
REGISTRY_SCOPES = {"LOCAL": 0, "EVENTUAL": 1, "CONSISTENT": 2, "STRONG": 3}


def _scope(value: Any, call: str) -> str:
    if isinstance(value, bool):
        raise _invalid(call, "scope", f"must be process.registry.LOCAL, EVENTUAL, CONSISTENT or STRONG, got {value}")
    if value is None or value == 0 or value == "local" or value == "node":
        return "node"
    if value in (1, 2, 3, "cluster"):
        return "cluster"
    if hasattr(value, "get") or isinstance(value, dict):  # an options table {scope = ...}
        try:
            return _scope(value["scope"], call)
        except (KeyError, TypeError):
            return "node"
    raise _invalid(call, "scope", f"must be process.registry.LOCAL, EVENTUAL, CONSISTENT or STRONG, or "
                                  f"{{scope = \"cluster\"}}, got {describe(value)}")


def _entry(value: Any, call: str) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(call, "entry", f"must be an entry id string, got {describe(value)}")
    return value


def _host(value: Any, call: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _invalid(call, "host", f"must be a host entry id string or nil, got {describe(value)}")
    return value


def _spawn_name(args: tuple[Any, ...]) -> str:
    """Which spawn call a conversion error names (one Python function behind the four: see SPAWNER_LUA)."""
    monitor, link = len(args) > 6 and args[6] is True, len(args) > 7 and args[7] is True
    return "process.spawn" + ("_linked" if link else "") + ("_monitored" if monitor else "")


# What the Python parameters of spawn/exec are to the caller (see ArgNames): the builder's state between the
# host and the child's arguments
_SPAWN_ARGS = (1, 2, "with_options", "with_name", "with_message", "with_context", "monitor", "link", "count", 3)
_EXEC_ARGS = (1, 2, "with_options", "with_name", "with_message", "with_context", "count", 3)


def _crossing(values: Any, value: Any, position: int) -> Any:
    """``value`` (argument ``position`` of ``process.send``) as data, or INVALID naming the call and argument."""
    try:
        return values.from_lua(value)
    except Error as exc:
        raise argument_error(exc, "process.send", f"argument #{position}") from None


def _args(n: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The ``n`` positional arguments Lua passed (trailing nils arrive as None; the count is the truth)."""
    n = n if type(n) is int else len(args)
    return args[:n] if len(args) >= n else args + (None,) * (n - len(args))


def _payload(values: Sequence[Any]) -> Any:
    """What several values sent or queued together carry: one value is that value, several the list, none nil."""
    if len(values) == 1:
        return values[0]
    return list(values) if values else None


def _messages(raw: Any, sender: Pid) -> list[Message]:
    """``with_message`` records, as Lua gave them: ``{t = topic, n = count, [1..n] = values}``."""
    out = []
    for record in raw or []:
        n = record.get("n", 0)
        out.append(Message(record["t"], _payload([record.get(i) for i in range(1, n + 1)]), sender))
    return out


class _ProcessModule:
    """The Python side of one process's ``process`` module: ``get(name)`` makes a member on first access."""

    __slots__ = ("port", "ctx", "module", "new_message", "loaded", "values_to_lua")

    def __init__(self, port: ProcessPort, ctx: ModuleContext) -> None:
        self.port = port
        self.ctx = ctx
        self.loaded = 0  # bits of the chunks that install several members (_SPAWNER, _LISTEN)
        self.new_message: Any = None
        self.module = ctx.load_lua(PROCESS_LUA, "process", ctx.function(self.get), ctx.core_setmetatable)

    def rearm(self, backend: Any) -> None:
        """A pooled Lua state builds this module once for many processes (``register_module(per_state=True)``):
        before each run it gets that run's backend, and so its port."""
        self.port = backend.process_api

    def get(self, name: Any) -> Any:
        ctx = self.ctx
        if name in SPAWNER_MEMBERS:
            if not self.loaded & _SPAWNER:
                self.loaded |= _SPAWNER
                ctx.load_lua(SPAWNER_LUA, "process.spawner", self.module,
                             ctx.blocking(self.spawn, name=_spawn_name, args=_SPAWN_ARGS),
                             ctx.blocking(self.exec_, name="process.exec", args=_EXEC_ARGS), ctx.core_setmetatable)
            return True
        if name in ("inbox", "events"):
            return ctx.function(self.inbox if name == "inbox" else self.events, raw=True)
        if name == "send":
            # A PID crosses as its string (parsed once, cached); only a name takes the blocking path.
            return ctx.load_lua(SEND_LUA, "process.send", ctx.function(self.send_raw, raw=True),
                                ctx.blocking(self.send_named, name="process.send", args=(1, 2, "count", 3)))
        if name in ("listen", "unlisten"):
            if not self.loaded & _LISTEN:
                self.loaded |= _LISTEN
                ctx.load_lua(LISTEN_LUA, "process.listen", self.module,
                             ctx.function(self.listen, name="process.listen"), ctx.function(self.unlisten))
            return True
        if name == "set_options":
            return ctx.load_lua(SET_OPTIONS_LUA, "process.set_options",
                                ctx.function(self.set_options, name="process.set_options"))
        if name == "get_options":   # (raw: arguments are ignored, whatever they are)
            return ctx.function(self.get_options, raw=True)
        if name in ("monitor", "unmonitor", "link", "unlink", "terminate", "cancel", "monitor_node",
                    "demonitor_node"):
            return ctx.blocking(getattr(self, name), name="process." + name)
        if name == "call":
            return ctx.blocking(self.call, name="process.call")
        if name == "reply":
            return ctx.load_lua(REPLY_LUA, "process.reply", ctx.function(self.reply, name="process.reply",
                                                                         args=("message", "message", "message",
                                                                               "message", 2, 3)))
        if name == "pid":
            return ctx.function(self.pid, raw=True)
        if name == "id":
            return ctx.function(self.entry_id, raw=True)
        if name == "registry":
            return ctx.table(register=ctx.blocking(self.register, name="process.registry.register"),
                             lookup=ctx.blocking(self.lookup, name="process.registry.lookup"),
                             unregister=ctx.blocking(self.unregister, name="process.registry.unregister"),
                             **REGISTRY_SCOPES)
        if name == "event":
            return ctx.to_lua(_EVENT_CONSTANTS)
        return None

    # -- receiving ------------------------------------------------------------------------------------------------
    def message_parts(self, message: Message) -> tuple[Any, Any, Any]:
        """Called once per received message (the module's one hot path, so no wrappers): the arguments of the
        Lua message constructor, which the channel calls itself (see ``ModuleContext.source_channel``)."""
        to_lua = self.values_to_lua
        if message.ref is None:
            return message.topic.encode(), to_lua(message.data), to_lua(message.sender)
        # a call: the sender and the reference cross as a pair (the constructor takes three values)
        return message.topic.encode(), to_lua(message.data), to_lua([message.sender, message.ref])

    def message_maker(self) -> Any:
        """The Lua message constructor, loaded on the first message (an idle process never pays for it)."""
        if self.new_message is None:
            self.new_message = self.ctx.core_lazy(self.ctx.function(self._load_message_lua, raw=True))
            self.values_to_lua = self.ctx.values.to_lua
        return self.new_message

    def _load_message_lua(self) -> Any:
        return self.ctx.load_lua(MESSAGE_LUA, "process.message", self.ctx.core_setmetatable)

    def event_to_lua(self, event: Event) -> Any:
        """The wire form is the Lua form (kind, from, result{value, error}, reason), but for the kind (the seed's
        strings, ``process.event.*``), the deadline (Lua durations are milliseconds) and LINK_DOWN, which also
        carries its reason as ``result.error``, as EXIT does."""
        table = event.to_wire()
        table["kind"] = LUA_EVENT_KINDS[event.kind]
        if event.deadline is not None:
            table["deadline"] = event.deadline * 1000.0
        if event.kind is EventKind.LINK_DOWN and "result" not in table and event.reason is not None:
            table["result"] = {"error": event.reason}
        try:
            return self.ctx.to_lua(table)
        except OverMemory:
            raise
        except Error as exc:
            # an EXIT whose result cannot cross into Lua (a Python child returned an object): the watcher still
            # learns of the exit, with INVALID instead of the value
            if "result" not in table:
                raise
            table["result"] = {"error": Error(ErrorKind.INVALID, f"the result of {event.sender} cannot be passed to "
                                              f"Lua: {exc.message}", retryable=False)}
            return self.ctx.to_lua(table)

    def inbox(self) -> Any:
        return self.ctx.source_channel(self.port.inbox(), self.message_parts, self.message_maker())

    def events(self) -> Any:
        return self.ctx.source_channel(self.port.events(), self.event_to_lua)

    def listen(self, topic: Any, opts: Any = None) -> Any:
        topic = _topic(topic, "listen")
        if opts is not None and not isinstance(opts, dict):
            raise _invalid("listen", "options", f"must be a table or nil, got {describe(opts)}")
        if isinstance(opts, dict) and opts.get("message") is True:
            return self.ctx.source_channel(self.port.listen(topic, True), self.message_parts, self.message_maker())
        return self.ctx.source_channel(self.port.listen(topic, False))

    def unlisten(self, topic: Any, kind: Any = None) -> bool:
        """``topic`` is what the Lua half found for the channel (None: not a channel ``listen`` returned)."""
        if not isinstance(topic, str):
            raise _invalid("unlisten", "channel", f"must be a channel returned by process.listen, got a {kind}")
        self.port.unlisten(topic)
        return True

    # -- sending --------------------------------------------------------------------------------------------------
    def send_raw(self, pid: Any, topic: Any = None, data: Any = None, *more: Any) -> bool:
        """``send`` on raw Lua values (the hot path: a reply per message): PID strings and topics are bytes
        here, scalars need no conversion, and only a table payload goes through the value rules."""
        values = self.ctx.values
        if type(pid) is bytes:
            pid = pid_of(pid)  # (a malformed one raises INVALID)
        else:
            pid = _pid(_crossing(values, pid, 1), "send", "destination")
        if type(topic) is bytes and topic and topic[0] != 64:   # 64: "@"
            try:
                topic = topic.decode()
            except UnicodeDecodeError:
                pass
        if type(topic) is not str:
            topic = _topic(_crossing(values, topic, 2), "send")
        if more:
            data = [_crossing(values, v, i) for i, v in enumerate((data, *more), 3)]
        elif type(data) is not int and type(data) is not float and data is not None and type(data) is not bool:
            try:
                data = values.from_lua(data)
            except Error as exc:   # (a try costs nothing until it catches: the hot path stays as it was)
                raise argument_error(exc, "process.send", "argument #3") from None
        self.port.send(pid, topic, data)
        return True

    async def send_named(self, name: Any, topic: Any, n: Any = 0, *values: Any) -> bool:
        """``send`` to a registered name (the Lua half sends only non-PID strings here)."""
        if not isinstance(name, str) or not name:
            raise _invalid("send", "destination", f"must be a pid string or a registered name, got {describe(name)}")
        topic = _topic(topic, "send")
        pid = await self.port.resolve_name(name)
        self.port.send(pid, topic, _payload(_args(n, values)))
        return True

    # -- call and reply -------------------------------------------------------------------------------------------
    async def call(self, dest: Any, topic: Any = None, payload: Any = None, timeout: Any = None) -> Any:
        """``process.call(dest, topic, payload [, timeout])``: the reply's value, or ``nil, err``. ``timeout``: a
        number of milliseconds or a duration string (default 5 s)."""
        pid = await self._dest(dest, "call")
        topic = _topic(topic, "call")
        if timeout is not None and (type(timeout) is bool or not isinstance(timeout, (int, float, str))):
            raise _invalid("call", "timeout", f"must be a number of milliseconds or a string like '5s', got "
                                              f"{describe(timeout)}")
        try:
            seconds = parse_duration(5000 if timeout is None else timeout)
        except Error as exc:
            raise _invalid("call", "timeout", exc.message) from None
        return await self.port.call(pid, topic, payload, seconds)

    def reply(self, kind: Any, topic: Any, sender: Any, ref: Any, value: Any = None, err: Any = None) -> bool:
        """``process.reply(msg, value [, err])``; the Lua half passes the message's fields (``kind``: the Lua
        type of ``msg``, and for a table its topic, sender and reference)."""
        if kind != "table" or not isinstance(topic, str):
            raise _invalid("reply", "message", f"must be the request message (a message received with "
                                               f"process.inbox() or listen(topic, {{message = true}})), got a {kind}")
        if not isinstance(ref, str) or not isinstance(sender, str):
            raise _invalid("reply", "message", f"{preview(topic)} is not a call (it was sent, not called: it has no "
                                               "reference to answer)")
        if err is not None and not isinstance(err, Error):
            raise _invalid("reply", "error", f"must be an error value or nil, got {describe(err)}")
        self.port.reply(Message(topic, None, _pid(sender, "reply", "message"), ref), value, err)
        return True

    def set_options(self, options: Any) -> bool:
        if not isinstance(options, dict):
            raise _invalid("set_options", "options", f"must be a table, got {describe(options)}")
        self.port.set_options(options)
        return True

    def get_options(self, *_ignored: Any) -> dict[str, Any]:
        return self.port.get_options()

    def entry_id(self, *_ignored: Any) -> str:
        return self.ctx.entry_id

    def pid(self, *_ignored: Any) -> Pid:
        return self.port.pid()

    # -- spawning -------------------------------------------------------------------------------------------------
    async def spawn(self, entry: Any, host: Any, options: Any, name: Any, messages: Any, context: Any,
                    monitor: bool, link: bool, n: Any = 0, *args: Any) -> Pid:
        port = self.port
        call = "spawn"
        return await port.spawn(_entry(entry, call), _host(host, call), _args(n, args), options=options or {},
                                name=name, messages=_messages(messages, port.pid()), context=context or {},
                                monitor=bool(monitor), link=bool(link))

    async def exec_(self, entry: Any, host: Any, options: Any, name: Any, messages: Any, context: Any,
                    n: Any = 0, *args: Any) -> Any:
        port = self.port
        return await port.exec(_entry(entry, "exec"), _host(host, "exec"), _args(n, args), options=options or {},
                               name=name, messages=_messages(messages, port.pid()), context=context or {})

    # -- destinations, relations ----------------------------------------------------------------------------------
    async def _dest(self, value: Any, call: str) -> Pid:
        """A destination: a PID string, or a registered name (any other non-empty string)."""
        if isinstance(value, str) and value and value[0] != "{":
            return await self.port.resolve_name(value)
        if isinstance(value, str) and value:
            return pid_of(value)
        raise _invalid(call, "destination", f"must be a pid string or a registered name, got {describe(value)}")

    async def monitor(self, dest: Any) -> bool:
        await self.port.monitor(await self._dest(dest, "monitor"))
        return True

    async def unmonitor(self, dest: Any) -> bool:
        await self.port.unmonitor(await self._dest(dest, "unmonitor"))
        return True

    async def monitor_node(self, node: Any) -> bool:
        if not isinstance(node, str) or not node:
            raise _invalid("process.monitor_node", "node", f"must be a node name string, got {describe(node)}")
        await self.port.monitor_node(node)
        return True

    async def demonitor_node(self, node: Any) -> bool:
        if not isinstance(node, str) or not node:
            raise _invalid("process.demonitor_node", "node", f"must be a node name string, got {describe(node)}")
        return await self.port.demonitor_node(node)

    async def link(self, dest: Any) -> bool:
        await self.port.link(await self._dest(dest, "link"))
        return True

    async def unlink(self, dest: Any) -> bool:
        await self.port.unlink(await self._dest(dest, "unlink"))
        return True

    async def terminate(self, dest: Any) -> bool:
        return await self.port.terminate(await self._dest(dest, "terminate"))

    async def cancel(self, dest: Any, deadline: Any = None) -> bool:
        if deadline is not None and (type(deadline) is bool or not isinstance(deadline, (int, float, str))):
            raise _invalid("cancel", "deadline", f"must be a number of milliseconds or a string like '5s', got "
                                                 f"{describe(deadline)}")
        try:
            seconds = parse_duration(5000 if deadline is None else deadline)
        except Error as exc:
            raise _invalid("cancel", "deadline", exc.message) from None
        return await self.port.cancel(await self._dest(dest, "cancel"), seconds)

    # -- names ----------------------------------------------------------------------------------------------------
    async def register(self, name: Any, pid: Any = None, scope: Any = None) -> bool:
        """``process.registry.register(name [, pid] [, scope])``: the caller when ``pid`` is nil. ``scope``: the
        seed's constants (``process.registry.LOCAL`` for this node; ``EVENTUAL``, ``CONSISTENT``, ``STRONG`` for
        the cluster) or an options table ``{scope = "cluster"}``, also in ``pid``'s place."""
        name = _name(name, "registry.register")
        if isinstance(pid, dict) and "scope" in pid and scope is None:  # register(name, {scope = ...})
            pid, scope = None, pid
        target = self.port.pid() if pid is None else _pid(pid, "registry.register")
        await self.port.register_name(name, target, _scope(scope, "registry.register"))
        return True

    async def lookup(self, name: Any) -> Pid:
        return await self.port.resolve_name(_name(name, "registry.lookup"))

    async def unregister(self, name: Any, scope: Any = None) -> bool:
        return await self.port.unregister_name(_name(name, "registry.unregister"),
                                               _scope(scope, "registry.unregister"))


_SPAWNER, _LISTEN = 1, 2


def _process(ctx: ModuleContext) -> Any:
    port: ProcessPort = ctx.backend.process_api
    if port is None:
        raise Error(ErrorKind.UNAVAILABLE, f"entry {ctx.entry_id}: the process module is not available here")
    return _ProcessModule(port, ctx).module


register_module("process", _process, per_state=True)  # (its port is set per run: see _ProcessModule.rearm)
