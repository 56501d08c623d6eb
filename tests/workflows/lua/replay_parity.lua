-- Issue 11's new calls together in one run, returned so that a replay that saw other values is caught: the
-- registry (register, lookup, a send by name, unregister), positional arguments to child workflows (a nil in
-- the middle) and a send of several values, timers (timer, ticker, after in a select, now arithmetic) and
-- funcs.async (a future awaited through :response() in a select, one cancelled). Recorded as
-- histories/replay_parity.json (record_golden.py); tests/workflows/test_replay.py replays it.
local time = require("time")
local funcs = require("funcs")

local NAME = "replay-parity"

local function main(input)
    local out = {}
    local me = process.pid()
    local inbox = process.inbox()
    local start = time.now()
    out.id = process.id()

    -- registry: register this run, find it, send to it by name (two values: the payload is the list)
    out.register = process.registry.register(NAME)
    out.lookup_is_me = process.registry.lookup(NAME) == me
    out.sent = process.send(NAME, "by-name", "a", 2)
    local msg = inbox:receive()
    out.by_name = {msg:topic(), msg:payload():data(), msg:from() == me}
    out.unregister = {process.registry.unregister(NAME), process.registry.unregister(NAME)}
    local gone, gone_err = process.registry.lookup(NAME)
    local unsent, unsent_err = process.send(NAME, "by-name", 1)
    out.after_unregister = {gone == nil, gone_err:kind(), unsent == nil, unsent_err:kind()}

    -- positional arguments: a child with a nil in the middle, which sends back two values; one run to the end
    local child = process.spawn_monitored("app:replay_parity_child", "app:worker", me, "a", nil, 3, {k = "v"})
    local reply = inbox:receive()
    local exit = process.events():receive()
    out.child = {reply = {reply:topic(), reply:payload():data(), reply:from() == child},
                 exit = {exit.kind, exit.from == child, exit.result.value, exit.result.error == nil}}
    out.exec = process.exec("app:replay_parity_child", "app:worker", nil, nil, "b")

    -- timers: a timer that fires, three ticks, time.after winning a select against an empty inbox
    local t0 = time.now()
    local timer = time.timer("100ms")
    local fired = timer:channel():receive()
    out.timer = {fired:sub(t0):milliseconds(), timer:stop()}
    local ticker = time.ticker(50 * time.MILLISECOND)
    local tick_base = time.now()
    out.ticks = {}
    for i = 1, 3 do out.ticks[i] = ticker:channel():receive():sub(tick_base):milliseconds() end
    out.ticker_stopped = ticker:stop()
    local timeout = time.after("20ms")
    local r = channel.select{inbox:case_receive(), timeout:case_receive()}
    out.after_won = r.channel == timeout

    -- funcs.async: one future awaited through :response() in a select (a far time.after loses), one cancelled
    local echo = funcs.async("app:fx_echo", "x", 2)
    local slow = funcs.async("app:fx_slow", "2s", "never")
    r = channel.select{echo:response():case_receive(), time.after("60s"):case_receive()}
    out.future = {r.channel == echo:response(), r.value:data(), echo:is_complete()}
    local cancelled = slow:cancel()
    local got = slow:response():receive()
    local _, slow_err = slow:result()
    out.cancelled = {cancelled, slow:is_canceled(), got:kind(), slow_err:kind(), slow:cancel()}

    -- time.now() arithmetic over the whole run (workflow time: the same on every replay)
    local now = time.now()
    local elapsed = now:sub(start)
    out.elapsed_ms = elapsed:milliseconds()
    out.arith = {start:add(elapsed):equal(now), now:after(start), start:add(time.parse_duration(0) - elapsed):before(start),
                 (elapsed + time.parse_duration("1s")):milliseconds() == elapsed:milliseconds() + 1000,
                 start:format(time.RFC3339NANO), now:unix_nano() - start:unix_nano() == elapsed:nanoseconds()}
    out.input = input
    return out
end

return {main = main}
