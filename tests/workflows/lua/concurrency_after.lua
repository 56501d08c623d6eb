-- time.after in a select: a "go" message or the timer, whichever comes first
local time = require("time")

local function main(input)
    local go = process.listen("go")
    local start = time.now()
    local timeout = time.after(input.wait)
    local result = channel.select{
        go:case_receive(),
        timeout:case_receive()
    }
    local elapsed = time.now():sub(start):milliseconds()
    if result.channel == go then
        return {fired = "message", value = result.value, elapsed_ms = elapsed}
    end
    return {fired = "timer", elapsed_ms = elapsed, timer_value_is_time = tostring(result.value) ~= nil}
end

return { main = main }
