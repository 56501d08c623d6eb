-- Every kind of time value and timer a workflow has (time module, issue 11), returned so that a replay that got
-- other values, or issued other timers, is caught. Recorded as histories/replay_timers.json.
local time = require("time")

local function main(input)
    local start = time.now()
    local function since(t) return t:sub(start):milliseconds() end
    local out = {}

    -- time.after loses a select to a message already queued, then wins one against an empty inbox
    local inbox = process.inbox()
    local r = channel.select{inbox:case_receive(), time.after("1h"):case_receive()}
    out.queued_message_won = r.channel == inbox and r.value:topic() == "go"
    local timeout = time.after("50ms")
    r = channel.select{inbox:case_receive(), timeout:case_receive()}
    out.after_won, out.after_ms = r.channel == timeout, since(r.value)
    out.after_closed = select(2, timeout:receive()) == false
    local d = channel.select{inbox:case_receive(), default = true}
    out.default = d.default == true and d.ok == true

    -- a timer stopped before it fires, one moved with reset, one fired
    local idle = time.timer("1h")
    out.stopped = idle:stop()
    local t = time.timer("1h")
    out.reset = t:reset("100ms")
    out.timer_ms = since(t:channel():receive())
    out.reset_after_fire = t:reset("1s")

    -- a ticker: three ticks (a chain of durable timers), then stopped
    local ticker = time.ticker("200ms")
    local base = time.now()
    out.ticks = {}
    for i = 1, 3 do out.ticks[i] = ticker:channel():receive():sub(base):milliseconds() end
    out.ticker_stopped = ticker:stop()

    time.sleep(10 * time.MILLISECOND)
    out.elapsed_ms = since(time.now())
    out.start = start:format(time.RFC3339NANO)
    out.localtz = time.localtz:string()
    out.date = time.date(2024, 2, 29, 12, 0, 0, 0):add_date(1, 0, 0):format(time.RFC1123)
    out.parsed = time.parse(time.RFC3339, "2024-12-29T15:04:05+05:30"):utc():format(time.RFC3339)
    out.weekday = time.unix(0, 0):weekday()
    out.duration = tostring(time.parse_duration("1h30m") + time.parse_duration(90 * time.SECOND))
    return out
end

return { main = main }
