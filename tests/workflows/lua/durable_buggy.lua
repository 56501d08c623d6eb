local time = require("time")

local function main(input)
    time.sleep("10ms")
    local config = nil
    return {value = config.value, input = input}
end

return { main = main }
