"""The ``funcs`` Lua module: call function entries, now (``funcs.call``) or concurrently (``funcs.async`` and its
Future), alone or through an executor (``funcs.new()``: ``with_context``, ``with_options``, ``call``, ``async``).

A call runs on the backend: the node's function runner in a local process (a task of the process: it ends with
the process), an activity inside a workflow (``with_options`` takes the ``activity.*`` keys there). Errors keep
their kind and retryable flag across the call.

A Future is Lua-side state plus one helper coroutine: ``funcs.async`` converts the arguments at once (so bad
ones answer ``nil, err`` from the call itself), then a ``coroutine.spawn``-ed task makes the blocking call and
settles the Future with its outcome. Everything the Future answers (``is_complete``, ``result``, ``error``) is
read from that Lua state, so it is deterministic inside workflows (Lua sees outcomes in the order the workflow's
history resolved them). ``cancel()`` settles the Future as CANCELED at once and stops the call through the
backend's cancel scope: a trio cancellation of the local call (the callee is cancelled with it), a cancellation
request for the activity in a workflow (temporalio's default, TRY_CANCEL: the workflow does not wait for the
activity to acknowledge it). An outcome that arrives after ``cancel()`` is dropped.

Future semantics (the seed runtime's, unless said otherwise):

* ``future:response()`` (alias ``channel()``) is one channel per Future that yields the outcome once and is then
  closed: a Payload (``payload:data()`` is the function's result) or, for a failed call, the error object; for a
  cancelled Future, a CANCELED error. It works in ``channel.select``.
* ``future:result()`` never blocks: ``nil, nil`` while pending, ``payload, nil`` on success, ``nil, err`` on
  failure and ``nil, err`` (CANCELED) once cancelled. ``future:error()`` is ``err, true`` or ``nil, false``; it
  keeps the error's kind (the seed reboxes it as INTERNAL "async call failed").
* ``future:is_complete()`` is true once the Future has its outcome, a cancel included (the seed leaves a
  cancelled Future incomplete until the call answers); ``is_canceled()`` is true after a cancel that found it
  pending. ``cancel()`` returns true when the Future is (now) cancelled, false when it had already completed (a
  cancel after completion changes nothing; the seed marks it cancelled anyway).

Memory: ``require("funcs")`` builds a small table (``call`` and a loader); the Future and executor code loads on
the first access to ``funcs.async`` or ``funcs.new``.
"""

from __future__ import annotations

from typing import Any

from ..errors import Error, ErrorKind
from ._modules import ModuleContext, register_module
from ._values import lua_type_name, preview

_FUNCS_LUA = r"""
local call, more, setmetatable = ...
local rawget = rawget
return setmetatable({call = function(entry, ...) return call(entry, nil, nil, ...) end}, {
  __index = function(t, k)
    if k == "async" or k == "new" then more(); return rawget(t, k) end
  end,
})
"""

# Futures and executors: installed into the module table M on first access to funcs.async or funcs.new.
_FUTURE_LUA = r"""
local M, call, prepare, run, cancel, core, setmetatable = ...
local type, error, pairs, pcall, getmetatable = type, error, pairs, pcall, getmetatable
local spawn = coroutine.spawn
local state = setmetatable({}, {__mode = "k"})   -- future -> {done=, value=, err=, canceled=, ch=}

local Payload = {__name = "payload"}
Payload.__index = Payload
function Payload:data() return self._data end

local F = {__name = "future", __metatable = "future"}
F.__index = F
local function st(f, name)
  local s = state[f]
  if s == nil then error("bad argument #1 to 'future:" .. name .. "' (a future expected, got " .. type(f) .. ")", 3) end
  return s
end
-- the outcome, once: what the response channel yields (a Payload, or the error)
local function outcome(s) return s.err or s.value end
local function settle(s, value, err)
  if s.done then return end
  s.done = true
  if err ~= nil then s.err = err else s.value = setmetatable({_data = value}, Payload) end
  local ch = s.ch
  if ch then pcall(ch.send, ch, outcome(s)); pcall(ch.close, ch) end   -- (user code may have closed it)
end

local seq = 0
local function async(entry, options, context, ...)
  seq = seq + 1
  local id = seq
  local ok, err = prepare(id, entry, options, context, ...)
  if not ok then return nil, err end
  local s = {id = id}
  local f = setmetatable({}, F)
  state[f] = s
  spawn(function()
    local value, e = run(id)
    settle(s, value, e)
  end)
  return f
end

function F:response()
  local s = st(self, "response")
  local ch = s.ch
  if ch == nil then
    ch = core.new_channel(1)
    s.ch = ch
    if s.done then ch:send(outcome(s)); ch:close() end
  end
  return ch
end
F.channel = F.response
function F:is_complete() return st(self, "is_complete").done == true end
function F:is_canceled() return st(self, "is_canceled").canceled == true end
function F:result()
  local s = st(self, "result")
  if s.err ~= nil then return nil, s.err end
  return s.value, nil
end
function F:error()
  local s = st(self, "error")
  if s.err ~= nil then return s.err, true end
  return nil, false
end
function F:cancel()
  local s = st(self, "cancel")
  if s.canceled then return true end
  if s.done then return false end
  s.canceled = true
  cancel(s.id)
  settle(s, nil, core.make_error("CANCELED", "canceled", false))
  return true
end

local E = {__name = "executor"}
E.__index = E
local function executor(options, context) return setmetatable({_options = options, _context = context}, E) end
local function merged(base, extra, what)
  if type(extra) ~= "table" then
    error("bad argument #1 to 'executor:" .. what .. "' (table expected, got " .. type(extra) .. ")", 3)
  end
  local out = {}
  if base then for k, v in pairs(base) do out[k] = v end end
  for k, v in pairs(extra) do out[k] = v end
  return out
end
-- me(v, name): a method's self, or an error naming the method (a dot call, e.call(...), or another object)
local function me(v, name)
  if getmetatable(v) ~= E then
    error("executor:" .. name .. ": bad self (executor expected, got " .. type(v) .. "): call it with a colon", 3)
  end
end
function E:with_options(o)
  me(self, "with_options")
  return executor(merged(self._options, o, "with_options"), self._context)
end
function E:with_context(c)
  me(self, "with_context")
  return executor(self._options, merged(self._context, c, "with_context"))
end
function E:call(entry, ...) me(self, "call") return call(entry, self._options, self._context, ...) end
function E:async(entry, ...) me(self, "async") return async(entry, self._options, self._context, ...) end

M.async = function(entry, ...) return async(entry, nil, nil, ...) end
M.new = function() return executor(nil, nil) end
"""


