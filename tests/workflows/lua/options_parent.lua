-- Starts app:child with the given options and ends at once (its children meet their parent close policy).
local function main(input)
  local pid, err = process.with_options(input.options):spawn("app:child", "app:worker", {})
  if err then
    return {error = {kind = err:kind(), message = err:message()}}
  end
  return {child = tostring(pid)}
end

return {main = main}
