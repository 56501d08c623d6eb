-- links and trap_links: LINK_DOWN carries result = {value, error} like EXIT (and its reason), a normal end does
-- not propagate, an untrapped failure ends the linked process, unlink, links to dead PIDs (app:local and
-- app:durable)
local time = require("time")

local durable = process.id() == "app:durable"
local host = durable and "app:worker" or "app:processes"
local function child(name) return (durable and "app:w_" or "app:c_") .. name end
local events = process.events()

-- A workflow's children always report their EXIT to it (docs/workflows.md: the spec's asynchronous child), even
-- when spawned without a monitor: such EXITs (from PIDs in `unmonitored`) are skipped here.
local unmonitored = {}
local function wanted(ev) return not (ev.kind == process.event.EXIT and unmonitored[ev.from]) end

local function next_event(what)
  while true do
    local r = channel.select{events:case_receive(), time.after("10s"):case_receive()}
    assert(r.channel == events, "timed out waiting for " .. what)
    if wanted(r.value) then return r.value end
  end
end
-- nothing on events within a short while
local function quiet(what)
  while true do
    local r = channel.select{events:case_receive(), time.after("300ms"):case_receive()}
    if r.channel ~= events then return end
    assert(not wanted(r.value), "unexpected " .. tostring(r.value.kind) .. " " .. what)
  end
end
local function spawn_unmonitored(spawn, name)
  local pid = assert(spawn(child(name), host))
  if durable then unmonitored[pid] = true end
  return pid
end
-- the next two events, by kind
local function two(what)
  local a, b = next_event(what), next_event(what)
  return {[a.kind] = a, [b.kind] = b}
end

local function main()
  assert(process.get_options().trap_links == false, "trap_links is off by default")
  assert(process.set_options({trap_links = true}) == true)
  assert(process.get_options().trap_links == true, "get_options reports trap_links")
  local bad, err = process.set_options({trap_links = "yes"})
  assert(bad == false and err:kind() == errors.INVALID, "a malformed option is false, INVALID")
  local unknown, err2 = process.set_options({no_such_option = true})
  assert(unknown == false and err2:kind() == errors.INVALID, "an unknown option is false, INVALID")

  -- a linked child that fails: LINK_DOWN with result.error (and reason), from its PID
  local pid = spawn_unmonitored(process.spawn_linked, "fail")
  local down = next_event("LINK_DOWN")
  assert(down.kind == process.event.LINK_DOWN and down.kind == "pid.link.down", "kind " .. tostring(down.kind))
  assert(down.from == pid, "LINK_DOWN from the child")
  assert(down.result and down.result.error and down.result.error:kind() == errors.CONFLICT, "result.error")
  assert(down.result.value == nil, "no value for a failure")
  assert(down.result.error:message() == "child failed", down.result.error:message())
  assert(down.reason and down.reason:kind() == errors.CONFLICT, "reason kept")

  -- spawn_linked_monitored: EXIT and LINK_DOWN, both with result.error
  local both_pid = assert(process.spawn_linked_monitored(child("fail"), host))
  local both = two("EXIT and LINK_DOWN")
  local exit, link = both[process.event.EXIT], both[process.event.LINK_DOWN]
  assert(exit and link and exit.from == both_pid and link.from == both_pid, "EXIT and LINK_DOWN from the child")
  assert(exit.result.error:kind() == link.result.error:kind(), "the same error on both")

  -- a linked child that ends normally: EXIT (monitored), no LINK_DOWN
  local ok_pid = assert(process.spawn_linked_monitored(child("ok"), host))
  local ok_exit = next_event("EXIT of a normal child")
  assert(ok_exit.kind == process.event.EXIT and ok_exit.result.value == "done" and ok_exit.result.error == nil)
  quiet("after a normal end of a linked child")

  -- link to a running process, then it fails: LINK_DOWN
  local target = spawn_unmonitored(process.spawn, "fail_when_told")
  assert(process.link(target) == true)
  process.send(target, "fail")
  local later = next_event("LINK_DOWN after link")
  assert(later.kind == process.event.LINK_DOWN and later.from == target and later.result.error:kind() == errors.CONFLICT)

  -- link then unlink: its failure does not reach us
  local loose = assert(process.spawn_monitored(child("fail_when_told"), host))
  assert(process.link(loose) == true)
  assert(process.unlink(loose) == true)
  process.send(loose, "fail")
  local loose_exit = next_event("EXIT of the unlinked child")
  assert(loose_exit.kind == process.event.EXIT and loose_exit.from == loose, "only the monitor's EXIT")
  quiet("after an unlinked child failed")

  -- a link to a PID that is not running: LINK_DOWN (NOT_FOUND) when trapping, NOT_FOUND otherwise
  assert(process.link(pid) == true)
  local noproc = next_event("LINK_DOWN of a dead PID")
  assert(noproc.kind == process.event.LINK_DOWN and noproc.from == pid and noproc.result.error:kind() == errors.NOT_FOUND)
  process.set_options({trap_links = false})
  local dead, derr = process.link(pid)
  assert(dead == nil and derr:kind() == errors.NOT_FOUND, "link to a dead PID without trapping")
  process.set_options({trap_links = true})

  -- a process that does not trap links ends when its linked child fails; its watcher sees why
  local middle = assert(process.spawn_monitored(child("untrapped"), host))
  local gone = next_event("EXIT of the untrapped process")
  assert(gone.kind == process.event.EXIT and gone.from == middle and gone.result.error ~= nil, "it ended with an error")
  assert(gone.result.error:message():find("child failed", 1, true), gone.result.error:message())

  -- bad input
  local b1, e1 = process.link(42)
  assert(b1 == nil and e1:kind() == errors.INVALID and e1:message():find("destination"), "link(42)")
  local b2, e2 = process.unlink({})
  assert(b2 == nil and e2:kind() == errors.INVALID, "unlink({})")
  local b3, e3 = process.set_options("x")
  assert(b3 == false and e3:kind() == errors.INVALID, "set_options('x')")
  return {ok = true}
end

return {main = main}
