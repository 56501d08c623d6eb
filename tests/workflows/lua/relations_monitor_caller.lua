-- spec 启动后监控, from a local Lua process
local function main(input)
    local pid, err = process.spawn(
        "app:long_workflow",
        "app:worker",
        {iterations = 100}
    )
    if err then return {error = tostring(err)} end

    -- Monitor later
    local ok, err = process.monitor(pid)
    if err then return {error = tostring(err)} end
    process.send(pid, "stop")

    local events_ch = process.events()
    local event = events_ch:receive()  -- EXIT when workflow completes
    return {kind = event.kind, same_pid = tostring(event.from) == tostring(pid),
            value = event.result.value, has_error = event.result.error ~= nil}
end

return { main = main }
