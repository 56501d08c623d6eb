-- Caller side: the spec's fail conflict policy returns the error as a value.
local function main(input)
  local spawner = process.with_options({
    ["temporal.workflow.id"] = input.id,
    ["temporal.workflow.id_conflict_policy"] = "fail",
  })
  local pid, err = spawner:spawn("app:wait", "app:worker", {n = 1})
  if err then return nil, err end
  local pid2, err2 = spawner:spawn("app:wait", "app:worker", {n = 2})
  process.send(pid, "stop")
  return {pid = tostring(pid), second_pid = pid2 and tostring(pid2), kind = err2 and err2:kind(),
          message = err2 and err2:message()}
end

return {main = main}
