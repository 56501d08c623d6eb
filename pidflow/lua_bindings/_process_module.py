"""The ``process`` Lua module: one Lua face over a :class:`ProcessPort`, whichever host runs the process.

The port is what differs between a local Lua process (:mod:`._local`, over the Python process API) and a Lua
workflow (``pidflow.temporal_host``, over deterministic Temporal calls); the Lua API, its builder and its
``value, err`` conventions are written once, here.

Memory: every process has its own copy of the module, so it is built piecemeal: each member of ``process`` (a
Lua closure over the process's Python dispatcher, see ``LuaProcess._function``) is made on first access, the
spawner builder (``with_*``, ``spawn*``, ``exec``: most of the module's Lua code) is loaded on first access to
one of its members, and the message metatables with the first message received. An idle process that only
called ``process.inbox()`` pays for ``inbox`` alone.
"""

from __future__ import annotations

import abc
from typing import Any, Mapping

from .._events import Event, Message
from .._pid import Pid
from ..errors import Error, ErrorKind
from ._durations import parse_duration
from ._values import OverMemory, pid_of
from ._modules import ModuleContext, register_module


class ProcessPort(abc.ABC):
    """What the ``process`` module needs from the host running the Lua code (``backend.process_api``).

    Sources (``inbox``/``listen``/``events``) have ``receive_nowait()`` (raising ``trio.WouldBlock`` when empty)
    and ``async receive()``. ``send`` never blocks (hosts queue what needs I/O). Async methods raise
    :class:`pidflow.Error`; the Lua caller gets ``nil, err``.
    """

    @abc.abstractmethod
    def pid(self) -> Pid: ...

    @abc.abstractmethod
    def inbox(self) -> Any: ...

    @abc.abstractmethod
    def listen(self, topic: str, whole_message: bool) -> Any: ...

    @abc.abstractmethod
    def events(self) -> Any: ...

    @abc.abstractmethod
    def send(self, pid: Pid, topic: str, data: Any) -> None: ...

    @abc.abstractmethod
    async def spawn(self, entry: str, host: str | None, input: Any, *, options: Mapping[str, Any],
                    name: str | None, messages: list[Message], context: Mapping[str, Any],
                    monitor: bool, link: bool) -> Pid: ...

    @abc.abstractmethod
    async def exec(self, entry: str, host: str | None, input: Any, *, options: Mapping[str, Any],
                   name: str | None, messages: list[Message], context: Mapping[str, Any]) -> Any: ...

    @abc.abstractmethod
    async def monitor(self, pid: Pid) -> None: ...

    @abc.abstractmethod
    async def unmonitor(self, pid: Pid) -> None: ...

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


_SEND_LUA = r"""
local send = ...
local type, tostring, getmetatable = type, tostring, getmetatable
return function(pid, topic, data)
  if type(pid) == "table" and getmetatable(pid) == "pid" then pid = tostring(pid) end
  return send(pid, topic, data)
end
"""

# (these chunks get the raw setmetatable: the global one checks for __gc, and loading it costs every process)
_PROCESS_LUA = r"""
local get, setmetatable = ...
local rawget, rawset = rawget, rawset
-- members are made on first access: get(name) returns the member, true when it installed members itself (the
-- spawner builder), or nil
return setmetatable({}, {__index = function(t, k)
  local v = get(k)
  if v == true then return rawget(t, k) end
  if v ~= nil then rawset(t, k, v) end
  return v
end})
"""

# Message and payload values, loaded into a process when it first receives a message.
_MESSAGE_LUA = r"""
local setmetatable = ...
local tostring = tostring

local Payload = {__name = "payload"}
Payload.__index = Payload
function Payload:data() return self._data end

local Message = {__name = "message"}
Message.__index = Message
function Message:topic() return self._topic end
function Message:payload() return setmetatable({_data = self._data}, Payload) end
function Message:from() return self._from end
Message.__tostring = function(m) return "message(" .. tostring(m._topic) .. ")" end

return function(topic, data, from)
  return setmetatable({_topic = topic, _data = data, _from = from}, Message)
end
"""

