-- The values part of the core (see _core.lua): error values, the array marker of empty Python lists, and the
-- helpers of the Lua -> Python conversion (classify, flat_map, unpack; see _values.py). Loaded by the first
-- access to one of these S fields, from Lua or Python. (PIDs are plain strings in Lua: nothing here.)
local S, next, unpack, type, setmetatable, getmetatable, math_type, rawget = S, next, unpack, type, setmetatable, getmetatable, math_type, rawget
local getinfo, traceback, tostring, pcall, TERM = getinfo, traceback, tostring, pcall, TERM
local err_data = setmetatable({}, {__mode = "k"})
-- err:kind(), err:message(), err:retryable(), err:details(), err:stack(): one prototype for the five. details()
-- is nil when empty; stack() is the Lua traceback taken where errors.new/wrap made the error, else the Python
-- traceback an unexpected exception carried in its details, else ""
local function err_field(name)
  return function(e)
    local d = err_data[e]
    if d == nil then error("error method called on a " .. type(e) .. " (use err:" .. name .. "())", 2) end
    local v = d[name]
    if name == "details" then
      if type(v) == "table" and next(v) == nil then return nil end
    elseif name == "stack" and v == nil then
      v = d.details
      v = type(v) == "table" and rawget(v, "traceback")
      if type(v) ~= "string" then v = "" end
    end
    return v
  end
end
local ERR_MT = {__name = "error", __metatable = "error", __index = {
  kind = err_field("kind"), message = err_field("message"), retryable = err_field("retryable"),
  details = err_field("details"), stack = err_field("stack"),
}}
-- tostring(err) is the message (as in the seed runtime); "text" .. err and err .. "text" concatenate it
local function err_text(v)
  local t = type(v)
  if t == "string" or t == "number" then return v end
  local d = t == "table" and err_data[v]
  if d then return d.message end
  error("attempt to concatenate a " .. t .. " value", 3)
end
ERR_MT.__tostring = err_text
ERR_MT.__concat = function(a, b) return err_text(a) .. err_text(b) end
local ARRAY_MT = {__name = "array"}
-- ARRAY_MT[ARRAY_MT]: classify's raw identity test (a key lookup compares raw; `==` between two tables would run
-- an __eq of the caller's, outside the pre-emptible step: see classify)
ARRAY_MT[ARRAY_MT] = true
S.ARRAY_MT = ARRAY_MT

-- make_error(kind, message, retryable, details[, level[, below]]): with a level (errors.new, errors.wrap), the
-- error keeps the traceback of the running coroutine from that level as its stack(), followed by `below` (the
-- stack of the error it wraps); errors made by Python carry none
function S.make_error(kind, message, retryable, details, level, below)
  local e = setmetatable({}, ERR_MT)
  local stack
  if level then
    stack = traceback(nil, level)
    if below then stack = stack .. "\nwrapped " .. below end
  end
  err_data[e] = {kind = kind, message = message, retryable = retryable, details = details, stack = stack}
  return e
end
function S.flat_map(t)
  local f, n = {}, 0
  for k, v in next, t do f[n + 1] = k; f[n + 2] = v; n = n + 2 end
  return f, n
end
-- unpack(t, i, j) -> t[i..j], read raw: a table with a metatable is copied with rawget first, so that Python
-- reading a value never runs an __index (it runs outside the pre-emptible step)
function S.unpack(t, i, j)
  if getmetatable(t) == nil then return unpack(t, i, j) end
  local c, n = {}, 0
  for k = i, j do n = n + 1; c[n] = rawget(t, k) end
  return unpack(c, 1, n)
end
function S.empty_array() return setmetatable({}, ARRAY_MT) end
function S.is_error(v) return type(v) == "table" and err_data[v] ~= nil end

-- classify(t) -> "error", kind, message, retryable, details | "array", n[, v1 .. vn] | "map", n[, k1, v1 .. kn, vn]
-- A table is an array when every key is an integer >= 1 and the largest key n <= 2 * (number of keys); holes
-- become None. An empty table is a map unless it carries ARRAY_MT (made from an empty Python list). A table of at
-- most SMALL entries comes back with its values (an array's read raw, holes as nil; a map's keys and values in
-- `next` order), so that Python reads it in this one call (_values.py: _SMALL_TABLE is the same number).
local SMALL = 32
function S.classify(t)
  local d = err_data[t]
  if d then return "error", d.kind, d.message, d.retryable, d.details end
  local n, maxk = 0, 0
  for k in next, t do
    n = n + 1
    if maxk >= 0 and math_type(k) == "integer" and k >= 1 then
      if k > maxk then maxk = k end
    else
      maxk = -1
    end
  end
  -- (no `==` with ARRAY_MT: Python calls this outside the pre-emptible step, and `==` between two tables runs an
  -- __eq of the caller's: of the metatable's own metatable, or of what its __metatable field names)
  if n == 0 then return rawget(ARRAY_MT, getmetatable(t)) == true and "array" or "map", 0 end
  if maxk > 0 and maxk <= 2 * n then
    if maxk > SMALL then return "array", maxk end
    if getmetatable(t) == nil then return "array", maxk, unpack(t, 1, maxk) end
    local c = {}
    for i = 1, maxk do c[i] = rawget(t, i) end
    return "array", maxk, unpack(c, 1, maxk)
  end
  if n > SMALL then return "map", n end
  local f, m = {}, 0
  for k, v in next, t do f[m + 1] = k; f[m + 2] = v; m = m + 2 end
  return "map", n, unpack(f, 1, m)
end

-- where(co): "file.lua:LINE" of the innermost Lua frame of a dead coroutine
local function where(co)
  for level = 0, 30 do
    local info = getinfo(co, level, "Sl")
    if not info then break end
    if info.what ~= "C" and info.currentline and info.currentline > 0 then return info.short_src .. ":" .. info.currentline end
  end
end
-- failed(co, err[, plain]) -> the step's answer for a coroutine that died raising err: "error", err, where,
-- traceback, text, with text = tostring(err) made here, inside the pre-emptible step (a __tostring that loops is
-- pre-empted like any code); "terminated" if making the text was stopped
function S.failed(co, err, plain)
  if plain then return "error", err, where(co) end
  local text = err
  if type(err) ~= "string" then
    local ok, s = pcall(tostring, err)
    if not ok and s == TERM then return "terminated" end
    text = ok and type(s) == "string" and s or ("(an error object whose __tostring failed: a " .. type(err) .. ")")
  end
  return "error", err, where(co), traceback(co, type(err) == "string" and err or nil), text
end
