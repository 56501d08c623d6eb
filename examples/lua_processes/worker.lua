-- A worker: squares the numbers it gets on the "job" topic and replies to the coordinator's inbox.
local ctx = require("ctx")

local function main(input)
  local jobs, done = process.listen("job"), 0
  while true do
    local job = jobs:receive()
    if job.stop then return done end
    process.send(input.reply_to, "result", {worker = ctx.get("worker"), n = job.n, square = job.n * job.n})
    done = done + 1
  end
end

return {main = main}
