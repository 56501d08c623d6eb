-- a durable child: runs until told; "fail" ends the workflow with an error, "stop" completes it
-- (CANCEL events are not read: a supervisor's shutdown must terminate it at the deadline)
local function main(input)
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    local topic = msg:topic()
    if topic == "fail" then
      return nil, errors.new({kind = "INTERNAL", message = "durable child told to fail", retryable = true})
    end
    if topic == "stop" then return "stopped" end
  end
end

return {main = main}
