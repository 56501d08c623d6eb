-- A deploy that dropped version 1: workflow.version("payment-v2", 2, 2).
local workflow = require("workflow")

local function main(input)
  local version = workflow.version("payment-v2", 2, 2)
  if input and input.notify then
    process.send(input.notify, "ready", version)
    process.inbox():receive()
  end
  return {version = version, code_max = 2}
end

return {main = main}
