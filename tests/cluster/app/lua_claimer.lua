-- Registers itself cluster-wide under the seed's CONSISTENT scope, reports to its input's report_to, then echoes.
local function main(spec)
    local ok, err = process.registry.register(spec.name, nil, process.registry.CONSISTENT)
    if not ok then
        process.send(spec.report_to, "refused", {kind = err:kind(), message = tostring(err)})
        return
    end
    local holder = process.registry.lookup(spec.name)
    process.send(spec.report_to, "claimed", holder)
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        process.send(msg:from(), "echo", msg:payload():data())
    end
end
return main
