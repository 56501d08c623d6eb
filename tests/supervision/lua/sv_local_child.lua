-- a local child: "exit" ends it normally, "crash" raises; "ping" replies "pong" with its own pid
local function main(input)
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    local topic = msg:topic()
    if topic == "crash" then error("told to crash") end
    if topic == "exit" then return "done" end
    if topic == "ping" then process.send(msg:from(), "pong", tostring(process.pid())) end
  end
end

return {main = main}
