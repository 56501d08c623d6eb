-- A workflow that calls a local process (input.target: a name or a PID string) and reports what each call gave:
-- "add" answered; "slow" past a 200 ms timeout, then a later "add" (the late "slow" reply must be dropped, and
-- the inbox stay empty); a call to input.dead (a PID that is not running); a call to itself.
local time = require("time")

local function outcome(value, err)
  if err then return {kind = err:kind(), message = err:message(), reason = err:details() and err:details().reason} end
  return {value = value}
end

local function main(input)
  local out = {}
  out.add = outcome(process.call(input.target, "add", {2, 3}))
  out.fail = outcome(process.call(input.target, "fail", nil))
  out.slow = outcome(process.call(input.target, "slow", nil, "200ms"))
  time.sleep("2s")
  out.after = outcome(process.call(input.target, "add", {20, 22}))
  local r = channel.select({process.inbox():case_receive(), default = true})
  out.inbox_empty = r.default == true
  out.dead = outcome(process.call(input.dead, "add", {1, 2}, "30s"))
  out.self = outcome(process.call(process.pid(), "add", {1, 2}))
  out.bad_timeout = outcome(process.call(input.target, "add", {1, 2}, -1))
  return out
end
return {main = main}
