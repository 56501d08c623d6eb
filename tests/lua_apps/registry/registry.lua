-- process.registry, the same checks for a local process (local_main) and a workflow (durable_main). A workflow's
-- registry is its worker node's, reached through recorded local activities.
local time = require("time")
local uuid = require("uuid")

local function fails_with(kind, what, ok, err)
  assert(ok == nil or ok == false, what .. ": expected " .. kind .. ", got " .. tostring(ok))
  assert(err ~= nil and err:kind() == kind, what .. ": expected " .. kind .. ", got " .. tostring(err))
end

-- A bad argument is INVALID: `nil, err`, or a Lua error naming the argument.
local function invalid(what, fn, ...)
  local called, ok, err = pcall(fn, ...)
  if not called then
    assert(type(ok) == "string" or type(ok) == "table", what .. ": raised " .. tostring(ok))
    return
  end
  fails_with(errors.INVALID, what, ok, err)
end

-- A name is released once the node knows its holder ended: at once for a local holder, after the node heard of
-- a workflow's end for a durable one.
local function released(name, patient)
  for _ = 1, patient and 400 or 1 do
    local pid, err = process.registry.lookup(name)
    if pid == nil then
      fails_with(errors.NOT_FOUND, "lookup of released " .. name, pid, err)
      return true
    end
    time.sleep("50ms")
  end
  return false
end

local function next_message(topic)
  local msg = process.inbox():receive()
  assert(msg:topic() == topic, "expected " .. topic .. ", got " .. msg:topic())
  return msg
end

local function checks(tag, child, host, durable)
  local me = process.pid()
  local self_name, second = "reg-self-" .. tag, "reg-second-" .. tag

  -- register, lookup, the same PID again, several names per holder
  assert(process.registry.register(self_name) == true, "register self")
  assert(process.registry.lookup(self_name) == me, "lookup self")
  assert(process.registry.register(self_name, me) == true, "the same name for the same pid again")
  assert(process.registry.register(second) == true, "a second name")
  assert(process.registry.lookup(second) == me, "lookup the second name")

  -- unregister, then the name is gone
  assert(process.registry.unregister(second) == true, "unregister")
  assert(process.registry.unregister(second) == false, "unregister of a name nobody holds")
  local pid, err = process.registry.lookup(second)
  fails_with(errors.NOT_FOUND, "lookup after unregister", pid, err)
  assert(err:message():find("could not resolve", 1, true) or err:message():find("not found", 1, true),
         "NOT_FOUND message: " .. err:message())

  -- bad names and arguments
  invalid("register('')", process.registry.register, "")
  invalid("register(42)", process.registry.register, 42)
  invalid("register('{x}')", process.registry.register, "{x}")
  invalid("register(name, 'not a pid')", process.registry.register, "reg-bad-" .. tag, "{not a pid")
  invalid("lookup(nil)", process.registry.lookup, nil)
  invalid("unregister({})", process.registry.unregister, {})

  -- a foreign PID: a child registered by us, ALREADY_EXISTS for anyone else
  local child_name, own_name = "reg-child-" .. tag, "reg-own-" .. tag
  local kid = assert(process.spawn_monitored(child, host))
  assert(process.registry.register(child_name, kid) == true, "register a child")
  assert(process.registry.lookup(child_name) == kid, "lookup the child")
  local ok, held = process.registry.register(child_name)
  fails_with(errors.ALREADY_EXISTS, "register a name the child holds", ok, held)
  assert(held:details().pid == kid, "ALREADY_EXISTS names the holder: " .. tostring(held:details().pid))

  -- the child registers a name itself, and can't take ours
  assert(process.send(kid, "register", own_name))
  local answer = next_message("registered"):payload():data()
  assert(answer.ok == true, "the child registers itself: " .. tostring(answer.kind))
  assert(process.registry.lookup(own_name) == kid, "lookup the child's own name")
  assert(process.send(kid, "register", self_name))
  answer = next_message("registered"):payload():data()
  assert(answer.ok == nil and answer.kind == errors.ALREADY_EXISTS, "the child can't take our name")

  -- a destination by name
  assert(process.send(child_name, "ping"))
  assert(next_message("pong"):from() == kid, "pong from the child")

  -- the holder ends: every name it held is released
  assert(process.send(own_name, "stop"))
  local event = process.events():receive()
  assert(event.kind == process.event.EXIT and event.from == kid, "EXIT of the child")
  assert(released(child_name, durable), child_name .. " released at the child's end")
  assert(released(own_name, durable), own_name .. " released at the child's end")
  assert(process.registry.register(child_name) == true, "a released name can be taken again")

  if not durable then
    -- a local process that is not running can't hold a name (a workflow's end is known only by asking)
    local ok2, dead = process.registry.register("reg-dead-" .. tag, kid)
    fails_with(errors.NOT_FOUND, "register a pid that ended", ok2, dead)
  end

  assert(process.registry.unregister(self_name) == true and process.registry.unregister(child_name) == true)
  return {ok = true}
end

local function tag_of(input)
  return (type(input) == "table" and input.tag) or uuid.v4():sub(1, 8)
end

local function local_main(input)
  return checks(tag_of(input), "app:child_local", "app:processes", false)
end

local function durable_main(input)
  return checks(tag_of(input), "app:child_durable", "app:worker", true)
end

return {local_main = local_main, durable_main = durable_main}
