"""The Lua ``time`` module, as the seed runtime has it (Go's ``time`` package seen from Lua).

Numbers given as durations are **nanoseconds** here (``time.SECOND == 1e9``), strings are Go durations
(``"1h30m"``), and Duration values work wherever a duration is taken. (Spawn options and ``process.cancel`` keep
the workflow spec's milliseconds: see ``_durations``.)

Design. Times, durations, locations, timers and tickers are Lua tables with metatables, built and compared in
Lua; Python does what needs a calendar or a zone database (``_time_calendar``) and Go layouts
(``_time_layout``). A time is ``{s = unix seconds, n = nanoseconds, loc = location}`` so that every year Go
handles fits (``time.parse("15:04", ...)`` is in year 0). Timers are entries of the core's timer list
(``_core_timers.lua``) that put a Time on a channel (``S.offer``) and close it, as the seed's do; a ticker
re-arms its entry each period. The process's driver waits for the first deadline: a trio deadline locally (so a
``MockClock`` drives them), a durable Temporal timer in a workflow, where ``now`` is workflow time and ``localtz``
is UTC, so every value replays. What only some programs use (calendar fields, formats, parsing, zones, timers)
is a second chunk, loaded on first use: a process that only sleeps pays for the first.
"""

from __future__ import annotations

from typing import Any

from . import _time_calendar as cal
from . import _time_layout as layout
from ._durations import format_go_duration, parse_go_duration
from ._modules import ModuleContext, register_module