# The spawner builder, loaded into a process on first access to one of the members it installs in M.
_SPAWNER_LUA = r"""
local M, spawn, exec = ...
local setmetatable, type, error, pairs, ipairs = setmetatable, type, error, pairs, ipairs

local function copy(t)
  local out = {}
  if t then for k, v in pairs(t) do out[k] = v end end
  return out
end

local S = {__name = "spawner"}
S.__index = S
local function spawner(options, name, messages, context)
  return setmetatable({_options = options, _name = name, _messages = messages, _context = context}, S)
end
local EMPTY = spawner({}, nil, {}, {})

local function need_table(v, what)
  if type(v) ~= "table" then error(what .. " expects a table, got " .. type(v), 3) end
end

function S:with_options(o)
  need_table(o, "with_options")
  local merged = copy(self._options)
  for k, v in pairs(o) do merged[k] = v end
  return spawner(merged, self._name, self._messages, self._context)
end
function S:with_name(name)
  if type(name) ~= "string" or name == "" then error("with_name expects a non-empty string", 2) end
  return spawner(self._options, name, self._messages, self._context)
end
function S:with_message(topic, data)
  if type(topic) ~= "string" or topic == "" then error("with_message expects a topic string", 2) end
  local msgs = {}
  for i, m in ipairs(self._messages) do msgs[i] = m end
  msgs[#msgs + 1] = {topic, data}
  return spawner(self._options, self._name, msgs, self._context)
end
function S:with_context(c)
  need_table(c, "with_context")
  local merged = copy(self._context)
  for k, v in pairs(c) do merged[k] = v end
  return spawner(self._options, self._name, self._messages, merged)
end
local function starter(monitor, link)
  return function(self, entry, host, input)
    return spawn(entry, host, input, self._options, self._name, self._messages, self._context, monitor, link)
  end
end
S.spawn = starter(false, false)
S.spawn_monitored = starter(true, false)
S.spawn_linked = starter(false, true)
function S:exec(entry, host, input)
  return exec(entry, host, input, self._options, self._name, self._messages, self._context)
end

function M.with_options(o) return EMPTY:with_options(o) end
function M.with_name(n) return EMPTY:with_name(n) end
function M.with_message(t, d) return EMPTY:with_message(t, d) end
function M.with_context(c) return EMPTY:with_context(c) end
function M.spawn(entry, host, input) return EMPTY:spawn(entry, host, input) end
function M.spawn_monitored(entry, host, input) return EMPTY:spawn_monitored(entry, host, input) end
function M.spawn_linked(entry, host, input) return EMPTY:spawn_linked(entry, host, input) end
function M.exec(entry, host, input) return EMPTY:exec(entry, host, input) end
"""
_SPAWNER_MEMBERS = frozenset({"with_options", "with_name", "with_message", "with_context", "spawn",
                              "spawn_monitored", "spawn_linked", "exec"})


def _pid(value: Any, what: str = "pid") -> Pid:
    if isinstance(value, Pid):
        return value
    if isinstance(value, str):
        return pid_of(value)
    raise Error(ErrorKind.INVALID, f"{what} must be a pid, got {type(value).__name__}")


