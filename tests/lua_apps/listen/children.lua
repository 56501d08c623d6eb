local time = require("time")
local M = {}

-- listens to test_topic, takes one message there, unlistens, tells its parent, then returns what reached its
-- inbox until "done" (topic:payload)
function M.unlisten_worker(parent)
  local topic = process.listen("test_topic")
  process.send(process.pid(), "test_topic", "msg1")
  local first = topic:receive()
  assert(process.unlisten(topic))
  process.send(parent, "unlistened")
  local inbox, seen = process.inbox(), {}
  while true do
    local m = inbox:receive()
    seen[#seen + 1] = m:topic() .. ":" .. tostring(m:payload():data() or "")
    if m:topic() == "done" then break end
  end
  return {first = first, inbox = seen}
end

return M
