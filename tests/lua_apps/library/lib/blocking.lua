local time = require("time")
time.sleep("1ms")
return {}
