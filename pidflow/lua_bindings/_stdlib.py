"""The built-in Lua modules: channel, time, json, uuid, crypto, errors, ctx, funcs.

Each is a factory registered with :func:`register_module`; Lua parts are small chunks run with their Python
helpers as ``...``. ``process`` and ``workflow`` are registered by the hosts.
"""

from __future__ import annotations

import datetime
import json as _json
from typing import Any

from .._pid import Pid
from ..errors import Error, ErrorKind, _RETRYABLE_BY_DEFAULT
from ._durations import parse_duration
from ._modules import ModuleContext, register_module

# ---------------------------------------------------------------- channel


def _channel(ctx: ModuleContext) -> Any:
    return ctx.channel_module


# ---------------------------------------------------------------- time

_TIME_LUA = r"""
local core, clock, now_ns, parse, fmt_time, fmt_dur = ...
local setmetatable, getmetatable, type, error = setmetatable, getmetatable, type, error
local M = {NANOSECOND = 0.000001, MICROSECOND = 0.001, MILLISECOND = 1, SECOND = 1000, MINUTE = 60000, HOUR = 3600000}
local T = {__name = "time"}
local D = {__name = "duration"}
T.__index, D.__index = T, D
local function tm(ns) return setmetatable({ns = ns}, T) end
local function dur(ns) return setmetatable({ns = ns}, D) end
local function seconds(d, what)
  if getmetatable(d) == D then return d.ns / 1e9 end
  local s, err = parse(d)
  if err ~= nil then error(err, 3) end
  return s
end
M.duration = function(d) return dur(math.floor(seconds(d) * 1e9 + 0.5)) end
M.now = function() return tm(now_ns()) end
M.unix = function(sec, nsec) return tm(math.floor(sec) * 1000000000 + math.floor(nsec or 0)) end
M.sleep = function(d) core.sleep_until(clock() + seconds(d)) end
M.after = function(d)
  local ch = core.new_channel(1)
  core.add_timer(clock() + seconds(d), function() ch:send(tm(now_ns())) end)
  return ch
end
function T:sub(o)
  if getmetatable(o) ~= T then error("time:sub expects a time value", 2) end
  return dur(self.ns - o.ns)
end
function T:add(d) return tm(self.ns + math.floor(seconds(d) * 1e9 + 0.5)) end
function T:unix() return self.ns // 1000000000 end
function T:unix_milli() return self.ns // 1000000 end
function T:unix_nano() return self.ns end
function T:before(o) return self.ns < o.ns end
function T:after(o) return self.ns > o.ns end
function T:format() return fmt_time(self.ns) end
T.__tostring = function(t) return fmt_time(t.ns) end
T.__eq = function(a, b) return a.ns == b.ns end
T.__lt = function(a, b) return a.ns < b.ns end
T.__le = function(a, b) return a.ns <= b.ns end
function D:nanoseconds() return self.ns end
function D:microseconds() return self.ns // 1000 end
function D:milliseconds() return self.ns // 1000000 end
function D:seconds() return self.ns / 1e9 end
function D:minutes() return self.ns / 6e10 end
function D:hours() return self.ns / 3.6e12 end
D.__tostring = function(d) return fmt_dur(d.ns) end
D.__eq = function(a, b) return a.ns == b.ns end
D.__lt = function(a, b) return a.ns < b.ns end
D.__le = function(a, b) return a.ns <= b.ns end
D.__add = function(a, b) return dur(a.ns + b.ns) end
D.__sub = function(a, b) return dur(a.ns - b.ns) end
return M
"""


def _format_time(ns: int) -> str:
    dt = datetime.datetime.fromtimestamp(ns // 1_000_000_000, tz=datetime.timezone.utc)
    frac = ns % 1_000_000_000
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac:09d}".rstrip("0") if frac else "") + "Z"


