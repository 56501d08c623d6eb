local ctx = require("ctx")

-- the handler process spawns a child with more context and waits for its answer
local function handler()
  process.with_context({extra = "yes"}):spawn("app:echo_child", nil, process.pid())
  local msg = process.inbox():receive()
  return {request_id = ctx.get("request_id"), child = msg:payload():data(), pid = tostring(process.pid())}
end

local function echo_child(parent)
  process.send(parent, "hi", {request_id = ctx.get("request_id"), extra = ctx.get("extra")})
end

return {handler = handler, echo_child = echo_child}
