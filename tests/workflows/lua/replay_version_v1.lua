-- The first deploy of replay_version.lua: only the old payment path exists.
local funcs = require("funcs")
local workflow = require("workflow")

local function main(input)
    local version = workflow.version("payment", 1, 1)
    local paid = funcs.call("app:echo", "old payment")
    return {version = version, paid = paid}
end

return { main = main }
