-- Starts a named child workflow (with_name), answers its PID (or the error), then waits for "stop".
local function main(input)
  local pid, err = process.with_name(input.name):spawn("app:wait", "app:worker")
  local msg = process.inbox():receive()
  if err ~= nil then return {error = err:kind(), message = err:message()} end
  return {child = pid, stop = msg:topic()}
end
return main
