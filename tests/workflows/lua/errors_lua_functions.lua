-- function.lua entries failing in the ways Lua code can
local function not_found(sku)
    return nil, errors.new({kind = "NOT_FOUND", message = sku .. " is not stocked", retryable = false})
end

local function conflict_raised(sku)
    error(errors.new({kind = "CONFLICT", message = sku .. " is locked", retryable = true}))
end

local function runtime_error(sku)
    local missing = nil
    return missing.field
end

return { not_found = not_found, conflict_raised = conflict_raised, runtime_error = runtime_error }
