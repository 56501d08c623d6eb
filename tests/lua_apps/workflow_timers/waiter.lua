-- a process (app:durable: a workflow) waiting on select{inbox, timer} while a sender (app:sender, or the workflow
-- app:w_sender) sends it messages before and after its timers
local time = require("time")

local function main()
  local inbox, acks = process.inbox(), process.listen("ack")
  local durable = process.id() == "app:durable"
  local sender = assert(process.spawn(durable and "app:w_sender" or "app:sender",
                                      durable and "app:worker" or "app:processes", process.pid()))
  local function ask(topic, delay) assert(process.send(sender, "do", {topic = topic, data = topic, delay = delay})) end
  local function acked(topic)
    local r = channel.select{acks:case_receive(), time.after("60s"):case_receive()}
    assert(r.channel == acks and r.value == topic, "no ack for " .. topic)
  end

  -- nothing has arrived: select's default answers at once
  local r = channel.select{inbox:case_receive(), default = true}
  assert(r.default and r.ok, "default on an empty inbox")

  -- a message already queued wins over a timer, without waiting
  ask("queued")
  acked("queued")   -- the ack comes after the message, on the same path: the message is in the inbox
  local t = time.timer("1h")
  r = channel.select{inbox:case_receive(), t:channel():case_receive()}
  assert(r.channel == inbox and r.value:topic() == "queued", "the queued message won")
  assert(t:stop() == true, "the timer was still pending")

  -- a message that arrives while waiting wins over a timer not due yet
  ask("while waiting", "300ms")
  t = time.timer("1h")
  r = channel.select{inbox:case_receive(), t:channel():case_receive()}
  assert(r.channel == inbox and r.value:topic() == "while waiting", "the message won the select")
  assert(t:stop() == true, "and the timer was stopped before it fired")
  acked("while waiting")

  -- the timer fires first: the select returns it; a message sent after it is the next one received
  t = time.timer("200ms")
  r = channel.select{inbox:case_receive(), t:channel():case_receive()}
  assert(r.channel == t:channel() and getmetatable(r.value).__name == "time.Time", "the timer won")
  ask("after the timer")
  r = channel.select{inbox:case_receive(), t:channel():case_receive()}
  assert(r.channel == t:channel() and r.ok == false, "a fired timer's channel is closed: ready at once")
  local msg = inbox:receive()
  assert(msg:topic() == "after the timer", "the later message is not lost: " .. msg:topic())
  acked("after the timer")

  -- both ready at once: the order of the cases decides
  t = time.timer("10ms")
  ask("both")
  acked("both")
  time.sleep("50ms")
  r = channel.select{t:channel():case_receive(), inbox:case_receive()}
  assert(r.channel == t:channel(), "the timer, listed first, won")
  r = channel.select{inbox:case_receive(), time.after("1h"):case_receive()}
  assert(r.channel == inbox and r.value:topic() == "both", "then the message")

  -- a ticker until a message says stop
  local ticker = time.ticker("100ms")
  local ticks = 0
  while true do
    r = channel.select{inbox:case_receive(), ticker:channel():case_receive()}
    if r.channel == inbox then break end
    ticks = ticks + 1
    if ticks == 2 then ask("stop") end
  end
  assert(r.value:topic() == "stop" and ticks >= 2, "ticks until stop: " .. ticks)
  ticker:stop()
  acked("stop")

  process.send(sender, "do", {quit = true})
  return {ok = true}
end

return {main = main}
