-- spec 子 Workflow 错误: the same metadata through process.exec and through the EXIT event
local function describe(err)
    return {kind = err:kind(), retryable = err:retryable(), message = err:message()}
end

local function main(input)
    local out = {}
    local result, err = process.exec("app:error_workflow", "app:worker")
    out.exec = err and describe(err) or {unexpected = result}

    local events = process.events()
    local pid = process.spawn("app:error_workflow", "app:worker")
    local event = events:receive()
    out.exit = event.result.error and describe(event.result.error) or {unexpected = event.result.value}
    out.same_pid = tostring(event.from) == tostring(pid)
    return out
end

return { main = main }
