-- History grows: a durable sleep adds timer and workflow-task events between two readings.
local workflow = require("workflow")
local time = require("time")

local function main()
  local length1, size1 = workflow.history_length(), workflow.history_size()
  time.sleep("10ms")
  local length2, size2 = workflow.history_length(), workflow.history_size()
  return {length1 = length1, size1 = size1, length2 = length2, size2 = size2}
end

return {main = main}
