-- Sends "tick" messages to input.target, a local process of another node that answers each with "ack".
-- mode "burst": ticks 1..n at once, then the n acks in the order they arrived.
-- mode "keep_sending": one round trip first (tick 0), reported to input.observer as "acked"; then ticks 1..n,
-- one every input.every, whatever became of the target's node; returns how many it sent.
local time = require("time")

local function main(input)
    local inbox = process.inbox()
    if input.mode == "burst" then
        for i = 1, input.n do
            process.send(input.target, "tick", i)
        end
        local acks = {}
        for _ = 1, input.n do
            acks[#acks + 1] = inbox:receive():payload():data()
        end
        return {acks = acks}
    end
    process.send(input.target, "tick", 0)
    process.send(input.observer, "acked", inbox:receive():payload():data())
    for i = 1, input.n do
        process.send(input.target, "tick", i)
        time.sleep(input.every)
    end
    return {sent = input.n}
end

return {main = main}
