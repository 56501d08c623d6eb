-- spec 定时器: durable sleeps, and elapsed workflow time measured with time.now():sub(start)
local time = require("time")

local function main(input)
    local start = time.now()
    time.sleep(input.sleep)
    local after_string = time.now():sub(start):milliseconds()
    time.sleep(100 * time.MILLISECOND)
    local after_both = time.now():sub(start):milliseconds()
    return {after_string = after_string, after_both = after_both}
end

return { main = main }
