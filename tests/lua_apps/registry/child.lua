-- A child that obeys its inbox: "register" (registers itself under the name it is sent and answers
-- "registered" with {ok, kind}), "ping" (answers "pong" with its PID), "stop" (ends with "stopped").
local function main()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    local topic = msg:topic()
    if topic == "register" then
      local ok, err = process.registry.register(msg:payload():data())
      process.send(msg:from(), "registered", {ok = ok, kind = err and err:kind()})
    elseif topic == "ping" then
      process.send(msg:from(), "pong", process.pid())
    elseif topic == "stop" then
      return "stopped"
    end
  end
end
return {main = main}