def _entry(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Error(ErrorKind.INVALID, f"entry must be an entry id string, got {value!r}")
    return value


def _host(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise Error(ErrorKind.INVALID, f"host must be a host entry id string, got {value!r}")
    return value


def _messages(raw: Any, sender: Pid) -> list[Message]:
    """``with_message`` pairs, as Lua gave them: ``{topic, data}`` (a nil data leaves a one-element list)."""
    out = []
    for pair in raw or []:
        topic = pair[0]
        data = pair[1] if len(pair) > 1 else None
        out.append(Message(topic, data, sender))
    return out


class _ProcessModule:
    """The Python side of one process's ``process`` module: ``get(name)`` makes a member on first access."""

    __slots__ = ("port", "ctx", "module", "new_message", "spawner_loaded", "values_to_lua")

    def __init__(self, port: ProcessPort, ctx: ModuleContext) -> None:
        self.port = port
        self.ctx = ctx
        self.spawner_loaded = False
        self.new_message: Any = None
        self.module = ctx.load_lua(_PROCESS_LUA, "process", ctx.function(self.get), ctx.core_setmetatable)

    def get(self, name: Any) -> Any:
        ctx, port = self.ctx, self.port
        if name in _SPAWNER_MEMBERS:
            if not self.spawner_loaded:
                self.spawner_loaded = True
                ctx.load_lua(_SPAWNER_LUA, "process.spawner", self.module, ctx.blocking(self.spawn),
                             ctx.blocking(self.exec_))
            return True
        if name in ("inbox", "events"):
            return ctx.function(self.inbox if name == "inbox" else self.events, raw=True)
        if name == "send":
            # A PID crosses as its string (no per-message table inspection from Python; parsed once, cached).
            return ctx.load_lua(_SEND_LUA, "process.send", ctx.function(self.send_raw, raw=True))
        if name in ("listen", "set_options"):
            return ctx.function(getattr(self, name))
        if name in ("monitor", "unmonitor", "link", "unlink", "terminate", "cancel"):
            return ctx.blocking(getattr(self, name))
        if name == "pid":
            return ctx.function(port.pid)
        if name == "event":
            return ctx.to_lua({"EXIT": "EXIT", "LINK_DOWN": "LINK_DOWN", "CANCEL": "CANCEL"})
        return None

    def message_parts(self, message: Message) -> tuple[Any, Any, Any]:
        """Called once per received message (the module's one hot path, so no wrappers): the arguments of the
        Lua message constructor, which the channel calls itself (see ``ModuleContext.source_channel``)."""
        to_lua = self.values_to_lua
        return message.topic.encode(), to_lua(message.data), to_lua(message.sender)

    def message_maker(self) -> Any:
        """The Lua message constructor, loaded on the first message (an idle process never pays for it)."""
        if self.new_message is None:
            self.new_message = self.ctx.core_lazy(self.ctx.function(self._load_message_lua, raw=True))
            self.values_to_lua = self.ctx.values.to_lua
        return self.new_message

    def _load_message_lua(self) -> Any:
        return self.ctx.load_lua(_MESSAGE_LUA, "process.message", self.ctx.core_setmetatable)

    def event_to_lua(self, event: Event) -> Any:
        """The wire form is the Lua form (kind, from, result{value, error}, reason), but for the deadline:
        Lua durations are milliseconds."""
        table = event.to_wire()
        if event.deadline is not None:
            table["deadline"] = event.deadline * 1000.0
        try:
            return self.ctx.to_lua(table)
        except OverMemory:
            raise
        except Error as exc:
            # an EXIT whose result cannot cross into Lua (a Python child returned an object): the watcher still
            # learns of the exit, with INVALID instead of the value
            if "result" not in table:
                raise
            table["result"] = {"error": Error(ErrorKind.INVALID, f"the result of {event.from_} cannot be passed to "
                                              f"Lua: {exc.message}", retryable=False)}
            return self.ctx.to_lua(table)

    def inbox(self) -> Any:
        return self.ctx.source_channel(self.port.inbox(), self.message_parts, self.message_maker())

    def events(self) -> Any:
        return self.ctx.source_channel(self.port.events(), self.event_to_lua)

    def listen(self, topic: Any, opts: Any = None) -> Any:
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, f"listen expects a topic string, got {topic!r}")
        whole = isinstance(opts, dict) and opts.get("message") is True
        if whole:
            return self.ctx.source_channel(self.port.listen(topic, True), self.message_parts, self.message_maker())
        return self.ctx.source_channel(self.port.listen(topic, False))

    def send(self, pid: Any, topic: Any, data: Any = None) -> bool:
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, f"send expects a topic string, got {topic!r}")
        self.port.send(_pid(pid), topic, data)
        return True

    def send_raw(self, pid: Any, topic: Any = None, data: Any = None) -> bool:
        """``send`` on raw Lua values (the hot path: a reply per message): PID strings and topics are bytes
        here, scalars need no conversion, and only a table payload goes through the value rules."""
        values = self.ctx.values
        if type(pid) is bytes:
            pid = pid_of(pid)
        else:
            pid = _pid(values.from_lua(pid))
        if type(topic) is bytes and topic:
            try:
                topic = topic.decode()
            except UnicodeDecodeError:
                pass
        if type(topic) is not str:
            raise Error(ErrorKind.INVALID, f"send expects a topic string, got {values.from_lua(topic)!r}")
        if type(data) is not int and type(data) is not float and data is not None and type(data) is not bool:
            data = values.from_lua(data)
        self.port.send(pid, topic, data)
        return True

    def set_options(self, options: Any) -> bool:
        if not isinstance(options, dict):
            raise Error(ErrorKind.INVALID, "set_options expects a table")
        self.port.set_options(options)
        return True

    async def spawn(self, entry: Any, host: Any, input: Any, options: Any, name: Any, messages: Any,
                    context: Any, monitor: bool, link: bool) -> Pid:
        port = self.port
        return await port.spawn(_entry(entry), _host(host), input, options=options or {}, name=name,
                                messages=_messages(messages, port.pid()), context=context or {},
                                monitor=bool(monitor), link=bool(link))

    async def exec_(self, entry: Any, host: Any, input: Any, options: Any, name: Any, messages: Any,
                    context: Any) -> Any:
        port = self.port
        return await port.exec(_entry(entry), _host(host), input, options=options or {}, name=name,
                               messages=_messages(messages, port.pid()), context=context or {})

    async def monitor(self, pid: Any) -> bool:
        await self.port.monitor(_pid(pid))
        return True

    async def unmonitor(self, pid: Any) -> bool:
        await self.port.unmonitor(_pid(pid))
        return True

    async def link(self, pid: Any) -> bool:
        await self.port.link(_pid(pid))
        return True

    async def unlink(self, pid: Any) -> bool:
        await self.port.unlink(_pid(pid))
        return True

    async def terminate(self, pid: Any) -> bool:
        return await self.port.terminate(_pid(pid))

    async def cancel(self, pid: Any, deadline: Any = None) -> bool:
        seconds = parse_duration(5000 if deadline is None else deadline)
        return await self.port.cancel(_pid(pid), seconds)


def _process(ctx: ModuleContext) -> Any:
    port: ProcessPort = ctx.backend.process_api
    if port is None:
        raise Error(ErrorKind.UNAVAILABLE, f"entry {ctx.entry_id}: the process module is not available here")
    return _ProcessModule(port, ctx).module


register_module("process", _process)
