-- A third deploy that dropped support for version 1.
local funcs = require("funcs")
local time = require("time")
local workflow = require("workflow")

local function main(input)
    local version = workflow.version("payment", 2, 2)
    time.sleep("1ms")
    return {version = version, paid = funcs.call("app:echo", "new payment")}
end

return { main = main }
