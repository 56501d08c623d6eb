-- A workflow for tests/workflows/test_introspection_durable.py: greets whoever says hello, then ends as asked.
local function main(input)
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    if msg:topic() == "hello" then process.send(msg:from(), "hi", msg:payload():data()) end
    if msg:topic() == "fail" then return nil, "asked to fail" end
    if msg:topic() == "done" then return "done" end
  end
end

return {main = main}
