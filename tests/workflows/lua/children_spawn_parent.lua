-- spec 子 Workflow / 异步子 Workflow (process.spawn), waiting for the child's EXIT on process.events()
local function main(input)
    local events_ch = process.events()

    local child_pid, err = process.spawn(
        "app:child_workflow",
        "app:worker",
        {message = "hello from parent"}
    )
    if err then
        return {status = "spawn_failed", error = tostring(err)}
    end

    -- Wait for child EXIT event
    local event = events_ch:receive()

    if event.kind == process.event.EXIT then
        local child_result = event.result.value
        local child_error = event.result.error
        return {
            status = "child_exited",
            child = tostring(child_pid),
            from = tostring(event.from),
            value = child_result,
            has_error = child_error ~= nil,
        }
    end
    return {status = "unexpected", kind = event.kind}
end

return { main = main }
