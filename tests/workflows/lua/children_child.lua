-- a child workflow: echoes its input and says who its parent is
local workflow = require("workflow")

local function main(input)
    local info = workflow.info()
    return {echo = input, parent = info.parent_workflow_id}
end

return { main = main }
