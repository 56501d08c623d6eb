-- Acts on what tostring shows of fresh tables: a function call or a durable sleep depending on the bytes of
-- the printed "address", and returns them. With real addresses a replay in another process would issue other
-- commands and return other strings.
local funcs = require("funcs")
local time = require("time")

local function main(input)
    local shown = {}
    for i = 1, 6 do
        local s = tostring({})
        shown[i] = s
        local sum = 0
        for c in s:gmatch(".") do sum = sum + c:byte() end
        if sum % 2 == 1 then funcs.call("app:echo", s) else time.sleep("1ms") end
    end
    local fn = function() end
    shown[#shown + 1] = string.format("%s %p", fn, fn)
    return shown
end

return { main = main }
