-- spec 取消, from a local Lua process: cancel a monitored workflow with a deadline and report its EXIT
local function main(input)
    local pid, err = process.spawn_monitored(input.entry, "app:worker", {})
    if err then return {error = tostring(err)} end
    local ok, err = process.cancel(pid, input.deadline)
    if err then return {error = tostring(err)} end
    local event = process.events():receive()
    local out = {kind = event.kind, cancel_ok = ok, value = event.result.value}
    if event.result.error then
        out.error_kind = event.result.error:kind()
    end
    return out
end

return { main = main }
