-- A Lua function entry (run as an activity when a workflow calls it): the context it sees.
local ctx = require("ctx")

local function echo()
  return ctx.all()
end

return {echo = echo}
