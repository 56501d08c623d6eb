-- spec 错误处理 / Activity 错误 and Activity 故障模式: an activity's error as a value with its metadata
local funcs = require("funcs")

local function main(input)
    local executor = funcs.new()
    if input.maximum_attempts then
        executor = executor:with_options({
            ["activity.retry_policy"] = {
                maximum_attempts = input.maximum_attempts,
                initial_interval = input.initial_interval,
            }
        })
    end
    local result, err = executor:call(input.fn, input.arg)
    if err then
        return {ok = false, kind = err:kind(), retryable = err:retryable(), message = err:message(),
                text = tostring(err)}
    end
    return {ok = true, result = result}
end

return { main = main }
