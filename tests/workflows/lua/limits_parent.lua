-- A workflow sends a message over the payload limit to its child and to a local process, and starts a child
-- with an input over it; every one answers nil, err, and the child still gets the messages that follow.
local function outcome(ok, err)
  return {ok = ok, kind = err and err:kind(), message = err and err:message()}
end

local function main(input)
  local big = string.rep("x", input.size)
  local child, err = process.spawn_monitored("app:collector", "app:worker")
  if err then return nil, err end
  local to_child = outcome(process.send(child, "big", big))
  local to_local = outcome(process.send(input.reply_to, "big", big))
  local started = outcome(process.spawn("app:collector", "app:worker", big))
  process.send(child, "small", "abc")
  process.send(child, "stop")
  local event = process.events():receive()
  return {to_child = to_child, to_local = to_local, started = started, child = event.result.value}
end

return {main = main}