_TIME_LUA = r"""
local core, setmt, clock, now_ns, parse_dur, fmt_dur, deterministic, extra = ...
local type, math_type, floor, ceil, getmetatable, rawget, tostring, error = type, math.type, math.floor, math.ceil, getmetatable, rawget, tostring, error
local M = {NANOSECOND = 1, MICROSECOND = 1000, MILLISECOND = 1000000, SECOND = 1000000000,
  MINUTE = 60000000000, HOUR = 3600000000000}
local T, D, L = {__name = "time.Time"}, {__name = "time.Duration"}, {__name = "time.Location"}
T.__index, D.__index, L.__index = T, D, L
local UTC = setmt({name = "UTC"}, L)
local LOCAL = deterministic and UTC or setmt({name = "Local"}, L)

local function invalid(msg) return core.make_error("INVALID", msg, false) end
-- tname(v): what a value is, for messages (a time.Duration, a number ...)
local function tname(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__name") or type(v)
end
-- me(v, mt, name): a method's self, or an INVALID error naming the method (a dot call, t.unix(), or another
-- object) raised at the caller's level
local function me(v, mt, name)
  if getmetatable(v) ~= mt then
    error(invalid(name .. ": bad self (" .. mt.__name .. " expected, got " .. tname(v) .. "): call it with a colon"), 3)
  end
  return v
end
-- an operator's operands (t < 5): both of its type, or an INVALID error naming the operator
local function operands(a, b, mt, op)
  if getmetatable(a) ~= mt or getmetatable(b) ~= mt then
    error(invalid(mt.__name .. " " .. op .. ": " .. tname(a) .. " and " .. tname(b) .. " (both must be a "
      .. mt.__name .. ")"), 3)
  end
end
local function tm(s, n, loc) return setmt({s = s, n = n, loc = loc}, T) end
local function dur(ns) return setmt({ns = ns}, D) end

-- ns_of(v, what) -> integer nanoseconds of a duration argument | nil, INVALID error naming `what`
local cache, cached = {}, 0
local function ns_of(v, what)
  local mt = math_type(v)
  if mt == "integer" then return v end
  if mt == "float" then   -- truncated, as Go's Duration(x) does
    local i = v >= 0 and floor(v) or ceil(v)
    if math_type(i) == "integer" then return i end
    return nil, invalid(what .. ": duration " .. tostring(v) .. " is not a finite 64-bit number of nanoseconds")
  end
  if type(v) == "string" then
    local ns = cache[v]
    if ns then return ns end
    local err
    ns, err = parse_dur(v)
    if ns == nil then return nil, invalid(what .. ": " .. err:message()) end
    if cached < 64 then cache[v], cached = ns, cached + 1 end
    return ns
  end
  if getmetatable(v) == D then return v.ns end
  return nil, invalid(what .. ": a duration is a number of nanoseconds, a string like \"5s\" or a Duration, got " .. type(v))
end

local function now()
  local ns = now_ns()
  return tm(ns // 1000000000, ns % 1000000000, LOCAL)
end
M.now = now
function M.sleep(d)
  local ns, err = ns_of(d, "time.sleep")
  if ns == nil then return nil, err end
  core.sleep_until(clock() + (ns > 0 and ns / 1e9 or 0))
end
function M.parse_duration(d)
  local ns, err = ns_of(d, "time.parse_duration")
  if ns == nil then return nil, err end
  return dur(ns)
end
-- start(ns) -> {ch =, t =, fire =}: a one-shot entry of the core's timer list that offers a Time to its channel
-- and closes it (time.after, and time.timer's objects)
local offer
local function start(ns)
  local ch = core.new_channel(1)
  offer = offer or core.export("offer", "channel")
  local self = {ch = ch}
  self.fire = function()
    self.t = nil
    offer(ch, now(), true)
  end
  self.t = core.add_timer(clock() + ns / 1e9, self.fire)
  return self
end
function M.after(d)
  local ns, err = ns_of(d, "time.after")
  if ns == nil then return nil, err end
  if ns <= 0 then return nil, invalid("time.after: duration must be > 0") end
  return start(ns).ch
end

function T:unix() return me(self, T, "time:unix").s end
function T:unix_nano() me(self, T, "time:unix_nano") return self.s * 1000000000 + self.n end
function T:add(d)
  me(self, T, "time:add")
  local ns, err = ns_of(d, "time:add")
  if ns == nil then error(err, 2) end
  local n = self.n + ns % 1000000000   -- (no overflow for any ns)
  return tm(self.s + ns // 1000000000 + n // 1000000000, n % 1000000000, self.loc)
end
local function time_arg(o, what)
  if getmetatable(o) ~= T then error(invalid(what .. ": bad argument #1: time expected, got " .. type(o)), 3) end
  return o
end
function T:sub(o)
  me(self, T, "time:sub")
  time_arg(o, "time:sub")
  local ds = self.s - o.s   -- saturated beyond the range of a Duration, as in Go
  if ds > 9223372035 or (ds < 0 and self.s > o.s) then return dur(math.maxinteger) elseif ds < -9223372035 or (ds > 0 and self.s < o.s) then return dur(math.mininteger) end
  return dur(ds * 1000000000 + (self.n - o.n))
end
T.__eq = function(a, b) return a.s == b.s and a.n == b.n end
T.__lt = function(a, b) operands(a, b, T, "<") return a.s < b.s or (a.s == b.s and a.n < b.n) end
T.__le = function(a, b) operands(a, b, T, "<=") return a.s < b.s or (a.s == b.s and a.n <= b.n) end

-- Duration: integer counts truncate toward zero (Go's division), the others are floats
local function quo(a, b) local q = a // b if q < 0 and q * b ~= a then q = q + 1 end return q end
local function count(unit, name) return function(d) return quo(me(d, D, name).ns, unit) end end
local function part(unit, name)
  return function(d) local ns = me(d, D, name).ns local q = quo(ns, unit) return q + (ns - q * unit) / unit end
end
function D:nanoseconds() return me(self, D, "duration:nanoseconds").ns end
D.microseconds, D.milliseconds = count(1000, "duration:microseconds"), count(1000000, "duration:milliseconds")
D.seconds, D.minutes = part(1000000000, "duration:seconds"), part(60000000000, "duration:minutes")
D.hours = part(3600000000000, "duration:hours")
D.__tostring = function(d) return fmt_dur(d.ns) end
D.__eq = function(a, b) return a.ns == b.ns end
D.__lt = function(a, b) operands(a, b, D, "<") return a.ns < b.ns end
D.__le = function(a, b) operands(a, b, D, "<=") return a.ns <= b.ns end
D.__add = function(a, b) operands(a, b, D, "+") return dur(a.ns + b.ns) end
D.__sub = function(a, b) operands(a, b, D, "-") return dur(a.ns - b.ns) end
D.__unm = function(a) return dur(-a.ns) end   -- (Go's -d: the shortest Duration stays itself, as it wraps there)

-- the rest (calendar, formats, zones, timers, the other constants) loads on the first access to a name this
-- chunk does not define
local loaded = false
local function load_more()
  loaded = true
  local more, err = extra()
  if more == nil then error(err, 0) end
  more(T, D, L, M, UTC, LOCAL, tm, invalid, ns_of, now, start, clock, time_arg, me)
end
local LAZY = {__index = function(t, k)
  if loaded then return nil end
  load_more()
  return rawget(t, k)
end}
setmt(M, LAZY)
setmt(T, LAZY)
setmt(L, LAZY)
T.__tostring = function(t)   -- (the second chunk replaces it)
  load_more()
  return T.__tostring(t)
end
return M
"""

