-- a child workflow that ends with an error value
local function main(input)
    return nil, errors.new({kind = "NOT_FOUND", message = "order 42 not found", retryable = false})
end

return { main = main }
