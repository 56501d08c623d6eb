-- The change added where a run recorded no version: Go's DefaultVersion (-1) must be supported.
local workflow = require("workflow")

local function main(input)
  local version = workflow.version("payment-v2", -1, 2)
  process.send(input.notify, "ready", version)
  process.inbox():receive()
  return {version = version}
end

return {main = main}
