local time = require("time")
return function()
  time.sleep("30s")
  return {late = true}
end
