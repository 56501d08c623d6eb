-- A workflow that holds a name: registers it (twice: the same PID again is fine), finds itself by it, sends to
-- itself by it, then waits for "finish" (sent by name from outside) and returns what it saw.
local function main(input)
    local me = process.pid()
    local ok, err = process.registry.register(input.name)
    assert(ok, tostring(err))
    assert(process.registry.register(input.name, me))
    local found = process.registry.lookup(input.name)
    assert(process.send(input.name, "self", 1))
    local inbox = process.inbox()
    local first = inbox:receive()
    local finish = inbox:receive()
    return {found_self = found == me, first = first:topic(), from_self = first:from() == me,
            finish = finish:topic(), finisher = finish:from()}
end
return {main = main}
