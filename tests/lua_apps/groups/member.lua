-- Joins the group it is given (scope app:pg), tells its parent "joined", then answers each message it gets under
-- topic "echo" to its parent ({topic, data}) until "stop".
local pg = require("pg")

local function main(group, parent)
  local g = assert(pg.open("app:pg"))
  assert(g:join(group))
  process.send(parent, "joined", process.pid())
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    if msg:topic() == "stop" then return "stopped" end
    process.send(parent, "echo", {topic = msg:topic(), data = msg:payload():data(), from = msg:from()})
  end
end

return {main = main}
