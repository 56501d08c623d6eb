-- Waits for a message, then answers through a function call.
local funcs = require("funcs")

local function main(input)
    local msg = process.inbox():receive()
    return {topic = msg:topic(), echoed = funcs.call("app:echo", msg:payload():data())}
end

return { main = main }
