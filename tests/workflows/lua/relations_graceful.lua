-- a workflow that honours cancellation: on CANCEL it cleans up (a durable sleep) and ends normally
local time = require("time")

local function main(input)
    local event = process.events():receive()
    if event.kind == process.event.CANCEL then
        time.sleep("50ms")
        return {status = "cancelled", deadline = event.deadline, by = tostring(event.from)}
    end
    return {status = "unexpected", kind = event.kind}
end

return { main = main }
