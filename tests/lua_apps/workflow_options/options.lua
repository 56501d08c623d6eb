-- Spawn options from a workflow (app:durable) and from a local process (app:local).
local time = require("time")
local durable = process.id() == "app:durable"
local events = process.events()

local function next_event(what)
  local r = channel.select{events:case_receive(), time.after("20s"):case_receive()}
  assert(r.channel == events, "timed out waiting for " .. what)
  return r.value
end

return function()
  local suffix = tostring(time.now():unix_nano())
  if durable then
    local wf = require("workflow")
    suffix = wf.info().workflow_id
    -- an explicit workflow id, and a second start with the same id and id_conflict_policy = "fail": ALREADY_EXISTS
    local id = "opt-" .. suffix
    local opts = process.with_options({["temporal.workflow.id"] = id})
    local pid = assert(opts:spawn_monitored("app:w_wait", "app:worker", "first"))
    assert(pid == "{app:worker|" .. id .. "}", "the child's PID carries its workflow id: " .. pid)
    local again, err = process.with_options({["temporal.workflow.id"] = id,
                                             ["temporal.workflow.id_conflict_policy"] = "fail"})
      :spawn("app:w_wait", "app:worker", "second")
    assert(again == nil and err:kind() == errors.ALREADY_EXISTS, "conflict: " .. tostring(err))
    process.send(pid, "stop")
    local ev = next_event("first child's EXIT")
    assert(ev.kind == process.event.EXIT and ev.from == pid and ev.result.value.tag == "first")

    -- a malformed option the Temporal host owns: INVALID naming the key; nothing starts
    local bad, berr = process.with_options({["temporal.workflow.execution_timeout"] = "soon"})
      :spawn("app:w_wait", "app:worker")
    assert(bad == nil and berr:kind() == errors.INVALID, "malformed owned option")
    assert(berr:message():find("temporal.workflow.execution_timeout", 1, true), berr:message())
    local unknown, uerr = process.with_options({["temporal.workflow.no_such_option"] = 1})
      :spawn("app:w_wait", "app:worker")
    assert(unknown == nil and uerr:kind() == errors.INVALID, "unknown temporal.* key")
    assert(uerr:message():find("no_such_option", 1, true), uerr:message())
  end

  -- options another host owns pass through (the local host's trap_links to a workflow, temporal.* to a local
  -- process, a key nobody owns to both), and a linked child started with them fails into a LINK_DOWN
  process.set_options({trap_links = true})
  local child = durable and "app:w_wait" or "app:c_wait"
  local host = durable and "app:worker" or "app:processes"
  local passed = process.with_options({trap_links = true, network = "app:proxy",
                                       ["temporal.workflow.id"] = "pass-" .. suffix,
                                       ["activity.start_to_close_timeout"] = "5s"})
  local linked = assert(passed:spawn_linked(child, host, "linked"))
  if durable then assert(linked == "{app:worker|pass-" .. suffix .. "}", "the owned id applies: " .. linked) end
  process.send(linked, "fail")
  local down = next_event("LINK_DOWN")
  if down.kind == process.event.EXIT then down = next_event("LINK_DOWN after the child's EXIT") end
  assert(down.kind == process.event.LINK_DOWN and down.from == linked, "LINK_DOWN from the linked child")
  assert(down.result.error ~= nil and tostring(down.result.error):find("told to fail", 1, true),
         "LINK_DOWN carries the child's error: " .. tostring(down.result.error))

  -- a malformed option the local host owns: INVALID naming it
  local bad, berr = process.with_options({trap_links = "yes"}):spawn("app:c_wait", "app:processes")
  if durable then
    -- a workflow cannot start local processes: the answer is an error either way
    assert(bad == nil, "a workflow starting a local process")
  else
    assert(bad == nil and berr:kind() == errors.INVALID and berr:message():find("trap_links", 1, true),
           "malformed trap_links: " .. tostring(berr))
  end
  return {ok = true}
end
