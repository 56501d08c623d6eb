-- inbox.lua with the sleep moved before the activity: a change replay must reject.
local function main(input)
  wf.sleep(0.1)
  local greeting = wf.call("greet", input.name)
  local seen = {}
  for i = 1, input.expect do
    local msg = wf.receive()
    seen[#seen + 1] = msg.topic .. "=" .. tostring(msg.payload)
    if i == input.checkpoint then wf.call("checkpoint", i) end
  end
  return {greeting = greeting, seen = seen}
end

return {main = main}
