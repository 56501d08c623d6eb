-- The match part of the core (see _core_guards.lua): Lua 5.4's pattern matcher (lstrlib.c: match, max_expand,
-- min_expand, captures, %b, %f, back references, and str_find_aux, gmatch, gsub on top of it) written in Lua,
-- for the calls whose worst case would hold the C matcher too long. Same results and errors as the C functions;
-- it is slower, but it is Lua code, so the instruction hook pre-empts it (and terminate stops it).
-- Loaded on the first such call. Character classes are the C library's (read once per class from the raw C
-- matcher, so the locale's ctype answers here exactly as it does in C).
local string, error, type, tostring, concat, S = string, error, type, tostring, concat, S
local pcall, unpack, setmetatable, getmetatable = pcall, unpack, setmetatable, getmetatable
local raw_find = find   -- the raw C function (K)
local byte, sub, char, lower = string.byte, string.sub, string.char, string.lower
local MAXCAPTURES, MAXCCALLS, CAP_UNFINISHED, CAP_POSITION = 32, 200, -1, -2

-- The C functions raise pattern errors at their caller's line: ours travel as PE boxes to the entry points,
-- which raise them there (errors of a gsub replacement function pass through untouched).
local PE = {}
local function perr(msg) error(setmetatable({msg}, PE), 0) end

-- class_mask[letter]: a 256-character string of "0"/"1", "1" at c + 1 when byte c is in the class (%a ... and
-- the complements %A ...), as the C matcher's ctype says; false for a letter that is no class
local class_mask = {}
local function in_class(c, cl)
  local mask = class_mask[cl]
  if mask == nil then
    local letter = char(cl)
    if not raw_find("acdglpsuwx", lower(letter), 1, true) then
      mask = false
    else
      local t, pat = {}, "^%" .. letter
      for i = 0, 255 do t[i + 1] = raw_find(char(i), pat) and "1" or "0" end
      mask = concat(t)
    end
    class_mask[cl] = mask
  end
  if mask == false then return cl == c end
  return byte(mask, c + 1) == 49
end

-- ms: {src=, n=, p=, m=, level=, depth=, init=[], len=[]} (positions are 1-based; a capture's len is its length,
-- CAP_UNFINISHED or CAP_POSITION)
local function class_end(ms, i)
  local p, m = ms.p, ms.m
  local c = byte(p, i)
  i = i + 1
  if c == 37 then
    if i > m then perr("malformed pattern (ends with '%')") end
    return i + 1
  end
  if c == 91 then
    if byte(p, i) == 94 then i = i + 1 end
    repeat
      if i > m then perr("malformed pattern (missing ']')") end
      local d = byte(p, i)
      i = i + 1
      if d == 37 and i <= m then i = i + 1 end
    until byte(p, i) == 93
    return i + 1
  end
  return i
end

-- matchbracketclass: p..ec are the '[' and the closing ']'
local function bracket(ms, c, i, ec)
  local p = ms.p
  local sig = true
  if byte(p, i + 1) == 94 then sig = false; i = i + 1 end
  i = i + 1
  while i < ec do
    local d = byte(p, i)
    if d == 37 then
      i = i + 1
      if in_class(c, byte(p, i)) then return sig end
    elseif byte(p, i + 1) == 45 and i + 2 < ec then
      i = i + 2
      if d <= c and c <= byte(p, i) then return sig end
    elseif d == c then return sig end
    i = i + 1
  end
  return not sig
end

local function single(ms, s, i, ep)
  if s > ms.n then return false end
  local c = byte(ms.src, s)
  local d = byte(ms.p, i)
  if d == 46 then return true end
  if d == 37 then return in_class(c, byte(ms.p, i + 1)) end
  if d == 91 then return bracket(ms, c, i, ep - 1) end
  return d == c
end

local match

local function max_expand(ms, s, i, ep)
  local k = 0
  while single(ms, s + k, i, ep) do k = k + 1 end
  while k >= 0 do
    local res = match(ms, s + k, ep + 1)
    if res then return res end
    k = k - 1
  end
  return nil
end
local function min_expand(ms, s, i, ep)
  while true do
    local res = match(ms, s, ep + 1)
    if res then return res end
    if single(ms, s, i, ep) then s = s + 1 else return nil end
  end
end
local function start_capture(ms, s, i, what)
  local level = ms.level
  if level >= MAXCAPTURES then perr("too many captures") end
  ms.init[level + 1], ms.len[level + 1] = s, what
  ms.level = level + 1
  local res = match(ms, s, i)
  if res == nil then ms.level = ms.level - 1 end
  return res
