-- workflow.version("payment-v2", 1, 1), then (when asked) wait for "go" so that the run outlives its worker.
local workflow = require("workflow")

local function main(input)
  local version = workflow.version("payment-v2", 1, 1)
  local again = workflow.version("payment-v2", 1, 1)
  if input and input.notify then
    process.send(input.notify, "ready", version)
    process.inbox():receive()
  end
  return {version = version, again = again, code_max = 1}
end

return {main = main}
