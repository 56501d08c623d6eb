-- Runs until told to stop.
local function main()
  process.inbox():receive()
  return "stopped"
end

return {main = main}
