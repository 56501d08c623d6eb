-- A workflow starts children under ids that cannot be a PID: spawn and exec, by option and by name.
local function outcome(value, err)
  return {ok = value ~= nil, kind = err and err:kind(), message = err and err:message()}
end

local function main(input)
  local by_option = process.with_options({["temporal.workflow.id"] = input.id})
  return {
    spawn = outcome(by_option:spawn("app:quick", "app:worker", {})),
    exec = outcome(by_option:exec("app:quick", "app:worker", {})),
    exec_named = outcome(process.with_name(input.name):exec("app:quick", "app:worker", {})),
  }
end

return {main = main}
