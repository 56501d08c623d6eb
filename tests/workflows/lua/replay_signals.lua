-- Every signal a node sends a workflow (a message, bursts of one topic and of two, a listened topic, link,
-- unlink, the EXIT of a monitored local process, cancel), a message to another workflow, and values of every wire
-- type, returned as received. The golden histories replay_signals_msgpack.json (msgpack, one signal name per
-- kind) and replay_signals.json (JSON, signals named by topic) run this code.
local function main(input)
    process.monitor(input.watch)
    local inbox = process.inbox()
    local orders = process.listen("order")
    local events = process.events()

    local first = inbox:receive()
    process.send(first:from(), "ack", 1)
    local burst = {}
    for i = 1, 6 do  -- two bursts of three (the sender waits for the ack between them)
        local msg = inbox:receive()
        burst[i] = {topic = msg:topic(), data = msg:payload():data()}
        if i % 3 == 0 then process.send(first:from(), "ack", 1 + i // 3) end
    end
    local order = orders:receive()
    process.send(first:from(), "ready", {pid = process.pid(), echo = order})

    local seen = {}
    while not (seen.EXIT and seen.CANCEL) do
        local event = events:receive()
        if event.kind == process.event.EXIT then
            seen.EXIT = {from = event.from, value = event.result.value}
        elseif event.kind == process.event.CANCEL then
            seen.CANCEL = {deadline = event.deadline}
        end
    end
    process.send(input.peer, "go", {n = 2, from = process.pid()})  -- a signal to another workflow
    return {
        first = {topic = first:topic(), data = first:payload():data(), from = first:from()},
        burst = burst,
        order = order,
        events = seen,
        own = {pid = process.pid(), float = 1.0, int = 1, sparse = {[1] = "a", [7] = "b"}, half = {[0.5] = true},
               err = errors.new{kind = errors.CONFLICT, message = "busy", retryable = true}},
    }
end

return { main = main }
