-- a local Lua process running a workflow to its end with process.exec
local function main(input)
    local result, err = process.exec(input.entry, "app:worker", input.data)
    if err then
        return {ok = false, kind = err:kind(), retryable = err:retryable(), message = err:message()}
    end
    return {ok = true, result = result}
end

return { main = main }
