-- A function.lua activity: shipping fails (not retryable) for addresses it cannot reach.
local errors = require("errors")
local uuid = require("uuid")

local function ship(shipping)
    if shipping.address == "" or shipping.address == "nowhere" then
        return nil, errors.new({kind = errors.NOT_FOUND, message = "no route to '" .. shipping.address .. "'",
                                retryable = false})
    end
    return {tracking = "TRK-" .. string.sub(uuid.v4(), 1, 8)}
end

return { ship = ship }
