"""The sandbox every Lua process runs in.

Removed: ``io``, ``debug``, ``package``, ``dofile``, ``loadfile``, ``string.dump``, every ``os`` function but
``time``/``clock``/``date``/``difftime`` (so no ``execute``, ``exit``, ``remove``, ``rename``, ``tmpname``,
``getenv``), the ``python`` table of lupa; ``load`` only accepts text chunks; ``collectgarbage`` only
``collect``/``count``/``step``/``isrunning``; ``print`` goes to the ``pidflow.lua`` logger; ``setmetatable`` refuses
``__gc`` (these four wrappers are installed on first access, see ``SANDBOX_GLOBALS_LUA``); ``require`` is
pidflow's (capability-checked, see ``_runtime.py``). ``string.find``/``match``/``gmatch``/``gsub`` and
``table.move``/``insert``/``remove``/``sort`` are taken out and come back guarded on first access
(``_core_guards.lua``). The registry's global table, which lupa reads on every call from Python outside any
protected call, becomes an empty one: the ``_G`` Lua code sees is the environment pidflow gives its chunks.

The instruction-count hook is installed here, while ``debug`` still exists; the privileged functions the core
needs (``sethook`` for new coroutines, ``getinfo``/``traceback`` for error locations) are handed over in a table
the sandboxed code never sees. Lua 5.4 keeps hook *functions* per thread, so the core sets the hook on every
coroutine it creates (a new coroutine would otherwise run unhooked).

Deterministic mode (workflows) replaces ``pairs``/``next`` by versions whose order does not depend on the process
(canonical: numbers ascending, then strings, then false/true; other key types raise; ``pairs`` walks a canonical
snapshot, ``next`` a per-table order that appends keys added later, O(1) amortised per step), serves
``os.time``/``os.date`` (always UTC) and ``math.random`` (Lua 5.4's arguments and ranges) from the backend, and
makes ``tostring``/``print``/``string.format`` show an object as ``table: 0x00000001`` (counted per run) instead
of its address (``%p`` of a string raises); ``os.clock``, ``os.time(table)`` and ``math.randomseed`` raise.
"""

