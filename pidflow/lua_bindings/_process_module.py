"""The ``process`` Lua module: one Lua face over a :class:`ProcessPort`, whichever host runs the process.

The port is what differs between a local Lua process (:mod:`._local`, over the Python process API) and a Lua
workflow (``pidflow.temporal_host``, over deterministic Temporal calls); the Lua API, its builder and its
``value, err`` conventions are written once, here.
"""

from __future__ import annotations

import abc
from typing import Any, Mapping

from .._events import Event, Message
from .._pid import Pid
from ..errors import Error, ErrorKind
from ._durations import parse_duration
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


_PROCESS_LUA = r"""
local F = ...
local setmetatable, type, error, select = setmetatable, type, error, select

local Payload = {__name = "payload"}
Payload.__index = Payload
function Payload:data() return self._data end

local Message = {__name = "message"}
Message.__index = Message
function Message:topic() return self._topic end
function Message:payload() return setmetatable({_data = self._data}, Payload) end
function Message:from() return self._from end
Message.__tostring = function(m) return "message(" .. tostring(m._topic) .. ")" end

local function new_message(topic, data, from)
  return setmetatable({_topic = topic, _data = data, _from = from}, Message)
end

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
    return F.spawn(entry, host, input, self._options, self._name, self._messages, self._context, monitor, link)
  end
end
S.spawn = starter(false, false)
S.spawn_monitored = starter(true, false)
S.spawn_linked = starter(false, true)
function S:exec(entry, host, input)
  return F.exec(entry, host, input, self._options, self._name, self._messages, self._context)
end

local M = {
  event = {EXIT = "EXIT", LINK_DOWN = "LINK_DOWN", CANCEL = "CANCEL"},
  pid = F.pid, send = F.send, inbox = F.inbox, events = F.events,
  monitor = F.monitor, unmonitor = F.unmonitor, link = F.link, unlink = F.unlink,
  terminate = F.terminate, cancel = F.cancel, set_options = F.set_options,
}
function M.listen(topic, opts)
  local whole = type(opts) == "table" and opts.message == true
  return F.listen(topic, whole)
end
function M.with_options(o) return EMPTY:with_options(o) end
function M.with_name(n) return EMPTY:with_name(n) end
function M.with_message(t, d) return EMPTY:with_message(t, d) end
function M.with_context(c) return EMPTY:with_context(c) end
function M.spawn(entry, host, input) return EMPTY:spawn(entry, host, input) end
function M.spawn_monitored(entry, host, input) return EMPTY:spawn_monitored(entry, host, input) end
function M.spawn_linked(entry, host, input) return EMPTY:spawn_linked(entry, host, input) end
function M.exec(entry, host, input) return EMPTY:exec(entry, host, input) end

return M, new_message
"""


def _pid(value: Any, what: str = "pid") -> Pid:
    if isinstance(value, Pid):
        return value
    if isinstance(value, str):
        return Pid.parse(value)
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


def _process(ctx: ModuleContext) -> Any:
    port: ProcessPort = ctx.backend.process_api
    if port is None:
        raise Error(ErrorKind.UNAVAILABLE, f"entry {ctx.entry_id}: the process module is not available here")
    new_message: list[Any] = []
    to_lua = ctx.to_lua

    def message_to_lua(message: Message) -> Any:
        return new_message[0](to_lua(message.topic), to_lua(message.data), to_lua(message.sender))

    def event_to_lua(event: Event) -> Any:
        table: dict[str, Any] = {"kind": event.kind.value, "from": event.from_}
        if event.result is not None:
            table["result"] = {"value": event.result.value, "error": event.result.error}
        if event.reason is not None:
            table["reason"] = event.reason
        if event.deadline is not None:
            table["deadline"] = event.deadline * 1000.0  # Lua durations are milliseconds
        return to_lua(table)

    async def spawn(entry: Any, host: Any, input: Any, options: Any, name: Any, messages: Any, context: Any,
                    monitor: bool, link: bool) -> Pid:
        return await port.spawn(_entry(entry), _host(host), input, options=options or {}, name=name,
                                messages=_messages(messages, port.pid()), context=context or {},
                                monitor=bool(monitor), link=bool(link))

    async def exec_(entry: Any, host: Any, input: Any, options: Any, name: Any, messages: Any, context: Any) -> Any:
        return await port.exec(_entry(entry), _host(host), input, options=options or {}, name=name,
                               messages=_messages(messages, port.pid()), context=context or {})

    def send(pid: Any, topic: Any, data: Any = None) -> bool:
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, f"send expects a topic string, got {topic!r}")
        port.send(_pid(pid), topic, data)
        return True

    def relation(method: Any) -> Any:
        async def call(pid: Any) -> bool:
            await method(_pid(pid))
            return True

        return ctx.blocking(call)

    async def terminate(pid: Any) -> bool:
        return await port.terminate(_pid(pid))

    async def cancel(pid: Any, deadline: Any = None) -> bool:
        seconds = parse_duration(5000 if deadline is None else deadline)
        return await port.cancel(_pid(pid), seconds)

    def set_options(options: Any) -> bool:
        if not isinstance(options, dict):
            raise Error(ErrorKind.INVALID, "set_options expects a table")
        port.set_options(options)
        return True

    def listen(topic: Any, whole: Any) -> Any:
        if not isinstance(topic, str) or not topic:
            raise Error(ErrorKind.INVALID, f"listen expects a topic string, got {topic!r}")
        whole = bool(whole)
        return ctx.source_channel(port.listen(topic, whole), message_to_lua if whole else None)

    functions = ctx.table(
        pid=ctx.function(port.pid),
        send=ctx.function(send),
        inbox=ctx.function(lambda: ctx.source_channel(port.inbox(), message_to_lua), raw=True),
        events=ctx.function(lambda: ctx.source_channel(port.events(), event_to_lua), raw=True),
        listen=ctx.function(listen),
        spawn=ctx.blocking(spawn),
        exec=ctx.blocking(exec_),
        monitor=relation(port.monitor),
        unmonitor=relation(port.unmonitor),
        link=relation(port.link),
        unlink=relation(port.unlink),
        terminate=ctx.blocking(terminate),
        cancel=ctx.blocking(cancel),
        set_options=ctx.function(set_options),
    )
    module, make_message = ctx.load_lua(_PROCESS_LUA, "process", functions)
    new_message.append(make_message)
    return module


register_module("process", _process)
