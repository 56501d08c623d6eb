-- spec 启动后链接, from a local Lua process that traps links
local time = require("time")

local function main(input)
    local ok, err = process.set_options({trap_links = true})

    local pid, err = process.spawn(
        "app:long_workflow",
        "app:worker",
        {iterations = 100}
    )
    if err then return {error = tostring(err)} end

    -- Link after workflow has started
    time.sleep("200ms")
    local ok, err = process.link(pid)
    if err then return {error = tostring(err)} end

    -- If workflow is terminated, receive LINK_DOWN
    process.terminate(pid)

    local events_ch = process.events()
    local event = events_ch:receive()
    return {kind = event.kind, from = tostring(event.from), pid = tostring(pid),
            reason_kind = event.reason and event.reason:kind()}
end

return { main = main }
