-- Caller side: an invalid option comes back as an INVALID error value naming the option.
local function main(input)
  local pid, err = process.with_options(input.options):spawn("app:quick", "app:worker", {})
  return {pid = pid and tostring(pid), kind = err and err:kind(), message = err and err:message()}
end

return {main = main}
