-- A server that answers calls: "add" {a, b} -> a + b; "fail" -> a CONFLICT error; "slow" -> "late" after 300 ms;
-- "ignore" -> no answer; "die" -> ends with an INTERNAL error (returned: a workflow's Lua error would stall it); "plain" (sent, not called) -> tries to reply and sends back
-- what that gave as "plain_reply"; "stop" -> ends normally.
local time = require("time")

local function main()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    local topic = msg:topic()
    if topic == "add" then
      local d = msg:payload():data()
      process.reply(msg, d[1] + d[2])
    elseif topic == "fail" then
      process.reply(msg, nil, errors.new({kind = errors.CONFLICT, message = "refused", retryable = false}))
    elseif topic == "slow" then
      time.sleep("300ms")
      process.reply(msg, "late")
    elseif topic == "die" then
      return nil, errors.new({kind = errors.INTERNAL, message = "asked to die"})
    elseif topic == "plain" then
      local ok, err = process.reply(msg, 1)
      process.send(msg:from(), "plain_reply", {ok = ok, kind = err and err:kind()})
    elseif topic == "stop" then
      return "stopped"
    end
  end
end

-- Registered as "call-spawner": answers a call "spawn" with a new local server's PID.
local function spawner()
  assert(process.registry.register("call-spawner"))
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    if msg:topic() == "spawn" then
      process.reply(msg, process.spawn("app:server_local", "app:processes"))
    end
  end
end

return {main = main, spawner = spawner}
