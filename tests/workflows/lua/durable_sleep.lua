-- A function call, a durable sleep, another function call: the sleep outlives the worker that started it.
local funcs = require("funcs")
local time = require("time")

local function main(input)
    local before = funcs.call("app:echo", "before")
    time.sleep(input.sleep)
    local after = funcs.call("app:echo", "after")
    return {before = before, after = after, input = input.tag}
end

return { main = main }
