-- Collects every message until "stop", then returns its input and what it saw, in order.
local function main(input)
  local inbox = process.inbox()
  local seen = {}
  while true do
    local msg = inbox:receive()
    if msg:topic() == "stop" then break end
    seen[#seen + 1] = {topic = msg:topic(), data = msg:payload():data()}
  end
  return {input = input, seen = seen}
end

return {main = main}
