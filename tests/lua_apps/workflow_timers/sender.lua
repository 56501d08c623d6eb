-- sends its owner what it is asked: {topic =, data =, delay =} (after `delay`), then "ack" on the same path;
-- {quit = true} ends it
local time = require("time")

local function main(owner)
  local inbox = process.inbox()
  while true do
    local req = inbox:receive():payload():data()
    if req.quit then return "done" end
    if req.delay then time.sleep(req.delay) end
    assert(process.send(owner, req.topic, req.data))
    assert(process.send(owner, "ack", req.topic))
  end
end

return {main = main}
