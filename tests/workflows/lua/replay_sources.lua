-- Every replay-safe source of values, returned so that a replay that got other values is caught.
local funcs = require("funcs")
local time = require("time")
local uuid = require("uuid")
local crypto = require("crypto")

local function hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", string.byte(c)) end))
end

local function main(input)
    local msg = process.inbox():receive()
    local before = time.now()
    local values = {
        topic = msg:topic(),
        data = msg:payload():data(),
        uuid = uuid.v4(),
        bytes = hex(crypto.random_bytes(16)),
        now = before:format(),
        os_time = os.time(),
        os_date = os.date("%Y-%m-%d %H:%M:%S"),
        random = math.random(),
        dice = math.random(6),
        range = math.random(100, 200),
    }
    values.echoed = funcs.call("app:echo", values.uuid)
    time.sleep("100ms")
    values.slept_ms = time.now():sub(before):milliseconds()
    return values
end

return { main = main }
