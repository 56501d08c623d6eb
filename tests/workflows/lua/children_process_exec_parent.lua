-- spec 同步执行 Workflow (process.exec) from inside a workflow: the result, or the error as a value
local function main(input)
    local result, err = process.exec(input.entry, "app:worker", input.data)
    if err then
        return {ok = false, kind = err:kind(), retryable = err:retryable(), message = err:message()}
    end
    return {ok = true, result = result}
end

return { main = main }
