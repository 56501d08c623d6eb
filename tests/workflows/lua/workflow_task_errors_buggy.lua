-- A bug two calls deep, after a durable timer (so the failing task is not the first one).
local time = require("time")

local function price(order)
    return order.total * 2
end

local function main(input)
    time.sleep("10ms")
    local order = nil
    return {price = price(order), input = input}
end

return { main = main }
