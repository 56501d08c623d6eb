-- The errors checks, run as app:local (a process) and app:durable (a workflow).
local funcs = require("funcs")
local KINDS = {"UNKNOWN", "INVALID", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "UNAVAILABLE", "INTERNAL",
               "CANCELED", "CONFLICT", "TIMEOUT", "RATE_LIMITED"}
local once = funcs.new():with_options({["activity.retry_policy"] = {maximum_attempts = 1}})

local function module_checks()
  for _, k in ipairs(KINDS) do assert(errors[k] == k, "errors." .. k) end

  local e = errors.new("something went wrong")
  assert(e:kind() == errors.UNKNOWN and e:message() == "something went wrong", "errors.new(message)")
  assert(e:retryable() == nil and e:details() == nil, "retryable and details nil by default")
  assert(tostring(e) == "something went wrong", "tostring is the message")
  assert("text: " .. e == "text: something went wrong" and e .. "!" == "something went wrong!", "concatenation")

  local full = errors.new{message = "user not found", kind = errors.NOT_FOUND, retryable = false,
                          details = {user_id = 123}}
  assert(full:kind() == errors.NOT_FOUND and full:retryable() == false and full:details().user_id == 123, "new{...}")
  assert(errors.new{message = "m", details = {}}:details() == nil, "empty details are nil")
  assert(errors.new{message = "m", retryable = true}:retryable() == true, "retryable true")

  local wrapped = errors.wrap(full, "loading the profile")
  assert(wrapped:message() == "loading the profile: user not found", "wrap prefixes the message")
  assert(wrapped:kind() == errors.NOT_FOUND and wrapped:retryable() == false, "wrap keeps kind and retryable")
  assert(wrapped:details().user_id == 123, "wrap keeps details")
  local ws = errors.wrap("plain text", "context")
  assert(ws:kind() == errors.UNKNOWN and ws:message() == "context: plain text", "wrap of a string")

  assert(errors.is(full, errors.NOT_FOUND) and not errors.is(full, errors.INVALID), "errors.is")
  assert(not errors.is("not an error", errors.NOT_FOUND) and not errors.is(nil, errors.NOT_FOUND), "is: non-errors")

  local function make() local made = errors.new("here") return made end
  local stack = make():stack()
  assert(type(stack) == "string" and stack:find("errors.lua:", 1, true), "stack() names where it was made")

  local ok, msg = pcall(function() local x = errors.new(42) return x end)
  assert(not ok and msg:find("bad argument #1 to 'errors.new'", 1, true), "errors.new(42) raises naming it")
  ok, msg = pcall(function() local x = errors.wrap(nil, "c") return x end)
  assert(not ok and msg:find("errors.wrap", 1, true), "errors.wrap(nil) raises naming it")
  ok, msg = pcall(function() local x = errors.new{message = "m", kind = "NOPE"} return x end)
  assert(not ok and msg:find("unknown kind 'NOPE'", 1, true), "an unknown kind raises")

  ok, msg = pcall(function() error(errors.new{message = "raised", kind = errors.CONFLICT}) end)
  assert(not ok and errors.is(msg, errors.CONFLICT) and msg:message() == "raised", "error(err) keeps the object")
end

local function check_crossed(err, kind, retryable, what)
  assert(err ~= nil, what .. ": no error")
  assert(err:kind() == kind, what .. ": kind " .. tostring(err:kind()) .. ", expected " .. kind)
  assert(err:retryable() == retryable, what .. ": retryable " .. tostring(err:retryable()))
end

local function crossing_checks(child, host)
  local _, e = once:call("app:lua_fail", {kind = errors.RATE_LIMITED, retryable = false})
  check_crossed(e, errors.RATE_LIMITED, false, "a function.lua's error")
  _, e = once:call("app:lua_fail", {kind = errors.TIMEOUT})
  check_crossed(e, errors.TIMEOUT, true, "retryable nil crosses as the kind's default")
  _, e = once:call("app:lua_fail", {})
  check_crossed(e, errors.UNKNOWN, false, "an UNKNOWN error crosses as not retryable")
  _, e = once:call("app:py_fail", "UNAVAILABLE", false)
  check_crossed(e, errors.UNAVAILABLE, false, "a function.py's error")
  assert(e:details()["from"] == "python", "its details")
  local f = once:async("app:py_fail", "RATE_LIMITED")
  check_crossed(f:response():receive(), errors.RATE_LIMITED, true, "an async call's error")

  local v, xe = process.exec(child, host, {kind = errors.CONFLICT, retryable = true})
  assert(v == nil, "process.exec of a failing child")
  check_crossed(xe, errors.CONFLICT, true, "process.exec's error")

  local pid = process.spawn_monitored(child, host, {kind = errors.PERMISSION_DENIED, retryable = false})
  assert(pid ~= nil, "spawn_monitored")
  local ev = process.events():receive()
  assert(ev.kind == process.event.EXIT, "an EXIT event")
  check_crossed(ev.result.error, errors.PERMISSION_DENIED, false, "the EXIT's error")
end

local M = {}

function M.main_local()
  module_checks()
  crossing_checks("app:child", nil)
  return {ok = true}
end

function M.main_durable()
  module_checks()
  crossing_checks("app:child_wf", "app:worker")
  return {ok = true}
end

return M
