local workflow = require("workflow")

local function main(input)
  local info = workflow.info()
  return {greeting = "hello " .. input.name, parent = info.parent_workflow_id, me = info.workflow_id}
end

return {main = main}
