"""The ``errors`` Lua module: the kind constants, ``errors.new``, ``errors.wrap``, ``errors.is`` and
``errors.call_stack``.

The error values themselves (their methods, ``tostring``, ``..``) live in the core's values part
(``_core_values.lua``), because Python makes them too (a :class:`pidflow.Error` crossing into Lua). This module is
an always-available global, built on a process's first access to ``errors``: a table of the constants and four
lazy functions (code that only compares ``err:kind()`` with ``errors.X`` pays for that table alone); the first
call of one of them loads the module's chunk (no Python call after that).

Decisions (the seed runtime's behaviour unless said otherwise):

* ``errors.new("msg")``: kind UNKNOWN, ``retryable()`` nil, no details; ``errors.new{message =, kind =,
  retryable =, details =}`` (``message`` required; an empty ``details`` table is no details). The seed's own
  examples write ``errors.new(errors.TIMEOUT, "msg")``; pidflow reads two strings whose first is a kind that way
  (the seed would make an UNKNOWN error with the message "Timeout").
* A kind is one of ``errors.X`` (``pidflow.ErrorKind``); the seed's spellings (``"NotFound"``, ``""`` for
  UNKNOWN ...) are accepted wherever a kind is given, so code that compares ``err:kind()`` with the constants
  works either way. ``err:kind()`` answers pidflow's spelling (``"NOT_FOUND"``).
* ``errors.wrap(err, "context")`` keeps kind, retryable and details and prefixes the message:
  ``"context: inner message"`` (a plain string is wrapped as an UNKNOWN error).
* ``err:stack()`` is the Lua traceback (``debug.traceback`` form) of where ``errors.new``/``wrap`` ran, taken
  then: a walk of the current coroutine's frames, paid by code that makes errors, never by an idle process.
  ``errors.call_stack(err)`` reads it back as ``{frames = {{source =, line =, name =}...}}`` (the seed's
  ``thread`` field is absent: a pidflow process is one Lua state).
* Bad arguments raise a Lua error naming the argument, as the seed's (and Lua's own) argument checks do.
"""

from __future__ import annotations

from typing import Any

from ..errors import ErrorKind
from ._modules import ModuleContext, register_module

#: The seed runtime's kind strings, read as pidflow's kinds.
SEED_KINDS = {
    "": "UNKNOWN", "NotFound": "NOT_FOUND", "AlreadyExists": "ALREADY_EXISTS", "Invalid": "INVALID",
    "PermissionDenied": "PERMISSION_DENIED", "Unavailable": "UNAVAILABLE", "Internal": "INTERNAL",
    "Canceled": "CANCELED", "Conflict": "CONFLICT", "Timeout": "TIMEOUT", "RateLimited": "RATE_LIMITED",
}

