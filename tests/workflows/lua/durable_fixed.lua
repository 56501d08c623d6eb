local time = require("time")

local function main(input)
    time.sleep("10ms")
    local config = {value = 42}
    return {value = config.value, input = input}
end

return { main = main }
