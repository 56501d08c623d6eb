-- Registers its name, continues as new, and finds itself by the name in the new run (same PID: the name stays);
-- then waits for "finish".
local workflow = require("workflow")

local function main(input)
    if not input.continued then
        assert(process.registry.register(input.name))
        workflow.continue_as_new({name = input.name, continued = true})
    end
    local found = process.registry.lookup(input.name)
    local finish = process.inbox():receive()
    return {found_self = found == process.pid(), finish = finish:topic()}
end
return {main = main}
