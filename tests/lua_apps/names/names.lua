-- Spawner and names, the same checks for a local process (local_main) and a workflow (durable_main).
local time = require("time")
local uuid = require("uuid")

local function fails_with(kind, what, ok, err)
  assert(ok == nil or ok == false, what .. ": expected " .. kind .. ", got " .. tostring(ok))
  assert(err ~= nil and err:kind() == kind, what .. ": expected " .. kind .. ", got " .. tostring(err))
end

local function released(name, patient)
  for _ = 1, patient and 400 or 1 do
    if process.registry.lookup(name) == nil then return true end
    time.sleep("50ms")
  end
  return false
end

local function next_message(topic)
  local msg = process.inbox():receive()
  assert(msg:topic() == topic, "expected " .. topic .. ", got " .. msg:topic())
  return msg
end

local function next_exit(from)
  local event = process.events():receive()
  assert(event.kind == process.event.EXIT, "expected EXIT, got " .. tostring(event.kind))
  assert(event.from == from, "EXIT from " .. tostring(event.from) .. ", expected " .. tostring(from))
  return event
end

local function checks(tag, child, host, durable)
  local me = process.pid()
  local worker, alias = "nm-worker-" .. tag, "nm-alias-" .. tag

  -- with_name spawns, and a second spawn of the name reaches the running holder with its start messages
  local pid = assert(process.with_name(worker):spawn_monitored(child, host))
  if durable then
    -- inside a workflow a with_name child is a child workflow whose id is the name; it is put in the node's
    -- registry by registering it (docs/lua.md: Names)
    assert(pid == "{app:worker|" .. worker .. "}", "the name is the child workflow's id: " .. tostring(pid))
    assert(process.registry.register(worker, pid))
  end
  assert(process.registry.lookup(worker) == pid, "with_name and lookup agree")
  local again = assert(process.with_name(worker):with_message("ping"):spawn(child, host))
  assert(again == pid, "a second with_name spawn returns the holder")
  assert(next_message("pong"):from() == pid, "the holder got the start message")

  -- every destination by name
  assert(process.send(worker, "ping"))
  assert(next_message("pong"):payload():data() == pid, "pong by name")
  assert(process.registry.register(alias, pid))
  assert(process.send(alias, "ping"))
  assert(next_message("pong"):from() == pid, "pong by a second name")
  assert(process.unmonitor(worker))
  assert(process.monitor(alias))
  assert(process.terminate(alias) == true, "terminate by name")
  local exit = next_exit(pid)
  assert(exit.result.error ~= nil, "a terminated holder ends with an error")
  assert(released(worker, durable) and released(alias, durable), "names released at the holder's end")

  -- names nobody holds
  local nobody = "nm-nobody-" .. tag
  local ok, err = process.send(nobody, "ping")
  fails_with(errors.NOT_FOUND, "send to a name nobody holds", ok, err)
  assert(err:message():find("could not resolve", 1, true), err:message())
  for _, call in ipairs({"terminate", "cancel", "monitor", "unmonitor", "link", "unlink"}) do
    local ok2, err2 = process[call](nobody)
    fails_with(errors.NOT_FOUND, call .. " of a name nobody holds", ok2, err2)
  end

  -- cancel and link by name
  local canceled = "nm-cancel-" .. tag
  local cpid = assert(process.with_name(canceled):spawn_monitored(child, host))
  if durable then assert(process.registry.register(canceled, cpid)) end
  assert(process.cancel(canceled, "5s") == true, "cancel by name")
  assert(next_exit(cpid).result.value == "canceled", "the child saw CANCEL")
  local linked = "nm-link-" .. tag
  local lpid = assert(process.with_name(linked):spawn_monitored(child, host))
  if durable then assert(process.registry.register(linked, lpid)) end
  assert(process.link(linked))
  assert(process.unlink(linked))
  assert(process.send(linked, "stop"))
  assert(next_exit(lpid).result.value == "stopped")

  if not durable then
    -- a with_name spawn reaches whoever holds the name, a holder registered with registry.register included
    local mine = "nm-mine-" .. tag
    assert(process.registry.register(mine))
    assert(process.with_name(mine):with_message("hello", 1):spawn(child, host) == me, "reached the caller")
    assert(next_message("hello"):payload():data() == 1)
  end

  -- spawn options: what the host does not own passes through, what it owns and finds malformed is INVALID
  local foreign = durable and {trap_links = true, network = "app:proxy"}
                  or {network = "app:proxy", ["temporal.workflow.id"] = "ignored-here"}
  local passed = assert(process.with_options(foreign):spawn_monitored(child, host))
  assert(process.send(passed, "stop"))
  assert(next_exit(passed).result.value == "stopped", "a spawn with options of other hosts runs")
  local owned = durable and {["temporal.workflow.no_such_option"] = 1} or {trap_links = "yes"}
  local none, bad = process.with_options(owned):spawn(child, host)
  fails_with(errors.INVALID, "an owned option that is malformed", none, bad)
  local key = next(owned)
  assert(bad:message():find(key, 1, true), "the error names " .. key .. ": " .. bad:message())
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
