-- A workflow that reaches a local process by its name: sends to it, monitors it by name, and reports what a name
-- nobody holds answers (send, lookup, monitor) and what registering a held name answers.
local function main(input)
    local out = {}
    assert(process.send(input.target, "hello", {from = process.pid()}))
    local reply = process.inbox():receive()
    out.reply = reply:payload():data()
    out.replier_found = process.registry.lookup(input.target) == reply:from()
    local ok, err = process.send(input.target .. "-nobody", "hello", 1)
    out.send_missing = {ok = ok, kind = err and err:kind(), message = err and err:message()}
    local pid, lookup_err = process.registry.lookup(input.target .. "-nobody")
    out.lookup_missing = {pid = pid, kind = lookup_err and lookup_err:kind()}
    local mok, monitor_err = process.monitor(input.target .. "-nobody")
    out.monitor_missing = {ok = mok, kind = monitor_err and monitor_err:kind()}
    local rok, register_err = process.registry.register(input.target)
    out.register_held = {ok = rok, kind = register_err and register_err:kind()}
    local bok, bad_err = process.registry.register("")
    out.register_bad = {ok = bok, kind = bad_err and bad_err:kind()}
    out.unregister_missing = process.registry.unregister(input.target .. "-nobody")
    assert(process.registry.register(input.target .. "-mine"))
    out.unregister_mine = process.registry.unregister(input.target .. "-mine")
    assert(process.monitor(input.target))
    assert(process.send(input.target, "stop"))
    local event = process.events():receive()
    out.exit_from_target = event.from == reply:from()
    return out
end
return {main = main}
