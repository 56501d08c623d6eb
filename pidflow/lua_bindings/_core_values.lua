-- The values part of the core (see _core.lua): pid and error values, the array marker of empty Python lists,
-- and the helpers of the Lua -> Python conversion (classify, flat_map, unpack; see _values.py). Loaded by the
-- first access to one of these S fields, from Lua or Python.
local S, next, unpack, type, setmetatable, getmetatable, math_type, rawget = S, next, unpack, type, setmetatable, getmetatable, math_type, rawget
local getinfo, traceback, tostring, pcall, TERM = getinfo, traceback, tostring, pcall, TERM
local pid_str = setmetatable({}, {__mode = "k"})
local err_data = setmetatable({}, {__mode = "k"})
local PID_MT = {__name = "pid", __metatable = "pid"}
PID_MT.__tostring = function(p) return pid_str[p] end
PID_MT.__eq = function(a, b) return pid_str[a] ~= nil and pid_str[a] == pid_str[b] end
PID_MT.__index = function() return nil end
-- err:kind(), err:message(), err:retryable(), err:details(): one prototype for the four
local function err_field(name) return function(e) return err_data[e][name] end end
local ERR_MT = {__name = "error", __metatable = "error", __index = {
  kind = err_field("kind"), message = err_field("message"), retryable = err_field("retryable"), details = err_field("details"),
}}
ERR_MT.__tostring = function(e) local d = err_data[e]; return d.kind .. ": " .. d.message end
local ARRAY_MT = {__name = "array"}
S.ARRAY_MT = ARRAY_MT

function S.make_pid(s) local p = setmetatable({}, PID_MT); pid_str[p] = s; return p end
function S.make_error(kind, message, retryable, details)
  local e = setmetatable({}, ERR_MT)
  err_data[e] = {kind = kind, message = message, retryable = retryable, details = details}
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
function S.is_pid(v) return type(v) == "table" and pid_str[v] ~= nil end

-- classify(t) -> "pid", s | "error", kind, message, retryable, details | "array", n | "map"
-- A table is an array when every key is an integer >= 1 and the largest key n <= 2 * (number of keys); holes
-- become None. An empty table is a map unless it carries ARRAY_MT (made from an empty Python list).
function S.classify(t)
  local s = pid_str[t]
  if s then return "pid", s end
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
  if n == 0 then return getmetatable(t) == ARRAY_MT and "array" or "map", 0 end
  if maxk > 0 and maxk <= 2 * n then return "array", maxk end
  return "map", n
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
