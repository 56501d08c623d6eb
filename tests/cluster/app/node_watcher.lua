-- Monitors the node named in its input and reports every node event (kind, node, reason) to report_to.
local function main(spec)
    local ok, err = process.monitor_node(spec.node)
    if not ok then
        process.send(spec.report_to, "refused", tostring(err))
        return
    end
    process.send(spec.report_to, "watching", spec.node)
    local events = process.events()
    while true do
        local ev = events:receive()
        local reason = ev.reason or (ev.result and ev.result.error)
        process.send(spec.report_to, "node_event", {kind = ev.kind, node = ev.node,
                                                    reason = reason and reason:details() and reason:details().reason})
    end
end
return main