SANDBOX_LUA = r"""
local opts = ...
local debug, os, math, string = debug, os, math, string
local P = {sethook = debug.sethook, getinfo = debug.getinfo, traceback = debug.traceback, raw_next = next,
           getmetatable = debug.getmetatable, hookcount = opts.hookcount}
P.TERM = setmetatable({}, {__name = "pidflow.terminated", __tostring = function() return "process terminated" end})
if opts.check then
  -- check(n) (n: the count that just ran out) -> true: stop (TERM, which no pcall catches); a number: call the
  -- hook after that many instructions in this coroutine from now on (the driver paces the hook to the time
  -- instructions take, see LuaProcess._check)
  local check, TERM, sethook, gethook = opts.check, P.TERM, debug.sethook, debug.gethook
  local function hookfn()
    local _, _, n = gethook()
    local r = check(n)
    if r then
      if r == true then error(TERM, 0) end
      sethook(hookfn, "", r)
    end
  end
  P.hookfn, P.clock = hookfn, os.clock
  debug.sethook(hookfn, "", opts.hookcount)
end
local REGISTRY = debug.getregistry()
local LOADED = REGISTRY._LOADED
if opts.pool then   -- a pooled state (_state_pool.py): what its snapshot and reset need, for Python only
  P.pool = {getupvalue = debug.getupvalue, setupvalue = debug.setupvalue, upvalueid = debug.upvalueid,
            getmetatable = debug.getmetatable, setmetatable = debug.setmetatable, getinfo = debug.getinfo,
            dump = string.dump}
end
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
  -- math.random: Lua 5.4's arguments, errors and ranges over the workflow's random source. An interval of up
  -- to 2^53 values takes one 53-bit draw as `low + r % size` (what runs recorded before kept doing); wider
  -- ones and math.random(0) take 64 bits, projected as Lua's project() does (mask, redraw while above).
  local tonumber, math_toint, ult, select = tonumber, math.tointeger, math.ult, select
  local getmt = P.getmetatable
  local function typename(v)   -- as luaL_typeerror names a value
    local mt = getmt(v)
    local name = mt and rawget(mt, "__name")
    return raw_type(name) == "string" and name or raw_type(v)
  end
  local function checkint(v, i)   -- luaL_checkinteger (numeric strings convert)
    if raw_type(v) == "string" then v = tonumber(v) or v end
    if raw_type(v) == "number" then
      local n = math_toint(v)
      if n then return n end
      error("bad argument #" .. i .. " to 'random' (number has no integer representation)", 3)
    end
    error("bad argument #" .. i .. " to 'random' (number expected, got " .. typename(v) .. ")", 3)
  end
  local function rand64() return (rand53() << 11) | (rand53() & 0x7FF) end
  math.random = function(...)
    local argc, low, up = select("#", ...), 1, nil
    if argc == 0 then return rand53() / 9007199254740992.0 end
    if argc == 1 then
      up = checkint(..., 1)
      if up == 0 then return rand64() end
    elseif argc == 2 then
      local m, n = ...
      low, up = checkint(m, 1), checkint(n, 2)
    else
      error("wrong number of arguments", 2)
    end
    if low > up then error("bad argument #1 to 'random' (interval is empty)", 2) end
    local lim = up - low   -- as an unsigned integer: the interval has lim + 1 values
    if ult(lim, 9007199254740992) then return low + rand53() % (lim + 1) end
    local mask = lim | (lim >> 1)
    mask = mask | (mask >> 2); mask = mask | (mask >> 4); mask = mask | (mask >> 8)
    mask = mask | (mask >> 16); mask = mask | (mask >> 32)
    local r = rand64() & mask
    while ult(lim, r) do r = rand64() & mask end
    return low + r
  end
  math.randomseed = function() error("math.randomseed is not available in workflows: math.random already comes from the workflow's deterministic source", 2) end
  -- pairs/next. Stock Lua's order depends on the process's string hash seed; here it depends only on what the
  -- Lua code did. Canonical order: numbers ascending, then strings, then false, true (other key types raise).
  -- * pairs(t) walks the keys t has when it is called, in canonical order (a snapshot: keys added during the
  --   walk are not visited, cleared ones are skipped): one O(n) scan per call, a sort only after keys were added.
  -- * next walks a per-table order, so that each step is O(1) amortised, `next(t)` on a table being emptied
  --   included (Lua cannot tell us when a table gains a key, and scanning on every next(t) would be O(n)). The
  --   order is canonical when made; a walk that reaches its end scans the table once (amortised over the walk)
  --   and appends the keys it lacks, in canonical order, after the keys it keeps (cleared keys are dropped
  --   then). Kept keys never move, so a walk in progress goes on where it was; cleared keys stay in the order
  --   until then and are skipped, so clearing fields during a walk (which Lua allows) is safe; `head` skips the
  --   cleared keys at the front once.
  -- orders[t] = {keys, pos, n, head, canonical, sorted}: pos[key] = its index in keys or, for a key dropped by
  -- the last rebuild, the index of the last kept key before it (a walk that stopped at it goes on from there);
  -- canonical: keys[head..n] are in canonical order; sorted: else, a canonical copy for pairs
  local orders = setmetatable({}, {__mode = "k"})
  local RANK = {number = 1, string = 2, boolean = 3}
  local function canonical(keys, n, level)   -- sorts keys[1..n] in place
    local nn, ns = 0, 0
    for i = 1, n do
      local ty = raw_type(keys[i])
      if ty == "number" then nn = nn + 1 elseif ty == "string" then ns = ns + 1
      elseif ty ~= "boolean" then
        error("pairs/next over a table with " .. ty .. " keys has no deterministic order in a workflow; use string or number keys", level)
      end
    end
    if nn == n or ns == n then sort(keys) return end
    local nums, strs, f, tr = {}, {}, false, false
    nn, ns = 0, 0
    for i = 1, n do
      local k = keys[i]
      local ty = raw_type(k)
      if ty == "number" then nn = nn + 1; nums[nn] = k
      elseif ty == "string" then ns = ns + 1; strs[ns] = k
      elseif k then tr = true else f = true end
    end
    sort(nums)
    sort(strs)
    for i = 1, nn do keys[i] = nums[i] end
    for i = 1, ns do keys[nn + i] = strs[i] end
    n = nn + ns
    if f then n = n + 1; keys[n] = false end
    if tr then n = n + 1; keys[n] = true end
  end
  local function before(a, b)   -- a < b in canonical order
    local ta, tb = raw_type(a), raw_type(b)
    if ta ~= tb then return RANK[ta] < RANK[tb] end
    if ta == "boolean" then return b and not a end
    return a < b
  end
  -- (level: of the caller of the next/pairs that called build/refresh)
  local function build(t, level)
    local keys, pos, n = {}, {}, 0
    for k in raw_next, t do n = n + 1; keys[n] = k end
    canonical(keys, n, level)
    for i = 1, n do pos[keys[i]] = i end
    local o = {keys, pos, n, 1, true, nil}
    orders[t] = o
    return o
  end
  -- takes in the keys the order lacks; returns the index of the first one (nil if there was none) and how many
  -- keys the table has
  local function refresh(t, o, level)
    local keys, pos, n, head = o[1], o[2], o[3], o[4]
    local missed, m, live = nil, 0, 0
    for k in raw_next, t do
      live = live + 1
      local p = pos[k]
      -- new, cleared and set again behind head, or dropped by the last rebuild and set again
      if p == nil or p < head or keys[p] ~= k then
        if m == 0 then missed = {} end
        m = m + 1
        missed[m] = k
      end
    end
    if m == 0 then return nil, live end
    canonical(missed, m, level)
    local new_keys, new_pos, c = {}, {}, 0
    for i = 1, n do
      local k = keys[i]
      if i >= head and rawget(t, k) ~= nil then
        c = c + 1
        new_keys[c], new_pos[k] = k, c
      else
        new_pos[k] = c
      end
    end
    local first = c + 1
    o[5] = c == 0 or (o[5] and before(new_keys[c], missed[1]))
    for j = 1, m do
      local k = missed[j]
      c = c + 1
      new_keys[c], new_pos[k] = k, c
    end
    o[1], o[2], o[3], o[4], o[6] = new_keys, new_pos, c, 1, nil
    return first, live
  end
  next = function(t, k)
    if raw_type(t) ~= "table" then error("bad argument #1 to 'next' (table expected, got " .. typename(t) .. ")", 2) end
    local o = orders[t]
    if o == nil then
      if k == nil and raw_next(t) == nil then return nil end
      o = build(t, 4)
    end
    local keys, n, i = o[1], o[3], nil
    if k == nil then
      i = o[4]
      while i <= n and rawget(t, keys[i]) == nil do i = i + 1 end
      o[4] = i
    else
      local p = o[2][k]
      if p == nil then
        if rawget(t, k) == nil then error("invalid key to 'next'", 2) end
        refresh(t, o, 4)   -- k was added since the order was made
        keys, n, p = o[1], o[3], o[2][k]
      end
      i = p + 1
      while i <= n and rawget(t, keys[i]) == nil do i = i + 1 end
    end
    if i > n then
      i = refresh(t, o, 4)
      if i == nil then return nil end
      keys = o[1]
    end
    local key = keys[i]
    return key, rawget(t, key)
  end
  local det_next = next
  local function live_keys(t, keys, from, to)   -- a new array of the keys[from..to] that t has, and its length
    local s, c = {}, 0
    for j = from, to do
      local k = keys[j]
      if rawget(t, k) ~= nil then c = c + 1; s[c] = k end
    end
    return s, c
  end
  pairs = function(t)
    local mt = getmt(t)
    local f = mt and rawget(mt, "__pairs")
    if f ~= nil then
      local a, b, c = f(t)
      return a, b, c
    end
    if raw_type(t) ~= "table" then error("bad argument #1 to 'for iterator' (table expected, got " .. typename(t) .. ")", 2) end
    local o, live = orders[t], nil
    if o == nil then
      if raw_next(t) == nil then return det_next, t, nil end
      o = build(t, 4)
      live = o[3]
    else
      live = select(2, refresh(t, o, 4))
    end
    -- the walk's snapshot: keys[i+1..n], exactly the keys t has now (a key cleared before the walk and set
    -- again during it is not visited)
    local keys, i, n = o[1], o[4] - 1, o[3]
    if not o[5] then   -- keys were appended: walk a canonical copy, kept while it holds every key of t
      local s, c = o[6], 0
      if s ~= nil then
        for j = 1, #s do if rawget(t, s[j]) ~= nil then c = c + 1 end end
      end
      if s == nil or c ~= live then
        s, c = live_keys(t, keys, i + 1, n)
        canonical(s, c, 3)
        o[6] = s
      elseif #s ~= live then
        s = live_keys(t, s, 1, #s)
        o[6] = s
      end
      keys, i, n = s, 0, live
    elseif n - i ~= live then
      keys, n = live_keys(t, keys, i + 1, n)
      i = 0
    end
    return function()
      while i < n do
        i = i + 1
        local k = keys[i]
        local v = rawget(t, k)
        if v ~= nil then return k, v end
      end
    end, t, nil
  end
  -- tostring, print and string.format("%s"/"%p"): stock Lua prints an object's address, which differs in every
  -- process that replays the run. Here an object's "address" is a number counted per run in the order objects
  -- are first shown ("table: 0x00000001"); %p of a string (its address too) is refused.
  local raw_tostring, raw_format, find, sub, concat, unpack = tostring, string.format, string.find, string.sub, table.concat, table.unpack
  local ids, last_id = setmetatable({}, {__mode = "k"}), 0
  local ADDRESSED = {table = true, ["function"] = true, thread = true, userdata = true}
  local function address(v)
    local id = ids[v]
    if id == nil then
      last_id = last_id + 1
      id = raw_format("0x%08x", last_id)
      ids[v] = id
    end
    return id
  end
  local function det_tostring(v)   -- luaL_tolstring, with the counted address
    local ty = raw_type(v)
    if not ADDRESSED[ty] then return raw_tostring(v) end
    local mt = getmt(v)
    if mt ~= nil then
      if rawget(mt, "__tostring") ~= nil then return raw_tostring(v) end
      local name = rawget(mt, "__name")
      if raw_type(name) == "string" then ty = name end
    end
    return ty .. ": " .. address(v)
  end
  tostring = function(...)
    if select("#", ...) == 0 then error("bad argument #1 to 'tostring' (value expected)", 2) end
    return det_tostring((...))
  end
  -- the format with every %p of an object made a %s of its counted address, and the objects under %s shown by
  -- det_tostring; nil, "message" if a %p is malformed or takes a string
  local function rewrite(fmt, args, n)
    local parts, np, from, at, i = {}, 0, 1, 1, 0
    while true do
      local s = find(fmt, "%", at, true)
      if s == nil then break end
      if sub(fmt, s + 1, s + 1) == "%" then
        at = s + 2
      else
        local _, e, conv = find(fmt, "^[-+ #0]*%d*%.?%d*(.?)", s + 1)
        i = i + 1
        local a = args[i]
        if conv == "p" and (ADDRESSED[raw_type(a)] or raw_type(a) == "string") then
          local spec = sub(fmt, s, e)
          if not find(spec, "^%%%-*[1-9]?%d?p$") then return nil, "invalid conversion specification: '" .. spec .. "'" end
          if raw_type(a) == "string" then
            return nil, "string.format('%p') of a string shows its address, which is not deterministic in a workflow"
          end
          np = np + 1
          parts[np] = sub(fmt, from, e - 1) .. "s"
          from = e + 1
          args[i] = address(a)
        elseif conv == "s" and i <= n and ADDRESSED[raw_type(a)] then
          args[i] = det_tostring(a)
        end
        at = e + 1
      end
    end
    if np == 0 then return fmt end
    parts[np + 1] = sub(fmt, from)
    return concat(parts)
  end
  local function shows_address(v)   -- %s of v prints its address
    local mt = getmt(v)
    return mt == nil or rawget(mt, "__tostring") == nil
  end
  -- raw_format called from here would report its errors without the caller's file:line (this chunk has no
  -- line info) and as "to '?'": they are raised again from the caller's level (a memory error as it was)
  local pcall, gsub = pcall, string.gsub
  local function formatted(ok, s)
    if ok then return s end
    if raw_type(s) ~= "string" or s == "not enough memory" then error(s, 0) end
    error((gsub(s, "^bad argument (#%d+) to '[^']*'", "bad argument %1 to 'format'")), 2)   -- (a tail call)
  end
  string.format = function(fmt, ...)
    local n = select("#", ...)
    if n > 0 and raw_type(fmt) == "string" then
      local has_p
      for j = 1, n do
        local a = select(j, ...)
        local ty = raw_type(a)
        if ADDRESSED[ty] or ty == "string" then
          if has_p == nil then has_p = find(fmt, "p", 1, true) ~= nil end
          if has_p or (ty ~= "string" and shows_address(a)) then
            local args = {...}
            local f, err = rewrite(fmt, args, n)
            if f == nil then error(err, 2) end
            return formatted(pcall(raw_format, f, unpack(args, 1, n)))
          end
        end
      end
    end
    return formatted(pcall(raw_format, fmt, ...))
  end
end
-- Isolation (see _core_guards.lua): the C functions whose running time user input can make unbounded where the
-- instruction hook never runs (pattern matching, plain find, table.move, table.insert/remove over a lying
-- __len) or long (table.sort), and setmetatable (a __gc finalizer runs with hooks off), leave the libraries
-- here; the core installs guarded versions on first access.
P.lib = {find = string.find, match = string.match, gmatch = string.gmatch, gsub = string.gsub,
         move = table.move, insert = table.insert, remove = table.remove, sort = table.sort,
         setmetatable = setmetatable}
string.find, string.match, string.gmatch, string.gsub = nil, nil, nil, nil
table.move, table.insert, table.remove, table.sort, setmetatable = nil, nil, nil, nil, nil
-- lupa reads the global `debug` (and indexes it) on every call from Python, outside any protected call: user
-- code must not be able to define it. The table user code knows as _G stays the environment of every chunk
-- pidflow loads (P.G); the registry's global table, which lupa and an env-less load() see, becomes an empty
-- one that no Lua code can reach.
P.G = _G
REGISTRY[2] = {}
return P
"""

# The wrapped load, collectgarbage and print: a part of the core (see _core.lua), installed into _G on first
# access to one of them (most processes never call them, and each wrapper is a prototype in every state). Its
# environment is the core's K, where load, collectgarbage and print are the originals (captured by SANDBOX_LUA).
SANDBOX_GLOBALS_LUA = r"""
local raw_load, raw_gc, log, error, tostring, select, concat = load, collectgarbage, print, error, tostring, select, concat
rawset(G, "load", function(chunk, name, mode, env)
  if mode ~= nil and mode ~= "t" then error("load: only text chunks are allowed (mode 't')", 2) end
  if env == nil then return raw_load(chunk, name, "t", G) end   -- G: the registry's global table is not _G
  return raw_load(chunk, name, "t", env)
end)
-- no __gc: finalizers run with hooks off (a looping one could never be pre-empted), and Lua only registers an
-- object for finalization if its metatable has __gc when setmetatable is called
local raw_setmetatable, rawget, type = setmetatable, rawget, type
rawset(G, "setmetatable", function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc metamethods are not available in pidflow's sandbox (a finalizer cannot be pre-empted)", 2)
  end
  return raw_setmetatable(t, mt)
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
