-- Acts on each key of a string-keyed table in pairs() order: a function call for "call" keys, a durable
-- sleep for "sleep" keys. The command sequence, and the returned order, are those of pairs(): a replay in a
-- process whose string hash orders the keys differently would fail unless pairs is canonical in workflows.
local funcs = require("funcs")
local time = require("time")

local function main(input)
    local actions = {
        zulu = "call", yankee = "sleep", xray = "call", whiskey = "call", victor = "sleep", uniform = "sleep",
        tango = "call", sierra = "sleep", romeo = "call", quebec = "call", papa = "sleep", oscar = "call",
        november = "sleep", mike = "call", lima = "sleep", kilo = "call", juliet = "call", india = "sleep",
    }
    local order = {}
    for key, action in pairs(actions) do
        order[#order + 1] = key
        if action == "call" then
            funcs.call("app:echo", key)
        else
            time.sleep("1ms")
        end
    end
    local with_next, k = {}, next(actions)
    while k ~= nil do
        with_next[#with_next + 1] = k
        k = next(actions, k)
    end
    return {order = order, next_order = with_next}
end

return { main = main }
