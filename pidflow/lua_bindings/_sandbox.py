"""The sandbox every Lua process runs in.

Removed: ``io``, ``debug``, ``package``, ``dofile``, ``loadfile``, ``string.dump``, every ``os`` function but
``time``/``clock``/``date``/``difftime`` (so no ``execute``, ``exit``, ``remove``, ``rename``, ``tmpname``,
``getenv``), the ``python`` table of lupa; ``load`` only accepts text chunks; ``collectgarbage`` only
``collect``/``count``/``step``/``isrunning``; ``print`` goes to the ``pidflow.lua`` logger (these three wrappers are
installed on first access, see ``SANDBOX_GLOBALS_LUA``); ``require`` is
pidflow's (capability-checked, see ``_runtime.py``).

The instruction-count hook is installed here, while ``debug`` still exists; the privileged functions the core
needs (``sethook`` for new coroutines, ``getinfo``/``traceback`` for error locations) are handed over in a table
the sandboxed code never sees. Lua 5.4 keeps hook *functions* per thread, so the core sets the hook on every
coroutine it creates (a new coroutine would otherwise run unhooked).

Deterministic mode (workflows) replaces ``pairs``/``next`` by canonical-order versions (numbers ascending, then
strings, then false/true; other key types raise) and serves ``os.time``/``os.date`` (always UTC) and
``math.random`` from the backend; ``os.clock``, ``os.time(table)`` and ``math.randomseed`` raise.
"""

SANDBOX_LUA = r"""
local opts = ...
local debug, os, math, string = debug, os, math, string
local P = {sethook = debug.sethook, getinfo = debug.getinfo, traceback = debug.traceback, raw_next = next,
           getmetatable = debug.getmetatable, hookcount = opts.hookcount}
P.TERM = setmetatable({}, {__name = "pidflow.terminated", __tostring = function() return "process terminated" end})
if opts.check then
  local check, TERM = opts.check, P.TERM
  P.hookfn = function() if check() then error(TERM, 0) end end
  debug.sethook(P.hookfn, "", opts.hookcount)
end
local REGISTRY = debug.getregistry()
local LOADED = REGISTRY._LOADED
for _, name in ipairs({"io", "debug", "package", "dofile", "loadfile", "python", "require", "os"}) do
  _G[name] = nil
  LOADED[name] = nil   -- let the unused libraries be collected
end
-- and what io and package keep in the registry (file metatable, default files, preload and C library tables):
-- ~1 KiB per state
for _, key in ipairs({"FILE*", "_IO_input", "_IO_output", "_PRELOAD", "_CLIBS"}) do REGISTRY[key] = nil end
string.dump = nil
local raw_date = os.date
os = {time = os.time, clock = os.clock, date = os.date, difftime = os.difftime}
_G.os = os
-- load, collectgarbage and print are wrapped by SANDBOX_GLOBALS_LUA, installed on first access (see _core.lua)
P.raw_load, P.raw_gc, P.log = load, collectgarbage, opts.print
load, collectgarbage, print = nil, nil, nil
if opts.deterministic then
  local now_s, rand53 = opts.now_s, opts.rand53
  local raw_next, raw_type, sort = next, type, table.sort
  os.time = function(t)
    if t ~= nil then error("os.time(table) depends on the local timezone and is not available in workflows; use time.now()", 2) end
    return now_s()
  end
  os.clock = function() error("os.clock is not deterministic and is not available in workflows; use time.now()", 2) end
  os.date = function(fmt, t)
    fmt = fmt or "%c"
    if string.sub(fmt, 1, 1) ~= "!" then fmt = "!" .. fmt end
    return raw_date(fmt, t or now_s())
  end
  math.random = function(m, n)
    local r = rand53()
    if m == nil then return r / 9007199254740992.0 end
    if n == nil then m, n = 1, m end
    if m > n then error("bad argument to 'random' (interval is empty)", 2) end
    return m + r % (n - m + 1)
  end
  math.randomseed = function() error("math.randomseed is not available in workflows: math.random already comes from the workflow's deterministic source", 2) end
  local rank = {number = 1, string = 2, boolean = 3}
  local function less(a, b)
    local ta, tb = raw_type(a), raw_type(b)
    if ta ~= tb then return rank[ta] < rank[tb] end
    if ta == "boolean" then return (not a) and b end
    return a < b
  end
  local function sorted_keys(t)
    local keys, n = {}, 0
    for k in raw_next, t do
      if not rank[raw_type(k)] then
        error("pairs/next over a table with " .. raw_type(k) .. " keys has no deterministic order in a workflow; use string or number keys", 3)
      end
      n = n + 1
      keys[n] = k
    end
    sort(keys, less)
    return keys, n
  end
  next = function(t, k)
    local keys, n = sorted_keys(t)
    local lo = 1
    if k ~= nil then
      local hi = n
      while lo <= hi do
        local mid = (lo + hi) // 2
        if less(keys[mid], k) then lo = mid + 1 elseif less(k, keys[mid]) then hi = mid - 1 else lo = mid + 1 break end
      end
    end
    local key = keys[lo]
    if key == nil then return nil end
    return key, rawget(t, key)
  end
  local getmt = P.getmetatable
  pairs = function(t)
    local mt = getmt(t)
    if mt and mt.__pairs then return mt.__pairs(t) end
    local keys, n = sorted_keys(t)
    local i = 0
    return function()
      while i < n do
        i = i + 1
        local k = keys[i]
        local v = rawget(t, k)
        if v ~= nil then return k, v end
      end
    end, t, nil
  end
end
return P
"""

# The wrapped load, collectgarbage and print: a part of the core (see _core.lua), installed into _G on first
# access to one of them (most processes never call them, and each wrapper is a prototype in every state). Its
# environment is the core's K, where load, collectgarbage and print are the originals (captured by SANDBOX_LUA).
SANDBOX_GLOBALS_LUA = r"""
local raw_load, raw_gc, log, error, tostring, select, concat = load, collectgarbage, print, error, tostring, select, concat
rawset(G, "load", function(chunk, name, mode, env)
  if mode ~= nil and mode ~= "t" then error("load: only text chunks are allowed (mode 't')", 2) end
  if env == nil then return raw_load(chunk, name, "t") end
  return raw_load(chunk, name, "t", env)
end)
local gc_ok = {collect = true, count = true, step = true, isrunning = true}
rawset(G, "collectgarbage", function(opt, ...)
  if opt ~= nil and not gc_ok[opt] then error("collectgarbage('" .. tostring(opt) .. "') is not allowed", 2) end
  return raw_gc(opt, ...)
end)
rawset(G, "print", function(...)
  local n, parts = select("#", ...), {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  log(concat(parts, "\t"))
end)
"""