_ERRORS_LUA = r"""
local core, kinds, seed = ...
local type, error, next, tonumber = type, error, next, tonumber
local M = {}
for i = 1, #kinds do local k = kinds[i]; seed[k] = k end
local function bad(n, fname, what) error("bad argument #" .. n .. " to 'errors." .. fname .. "' (" .. what .. ")", 3) end
-- kind_of(k) -> a kind given by the caller, in pidflow's or the seed's spelling, or nil and why not
local function kind_of(k)
  if type(k) ~= "string" then return nil, "kind must be a string (errors.X), got " .. type(k) end
  local v = seed[k]
  if v == nil then   -- (quoted cut short: a 4 MiB argument must not make a 4 MiB message)
    return nil, "unknown kind '" .. (#k > 60 and k:sub(1, 57) .. "..." or k) .. "'"
  end
  return v
end

-- (no tail calls to make_error below: the traceback it takes must still see errors.new's caller, 3 levels up)
function M.new(spec, message)
  local t, e = type(spec), nil
  if t == "string" then
    if type(message) == "string" and seed[spec] ~= nil then   -- errors.new(errors.TIMEOUT, "msg")
      e = core.make_error(seed[spec], message, nil, nil, 3)
    else
      e = core.make_error("UNKNOWN", spec, nil, nil, 3)
    end
    return e
  end
  if t ~= "table" then bad(1, "new", "string or table expected, got " .. t) end
  local msg = spec.message
  if type(msg) ~= "string" then bad(1, "new", "field 'message' must be a string, got " .. type(msg)) end
  local kind, why = "UNKNOWN", nil
  if spec.kind ~= nil then
    kind, why = kind_of(spec.kind)
    if kind == nil then bad(1, "new", why) end
  end
  local retryable = spec.retryable
  if retryable ~= nil and type(retryable) ~= "boolean" then
    bad(1, "new", "field 'retryable' must be a boolean or nil, got " .. type(retryable))
  end
  local details = spec.details
  if details ~= nil and type(details) ~= "table" then
    bad(1, "new", "field 'details' must be a table or nil, got " .. type(details))
  end
  if details ~= nil and next(details) == nil then details = nil end
  e = core.make_error(kind, msg, retryable, details, 3)
  return e
end

function M.wrap(err, context)
  local tc = type(context)
  if core.is_error(context) then context = context:message()
  elseif tc ~= "string" then bad(2, "wrap", "string expected, got " .. tc) end
  local e
  if core.is_error(err) then
    local below = err:stack()
    e = core.make_error(err:kind(), context .. ": " .. err:message(), err:retryable(), err:details(), 3,
                        below ~= "" and below or nil)
  elseif type(err) == "string" then
    e = core.make_error("UNKNOWN", context .. ": " .. err, nil, nil, 3)
  else
    bad(1, "wrap", "error or string expected, got " .. type(err))
  end
  return e
end

function M.is(err, kind)
  if kind ~= nil then
    local why
    kind, why = kind_of(kind)
    if kind == nil then bad(2, "is", why) end
  end
  if not core.is_error(err) then return false end
  return kind == nil or err:kind() == kind
end

-- call_stack(err) -> {frames = {{source =, line =, name =}...}} read from err:stack(), or nil
function M.call_stack(err)
  if not core.is_error(err) then return nil end
  local frames, n = {}, 0
  for line in err:stack():gmatch("[^\n]+") do
    local source, num, what = line:match("^%s+(.-):(%d+): in (.*)$")
    if source then
      n = n + 1
      frames[n] = {source = source, line = tonumber(num), name = what:match("'(.-)'") or what}
    end
  end
  if n == 0 then return nil end
  return {frames = frames}
end
return M.new, M.wrap, M.is, M.call_stack
"""


_FUNCTIONS = ("new", "wrap", "is", "call_stack")


class _Errors:
    """One process's ``errors``: the constants at once, the functions on first call (each member is a core
    ``lazy`` closure whose loader builds the whole chunk once)."""

    __slots__ = ("ctx", "functions")

    def __init__(self, ctx: ModuleContext) -> None:
        self.ctx = ctx
        self.functions: dict[str, Any] | None = None

    def loader(self, name: str) -> Any:
        return self.ctx.function(lambda: self.function(name), raw=True)

    def function(self, name: str) -> Any:
        if self.functions is None:
            ctx = self.ctx
            made = ctx.load_lua(_ERRORS_LUA, "errors", ctx.core, ctx.to_lua([k.value for k in ErrorKind]),
                                ctx.to_lua(SEED_KINDS))
            self.functions = dict(zip(_FUNCTIONS, made))
        return self.functions[name]

    def module(self) -> Any:
        ctx = self.ctx
        members: dict[str, Any] = {k.value: k.value for k in ErrorKind}
        members.update((name, ctx.core_lazy(self.loader(name))) for name in _FUNCTIONS)
        return ctx.to_lua(members)


def _errors(ctx: ModuleContext) -> Any:
    return _Errors(ctx).module()


register_module("errors", _errors)
