-- positional arguments (spawn*, exec, spawner:*), with_message and send with several values, the spawner
-- builders (immutable), spawn_linked_monitored, and a source that returns its main function (app:local and
-- app:durable)
local time = require("time")

local durable = process.id() == "app:durable"
local host = durable and "app:worker" or "app:processes"
local function child(name) return (durable and "app:w_" or "app:c_") .. name end
local events = process.events()

local function next_event(what)
  local r = channel.select{events:case_receive(), time.after("10s"):case_receive()}
  assert(r.channel == events, "timed out waiting for " .. what)
  return r.value
end
-- the value of the EXIT of `pid` (other events are kept for later)
local pending = {}
local function exit_of(pid)
  while not pending[pid] do
    local ev = next_event("the EXIT of " .. pid)
    if ev.kind == process.event.EXIT then pending[ev.from] = ev end
  end
  local ev = pending[pid]
  pending[pid] = nil
  assert(ev.result.error == nil, "child failed: " .. tostring(ev.result.error))
  return ev.result.value
end

local function same(a, b, what)
  local function show(t)
    if type(t) ~= "table" then return tostring(t) end
    local keys, parts = {}, {}
    for k in pairs(t) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. show(t[k] ~= nil and t[k] or t[tonumber(k)]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  assert(show(a) == show(b), what .. ": " .. show(a) .. " ~= " .. show(b))
end

local function main()
  local args = child("args")
  local id = args

  -- spawn: zero, one, several arguments; nils in the middle and at the end survive
  local p0 = assert(process.spawn_monitored(args, host))
  same(exit_of(p0), {n = 0, args = {}, id = id}, "no arguments")
  local p1 = assert(process.spawn_monitored(args, host, {k = "v"}))
  same(exit_of(p1), {n = 1, args = {{k = "v"}}, id = id}, "one argument")
  local p3 = assert(process.spawn_monitored(args, host, 1, nil, 3))
  same(exit_of(p3), {n = 3, args = {1, "nil", 3}, id = id}, "a nil in the middle")
  local p4 = assert(process.spawn_monitored(args, host, "a", nil))
  same(exit_of(p4), {n = 2, args = {"a", "nil"}, id = id}, "a nil at the end")
  assert(type(p4) == "string" and p4:sub(1, 1) == "{", "spawn returns a PID string")

  -- exec: the same, run to the end
  same(process.exec(args, host), {n = 0, args = {}, id = id}, "exec with no arguments")
  same(process.exec(args, host, 5, 6), {n = 2, args = {5, 6}, id = id}, "exec with two")
  local v, err = process.exec(child("fail"), host)
  assert(v == nil and err:kind() == errors.CONFLICT, "exec returns the child's error")

  -- spawn_linked_monitored (module and spawner): EXIT and, trapping, LINK_DOWN
  process.set_options({trap_links = true})
  for _, spawn in ipairs({process.spawn_linked_monitored,
                          function(...) return process.with_context({}):spawn_linked_monitored(...) end}) do
    local pid = assert(spawn(child("fail"), host))
    local a, b = next_event("EXIT or LINK_DOWN"), next_event("EXIT or LINK_DOWN")
    local by = {[a.kind] = a, [b.kind] = b}
    assert(by[process.event.EXIT] and by[process.event.LINK_DOWN], "both EXIT and LINK_DOWN")
    assert(by[process.event.EXIT].from == pid and by[process.event.LINK_DOWN].from == pid)
  end

  -- the spawner: immutable builders; its starters and exec take positional arguments
  local base = process.with_context({tenant = "t1"})
  local more = base:with_context({user = "u1"})
  same(base:exec(child("context"), host), {tenant = "t1"}, "with_context does not change the spawner it came from")
  same(more:exec(child("context"), host), {tenant = "t1", user = "u1"}, "a derived spawner merges its context")
  same(base:exec(args, host, "x", nil, "z"), {n = 3, args = {"x", "nil", "z"}, id = id}, "spawner:exec")
  local sp = assert(more:spawn_monitored(args, host, true, false))
  same(exit_of(sp), {n = 2, args = {true, false}, id = id}, "spawner:spawn_monitored")
  local opts = process.with_options({})
  same(opts:exec(args, host, 1), {n = 1, args = {1}, id = id}, "with_options spawner")

  -- with_message: one value is that value, several the list, none nil; start messages come first
  local firsts = process.with_message("a", 1):with_message("b", 1, nil, 3):with_message("c")
  local fp = assert(firsts:spawn_monitored(child("first"), host, 3))
  local got = exit_of(fp)
  assert(got[1][1] == "a" and got[1][2] == 1, "one value")
  assert(got[2][1] == "b" and got[2][2][1] == 1 and got[2][2][2] == nil and got[2][2][3] == 3, "several values")
  assert(got[3][1] == "c" and got[3][2] == nil, "no value")

  -- send with several values: the list
  local echo = assert(process.spawn(child("echo"), host))
  assert(process.send(echo, "ping", "x", 2, {y = true}) == true)
  local inbox = process.inbox()
  local r = channel.select{inbox:case_receive(), time.after("10s"):case_receive()}
  assert(r.channel == inbox, "no echo")
  local data = r.value:payload():data()
  assert(r.value:from() == echo and data[1] == "x" and data[2] == 2 and data[3].y == true, "the list came back")

  -- bad input: INVALID naming the argument, or a Lua error naming the builder
  local b1, e1 = process.spawn(42, host)
  assert(b1 == nil and e1:kind() == errors.INVALID and e1:message():find("entry"), "spawn(42)")
  local b2, e2 = process.exec(args, 42)
  assert(b2 == nil and e2:kind() == errors.INVALID and e2:message():find("host"), "exec with a number host")
  local b3, e3 = process.with_context({}):spawn_linked_monitored(nil, host)
  assert(b3 == nil and e3:kind() == errors.INVALID, "spawner with a nil entry")
  local ok4, e4 = pcall(process.with_message, "@reserved", 1)
  assert(not ok4 and tostring(e4):find("reserved"), "with_message with an @ topic")
  local ok5, e5 = pcall(process.with_options, 42)
  assert(not ok5 and tostring(e5):find("with_options"), "with_options(42)")
  return {ok = true}
end

return {main = main}
