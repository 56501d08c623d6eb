-- One order's durable part: wait (a durable timer: the wait survives a restart of the app), then tell the
-- local process that asked for it.
local time = require("time")

local function main(order)
    time.sleep("50ms")
    process.send(order.notify, "shipped", {id = order.id, items = order.items})
    return {id = order.id, status = "shipped"}
end

return { main = main }
