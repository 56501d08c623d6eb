-- The second deploy: new runs take the new payment path (one more step); recorded runs keep version 1.
local funcs = require("funcs")
local time = require("time")
local workflow = require("workflow")

local function main(input)
    local version = workflow.version("payment", 1, 2)
    local paid
    if version == 1 then
        paid = funcs.call("app:echo", "old payment")
    else
        time.sleep("1ms")
        paid = funcs.call("app:echo", "new payment")
    end
    return {version = version, paid = paid}
end

return { main = main }
