-- names inside a workflow: register itself, look the name up, send to it, and a name nobody holds
local function main(input)
    local me = process.pid()
    local r = {}
    r.register = {process.registry.register(input.name)}
    r.lookup = process.registry.lookup(input.name) == me
    r.send = process.send(input.name, "to-me", 1, 2)
    local m = process.inbox():receive()
    r.got = {m:topic(), m:payload():data()}
    local ok, err = process.send("nobody-" .. input.name, "t", 1)
    r.nobody = {ok, err:kind()}
    r.unregister = {process.registry.unregister(input.name), process.registry.unregister(input.name)}
    return r
end
return {main = main}
