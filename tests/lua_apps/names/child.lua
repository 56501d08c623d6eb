-- A child that answers "ping" with "pong" (its PID), ends on "stop" with "stopped" and on CANCEL with "canceled".
local function main()
  local inbox, events = process.inbox(), process.events()
  while true do
    local r = channel.select{inbox:case_receive(), events:case_receive()}
    if r.channel == events then
      if r.value.kind == process.event.CANCEL then return "canceled" end
    else
      local msg = r.value
      if msg:topic() == "ping" then
        process.send(msg:from(), "pong", process.pid())
      elseif msg:topic() == "stop" then
        return "stopped"
      end
    end
  end
end
return {main = main}
