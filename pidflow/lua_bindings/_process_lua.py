"""The Lua halves of the ``process`` module (:mod:`._process_module`): small chunks, each loaded into a process
on first access to a member it provides, so that an idle process pays only for what it used.

Each chunk gets the Python functions it wraps as ``...`` (made with ``ModuleContext.function``/``.blocking``) and
returns the member (or installs several into the module table ``M``). They get the core's raw ``setmetatable``
where they need one: the global one checks for ``__gc``, and loading it costs every process.
"""

from __future__ import annotations

# The module table: members are made on first access: get(name) returns the member, true when it installed
# members itself (a chunk that provides several), or nil.
PROCESS_LUA = r"""
local get, setmetatable = ...
local rawget, rawset = rawget, rawset
return setmetatable({}, {__index = function(t, k)
  local v = get(k)
  if v == true then return rawget(t, k) end
  if v ~= nil then rawset(t, k, v) end
  return v
end})
"""

# process.send(dest, topic, ...): the hot path (a reply per message). A destination that is a string not
# starting with "{" is a registered name: resolving it may need a round trip, so it takes the blocking path.
# Anything else (a PID string, or a bad value that Python reports) goes straight to the non-blocking send.
SEND_LUA = r"""
local send, send_named = ...
local type, byte, select = type, string.byte, select
return function(dest, topic, ...)
  if type(dest) == "string" and byte(dest) ~= 123 then return send_named(dest, topic, select("#", ...), ...) end
  return send(dest, topic, ...)
end
"""

# process.listen / process.unlisten: unlisten finds the topic of a channel that listen returned.
LISTEN_LUA = r"""
local M, listen, unlisten = ...
local type = type
local topics = {}
function M.listen(topic, opts)
  local ch, err = listen(topic, opts)
  if ch ~= nil then topics[ch] = topic end
  return ch, err
end
function M.unlisten(ch)
  local topic = topics[ch]
  if topic ~= nil then topics[ch] = nil end
  return unlisten(topic, type(ch))
end
"""

# process.set_options(t) -> true, or false, err (the seed runtime's convention for this call)
SET_OPTIONS_LUA = r"""
local set = ...
return function(t)
  local ok, err = set(t)
  if ok then return ok end
  return false, err
end
"""

# Message and payload values, loaded into a process when it first receives a message.
MESSAGE_LUA = r"""
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

local type = type
return function(topic, data, from)
  if type(from) == "table" then   -- a call: {sender, reference} (see _ProcessModule.message_parts)
    return setmetatable({_topic = topic, _data = data, _from = from[1], _ref = from[2]}, Message)
  end
  return setmetatable({_topic = topic, _data = data, _from = from}, Message)
end
"""

# process.reply(msg, value [, err]): Python reads the request's topic, sender and reference (set by the message
# constructor above for a message that came with process.call).
REPLY_LUA = r"""
local reply = ...
local type, rawget = type, rawget
return function(msg, value, err)
  if type(msg) ~= "table" then return reply(type(msg), nil, nil, nil, value, err) end
  return reply("table", rawget(msg, "_topic"), rawget(msg, "_from"), rawget(msg, "_ref"), value, err)
end
"""

# The spawner builder, loaded into a process on first access to one of the members it installs in M.
# Trailing arguments of spawn*/exec are the child's positional arguments; they cross with their count, so nils
# (in the middle or at the end) survive. A with_message record is {t = topic, n = count, [1..n] = values}.
SPAWNER_LUA = r"""
local M, spawn, exec, setmetatable = ...
local type, error, pairs, ipairs, select, byte = type, error, pairs, ipairs, select, string.byte
local getmetatable = getmetatable

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

-- me(v, name): a method's self, or an error naming the method (a dot call, s.spawn(...), or another object)
local function me(v, name)
  if getmetatable(v) ~= S then
    error("spawner:" .. name .. ": bad self (spawner expected, got " .. type(v) .. "): call it with a colon", 3)
  end
end

local function need_table(v, what)
  if type(v) ~= "table" then error(what .. " expects a table, got " .. type(v), 3) end
end

function S:with_options(o)
  me(self, "with_options")
  need_table(o, "with_options")
  local merged = copy(self._options)
  for k, v in pairs(o) do merged[k] = v end
  return spawner(merged, self._name, self._messages, self._context)
end
function S:with_name(name)
  me(self, "with_name")
  if type(name) ~= "string" or name == "" then error("with_name expects a non-empty string", 2) end
  return spawner(self._options, name, self._messages, self._context)
end
function S:with_message(topic, ...)
  me(self, "with_message")
  if type(topic) ~= "string" or topic == "" then error("with_message expects a topic string", 2) end
  if byte(topic) == 64 then error("with_message: topic '" .. topic .. "' is reserved (topics beginning with '@')", 2) end
  local msgs = {}
  for i, m in ipairs(self._messages) do msgs[i] = m end
  local record = {...}
  record.t, record.n = topic, select("#", ...)
  msgs[#msgs + 1] = record
  return spawner(self._options, self._name, msgs, self._context)
end
function S:with_context(c)
  me(self, "with_context")
  need_table(c, "with_context")
  local merged = copy(self._context)
  for k, v in pairs(c) do merged[k] = v end
  return spawner(self._options, self._name, self._messages, merged)
end
local function starter(monitor, link, name)
  return function(self, entry, host, ...)
    me(self, name)
    return spawn(entry, host, self._options, self._name, self._messages, self._context, monitor, link,
                 select("#", ...), ...)
  end
end
S.spawn = starter(false, false, "spawn")
S.spawn_monitored = starter(true, false, "spawn_monitored")
S.spawn_linked = starter(false, true, "spawn_linked")
S.spawn_linked_monitored = starter(true, true, "spawn_linked_monitored")
function S:exec(entry, host, ...)
  me(self, "exec")
  return exec(entry, host, self._options, self._name, self._messages, self._context, select("#", ...), ...)
end

function M.with_options(o) return EMPTY:with_options(o) end
function M.with_name(n) return EMPTY:with_name(n) end
function M.with_message(t, ...) return EMPTY:with_message(t, ...) end
function M.with_context(c) return EMPTY:with_context(c) end
function M.spawn(entry, host, ...) return EMPTY:spawn(entry, host, ...) end
function M.spawn_monitored(entry, host, ...) return EMPTY:spawn_monitored(entry, host, ...) end
function M.spawn_linked(entry, host, ...) return EMPTY:spawn_linked(entry, host, ...) end
function M.spawn_linked_monitored(entry, host, ...) return EMPTY:spawn_linked_monitored(entry, host, ...) end
function M.exec(entry, host, ...) return EMPTY:exec(entry, host, ...) end
"""
SPAWNER_MEMBERS = frozenset({"with_options", "with_name", "with_message", "with_context", "spawn",
                             "spawn_monitored", "spawn_linked", "spawn_linked_monitored", "exec"})
