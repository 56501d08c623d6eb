-- A durable holder of a cluster name: registers it, answers one message, ends (which releases the name).
local function main(spec)
    local ok, err = process.registry.register(spec.name, {scope = "cluster"})
    if not ok then return {registered = false, error = tostring(err)} end
    local msg = process.inbox():receive()
    process.send(msg:from(), "echo", msg:payload():data())
    return {registered = true}
end
return main
