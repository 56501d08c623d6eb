-- inventory functions for the saga
local function reserve(items)
    for _, item in ipairs(items) do
        if item == "out-of-stock" then
            return nil, errors.new({kind = "CONFLICT", message = "item out-of-stock is not available", retryable = false})
        end
    end
    return {id = "res-" .. table.concat(items, "+")}
end

local function release(reservation_id)
    return {released = reservation_id}
end

return { reserve = reserve, release = release }
