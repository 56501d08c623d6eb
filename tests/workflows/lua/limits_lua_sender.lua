-- A local Lua process sends a message over the payload limit to a workflow, then two that fit.
local function main(input)
  local ok, err = process.send(input.pid, "big", string.rep("x", input.size))
  process.send(input.pid, "small", "abc")
  process.send(input.pid, "stop")
  return {ok = ok, kind = err and err:kind(), message = err and err:message()}
end

return {main = main}
