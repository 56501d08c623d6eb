-- A local Lua process that finds a workflow by its registered name, tells it to finish by name and waits for its
-- EXIT (monitored by name).
local function main(input)
    local pid, err = process.registry.lookup(input.name)
    if not pid then return {error = tostring(err)} end
    assert(process.monitor(input.name))
    assert(process.send(input.name, "finish", true))
    local event = process.events():receive()
    return {found = pid, exit_from = event.from, value = event.result and event.result.value}
end
return {main = main}
