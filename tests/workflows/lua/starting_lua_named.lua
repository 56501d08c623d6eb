-- Caller side: the spec's named start, twice while the first run is alive.
local function main(input)
  local spawner = process.with_options({}):with_name("order-" .. input.order_id)
  local pid, err = spawner:spawn_monitored("app:wait", "app:worker", {order_id = input.order_id})
  if err then return nil, err end
  local again, err2 = spawner:spawn_monitored("app:wait", "app:worker", {order_id = "other"})
  if err2 then return nil, err2 end
  process.send(pid, "stop")
  local event = process.events():receive()
  return {pid = tostring(pid), again = tostring(again), value = event.result.value}
end

return {main = main}
