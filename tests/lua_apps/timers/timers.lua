-- select and timers (app:local and app:durable): channel.select's default and case order, time.after,
-- time.timer (stop, reset), time.ticker, sleep with every duration form, Time and Duration values
local time = require("time")

local durable = process.id() == "app:durable"

local function ms_since(t) return time.now():sub(t):milliseconds() end

local function main()
  -- durations: integer nanoseconds, Go strings, Duration values
  assert(time.NANOSECOND == 1 and time.MILLISECOND == 1000000 and time.SECOND == 1000000000, "ns constants")
  assert(math.type(time.HOUR) == "integer" and time.HOUR == 3600 * time.SECOND, "HOUR is an integer")
  local d = time.parse_duration("1h30m")
  assert(d:minutes() == 90 and tostring(d) == "1h30m0s", "parse_duration: " .. tostring(d))
  assert(time.parse_duration(1500 * time.MILLISECOND):seconds() == 1.5, "a number is nanoseconds")
  local bad, err = time.parse_duration("soon")
  assert(bad == nil and err:kind() == errors.INVALID, "a bad duration is nil, INVALID")

  -- select: default when nothing is ready, else the first ready case in list order
  local a, b = channel.new(1), channel.new(1)
  local r = channel.select{a:case_receive(), default = true}
  assert(r.default == true and r.ok == true and r.channel == nil, "default answers {default = true, ok = true}")
  a:send("a") b:send("b")
  assert(channel.select{b:case_receive(), a:case_receive()}.value == "b", "first ready case in list order")
  assert(channel.select{a:case_receive(), b:case_receive()}.value == "a", "first ready case in list order")

  -- time.after: a ready channel beats it; alone it delivers one Time, then its channel is closed
  local ready = channel.new(1)
  ready:send("now")
  r = channel.select{ready:case_receive(), time.after("1h"):case_receive()}
  assert(r.channel == ready and r.value == "now", "a ready channel beats time.after")
  local start = time.now()
  local timeout = time.after(50 * time.MILLISECOND)
  r = channel.select{channel.new():case_receive(), timeout:case_receive()}
  assert(r.channel == timeout and r.ok, "time.after wins a select nobody else can")
  assert(getmetatable(r.value).__name == "time.Time" and not r.value:before(start), "after yields a Time")
  assert(ms_since(start) >= 45, "after waited its duration")
  local v, ok = timeout:receive()
  assert(v == nil and ok == false, "after's channel is closed once it fired")
  assert(select(2, time.after(0)):kind() == errors.INVALID, "after(0) is INVALID")

  -- sleep: numbers, strings, Durations
  start = time.now()
  time.sleep(20 * time.MILLISECOND)
  time.sleep("20ms")
  time.sleep(time.parse_duration("20ms"))
  assert(ms_since(start) >= 55, "three sleeps of 20ms: " .. ms_since(start))

  -- timer: stop before it fires, reset, fire
  local idle = time.timer("1h")
  assert(idle:stop() == true and idle:stop() == false, "stop: true while pending, then false")
  assert(select(2, idle:channel():receive()) == false, "a stopped timer's channel is closed")
  local t = time.timer("1h")
  assert(t:reset("30ms") == true, "reset of a pending timer")
  r = channel.select{t:response():case_receive(), time.after("30s"):case_receive()}
  assert(r.channel == t:channel() and getmetatable(r.value).__name == "time.Time", "the reset timer fired")
  assert(t:reset("1s") == false and t:stop() == false, "a fired timer neither resets nor stops")

  -- an idle timer reset on each activity fires only once the activity stops
  local activity = channel.new(4)
  coroutine.spawn(function()
    for i = 1, 3 do time.sleep("20ms") activity:send(i) end
  end)
  local watchdog = time.timer("2s")
  local seen = 0
  while true do
    r = channel.select{activity:case_receive(), watchdog:channel():case_receive()}
    if r.channel == watchdog:channel() then break end
    seen = seen + 1
    watchdog:reset("2s")
  end
  assert(seen == 3, "every activity came before the idle timer: " .. seen)

  -- ticker: ticks in order, stop closes its channel
  local ticker = time.ticker("100ms")
  local last = time.now()
  for i = 1, 3 do
    local tick = ticker:channel():receive()
    assert(tick:after(last) or tick:equal(last), "ticks in order")
    last = tick
  end
  assert(ticker:stop() == true, "ticker:stop()")
  assert(select(2, ticker:channel():receive()) == false, "a stopped ticker's channel is closed")

  -- Time values
  local x = time.date(2024, time.DECEMBER, 29, 15, 4, 5, 0, time.utc)
  assert(x:format(time.RFC3339) == "2024-12-29T15:04:05Z" and x:weekday() == time.SUNDAY, "date and format")
  local p = assert(time.parse(time.RFC3339, "2024-12-29T15:04:05+05:30"))
  assert(x:sub(p):hours() == 5.5, "parse with an offset")
  assert(time.localtz:string() == (durable and "UTC" or "Local"), "localtz: " .. time.localtz:string())
  return {ok = true}
end

return {main = main}
