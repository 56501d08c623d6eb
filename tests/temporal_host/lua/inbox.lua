-- Greets through an activity, sleeps, then collects `expect` messages in arrival order.
local function main(input)
  local greeting = wf.call("greet", input.name)
  wf.sleep(0.1)
  local seen = {}
  for i = 1, input.expect do
    local msg = wf.receive()
    seen[#seen + 1] = msg.topic .. "=" .. tostring(msg.payload)
    if i == input.checkpoint then wf.call("checkpoint", i) end
  end
  return {greeting = greeting, seen = seen}
end

return {main = main}
