-- spec 子 Workflow / 同步子 Workflow (workflow.exec)
local workflow = require("workflow")

local function main(input)
    local result, err = workflow.exec(input.child, input.data)
    if err then
        return nil, err
    end
    return {child = result, me = workflow.info().workflow_id}
end

return { main = main }