# The second chunk: returns a function that extends the first chunk's tables (its arguments: see load_more).
_TIME_EXTRA_LUA = r"""
local core, setmt, py = ...
local fields_of, make, add_date, format, parse, check_zone, remainder = py.fields, py.make, py.add_date, py.format, py.parse, py.check_zone, py.remainder
return function(T, D, L, M, UTC, LOCAL, tm, invalid, ns_of, now, start, clock, time_arg, me)
local type, math_type, floor, ceil, getmetatable, error = type, math.type, math.floor, math.ceil, getmetatable, error
for k, v in pairs{
  RFC3339 = "2006-01-02T15:04:05Z07:00", RFC3339NANO = "2006-01-02T15:04:05.999999999Z07:00",
  RFC822 = "02 Jan 06 15:04 MST", RFC822Z = "02 Jan 06 15:04 -0700", RFC850 = "Monday, 02-Jan-06 15:04:05 MST",
  RFC1123 = "Mon, 02 Jan 2006 15:04:05 MST", RFC1123Z = "Mon, 02 Jan 2006 15:04:05 -0700", KITCHEN = "3:04PM",
  STAMP = "Jan _2 15:04:05", STAMP_MILLI = "Jan _2 15:04:05.000", STAMP_MICRO = "Jan _2 15:04:05.000000",
  STAMP_NANO = "Jan _2 15:04:05.000000000", DATE_TIME = "2006-01-02 15:04:05", DATE_ONLY = "2006-01-02",
  TIME_ONLY = "15:04:05",
  JANUARY = 1, FEBRUARY = 2, MARCH = 3, APRIL = 4, MAY = 5, JUNE = 6, JULY = 7, AUGUST = 8, SEPTEMBER = 9,
  OCTOBER = 10, NOVEMBER = 11, DECEMBER = 12,
  SUNDAY = 0, MONDAY = 1, TUESDAY = 2, WEDNESDAY = 3, THURSDAY = 4, FRIDAY = 5, SATURDAY = 6,
  utc = UTC, localtz = LOCAL,
} do M[k] = v end

-- argument checks: a Lua error naming the argument (the seed raises for these)
local function bad(fname, i, pname, want, v)
  error(invalid(fname .. ": bad argument #" .. i .. " (" .. pname .. "): " .. want .. " expected, got "
    .. (math_type(v) or type(v))), 3)
end
local function int(v, fname, i, pname)   -- an integer, or a float truncated toward zero
  local mt = math_type(v)
  if mt == "integer" then return v end
  if mt == "float" then
    local x = v >= 0 and floor(v) or ceil(v)
    if math_type(x) == "integer" then return x end
  end
  bad(fname, i, pname, "integer", v)
end
local function str(v, fname, i, pname)
  if type(v) ~= "string" then bad(fname, i, pname, "string", v) end
  return v
end
local function loc_arg(v, fname, i)
  if getmetatable(v) ~= L then bad(fname, i, "location", "time.Location", v) end
  return v
end
-- the error of a Python helper (a date beyond 64-bit seconds ...), naming the call
local function named(err, fname) return core.make_error(err:kind(), fname .. ": " .. err:message(), false) end
-- layouts and values longer than this are refused (_time_layout.MAX_LAYOUT: each field is a Python object)
local MAX_LAYOUT = %MAX_LAYOUT%

local FIELDS = setmt({}, {__mode = "k"})   -- a time's calendar fields, computed once
local function f(t)
  local v = FIELDS[t]
  if v == nil then
    v = fields_of(t.s, t.loc.name, t.loc.off)
    FIELDS[t] = v
  end
  return v
end
local NAMES = {"year", "month", "day", "hour", "minute", "second", "weekday", "year_day"}
for i = 1, #NAMES do
  local name = "time:" .. NAMES[i]
  T[NAMES[i]] = function(self) return f(me(self, T, name))[i] end
end
function T:date() local v = f(me(self, T, "time:date")) return v[1], v[2], v[3] end
function T:clock() local v = f(me(self, T, "time:clock")) return v[4], v[5], v[6] end
function T:nanosecond() return me(self, T, "time:nanosecond").n end
function T:before(o)
  me(self, T, "time:before") time_arg(o, "time:before")
  return self.s < o.s or (self.s == o.s and self.n < o.n)
end
function T:after(o)
  me(self, T, "time:after") time_arg(o, "time:after")
  return self.s > o.s or (self.s == o.s and self.n > o.n)
end
function T:equal(o) me(self, T, "time:equal") time_arg(o, "time:equal") return self.s == o.s and self.n == o.n end
function T:is_zero() me(self, T, "time:is_zero") return self.s == -62135596800 and self.n == 0 end
function T:utc() me(self, T, "time:utc") return tm(self.s, self.n, UTC) end
function T:in_local() me(self, T, "time:in_local") return tm(self.s, self.n, LOCAL) end
function T:in_location(loc)
  me(self, T, "time:in_location")
  return tm(self.s, self.n, loc_arg(loc, "time:in_location", 1))
end
function T:location() return me(self, T, "time:location").loc end
-- t:format(layout): Go layouts; without one, RFC 3339 with nanoseconds
function T:format(layout)
  me(self, T, "time:format")
  if layout == nil then layout = M.RFC3339NANO else str(layout, "time:format", 1, "layout") end
  if #layout > MAX_LAYOUT then
    error(invalid("time:format: bad argument #1 (layout): a layout of at most " .. MAX_LAYOUT .. " bytes expected, got "
      .. #layout .. " bytes"), 2)
  end
  return format(self.s, self.n, self.loc.name, self.loc.off, layout)
end
function T:format_rfc3339()
  me(self, T, "time:format_rfc3339")
  return format(self.s, self.n, self.loc.name, self.loc.off, M.RFC3339)
end
-- tostring(t): Go's Time.String
T.__tostring = function(t) return format(t.s, t.n, t.loc.name, t.loc.off, "2006-01-02 15:04:05.999999999 -0700 MST") end
function T:add_date(y, m, d)
  me(self, T, "time:add_date")
  local r, err = add_date(self.s, self.n, self.loc.name, self.loc.off, int(y, "time:add_date", 1, "years"),
                          int(m, "time:add_date", 2, "months"), int(d, "time:add_date", 3, "days"))
  if r == nil then error(named(err, "time:add_date"), 2) end   -- beyond the range of a time
  return tm(r[1], r[2], self.loc)
end
local function rounding(t, d, fname, up)
  me(t, T, fname)
  if getmetatable(d) ~= D then bad(fname, 1, "d", "time.Duration (time.parse_duration)", d) end
  if d.ns <= 0 then return tm(t.s, t.n, t.loc) end
  local r = remainder(t.s, t.n, d.ns)
  if up and r >= d.ns - r then return t:add(d.ns - r) end   -- (not r + r: it overflows for a long d)
  return t:add(-r)
end
function T:truncate(d) return rounding(self, d, "time:truncate", false) end
function T:round(d) return rounding(self, d, "time:round", true) end
function L:string() return me(self, L, "location:string").name end
L.__tostring = L.string

function M.unix(sec, nsec)
  local s, n = int(sec, "time.unix", 1, "sec"), nsec == nil and 0 or int(nsec, "time.unix", 2, "nsec")
  return tm(s + n // 1000000000, n % 1000000000, LOCAL)
end
function M.date(y, mo, d, h, mi, s, ns, loc)
  local fname = "time.date"
  y, mo, d = int(y, fname, 1, "year"), int(mo, fname, 2, "month"), int(d, fname, 3, "day")
  h, mi, s, ns = int(h, fname, 4, "hour"), int(mi, fname, 5, "minute"), int(s, fname, 6, "second"), int(ns, fname, 7, "nanosecond")
  if loc == nil then loc = LOCAL else loc_arg(loc, fname, 8) end
  local r, err = make(y, mo, d, h, mi, s, ns, loc.name, loc.off)
  if r == nil then error(named(err, fname), 2) end   -- beyond the range of a time
  return tm(r[1], r[2], loc)
end
-- time.parse(layout, value[, loc]) -> Time | nil, INVALID error (Go's message)
function M.parse(layout, value, loc)
  str(layout, "time.parse", 1, "layout")
  str(value, "time.parse", 2, "value")
  if loc == nil then loc = LOCAL else loc_arg(loc, "time.parse", 3) end
  if #layout > MAX_LAYOUT or #value > MAX_LAYOUT then
    return nil, invalid("time.parse: a layout or value longer than " .. MAX_LAYOUT .. " bytes (" .. #layout .. " and "
      .. #value .. ")")
  end
  local r, err = parse(layout, value, loc.name, loc.off)
  if r == nil then return nil, err end
  local where = r[3]
  if where == 1 then loc = UTC elseif where == 2 then loc = setmt({name = r[4], off = r[5]}, L) end
  return tm(r[1], r[2], loc)
end
-- time.load_location(name) -> Location | nil, INVALID (empty name) or NOT_FOUND error
function M.load_location(name)
  str(name, "time.load_location", 1, "name")
  if name == "UTC" then return UTC elseif name == "Local" then return LOCAL end
  local ok, err = check_zone(name)
  if not ok then return nil, err end
  return setmt({name = name}, L)
end
function M.fixed_zone(name, offset)
  return setmt({name = str(name, "time.fixed_zone", 1, "name"), off = int(offset, "time.fixed_zone", 2, "offset")}, L)
end

-- timers and tickers
local add_timer, cancel_timer, offer = core.add_timer, core.export("cancel_timer", "timers"), nil
local TM, TK = {__name = "time.Timer"}, {__name = "time.Ticker"}
TM.__index, TK.__index = TM, TK
local function positive(d, what)
  local ns, err = ns_of(d, what)
  if ns == nil then return nil, err end
  if ns <= 0 then return nil, invalid(what .. ": duration must be > 0") end
  return ns
end
function M.timer(d)
  local ns, err = positive(d, "time.timer")
  if ns == nil then return nil, err end
  offer = offer or core.export("offer", "channel")
  return setmt(start(ns), TM)
end
function TM:response() return me(self, TM, "timer:response").ch end
function TM:channel() return me(self, TM, "timer:channel").ch end
-- stop() -> true if the timer had not fired yet; its channel is closed either way
function TM:stop()
  me(self, TM, "timer:stop")
  local t = self.t
  self.t = nil
  if t then cancel_timer(t) end
  offer(self.ch, nil, true)
  return t ~= nil
end
-- reset(d) -> true if the timer was pending and now fires d from now; false (nothing changes) once it fired or
-- was stopped (its channel is closed then); a bad duration raises
function TM:reset(d)
  me(self, TM, "timer:reset")
  local ns, err = positive(d, "timer:reset")
  if ns == nil then error(err, 2) end
  local t = self.t
  if not t then return false end
  cancel_timer(t)
  self.t = add_timer(clock() + ns / 1e9, self.fire)
  return true
end

-- a ticker: a Time on its channel every period (buffered 16, as the seed's; ticks nobody takes are dropped);
-- the next deadline is the next multiple of the period after the last one, so a late wakeup skips ticks rather
-- than bunching them
function M.ticker(d)
  local ns, err = positive(d, "time.ticker")
  if ns == nil then return nil, err end
  local ch = core.new_channel(16)
  offer = offer or core.export("offer", "channel")
  local self = setmt({ch = ch, period = ns / 1e9}, TK)
  self.fire = function()
    offer(ch, now(), false)
    local period = self.period
    local next, c = self.t.deadline + period, clock()
    if next <= c then next = next + period * ((c - next) // period + 1) end
    self.t = add_timer(next, self.fire)
  end
  self.t = add_timer(clock() + self.period, self.fire)
  return self
end
function TK:response() return me(self, TK, "ticker:response").ch end
function TK:channel() return me(self, TK, "ticker:channel").ch end
-- stop() -> true; the channel is closed
function TK:stop()
  me(self, TK, "ticker:stop")
  local t = self.t
  self.t = nil
  if t then cancel_timer(t) end
  offer(self.ch, nil, true)
  return true
end
-- reset(d): the next tick d from now, then every d (Go's Ticker.Reset) -> true; false once stopped
function TK:reset(d)
  me(self, TK, "ticker:reset")
  local ns, err = positive(d, "ticker:reset")
  if ns == nil then error(err, 2) end
  local t = self.t
  if not t then return false end
  cancel_timer(t)
  self.period = ns / 1e9
  self.t = add_timer(clock() + self.period, self.fire)
  return true
end
end
""".replace("%MAX_LAYOUT%", str(layout.MAX_LAYOUT))