end
local function end_capture(ms, s, i)
  local l
  for level = ms.level, 1, -1 do
    if ms.len[level] == CAP_UNFINISHED then l = level break end
  end
  if l == nil then perr("invalid pattern capture") end
  ms.len[l] = s - ms.init[l]
  local res = match(ms, s, i)
  if res == nil then ms.len[l] = CAP_UNFINISHED end
  return res
end
local function check_capture(ms, d)
  local l = d - 48   -- '1' is capture 1
  if l < 1 or l > ms.level or ms.len[l] == CAP_UNFINISHED then
    perr("invalid capture index %" .. l)
  end
  return l
end
local function match_capture(ms, s, d)
  local l = check_capture(ms, d)
  local len = ms.len[l]
  if len >= 0 and ms.n - s + 1 >= len and sub(ms.src, ms.init[l], ms.init[l] + len - 1) == sub(ms.src, s, s + len - 1) then
    return s + len
  end
  return nil
end
local function match_balance(ms, s, i)
  local p = ms.p
  if i >= ms.m then perr("malformed pattern (missing arguments to '%b')") end
  local c = byte(ms.src, s) or 0
  if c ~= byte(p, i) then return nil end
  local b, e, cont = byte(p, i), byte(p, i + 1), 1
  s = s + 1
  while s <= ms.n do
    local d = byte(ms.src, s)
    if d == e then
      cont = cont - 1
      if cont == 0 then return s + 1 end
    elseif d == b then cont = cont + 1 end
    s = s + 1
  end
  return nil
end

-- match(ms, s, i): the end (exclusive) of the match of p[i..] at s, or nil
function match(ms, s, i)
  local depth = ms.depth
  if depth == 0 then perr("pattern too complex") end
  ms.depth = depth - 1
  local p, m = ms.p, ms.m
  while true do
    if i > m then break end
    local c = byte(p, i)
    local default = false
    if c == 40 then                                   -- (
      if byte(p, i + 1) == 41 then s = start_capture(ms, s, i + 2, CAP_POSITION)
      else s = start_capture(ms, s, i + 1, CAP_UNFINISHED) end
      break
    elseif c == 41 then                               -- )
      s = end_capture(ms, s, i + 1)
      break
    elseif c == 36 and i == m then                    -- $ at the end
      if s ~= ms.n + 1 then s = nil end
      break
    elseif c == 37 then
      local d = byte(p, i + 1)
      if d == 98 then                                 -- %b
        s = match_balance(ms, s, i + 2)
        if s == nil then break end
        i = i + 4
      elseif d == 102 then                            -- %f
        i = i + 2
        if byte(p, i) ~= 91 then perr("missing '[' after '%f' in pattern") end
        local ep = class_end(ms, i)
        local prev = s == 1 and 0 or byte(ms.src, s - 1)
        local cur = byte(ms.src, s) or 0
        if not bracket(ms, prev, i, ep - 1) and bracket(ms, cur, i, ep - 1) then
          i = ep
        else
          s = nil
          break
        end
      elseif d and d >= 48 and d <= 57 then           -- %0-%9
        s = match_capture(ms, s, d)
        if s == nil then break end
        i = i + 2
      else
        default = true
      end
    else
      default = true
    end
    if default then
      local ep = class_end(ms, i)
      local q = byte(p, ep)
      if not single(ms, s, i, ep) then
        if q == 42 or q == 63 or q == 45 then         -- * ? - accept the empty match
          i = ep + 1
        else
          s = nil
          break
        end
      elseif q == 63 then                             -- ?
        local res = match(ms, s + 1, ep + 1)
        if res then s = res break end
        i = ep + 1
      elseif q == 43 then s = max_expand(ms, s + 1, i, ep) break
      elseif q == 42 then s = max_expand(ms, s, i, ep) break
      elseif q == 45 then s = min_expand(ms, s, i, ep) break
      else
        s = s + 1
        i = ep
      end
    end
  end
  ms.depth = ms.depth + 1
  return s
end

