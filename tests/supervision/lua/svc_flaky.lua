-- a service's process, local or durable: notes its run through app:note_run (a function.py), fails its first
-- `fail` runs (a retryable error; with `unknown`, errors.new("...") whose retryable is unsaid), then ends normally (`done`) or waits for CANCEL
local funcs = require("funcs")

local function main(input)
  local run = funcs.call("app:note_run", input.log, input.id)
  if run <= input.fail and input.unknown then
    return nil, errors.new(input.id .. " run " .. run .. " failed")
  end
  if run <= input.fail then
    return nil, errors.new{kind = errors.UNAVAILABLE, message = input.id .. " run " .. run .. " failed", retryable = true}
  end
  if input.done then return "done after " .. run .. " runs" end
  local events = process.events()
  while true do
    local event = events:receive()
    if event.kind == process.event.CANCEL then return "cancelled" end
  end
end

return {main = main}
