-- cancel and events: CANCEL carries from and deadline (milliseconds), EXIT carries result = {value, error},
-- terminate, monitor/unmonitor, event kinds (app:local and app:durable)
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

local function main()
  local me = process.pid()
  assert(process.event.EXIT == "pid.exit" and process.event.LINK_DOWN == "pid.link.down"
         and process.event.CANCEL == "pid.cancel", "event kinds are the seed runtime's strings")

  -- a child that honours CANCEL ends normally and reports what it got
  local graceful = assert(process.spawn_monitored(child("graceful"), host))
  assert(process.cancel(graceful, "5s") == true, "cancel of a running process answers true")
  local ev = next_event("EXIT of the graceful child")
  assert(ev.kind == process.event.EXIT and ev.from == graceful, "EXIT from the child")
  assert(ev.result.error == nil, "it stopped cleanly: " .. tostring(ev.result.error))
  local seen = ev.result.value
  assert(seen.kind == process.event.CANCEL, "the child got CANCEL: " .. tostring(seen.kind))
  assert(seen.from == me, "CANCEL names who cancelled: " .. tostring(seen.from))
  assert(seen.deadline == 5000, "the deadline in milliseconds: " .. tostring(seen.deadline))

  -- a number is milliseconds too
  local graceful2 = assert(process.spawn_monitored(child("graceful"), host))
  assert(process.cancel(graceful2, 2500))
  assert(next_event("EXIT").result.value.deadline == 2500, "a numeric deadline is milliseconds")

  -- a child that ignores CANCEL is ended when the deadline passes: EXIT with CANCELED
  local stubborn = assert(process.spawn_monitored(child("stubborn"), host))
  assert(process.cancel(stubborn, "300ms"))
  local ended = next_event("EXIT of the stubborn child")
  assert(ended.from == stubborn and ended.result.error and ended.result.error:kind() == errors.CANCELED,
         "ended at the deadline: " .. tostring(ended.result.error))

  -- terminate: EXIT with TERMINATED; false for a process that is not running
  local waiting = assert(process.spawn_monitored(child("wait"), host))
  assert(process.terminate(waiting) == true)
  local killed = next_event("EXIT of the terminated child")
  assert(killed.from == waiting and killed.result.error:kind() == errors.TERMINATED, tostring(killed.result.error))
  assert(process.terminate(waiting) == false, "terminate of an ended process answers false")
  assert(process.cancel(waiting, "1s") == false, "cancel of an ended process answers false")

  -- EXIT of a normal end: result.value, no error
  local ok = assert(process.spawn_monitored(child("ok"), host, 21))
  local done = next_event("EXIT of a normal child")
  assert(done.from == ok and done.result.value == 42 and done.result.error == nil)

  -- monitor after the start; unmonitor stops the EXIT (a workflow's own children always report it)
  local watched = assert(process.spawn(child("wait"), host))
  assert(process.monitor(watched) == true)
  process.send(watched, "go")
  local w = next_event("EXIT after monitor")
  assert(w.from == watched and w.result.value == "went")
  if not durable then
    local quiet = assert(process.spawn(child("wait"), host))
    assert(process.monitor(quiet) and process.unmonitor(quiet))
    process.send(quiet, "go")
    local r = channel.select{events:case_receive(), time.after("300ms"):case_receive()}
    assert(r.channel ~= events, "no EXIT after unmonitor")
  end

  -- monitor of a PID that is not running: EXIT at once, NOT_FOUND for a local process; a workflow that ended
  -- still has its result (Temporal keeps it), so its EXIT carries that result
  assert(process.monitor(ok) == true)
  local noproc = next_event("EXIT of a dead PID")
  assert(noproc.from == ok)
  if durable then
    assert(noproc.result.value == 42, "the ended workflow's result")
  else
    assert(noproc.result.error:kind() == errors.NOT_FOUND, "noproc")
  end

  -- bad input
  local b1, e1 = process.cancel(graceful, {})
  assert(b1 == nil and e1:kind() == errors.INVALID and e1:message():find("deadline"), "cancel with a table")
  local b2, e2 = process.terminate(42)
  assert(b2 == nil and e2:kind() == errors.INVALID and e2:message():find("destination"), "terminate(42)")
  local b3, e3 = process.monitor(nil)
  assert(b3 == nil and e3:kind() == errors.INVALID, "monitor(nil)")
  return {ok = true}
end

return {main = main}
