-- workflow.info() and the history helpers, read in the first workflow task.
local workflow = require("workflow")

local function main()
  return {info = workflow.info(), history_length = workflow.history_length(), history_size = workflow.history_size()}
end

return {main = main}