local function new_state(src, p)
  return {src = src, n = #src, p = p, m = #p, level = 0, depth = MAXCCALLS, init = {}, len = {}}
end
local function reset(ms) ms.level, ms.depth = 0, MAXCCALLS end

-- a capture's value (i: 1-based; s..e-1 the whole match)
local function get_capture(ms, i, s, e)
  if i > ms.level then
    if i ~= 1 then perr("invalid capture index %" .. i) end
    return sub(ms.src, s, e - 1)
  end
  local len = ms.len[i]
  if len == CAP_UNFINISHED then perr("unfinished capture") end
  if len == CAP_POSITION then return ms.init[i] end
  return sub(ms.src, ms.init[i], ms.init[i] + len - 1)
end
local function captures(ms, s, e, whole)   -- -> list, count (whole: the match itself when there is no capture)
  local n = (ms.level == 0 and whole) and 1 or ms.level
  local out = {}
  for k = 1, n do out[k] = get_capture(ms, k, s, e) end
  return out, n
end
-- entry(ok, ...): the results of a pcall'd entry point, or its error raised at the level of the code that
-- called the guarded string function (the guard and the entry point tail-call, so that code is level 2)
local function entry(ok, ...)
  if ok then return ... end
  local e = ...
  if getmetatable(e) == PE then error(e[1], 2) end
  error(e, 0)
end

-- find/match from `init` (already made a 1-based position <= n + 1)
local function lua_find(src, pat, init, find)
  local anchor = byte(pat, 1) == 94
  local p = anchor and sub(pat, 2) or pat
  local ms = new_state(src, p)
  local s1 = init
  repeat
    reset(ms)
    local e = match(ms, s1, 1)
    if e then
      if find then
        local caps, n = captures(ms, nil, nil, false)
        return s1, e - 1, unpack(caps, 1, n)
      end
      local caps, n = captures(ms, s1, e, true)
      return unpack(caps, 1, n)
    end
    s1 = s1 + 1
  until s1 > ms.n + 1 or anchor
  return nil
end

local function lua_gmatch(src, p, init)
  local ms = new_state(src, p)
  local pos, last = init, nil
  if pos > ms.n + 1 then pos = ms.n + 2 end
  return function()
    while pos <= ms.n + 1 do
      reset(ms)
      local e = match(ms, pos, 1)
      if e and e ~= last then
        local start = pos
        pos, last = e, e
        local caps, n = captures(ms, start, e, true)
        return unpack(caps, 1, n)
      end
      pos = pos + 1
    end
    return nil
  end
end

-- the replacement of one match (lstrlib's add_s / add_value)
local function add_string(ms, repl, s, e, out, k)
  local i, n = 1, #repl
  while i <= n do
    local j = raw_find(repl, "%", i, true)
    if j == nil then
      k = k + 1; out[k] = sub(repl, i)
      break
    end
    k = k + 1; out[k] = sub(repl, i, j - 1)
    local d = byte(repl, j + 1)
    if d == 37 then k = k + 1; out[k] = "%"
    elseif d == 48 then k = k + 1; out[k] = sub(ms.src, s, e - 1)
    elseif d and d >= 49 and d <= 57 then
      local v = get_capture(ms, d - 48, s, e)
      k = k + 1; out[k] = type(v) == "number" and tostring(v) or v
    else
      perr("invalid use of '%' in replacement string")
    end
    i = j + 2
  end
  return k
end

local function lua_gsub(src, pat, repl, max_n)
  local anchor = byte(pat, 1) == 94
  local p = anchor and sub(pat, 2) or pat
  local ms = new_state(src, p)
  local tr = type(repl)
  if tr == "number" then repl, tr = tostring(repl), "string" end
  local out, k, count, changed = {}, 0, 0, false
  local s, last = 1, nil
  while count < max_n do
    reset(ms)
    local e = match(ms, s, 1)
    if e and e ~= last then
      count = count + 1
      if tr == "string" then
        k = add_string(ms, repl, s, e, out, k)
        changed = true
      else
        local v
        if tr == "function" then
          local caps, n = captures(ms, s, e, true)
          v = repl(unpack(caps, 1, n))
        else
          v = repl[get_capture(ms, 1, s, e)]
        end
        if not v then
          k = k + 1; out[k] = sub(src, s, e - 1)
        elseif type(v) == "string" or type(v) == "number" then
          k = k + 1; out[k] = tostring(v)
          changed = true
        else
          perr("invalid replacement value (a " .. type(v) .. ")")
        end
      end
      s, last = e, e
    elseif s <= ms.n then
      k = k + 1; out[k] = sub(src, s, s)
      s = s + 1
    else
      break
    end
    if anchor then break end
  end
  if not changed then return src, count end
  k = k + 1; out[k] = sub(src, s)
  return concat(out), count
end

function S.lua_find(...) return entry(pcall(lua_find, ...)) end
function S.lua_gsub(...) return entry(pcall(lua_gsub, ...)) end
function S.lua_gmatch(...)
  local iter = lua_gmatch(...)
  return function() return entry(pcall(iter)) end
end
