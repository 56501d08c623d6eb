-- Caller side (a local Lua process): the spec's with_context spawn, then the workflow's result.
local function main(input)
  local spawner = process.with_context({user_id = "user-1", tenant = "tenant-1", request_id = "req-abc"})
  local pid, err = spawner:spawn_monitored("app:context_workflow", "app:worker", {})
  if err then return nil, err end
  local event = process.events():receive()
  if event.result.error then return nil, event.result.error end
  return event.result.value
end

return {main = main}
