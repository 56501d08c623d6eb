-- Collects messages until "stop": the topic and payload size of each, in order.
local function main(input)
  local inbox = process.inbox()
  local seen = {}
  while true do
    local msg = inbox:receive()
    if msg:topic() == "stop" then return seen end
    local data = msg:payload():data()
    seen[#seen + 1] = {topic = msg:topic(), size = #data}
  end
end

return {main = main}
