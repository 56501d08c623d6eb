local time = require("time")
local M = {}

-- stops cleanly on CANCEL and returns what the event carried
function M.graceful()
  local ev = process.events():receive()
  return {kind = ev.kind, from = ev.from, deadline = ev.deadline}
end

-- ignores CANCEL
function M.stubborn()
  while true do time.sleep("1h") end
end

-- waits for one inbox message
function M.wait()
  process.inbox():receive()
  return "went"
end

function M.ok(x) return x * 2 end

return M
