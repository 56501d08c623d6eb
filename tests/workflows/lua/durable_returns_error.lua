local function main(input)
    return nil, errors.new({kind = "NOT_FOUND", message = "no order " .. input.id, retryable = false})
end

return { main = main }