# What the Python parameters of call/prepare are to the caller (see ArgNames): an executor's state between the
# function id and the function's arguments
_CALL_ARGS = (1, "with_options", "with_context", 2)
_ASYNC_ARGS = ("future id", 1, "with_options", "with_context", 2)


def _entry(entry: Any, call: str) -> str:
    """The seed's checks of a target: a non-empty ``namespace:name`` string, else INVALID."""
    if not isinstance(entry, str):
        raise Error(ErrorKind.INVALID, f"{call}: the function id must be a string 'namespace:name', got "
                    f"{lua_type_name(entry)}", retryable=False)
    namespace, colon, name = entry.partition(":")
    if not entry or not colon or not namespace or not name:
        raise Error(ErrorKind.INVALID, f"{call}: function id {preview(entry)} must be 'namespace:name'",
                    retryable=False)
    return entry


def _table(value: Any, what: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Error(ErrorKind.INVALID, f"{what} expects a table of named values, got a list", retryable=False)
    return value


class _Funcs:
    """The Python side of one process's ``funcs`` module. ``pending`` holds what ``funcs.async`` prepared and its
    helper coroutine has not started yet; ``scopes`` the cancel scopes of the running async calls."""

    __slots__ = ("ctx", "backend", "module", "pending", "scopes")

    def __init__(self, ctx: ModuleContext) -> None:
        self.ctx = ctx
        self.backend = ctx.backend
        self.pending: dict[int, tuple[str, Any, Any, list[Any]]] = {}  # (entry, options, context, args)
        self.scopes: dict[int, Any] = {}
        self.module = ctx.load_lua(_FUNCS_LUA, "funcs", ctx.blocking(self.call, name="funcs.call", args=_CALL_ARGS),
                                   ctx.function(self.load_more, raw=True), ctx.core_setmetatable)

    def load_more(self) -> bool:
        ctx = self.ctx
        ctx.load_lua(_FUTURE_LUA, "funcs.future", self.module,
                     ctx.blocking(self.call, name="funcs.call", args=_CALL_ARGS),
                     ctx.function(self.prepare, name="funcs.async", args=_ASYNC_ARGS), ctx.blocking(self.run),
                     ctx.function(self.cancel), ctx.core, ctx.core_setmetatable)
        return True

    def _call(self, entry: str, options: Any, context: Any, args: list[Any]) -> Any:
        extra = _table(context, "with_context")
        merged = {**self.backend.context, **extra} if extra else None
        return self.backend.call_function(entry, args, _table(options, "with_options"), context=merged)

    async def call(self, entry: Any, options: Any, context: Any, *args: Any) -> Any:
        return await self._call(_entry(entry, "funcs.call"), options, context, list(args))

    def prepare(self, fid: int, entry: Any, options: Any, context: Any, *args: Any) -> bool:
        _table(options, "with_options")
        _table(context, "with_context")
        self.pending[fid] = (_entry(entry, "funcs.async"), options, context, list(args))
        return True

    async def run(self, fid: int) -> Any:
        job = self.pending.pop(fid, None)
        if job is None:  # cancelled before its coroutine started
            raise Error(ErrorKind.CANCELED, "canceled", retryable=False)
        scope = self.backend.cancel_scope()
        self.scopes[fid] = scope
        try:
            with scope:
                return await self._call(*job)
            raise Error(ErrorKind.CANCELED, "canceled", retryable=False)
        finally:
            self.scopes.pop(fid, None)

    def cancel(self, fid: int) -> bool:
        if self.pending.pop(fid, None) is None:
            scope = self.scopes.get(fid)
            if scope is not None:
                scope.cancel()
        return True


def _funcs(ctx: ModuleContext) -> Any:
    return _Funcs(ctx).module


register_module("funcs", _funcs)
