-- a workflow cancelling another (monitored) workflow with a deadline
local function main(input)
    process.monitor(input.target)
    local ok, err = process.cancel(input.target, input.deadline)
    if err then return {error = tostring(err)} end
    local event = process.events():receive()
    local out = {kind = event.kind, cancel_ok = ok, value = event.result.value}
    if event.result.error then
        out.error_kind = event.result.error:kind()
        out.error_message = event.result.error:message()
    end
    return out
end

return { main = main }
