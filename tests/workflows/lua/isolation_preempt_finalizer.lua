-- A looping __gc would run with hooks off at the next collection: the sandbox refuses it.
local function main(input)
    setmetatable({}, { __gc = function() while true do end end })
    collectgarbage()
    return "unreachable"
end

return { main = main }
