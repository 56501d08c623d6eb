-- Caller side (a local Lua process): spawn_monitored a workflow and wait for its EXIT.
local function main(input)
  local pid, err = process.spawn_monitored("app:quick", "app:worker", {order_id = "123"})
  if err then return nil, err end
  local event = process.events():receive()
  return {
    pid = tostring(pid),
    kind = event.kind,
    is_exit = event.kind == process.event.EXIT,
    from = tostring(event.from),
    value = event.result.value,
    has_error = event.result.error ~= nil,
  }
end

return {main = main}
