-- a workflow that stops monitoring a workflow before it ends: only the watcher child's EXIT arrives
local function main(input)
    local events = process.events()
    process.monitor(input.target)
    process.unmonitor(input.target)
    -- The watcher child monitors the target too and ends after it; its EXIT follows the target's end.
    local watcher = process.spawn("app:watcher", "app:worker", {target = input.target})
    process.send(input.target, "stop")
    local first = events:receive()
    local extra = channel.select{events:case_receive(), channel.default()}
    return {first_from = tostring(first.from), watcher = tostring(watcher),
            watcher_saw = first.result.value, extra = not extra.default}
end

return { main = main }