def _format_duration(ns: int) -> str:
    """Go's Duration.String: "1h30m0s", "1.5s", "100ms", "0s"."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + f"{ns / size:.9f}".rstrip("0").rstrip(".") + unit
    h, rest = divmod(ns, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    s = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".") + "s"
    return sign + (f"{h}h{m}m" if h else (f"{m}m" if m else "")) + s


def _time(ctx: ModuleContext) -> Any:
    b = ctx.backend
    return ctx.load_lua(
        _TIME_LUA, "time", ctx.core, b.monotonic, b.now_ns, ctx.function(parse_duration),
        ctx.function(_format_time), ctx.function(_format_duration),
    )


# ---------------------------------------------------------------- json


def _jsonable(value: Any) -> Any:
    if isinstance(value, Pid):
        return str(value)
    if isinstance(value, Error):
        return value.to_dict()
    if isinstance(value, bytes):
        raise Error(ErrorKind.INVALID, "json.encode: a string that is not valid UTF-8 cannot be encoded")
    raise Error(ErrorKind.INVALID, f"json.encode: a {type(value).__name__} cannot be encoded")


def _json_encode(value: Any) -> str:
    try:
        return _json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_jsonable)
    except ValueError as exc:
        raise Error(ErrorKind.INVALID, f"json.encode: {exc}") from None


def _json_decode(text: Any) -> Any:
    if not isinstance(text, (str, bytes)):
        raise Error(ErrorKind.INVALID, f"json.decode expects a string, got {type(text).__name__}")
    try:
        return _json.loads(text)
    except ValueError as exc:
        raise Error(ErrorKind.INVALID, f"json.decode: {exc}") from None


def _json_module(ctx: ModuleContext) -> Any:
    return ctx.table(encode=ctx.function(_json_encode), decode=ctx.function(_json_decode))


# ---------------------------------------------------------------- uuid, crypto


def _uuid(ctx: ModuleContext) -> Any:
    return ctx.table(v4=ctx.function(ctx.backend.uuid4))


def _crypto(ctx: ModuleContext) -> Any:
    def random_bytes(n: Any) -> bytes:
        if type(n) is not int or not 0 <= n <= 1 << 20:
            raise Error(ErrorKind.INVALID, f"crypto.random_bytes expects an integer count in 0..1048576, got {n!r}")
        return ctx.backend.random_bytes(n)

    return ctx.table(random_bytes=ctx.function(random_bytes))


# ---------------------------------------------------------------- errors

_ERRORS_LUA = r"""
local core, kinds, retry_default = ...
local M = {}
for i = 1, #kinds do M[kinds[i]] = kinds[i] end
local function fail(msg) error(core.make_error("INVALID", msg, false), 3) end
function M.new(spec)
  if type(spec) == "string" then spec = {message = spec} end
  if type(spec) ~= "table" then fail("errors.new expects {kind=, message=, retryable=}") end
  local kind = spec.kind or "INTERNAL"
  if M[kind] ~= kind then fail("errors.new: unknown kind '" .. tostring(kind) .. "'") end
  local retryable = spec.retryable
  if retryable == nil then retryable = retry_default[kind] == true end
  return core.make_error(kind, tostring(spec.message or ""), retryable and true or false, spec.details)
end
function M.is(err, kind) return core.is_error(err) and (kind == nil or err:kind() == kind) end
return M
"""


def _errors(ctx: ModuleContext) -> Any:
    kinds = [k.value for k in ErrorKind]
    return ctx.load_lua(_ERRORS_LUA, "errors", ctx.core, ctx.to_lua(kinds),
                        ctx.to_lua({k.value: True for k in _RETRYABLE_BY_DEFAULT}))


# ---------------------------------------------------------------- ctx


def _ctx(ctx: ModuleContext) -> Any:
    data = ctx.backend.context
    return ctx.table(get=ctx.function(lambda key: data.get(key)), all=ctx.function(lambda: dict(data)))


# ---------------------------------------------------------------- funcs

_FUNCS_LUA = r"""
local call = ...
local E = {}
E.__index = E
local function new(options) return setmetatable({options = options}, E) end
function E:with_options(o)
  if type(o) ~= "table" then error("with_options expects a table", 2) end
  local merged = {}
  for k, v in pairs(self.options) do merged[k] = v end
  for k, v in pairs(o) do merged[k] = v end
  return new(merged)
end
function E:call(entry, ...) return call(entry, self.options, ...) end
return {
  new = function() return new({}) end,
  call = function(entry, ...) return call(entry, {}, ...) end,
}
"""


def _funcs(ctx: ModuleContext) -> Any:
    backend = ctx.backend

    async def call(entry: Any, options: Any, *args: Any) -> Any:
        if not isinstance(entry, str):
            raise Error(ErrorKind.INVALID, f"funcs.call expects an entry id string, got {type(entry).__name__}")
        return await backend.call_function(entry, list(args), options or {})

    return ctx.load_lua(_FUNCS_LUA, "funcs", ctx.blocking(call))


for _name, _factory in {
    "channel": _channel, "time": _time, "json": _json_module, "uuid": _uuid, "crypto": _crypto,
    "errors": _errors, "ctx": _ctx, "funcs": _funcs,
}.items():
    register_module(_name, _factory)
