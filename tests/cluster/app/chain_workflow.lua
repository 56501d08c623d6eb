-- A durable link in a chain: links to the PID it is given (a local process on some node), traps links, and
-- ends with the reason of the LINK_DOWN it gets.
local function main(target)
    process.set_options({trap_links = true})
    local ok, err = process.link(target)
    if not ok then return {linked = false, error = tostring(err)} end
    local ev = process.events():receive()
    local reason = ev.result and ev.result.error
    return {kind = ev.kind, from = ev.from, error = reason and reason:kind(), message = reason and tostring(reason),
            reason = reason and reason:details() and reason:details().reason}
end
return main
