-- replay_sources.lua with an incompatible change: the sleep now comes before the function call.
local funcs = require("funcs")
local time = require("time")
local uuid = require("uuid")
local crypto = require("crypto")

local function main(input)
    local msg = process.inbox():receive()
    local before = time.now()
    local values = {topic = msg:topic(), uuid = uuid.v4(), bytes = crypto.random_bytes(16)}
    time.sleep("100ms")
    values.echoed = funcs.call("app:echo", values.uuid)
    return values
end

return { main = main }
