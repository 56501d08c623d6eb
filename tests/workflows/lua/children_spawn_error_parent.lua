-- spec 子 Workflow 错误传播: the child's error value arrives in its EXIT event
local function main(input)
    local events_ch = process.events()
    local child_pid, err = process.spawn(
        "app:error_child_workflow",
        "app:worker"
    )
    if err then
        return {status = "spawn_failed", error = tostring(err)}
    end

    local event = events_ch:receive()
    if event.result.error then
        local child_err = event.result.error
        return {
            status = "child_failed",
            from = tostring(event.from),
            child = tostring(child_pid),
            kind = child_err:kind(),
            retryable = child_err:retryable(),
            message = child_err:message(),
        }
    end
    return {status = "child_succeeded", value = event.result.value}
end

return { main = main }
