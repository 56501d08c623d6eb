-- Tells the recorder it started, before anything else, then waits forever.
local function main(input)
  process.send(input.recorder, "started", input.id)
  process.inbox():receive()
end

return {main = main}
