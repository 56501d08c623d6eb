-- A counter that serves its inbox: "add" n, "get" (answered on the sender's "total" topic), "stop".
local function main(input)
  local total = input.initial or 0
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    local topic = msg:topic()
    if topic == "add" then
      total = total + msg:payload():data()
    elseif topic == "get" then
      process.send(msg:from(), "total", total)
    elseif topic == "stop" then
      return total
    end
  end
end

return {main = main}
