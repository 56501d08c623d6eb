local ctx = require("ctx")

local function main()
  return ctx.all()
end

return {main = main}
