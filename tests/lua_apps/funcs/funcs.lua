-- The funcs checks, run as app:local (a process) and app:durable (a workflow: the calls are activities).
local funcs = require("funcs")

-- errors with a retryable flag are retried by a workflow's default activity policy: one attempt here
local once = funcs.new():with_options({["activity.retry_policy"] = {maximum_attempts = 1}})

local function call_checks()
  local r, err = funcs.call("app:add", 2, 3)
  assert(err == nil and r.sum == 5, "funcs.call of a function.py")
  assert(funcs.call("app:greet", "ann") == "hi ann", "funcs.call of a function.lua")

  local v, e = once:call("app:fail", errors.RATE_LIMITED, false)
  assert(v == nil and e:kind() == errors.RATE_LIMITED and e:retryable() == false, "a Lua function's error kind")
  assert(e:message() == "failed as asked" and e:details().asked == errors.RATE_LIMITED, "its message and details")
  local _, e2 = funcs.call("app:refuse", "x")
  assert(e2:kind() == errors.PERMISSION_DENIED and e2:retryable() == false, "a Python function's error kind")
  assert(e2:message() == "not allowed: x" and e2:details().what == "x", "its message and details")
  local _, e3 = once:call("app:fail", errors.UNAVAILABLE, true)
  assert(e3:kind() == errors.UNAVAILABLE and e3:retryable() == true, "retryable true crosses")
end

local function future_checks()
  local f, err = funcs.async("app:add", 1, 1)
  assert(err == nil and f ~= nil, "funcs.async returns a future")
  assert(f:is_complete() == false and f:is_canceled() == false, "a new future is pending")
  local pending_v, pending_e = f:result()
  assert(pending_v == nil and pending_e == nil, "result() of a pending future is nil, nil")
  local _, has = f:error()
  assert(has == false, "error() of a pending future")
  local ch = f:response()
  assert(f:channel() == ch, "channel() is response()")
  local payload, ok = ch:receive()
  assert(ok == true and payload:data().sum == 2, "the channel yields the payload")
  local again, ok2 = ch:receive()
  assert(again == nil and ok2 == false, "then it is closed")
  assert(f:is_complete() and f:result() == payload, "result() is the same payload")

  -- several at once, the first done through select
  local slow = funcs.async("app:slow", "3s", "slow")
  local fast = funcs.async("app:greet", "bob")
  local r = channel.select{slow:channel():case_receive(), fast:channel():case_receive()}
  assert(r.channel == fast:channel() and r.ok and r.value:data() == "hi bob", "select takes the first done")

  -- cancel the slow one while it runs
  assert(slow:cancel() == true, "cancel of a running future")
  local c = slow:response():receive()
  assert(c:kind() == errors.CANCELED, "a cancelled future yields CANCELED")
  local cv, cerr = slow:result()
  assert(cv == nil and cerr:kind() == errors.CANCELED and slow:is_canceled() and slow:is_complete(), "and says so")
  assert(slow:cancel() == true, "a second cancel is fine")
  assert(fast:cancel() == false and not fast:is_canceled(), "cancel after completion changes nothing")

  -- a failing call
  local ef = once:async("app:fail", errors.CONFLICT, true)
  local got, gok = ef:response():receive()
  assert(gok and got:kind() == errors.CONFLICT and got:retryable() == true, "a future's error keeps kind, retryable")
  local ee, ehas = ef:error()
  local rv, rerr = ef:result()
  assert(ehas and ee == got and rv == nil and rerr == got, "error() and result() give that error")
end

local function executor_checks()
  local base = funcs.new()
  local ex = base:with_context({trace_id = "t-1"})
  assert(ex ~= base, "with_context makes a new executor")
  assert(ex:call("app:context").trace_id == "t-1", "the callee sees the context")
  assert(base:call("app:context").trace_id == nil, "the base executor is unchanged")
  local ex2 = ex:with_context({user = 7})
  local seen = ex2:async("app:context"):response():receive():data()
  assert(seen.trace_id == "t-1" and seen.user == 7, "with_context merges")
  assert(ex:call("app:add", 1, 2).trace_id == "t-1", "a Python callee sees it too")
end

local function bad_input_checks()
  local v, err = funcs.async("nope")
  assert(v == nil and err:kind() == errors.INVALID, "a target without a namespace is INVALID")
  v, err = funcs.call(42)
  assert(v == nil and err:kind() == errors.INVALID, "a target that is no string is INVALID")
  v, err = funcs.async("app:add", function() end)
  assert(v == nil and err:kind() == errors.INVALID, "an argument that cannot cross is INVALID")
  local ok, msg = pcall(function() local x = funcs.new():with_context(5) return x end)
  assert(not ok and msg:find("with_context", 1, true), "with_context(5) raises naming it")
  ok, msg = pcall(function() local x = funcs.async("app:greet", "z").result() return x end)
  assert(not ok and msg:find("future:result", 1, true), "a future method without its future raises")
end

local function main()
  call_checks()
  future_checks()
  executor_checks()
  bad_input_checks()
  return {ok = true}
end

return {main = main}
