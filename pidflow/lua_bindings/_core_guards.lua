-- The guards part of the core (see _core.lua): string.find/match/gmatch/gsub and table.move/insert/remove with a
-- bound on how long one call may run, installed on first access to one of them (the sandbox took the raw C
-- functions out of the libraries; the core hands them over in K).
--
-- Why: the instruction hook that pre-empts Lua code never runs inside a C function, so a C call must finish in
-- bounded time. Most library functions are linear in their input, and the input is bounded by the memory limit;
-- these are not: backtracking pattern matching is exponential in the number of quantifiers
-- (string.find(("a"):rep(200), ".-.-.-.-.-.-b") would run for centuries), plain find is O(subject x needle),
-- and table.move/insert/remove loop over a range the caller chooses (or a __len that lies).
--
-- How: a pattern call gets an upper bound of the C matcher's steps from the pattern's shape and the subject's
-- length. Within BUDGET (or linear in the subject) the C function runs; beyond it the same call runs on the Lua
-- port of the matcher (_core_match.lua), which the hook pre-empts like any Lua code. Plain find beyond BUDGET
-- searches window by window. table.move moves CHUNK elements per C call; insert/remove on a table with a
-- metatable (whose __len, __index, __newindex could be anything) run as Lua. Rejected: refusing costly patterns
-- (ordinary log-parsing patterns have a steep bound on long lines), a per-call step counter (not reachable from
-- Lua), a watchdog thread (a hook cannot be set on a coroutine safely from another thread).
local need, string, type, math_type, select, error, getmetatable, pcall, tostring = need, string, type, math_type, select, error, getmetatable, pcall, tostring
local raw_find, raw_match, raw_gmatch, raw_gsub = find, match, gmatch, gsub
local raw_move, raw_insert, raw_remove, raw_sort, rawlen = move, insert, remove, sort, rawlen
local byte, sub, tonumber, tointeger, maxinteger = string.byte, string.sub, tonumber, math.tointeger, math.maxinteger

