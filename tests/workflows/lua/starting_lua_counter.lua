-- Caller side: the spec's start messages under use_existing (the counter example).
local function main(input)
  local first = process.with_options({}):with_name(input.name):with_message("increment", {amount = 3})
  local pid, err = first:spawn("app:counter", "app:worker", {initial = 0})
  if err then return nil, err end

  local second = process.with_options({}):with_name(input.name):with_message("increment", {amount = 2})
  local pid2, err2 = second:spawn("app:counter", "app:worker", {initial = 999})
  if err2 then return nil, err2 end

  process.monitor(pid)
  process.send(pid, "finish")
  local event = process.events():receive()
  return {same = tostring(pid) == tostring(pid2), result = event.result.value}
end

return {main = main}
