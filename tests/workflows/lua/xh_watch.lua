-- Monitors (or links to, trapping) the local PID from its input and returns the first event it gets.
local function main(input)
    if input.mode == "link" then
        process.set_options({trap_links = true})
        local ok, err = process.link(input.target)
        if err then return {error = tostring(err)} end
    else
        process.monitor(input.target)
    end
    process.send(input.target, "watching", {})
    local event = process.events():receive()
    local out = {kind = event.kind, from_target = event.from == input.target}
    if event.result then
        out.value = event.result.value
        out.error_kind = event.result.error and event.result.error:kind() or nil
    end
    if event.reason then out.reason_kind = event.reason:kind() end
    return out
end
return {main = main}
