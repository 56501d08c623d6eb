-- monitors input.target and returns what its EXIT said
local function main(input)
    process.monitor(input.target)
    local event = process.events():receive()
    return {kind = event.kind, value = event.result.value}
end

return { main = main }
