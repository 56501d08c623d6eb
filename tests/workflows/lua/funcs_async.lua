-- funcs.async inside a workflow: futures are activities started without waiting (test_funcs_async.py).
local funcs = require("funcs")
local time = require("time")

local M = {}

-- three calls at once; the first done is taken with select, then the others; an executor's context reaches
-- the callee
function M.parallel()
  local ex = funcs.new():with_context({trace_id = "t-9"})
  local f1 = funcs.async("app:fx_slow", "2s", "slow")
  local f2 = ex:async("app:fx_context")
  local f3 = funcs.async("app:fx_echo", 1, "two")
  local r = channel.select{f1:channel():case_receive(), f3:channel():case_receive()}
  local first = r.channel == f3:channel() and "echo" or "slow"
  return {
    first = first,
    slow = f1:response():receive():data(), context = f2:response():receive():data(), echo = r.value:data(),
    complete = {f1:is_complete(), f2:is_complete(), f3:is_complete()},
  }
end

-- failures keep kind and retryable; a nil retryable crosses as the kind's default
function M.errors()
  local out = {}
  local cases = {
    {"app:fx_fail", errors.RATE_LIMITED, false}, {"app:fx_fail", errors.INVALID, true}, {"app:fx_plain"},
  }
  local futures = {}
  for i, case in ipairs(cases) do
    futures[i] = funcs.new():with_options({["activity.retry_policy"] = {maximum_attempts = 1}})
        :async(case[1], case[2], case[3])
  end
  for i, f in ipairs(futures) do
    local e = f:response():receive()
    local v, err = f:result()
    local e2, has = f:error()
    out[i] = {kind = e:kind(), retryable = e:retryable(), message = e:message(), same = (err == e and e2 == e and has)}
  end
  return out
end

-- cancel: one future cancelled before its activity was scheduled, one while its activity runs
function M.cancel(input)
  local early = funcs.async("app:fx_slow", "10s", "early")
  local c1 = early:cancel()
  local running = funcs.async("app:fx_slow", input.duration, "running")
  time.sleep("500ms")
  local c2 = running:cancel()
  local got, ok = running:response():receive()
  local after = funcs.call("app:fx_echo", "after")
  return {c1 = c1, c2 = c2, again = running:cancel(), kind = got:kind(), ok = ok, early = early:is_canceled(),
          complete = running:is_complete(), after = after}
end

-- the workflow fails with an error value: its kind and retryable reach the caller
function M.fail(input)
  if input.plain then return nil, errors.new("plain workflow failure") end
  return nil, errors.new{kind = input.kind, message = "workflow failed", retryable = input.retryable}
end

-- the golden history (replay_funcs_async.json): parallel futures, an error, both cancels, a select timeout
function M.golden()
  local early = funcs.async("app:fx_echo", "never")
  early:cancel()
  local a = funcs.async("app:fx_echo", "a")
  local b = funcs.new():with_context({k = "v"}):async("app:fx_echo", "b")
  local failed = funcs.async("app:fx_fail", errors.CONFLICT, false)
  local slow = funcs.async("app:fx_slow", "3s", "slow")
  local timeout = time.after("300ms")
  local r = channel.select{slow:channel():case_receive(), timeout:case_receive()}
  slow:cancel()
  local e = failed:response():receive()
  return {a = a:response():receive():data(), b = b:response():receive():data(), timed_out = r.channel == timeout,
          failed = {e:kind(), e:retryable()}, slow = slow:response():receive():kind(), early = early:is_canceled()}
end

return M
