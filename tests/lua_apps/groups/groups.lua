-- The pg module, the same checks for a local process (local_main) and a workflow (durable_main).
local pg = require("pg")
local time = require("time")

local function fails_with(kind, what, value, err)
  assert(value == nil, what .. ": expected " .. kind .. ", got " .. tostring(value))
  assert(err ~= nil and err:kind() == kind, what .. ": expected " .. kind .. ", got " .. tostring(err))
  return err
end

local function same(list, expected, what)
  assert(#list == #expected, what .. ": " .. #list .. " members, expected " .. #expected)
  for i, v in ipairs(expected) do assert(list[i] == v, what .. ": member " .. i .. " is " .. tostring(list[i])) end
end

local function has(list, value)
  for _, v in ipairs(list) do if v == value then return true end end
  return false
end

local function receive(topic)
  local msg = process.inbox():receive()
  assert(msg:topic() == topic, "expected " .. topic .. ", got " .. msg:topic())
  return msg
end

local function checks(tag, member_entry, host, durable)
  local me = process.pid()
  local g = assert(pg.open("app:pg"))
  local other = assert(pg.open("app:other"))
  assert(tostring(g) == "pg.Instance{app:pg}", tostring(g))
  local workers, all = "workers-" .. tag, "all-" .. tag

  -- join, multi-join, batches; members in join order, once per join
  assert(g:join(workers) == true, "join")
  assert(g:join({workers, all}) == true, "batch join")
  same(g:get_members(workers), {me, me}, "after two joins")
  same(g:get_local_members(workers), {me, me}, "local members")
  assert(has(g:which_groups(), workers) and has(g:which_local_groups(), all), "which_groups")
  same(other:get_members(workers), {}, "another scope")
  assert(g:leave(workers) == true, "leave once")
  same(g:get_members(workers), {me}, "after one leave")

  -- broadcast: every member process once (this one too)
  local child = process.spawn(member_entry, host, workers, me)
  assert(child, "spawn a member")
  assert(receive("joined"):payload():data() == child, "joined")
  same(g:get_members(workers), {me, child}, "with the child")
  assert(g:broadcast(workers, "news", {n = 1}) == true, "broadcast")
  local mine = receive("news")
  assert(mine:payload():data().n == 1 and mine:from() == me, "my own broadcast")
  local echo = receive("echo"):payload():data()
  assert(echo.topic == "news" and echo.data.n == 1 and echo.from == me, "the child's broadcast")
  assert(g:broadcast_local(workers, "two", 1, 2) == true, "broadcast_local with two values")
  local two = receive("two"):payload():data()
  assert(two[1] == 1 and two[2] == 2, "several values are sent as the list")
  receive("echo")

  -- a member leaves its groups when it ends
  assert(process.send(child, "stop"))
  local gone = false
  for _ = 1, durable and 400 or 50 do
    if not has(g:get_members(workers), child) then gone = true break end
    time.sleep("50ms")
  end
  assert(gone, "the ended member is still in the group")

  -- bad input and what the seed's errors table says
  fails_with(errors.INVALID, "join ''", g:join(""))
  fails_with(errors.INVALID, "join a number", g:join(42))
  fails_with(errors.INVALID, "join an empty batch", g:join({}))
  fails_with(errors.INVALID, "leave a group it is not in", g:leave("never-" .. tag))
  assert(g:leave({"never-" .. tag, all}) == true, "a batch leave is best effort")
  fails_with(errors.INVALID, "broadcast an empty topic", g:broadcast(workers, "", 1))
  fails_with(errors.INVALID, "broadcast a reserved topic", g:broadcast(workers, "@x", 1))
  fails_with(errors.NOT_FOUND, "open a scope that is no entry", pg.open("app:nope"))
  fails_with(errors.INVALID, "open an entry that is no scope", pg.open("app:processes"))
  fails_with(errors.INVALID, "open nothing", pg.open())
  fails_with(errors.UNAVAILABLE, "monitor", g:monitor(workers))
  local called, msg = pcall(function() return g.join("x") end)
  assert(not called and tostring(msg):find("call it with a colon", 1, true), "a dot call: " .. tostring(msg))
  assert(g:leave(workers) == true, "the last leave")
  assert(not has(g:which_groups(), workers), "a group with no member is gone")
  assert(g:release() == true)
  fails_with(errors.INVALID, "a released instance", g:join(workers))
  assert(tostring(g) == "pg.Instance{app:pg, released}", tostring(g))
  return {ok = true}
end

local function local_main(input)
  return checks(input.tag, "app:member_local", "app:processes", false)
end

local function durable_main(input)
  return checks(input.tag, "app:member_durable", "app:worker", true)
end

return {local_main = local_main, durable_main = durable_main}
