-- a workflow monitoring another workflow it did not start
local function main(input)
    local ok, err = process.monitor(input.target)
    if err then return {error = tostring(err)} end
    process.send(input.target, "stop")
    local event = process.events():receive()
    return {kind = event.kind, from = tostring(event.from), value = event.result.value,
            has_error = event.result.error ~= nil}
end

return { main = main }
