-- a coroutine races a durable sleep against a per-item time.after deadline
local time = require("time")

local function main(input)
    local results = channel.new(#input.delays)
    for i, delay in ipairs(input.delays) do
        coroutine.spawn(function()
            local done = channel.new(1)
            coroutine.spawn(function()
                time.sleep(delay)
                done:send(true)
            end)
            local r = channel.select{done:case_receive(), time.after(input.limit):case_receive()}
            results:send({index = i, outcome = r.channel == done and "done" or "timed_out"})
        end)
    end
    local outcomes = {}
    for _ = 1, #input.delays do
        local r = results:receive()
        outcomes[r.index] = r.outcome
    end
    return outcomes
end

return { main = main }
