-- process.listen / process.unlisten, and the channels of inbox/events/listen (run as app:local and app:durable)
local time = require("time")

local durable = process.id() == "app:durable"
local host = durable and "app:worker" or "app:processes"
local function child(name) return (durable and "app:w_" or "app:c_") .. name end

-- the first value of `ch` within 10 s (a check fails rather than hangs)
local function within(ch, what)
  local r = channel.select{ch:case_receive(), time.after("10s"):case_receive()}
  assert(r.channel == ch, "timed out waiting for " .. what)
  return r.value, r.ok
end

local function main()
  local me = process.pid()
  local inbox, events = process.inbox(), process.events()

  -- the same channel object on every call
  assert(process.inbox() == inbox, "inbox() returns the same channel")
  assert(process.events() == events, "events() returns the same channel")
  local news = process.listen("news")
  assert(process.listen("news") == news, "listen returns the same channel for the same topic")
  assert(process.listen("news", {message = true}) == news, "the options do not make another channel")

  -- messages of a topic queued before listen are delivered on it
  process.send(me, "early", 1)
  process.send(me, "early", 2)
  local early = process.listen("early")
  assert(within(early, "early 1") == 1 and within(early, "early 2") == 2, "queued messages move to the listener")

  -- raw payloads by default, message objects with {message = true}
  process.send(me, "news", {headline = "a"})
  assert(within(news, "news").headline == "a", "listen yields payloads")
  local mail = process.listen("mail", {message = true})
  process.send(me, "mail", "hi", "there")
  local m = within(mail, "mail")
  assert(m:topic() == "mail" and m:from() == me, "listen{message = true} yields messages")
  local data = m:payload():data()
  assert(data[1] == "hi" and data[2] == "there", "several payload values arrive as the list")

  -- unlisten: true; the channel is closed; later messages of the topic reach the inbox
  assert(process.unlisten(news) == true, "unlisten answers true")
  local v, ok = news:receive()
  assert(v == nil and ok == false, "an unlistened channel reports closed")
  process.send(me, "news", "later")
  local back = within(inbox, "the inbox")
  assert(back:topic() == "news" and back:payload():data() == "later", "a later message goes to the inbox")
  local again = process.listen("news")
  assert(again ~= news, "listening again makes a new channel")
  process.send(me, "news", "again")
  assert(within(again, "news again") == "again")

  -- a listen/unlisten loop keeps working
  for i = 1, 50 do
    local ch = process.listen("loop")
    process.send(me, "loop", i)
    assert(within(ch, "loop " .. i) == i)
    assert(process.unlisten(ch))
  end

  -- bad input: INVALID naming the argument
  local x, e1 = process.unlisten(inbox)
  assert(x == nil and e1:kind() == errors.INVALID and e1:message():find("channel"), "unlisten of the inbox")
  local y, e2 = process.listen("@inbox")
  assert(y == nil and e2:kind() == errors.INVALID and e2:message():find("reserved"), "listen to an @ topic")
  local z, e3 = process.listen(42)
  assert(z == nil and e3:kind() == errors.INVALID and e3:message():find("topic"), "listen to a number")
  local w, e4 = process.send(me, "@events", 1)
  assert(w == nil and e4:kind() == errors.INVALID, "send to an @ topic")

  -- across processes (the seed's unlisten test): a worker listens, gets one message, unlistens, tells us; what
  -- we send next on that topic reaches its inbox, before "done"
  local worker = assert(process.spawn_monitored(child("unlisten_worker"), host, me))
  within(process.listen("unlistened"), "the worker's unlisten")
  process.send(worker, "test_topic", "msg2")
  process.send(worker, "done")
  local ev = within(events, "the worker's exit")
  assert(ev.kind == process.event.EXIT and ev.from == worker, "the worker's EXIT")
  assert(ev.result.error == nil, "the worker failed: " .. tostring(ev.result.error))
  local seen = ev.result.value
  assert(seen.first == "msg1" and seen.inbox[1] == "test_topic:msg2" and seen.inbox[2] == "done:",
         "the worker saw " .. tostring(seen.inbox[1]) .. ", " .. tostring(seen.inbox[2]))
  return {ok = true}
end

return {main = main}
