-- a workflow that ends with an error value
local function main(input)
    return nil, errors.new({kind = "NOT_FOUND", message = "order 7 does not exist", retryable = false})
end

return { main = main }
