-- process.call and process.reply: the same checks for a local process (local_main) and a workflow (durable_main),
-- each against a local server and a durable one.
local time = require("time")

local function fails_with(kind, what, value, err)
  assert(value == nil, what .. ": expected " .. kind .. ", got the value " .. tostring(value))
  assert(err ~= nil and err:kind() == kind, what .. ": expected " .. kind .. ", got " .. tostring(err))
  return err
end

-- nothing waits in the inbox (a late reply must not be left there)
local function inbox_is_empty(what)
  local r = channel.select({process.inbox():case_receive(), default = true})
  assert(r.default, what .. ": the inbox holds a message (" .. tostring(r.value and r.value:topic()) .. ")")
end

local function ended(pid)
  local events = process.events()
  while true do
    local ev = events:receive()
    if ev.kind == process.event.EXIT and ev.from == pid then return ev end
  end
end

-- a new server: spawned, or, for a workflow that needs a local one, from the spawner service (by a call)
local function new_server(entry, host, in_workflow)
  local s, err
  if in_workflow and host == "app:processes" then
    s, err = process.call("call-spawner", "spawn", nil)
  else
    s, err = process.spawn(entry, host)
  end
  assert(s, "a new " .. entry .. ": " .. tostring(err))
  return s
end

local function checks(entry, host, durable, in_workflow)
  local s = new_server(entry, host, in_workflow)

  -- an answer, an error answer
  local v, err = process.call(s, "add", {2, 3})
  assert(v == 5, "add: " .. tostring(err))
  err = fails_with(errors.CONFLICT, "fail", process.call(s, "fail", nil))
  assert(err:message() == "refused" and err:retryable() == false, "the error replied: " .. tostring(err))

  -- a timeout; the late reply is dropped, never taken for the next call's answer nor left in the inbox
  err = fails_with(errors.TIMEOUT, "slow", process.call(s, "slow", nil, "100ms"))
  assert(err:message():find("no reply within", 1, true), "timeout message: " .. err:message())
  time.sleep("600ms")
  inbox_is_empty("after the late reply")
  v, err = process.call(s, "add", {10, 20}, 5000)
  assert(v == 30, "the call after a late reply: " .. tostring(v) .. " " .. tostring(err))

  -- a message that was sent, not called, cannot be replied to
  assert(process.send(s, "plain", nil))
  local answer = process.inbox():receive()
  assert(answer:topic() == "plain_reply", "plain_reply, got " .. answer:topic())
  local d = answer:payload():data()
  assert(d.ok == nil and d.kind == errors.INVALID, "reply to a sent message: " .. tostring(d.kind))

  -- bad input: INVALID naming the argument
  err = fails_with(errors.INVALID, "dest 42", process.call(42, "add", {1, 2}))
  assert(err:message():find("destination", 1, true), err:message())
  fails_with(errors.INVALID, "dest ''", process.call("", "add", {1, 2}))
  err = fails_with(errors.INVALID, "reserved topic", process.call(s, "@x", nil))
  assert(err:message():find("topic", 1, true), err:message())
  err = fails_with(errors.INVALID, "negative timeout", process.call(s, "add", {1, 2}, -5))
  assert(err:message():find("timeout", 1, true), err:message())
  err = fails_with(errors.INVALID, "a function payload", process.call(s, "add", function() end))
  assert(err:message():find("argument #3", 1, true), err:message())
  err = fails_with(errors.INVALID, "reply to a string", process.reply("x", 1))
  assert(err:message():find("message", 1, true), err:message())
  fails_with(errors.INVALID, "call self", process.call(process.pid(), "add", {1, 2}))
  fails_with(errors.NOT_FOUND, "a name nobody holds", process.call("nobody-holds-this", "add", {1, 2}))

  -- a target that dies during the call answers at once with its error; a dead target with NOT_FOUND (noproc)
  assert(process.monitor(s))
  err = fails_with(errors.INTERNAL, "die", process.call(s, "die", nil, "60s"))
  assert(err:message():find("asked to die", 1, true), "the target's error: " .. err:message())
  ended(s)
  if durable then   -- a workflow that ended keeps its result: the call answers at once with it
    err = fails_with(errors.INTERNAL, "a dead workflow", process.call(s, "add", {1, 2}, "60s"))
    assert(err:message():find("asked to die", 1, true), "its end: " .. err:message())
  else
    err = fails_with(errors.NOT_FOUND, "a dead target", process.call(s, "add", {1, 2}, "60s"))
    assert(err:details() and err:details().reason == "noproc", "noproc: " .. tostring(err))
  end

  -- a target that ends normally without replying
  local s2 = new_server(entry, host, in_workflow)
  assert(process.send(s2, "stop"))
  fails_with(errors.NOT_FOUND, "ended", process.call(s2, "ignore", nil, "60s"))
  inbox_is_empty("at the end")
end

local function main(in_workflow)
  checks("app:server_local", "app:processes", false, in_workflow)
  checks("app:server_durable", "app:worker", true, in_workflow)
  return {ok = true}
end

return {local_main = function() return main(false) end, durable_main = function() return main(true) end}
