-- Reads its context directly, and through a Python and a Lua function entry (activities) and a child workflow.
local ctx = require("ctx")
local funcs = require("funcs")
local workflow = require("workflow")

local function main(input)
  local from_python, err = funcs.call("app:echo_context")
  if err then return nil, err end
  local from_lua, err2 = funcs.call("app:lua_echo_context")
  if err2 then return nil, err2 end
  local out = {
    user_id = ctx.get("user_id"),
    tenant = ctx.get("tenant"),
    missing = ctx.get("missing"),
    all = ctx.all(),
    python_activity = from_python,
    lua_activity = from_lua,
  }
  if input and input.child then
    local child, err3 = workflow.exec("app:context_child", {})
    if err3 then return nil, err3 end
    out.child = child
  end
  return out
end

return {main = main}