def _text(value: str | bytes) -> str:
    """A Lua string that is not UTF-8 (bytes here) as text whose odd bytes come back as they were (Go layouts and
    values are bytes)."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _zone(name: Any, offset: Any) -> cal.Zone:
    return cal.zone(_text(name), offset)


def _fields(sec: int, name: str, offset: int | None) -> list[Any]:
    return cal.fields(sec, _zone(name, offset))[:8]   # (what Lua reads: year ... year_day)


def _make(y: int, mo: int, d: int, h: int, mi: int, s: int, ns: int, name: str, offset: int | None) -> list[int]:
    return list(cal.make(y, mo, d, h, mi, s, ns, _zone(name, offset)))


def _add_date(sec: int, nsec: int, name: str, offset: int | None, years: int, months: int, days: int) -> list[int]:
    return list(cal.add_date(sec, nsec, _zone(name, offset), years, months, days))


def _format(sec: int, nsec: int, name: str, offset: int | None, text: str | bytes) -> bytes:
    return layout.format_time(sec, nsec, _zone(name, offset), _text(text)).encode("utf-8", "surrogateescape")


def _parse(text: str | bytes, value: str | bytes, name: str, offset: int | None) -> list[Any]:
    """[sec, nsec, where, zone name, zone offset]: where 0 = the default location, 1 = UTC, 2 = a fixed zone."""
    default = _zone(name, offset)
    sec, nsec, z = layout.parse_time(_text(text), _text(value), default)
    if z is default:
        return [sec, nsec, 0]
    if z is cal.UTC:
        return [sec, nsec, 1]
    return [sec, nsec, 2, z.name, z.fixed]


def _check_zone(name: str | bytes) -> bool:
    cal.load_zone(_text(name))
    return True


def _time(ctx: ModuleContext) -> Any:
    b = ctx.backend
    fn = ctx.function

    def extra() -> Any:  # the second chunk's function
        py = ctx.table(fields=fn(_fields), make=fn(_make), add_date=fn(_add_date), format=fn(_format),
                       parse=fn(_parse), check_zone=fn(_check_zone), remainder=fn(cal.remainder))
        return ctx.load_lua(_TIME_EXTRA_LUA, "time.more", ctx.core, ctx.core_setmetatable, py)

    return ctx.load_lua(_TIME_LUA, "time", ctx.core, ctx.core_setmetatable, b.monotonic, b.now_ns,
                        fn(parse_go_duration), fn(format_go_duration), ctx.deterministic,
                        fn(extra, raw=True))


register_module("time", _time)
