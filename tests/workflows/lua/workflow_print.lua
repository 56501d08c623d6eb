-- Prints across three workflow tasks: the first, after a durable timer, and after a message.
local time = require("time")

local function main(input)
    print("start", input)
    time.sleep("10ms")
    print("waiting for go")
    local message = process.inbox():receive()
    print("got", message:payload():data())
    return "done"
end

return { main = main }