local BUDGET = 10000000   -- matcher steps one C call may take (~40 ms on the project's machine)
local LINEAR = 64         -- a pattern whose work per start position is at most this runs in C at any length
local CHUNK = 4096        -- elements table.move moves per C call
local LONG = 100000       -- steps after which a C call asks for the hook (tick)

-- tick(): after a long C call, the hook at the next instruction of this coroutine (at most once per 5 ms of CPU):
-- a loop of long calls is paced by time, not by its few instructions (see _driver.py)
local sethook, hookfn, clock, last = S.sethook, S.hookfn, S.clock, 0
local function tick()
  if hookfn == nil then return end
  local t = clock()
  if t - last >= 0.005 then
    last = t
    sethook(hookfn, "", 1)
  end
end
local function ticked(...) tick() return ... end

-- intarg(v, default): an integer argument as luaL_optinteger reads it, or nil if it is not one (the raw
-- function is then called to raise its own error, before it does any work)
local function intarg(v, default)
  if v == nil then return default end
  if math_type(v) == "integer" then return v end
  if type(v) == "string" then v = tonumber(v) end
  if type(v) == "number" then return tointeger(v) end
  return nil
end
-- posrelat(pos, n): a start position as lstrlib's posrelatI computes it
local function posrelat(pos, n)
  if pos > 0 then return pos end
  if pos == 0 or pos < -n then return 1 end
  return n + pos + 1
end

---------------------------------------------------------------- pattern shapes
-- shape(p) -> {linear, anchored, vars, per}: vars counts the items the matcher may retry at every length (a
-- non-final '*', '+', '-'; '%b'; a back reference), per bounds the steps per start position otherwise ((items
-- + 1) * 2^'?'s); linear: no vars and per <= LINEAR, so C may run it at any length. Cached per pattern string
-- (a bounded cache: patterns built at run time must not grow it).
local cache, cached = {}, 0
local function class_end(p, i, m)   -- the index after the single-character class at i (lstrlib's classEnd)
  local c = byte(p, i)
  i = i + 1
  if c == 37 then return i + 1 end                    -- %x
  if c == 91 then                                     -- [set]
    if byte(p, i) == 94 then i = i + 1 end
    repeat
      if i > m then return m + 1 end
      local d = byte(p, i)
      i = i + 1
      if d == 37 and i <= m then i = i + 1 end
    until byte(p, i) == 93
    return i + 1
  end
  return i
end
local function only_closes(p, i, m)   -- nothing but ')' from i on?
  for j = i, m do if byte(p, j) ~= 41 then return false end end
  return true
end
local function shape(p)
  local m = #p
  local i, anchored, vars, opts, items = 1, false, 0, 0, 0
  if byte(p, 1) == 94 then anchored, i = true, 2 end
  while i <= m do
    local c = byte(p, i)
    if c == 40 or c == 41 then                        -- captures
      i = i + 1
    elseif c == 36 and i == m then                    -- final anchor
      i = i + 1
    elseif c == 37 and byte(p, i + 1) == 98 then      -- %bxy
      vars, items, i = vars + 1, items + 1, i + 4
    elseif c == 37 and byte(p, i + 1) == 102 then     -- %f[set]
      items, i = items + 1, class_end(p, i + 2, m)
    elseif c == 37 and (byte(p, i + 1) or 0) >= 48 and (byte(p, i + 1) or 0) <= 57 then   -- back reference
      vars, items, i = vars + 1, items + 1, i + 2
    else
      local e = class_end(p, i, m)
      local q = byte(p, e)
      items = items + 1
      if q == 63 then opts, i = opts + 1, e + 1                                   -- ?
      elseif q == 42 or q == 43 or q == 45 then                                   -- * + -
        if not only_closes(p, e + 1, m) then vars = vars + 1 end
        i = e + 1
      else i = e end
    end
  end
  local per = (items + 1) * 2.0 ^ opts
  local sh = {vars == 0 and per <= LINEAR, anchored, vars, per}
  if cached >= 64 then cache, cached = {}, 0 end
  cache[p], cached = sh, cached + 1
  return sh
end
-- cheap(sh, n, anchor_ok): the bound of the C matcher's steps for a pattern of this shape over n bytes, or
-- false beyond BUDGET (anchor_ok: '^' anchors, which it does not in gmatch)
local function cheap(sh, n, anchor_ok)
  local bound = ((sh[2] and anchor_ok) and 1 or (n + 1)) * sh[4]
  for _ = 1, sh[3] do
    bound = bound * (n + 1)
    if bound > BUDGET then return false end
  end
  return bound <= BUDGET and bound
end
local function plain_pattern(p)   -- lstrlib's nospecials
  return not raw_find(p, "[%^%$%*%+%?%.%(%[%%%-]")
end

-- argcall(raw, name, ...): a call the raw function will refuse (bad arguments): its error as the C function
-- raises it when user code calls it (the name, the caller's line), not as seen from this wrapper ('?')
local function rethrow(name, ok, ...)
  if ok then return ... end
  local e = ...
  if type(e) == "string" then e = raw_gsub(e, "^(bad argument #%d+ to )'%?'", "%1'" .. name .. "'") end
  error(e, 2)   -- argcall and rethrow are tail calls from the guard: level 2 is the guard's caller
end
local function argcall(raw, name, ...) return rethrow(name, pcall(raw, ...)) end

---------------------------------------------------------------- string
-- plain find beyond BUDGET: the needle is looked for in windows of the subject, one C call each
local function find_windows(s, p, init)
  local n, m = #s, #p
  local w = BUDGET // m
  if w < 1 then w = 1 end
  local pos = init
  while pos + m - 1 <= n do
    local last = pos + w + m - 2
    if last > n then last = n end
    local a, b = raw_find(sub(s, pos, last), p, 1, true)
    tick()
    if a then return pos + a - 1, pos + b - 1 end
    pos = pos + w
  end
  return nil
end

local function find(s, p, init, plain)
  if type(s) ~= "string" or type(p) ~= "string" or (init ~= nil and math_type(init) ~= "integer") then
    local i = intarg(init, 1)
    if type(s) == "number" then s = tostring(s) end
    if type(p) == "number" then p = tostring(p) end
    if type(s) ~= "string" or type(p) ~= "string" or i == nil then return argcall(raw_find, "find", s, p, init, plain) end
    init = i
  end
  local n = #s
  if plain then
    if #p <= LINEAR then
      if n * #p > LONG then return ticked(raw_find(s, p, init, plain)) end
      return raw_find(s, p, init, plain)
    end
  else
    local sh = cache[p] or shape(p)
    if sh[1] then
      if n * sh[4] > LONG then return ticked(raw_find(s, p, init)) end
      return raw_find(s, p, init)
    end
  end
  local i = posrelat(init or 1, n)
  if i > n + 1 then return nil end
  if plain or plain_pattern(p) then
    local bound = (n - i + 1) * #p
    if bound <= LONG then return raw_find(s, p, i, true) end
    if bound <= BUDGET then return ticked(raw_find(s, p, i, true)) end
    return find_windows(s, p, i)
  end
  local bound = cheap(cache[p] or shape(p), n - i + 1, true)
  if bound then
    if bound > LONG then return ticked(raw_find(s, p, i)) end
    return raw_find(s, p, i)
  end
  need("match")
  return S.lua_find(s, p, i, true)
end
local function match(s, p, init)
  if type(s) ~= "string" or type(p) ~= "string" or (init ~= nil and math_type(init) ~= "integer") then
    local i = intarg(init, 1)
    if type(s) == "number" then s = tostring(s) end
    if type(p) == "number" then p = tostring(p) end
    if type(s) ~= "string" or type(p) ~= "string" or i == nil then return argcall(raw_match, "match", s, p, init) end
    init = i
  end
  local sh = cache[p] or shape(p)
  local n = #s
  if sh[1] then
    if n * sh[4] > LONG then return ticked(raw_match(s, p, init)) end
    return raw_match(s, p, init)
  end
  local i = posrelat(init or 1, n)
  if i > n + 1 then return nil end
  local bound = cheap(sh, n - i + 1, true)
  if bound then
    if bound > LONG then return ticked(raw_match(s, p, i)) end
    return raw_match(s, p, i)
  end
  need("match")
  return S.lua_find(s, p, i, false)
end
local function gmatch(s, p, init)
  if type(s) ~= "string" or type(p) ~= "string" or (init ~= nil and math_type(init) ~= "integer") then
    local i = intarg(init, 1)
    if type(s) == "number" then s = tostring(s) end
    if type(p) == "number" then p = tostring(p) end
    if type(s) ~= "string" or type(p) ~= "string" or i == nil then return argcall(raw_gmatch, "gmatch", s, p, init) end
    init = i
  end
  local sh = cache[p] or shape(p)
  if sh[1] or cheap(sh, #s, false) then return raw_gmatch(s, p, init) end
  need("match")
  return S.lua_gmatch(s, p, posrelat(init or 1, #s))
end
local function gsub(s, p, repl, max_n)
  local tr = type(repl)
  if type(s) ~= "string" or type(p) ~= "string" or (max_n ~= nil and math_type(max_n) ~= "integer")
     or not (tr == "string" or tr == "number" or tr == "table" or tr == "function") then
    local mx = intarg(max_n, 0)
    if type(s) == "number" then s = tostring(s) end
    if type(p) == "number" then p = tostring(p) end
    if type(s) ~= "string" or type(p) ~= "string" or mx == nil
       or not (tr == "string" or tr == "number" or tr == "table" or tr == "function") then
      return argcall(raw_gsub, "gsub", s, p, repl, max_n)
    end
    if max_n ~= nil then max_n = mx end
  end
  local sh = cache[p] or shape(p)
  local bound = sh[1] and #s * sh[4] or cheap(sh, #s, true)
  if bound then
    if bound > LONG then return ticked(raw_gsub(s, p, repl, max_n)) end
    return raw_gsub(s, p, repl, max_n)
  end
  need("match")
  return S.lua_gsub(s, p, repl, max_n or #s + 1)
end
rawset(string, "find", find)
rawset(string, "match", match)
rawset(string, "gmatch", gmatch)
rawset(string, "gsub", gsub)

---------------------------------------------------------------- table
local function move(a1, f, e, t, a2)
  local fi, ei, ti = intarg(f), intarg(e), intarg(t)
  if fi == nil or ei == nil or ti == nil or ei < fi or ei - fi < CHUNK
     or not (fi > 0 or ei < maxinteger + fi) then     -- raw raises its own errors; short moves are cheap
    return raw_move(a1, f, e, t, a2)
  end
  local n = ei - fi + 1
  if ti > maxinteger - n + 1 or type(a1) ~= "table" or (a2 ~= nil and type(a2) ~= "table") then
    return raw_move(a1, f, e, t, a2)
  end
  local dst = a2 == nil and a1 or a2
  if ti > ei or ti <= fi or dst ~= a1 then
    for c = 0, n - 1, CHUNK do
      local last = c + CHUNK - 1
      if last > n - 1 then last = n - 1 end
      raw_move(a1, fi + c, fi + last, ti + c, dst)
      tick()
    end
  else                                                 -- overlapping, moving up: from the end
    local c = ((n - 1) // CHUNK) * CHUNK
    while c >= 0 do
      local last = c + CHUNK - 1
      if last > n - 1 then last = n - 1 end
      raw_move(a1, fi + c, fi + last, ti + c, dst)
      tick()
      c = c - CHUNK
    end
  end
  return dst
end
-- insert and remove on a table with a metatable: lstrlib's ltablib loops, written in Lua
local function insert(t, ...)
  if type(t) ~= "table" or getmetatable(t) == nil then return raw_insert(t, ...) end
  local nargs = select("#", ...)
  local e = #t + 1
  if nargs == 1 then
    t[e] = ...
    return
  end
  if nargs ~= 2 then error("wrong number of arguments to 'insert'", 2) end
  local pos, v = ...
  local p = intarg(pos)
  if p == nil then return argcall(raw_insert, "insert", {}, pos, v) end   -- its argument error
  if not (p >= 1 and p <= e) then error("bad argument #2 to 'insert' (position out of bounds)", 2) end
  for i = e, p + 1, -1 do t[i] = t[i - 1] end
  t[p] = v
end
local function remove(t, pos)
  if type(t) ~= "table" or getmetatable(t) == nil then return raw_remove(t, pos) end
  local size = #t
  local p = intarg(pos, size)
  if p == nil then return argcall(raw_remove, "remove", {}, pos) end     -- its argument error
  if p ~= size and not (p >= 1 and p <= size + 1) then
    error("bad argument #2 to 'remove' (position out of bounds)", 2)
  end
  local v = t[p]
  while p < size do
    t[p] = t[p + 1]
    p = p + 1
  end
  t[p] = nil
  return v
end
-- sort: n log n comparisons in one C call (no more than the memory limit allows): paced by a tick after
local function sort(t, comp)
  local tc = type(comp)
  if type(t) ~= "table" or (comp ~= nil and tc ~= "function") then return argcall(raw_sort, "sort", t, comp) end
  raw_sort(t, comp)
  if rawlen(t) > CHUNK then tick() end
end
rawset(table, "move", move)
rawset(table, "insert", insert)
rawset(table, "remove", remove)
rawset(table, "sort", sort)
