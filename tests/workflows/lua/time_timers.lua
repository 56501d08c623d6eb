-- Timers inside a workflow, one behaviour per mode (tests/workflows/test_time_module.py).
local time = require("time")

local modes = {}

-- a ticker read n times then stopped: n durable timers in the history, none left behind
function modes.ticker(input)
    local ticker = time.ticker(input.every)
    local start = time.now()
    local at = {}
    for i = 1, input.n do at[i] = ticker:channel():receive():sub(start):milliseconds() end
    ticker:stop()
    return at
end

-- a timer stopped before any wait leaves no timer in the history, and the run ends at once
function modes.stopped()
    local t = time.timer("1h")
    local stopped = t:stop()
    local ticker = time.ticker("1h")
    ticker:stop()
    return {stopped = stopped, closed = select(2, t:channel():receive()) == false}
end

-- durations below Temporal's millisecond: still a (durable) wait, in order
function modes.tiny()
    local order = {}
    coroutine.spawn(function() time.sleep(1) order[#order + 1] = "1ns" end)
    local ch = time.after(999 * time.MICROSECOND)
    time.sleep(500)
    order[#order + 1] = "500ns"
    ch:receive()
    order[#order + 1] = "999us"
    return order
end

-- bad input: nil, INVALID (or a raised INVALID for a bad argument), never a failed workflow task
function modes.bad()
    local out = {}
    local function add(v, err) out[#out + 1] = {v == nil, err:kind(), err:message()} end
    add(time.after(0))
    add(time.sleep("soon"))
    add(time.ticker({}))
    add(time.parse_duration(true))
    add(time.parse(time.DATE_ONLY, "yesterday"))
    add(time.load_location("Nowhere/Land"))
    local ok, err = pcall(time.date, "2024", 1, 1, 0, 0, 0, 0)
    add(nil, err)
    return out
end

return { main = function(input) return modes[input.mode](input) end }
