-- A local Lua process starts a workflow under an id that cannot be a PID, by option and by name.
local function outcome(pid, err)
  return {pid = pid and tostring(pid), kind = err and err:kind(), message = err and err:message()}
end

local function main(input)
  local by_option = outcome(process.with_options({["temporal.workflow.id"] = input.id})
      :spawn("app:wait", "app:worker", {}))
  local by_name = outcome(process.with_name(input.name):spawn_monitored("app:wait", "app:worker", {}))
  return {by_option = by_option, by_name = by_name}
end

return {main = main}
