-- the process module's parity surface inside a workflow (tests/workflows/test_process_parity.py): each field of
-- the result is one check's observations
local function main(input)
    local r = {}
    local me = process.pid()
    local events = process.events()
    local inbox = process.inbox()

    -- PIDs are strings; id; options; event kinds; channels are the same on every call
    r.pid = {type(me), me, ({[me] = "me"})[me], "pid=" .. me}
    r.id = process.id()
    local before = process.get_options().trap_links
    process.set_options({trap_links = true})
    local bad_ok, bad_err = process.set_options({bogus = 1})
    r.options = {before, process.get_options().trap_links, bad_ok, bad_err:kind()}
    r.kinds = {process.event.EXIT, process.event.LINK_DOWN, process.event.CANCEL}
    r.same = {process.inbox() == inbox, process.events() == events, process.listen("x") == process.listen("x")}

    -- send varargs to self; reserved topics
    process.send(me, "one", 5)
    process.send(me, "many", 1, nil, "x")
    local got = {}
    for i = 1, 2 do local m = inbox:receive(); got[m:topic()] = {m:payload():data(), m:from() == me} end
    r.send = {got.one[1], got.many[1][1], got.many[1][2] == nil, got.many[1][3], got.many[2]}
    local a, e1 = process.send(me, "@inbox", 1)
    local b, e2 = process.listen("@events")
    r.reserved = {a, e1:kind(), b, e2:kind()}

    -- listen / unlisten
    local ch = process.listen("t")
    process.send(me, "t", 1)
    local first = ch:receive()
    local ok = process.unlisten(ch)
    local after, closed_ok = ch:receive()
    process.send(me, "t", 2)
    local m = inbox:receive()
    r.unlisten = {first, ok, after == nil, closed_ok, m:topic(), m:payload():data()}

    -- positional arguments to child workflows, spawner builders, spawn_linked_monitored
    local worker = "app:worker"
    local c1 = process.spawn_monitored("app:parity_args", worker, 1, nil, 3)
    local ev = events:receive()
    r.spawn = {ev.kind, ev.from == c1, type(c1), ev.result.value}
    r.exec0 = process.exec("app:parity_args", worker)
    r.exec1 = process.exec("app:parity_args", worker, {k = "v"})
    r.sexec = process.with_context({c = 1}):exec("app:parity_args", worker, "a", "b")
    process.with_message("a", 1):with_message("b", 1, 2):spawn_monitored("app:parity_first", worker, 2)
    r.with_message = events:receive().result.value
    local c2 = process.spawn_linked_monitored("app:parity_fail", worker)
    local x, y = events:receive(), events:receive()
    local by = {[x.kind] = x, [y.kind] = y}
    r.linked_monitored = {by[process.event.EXIT].from == c2, by[process.event.EXIT].result.error:kind(),
                          by[process.event.LINK_DOWN].result.error:kind(), by[process.event.LINK_DOWN].reason:kind()}

    -- a send to a workflow that ended: posted, dropped (no round trip to ask)
    r.send_ended = {process.send(c1, "late", 1)}

    -- bad input
    local p1, be1 = process.spawn(42, worker)
    local p2, be2 = process.send(42, "t", 1)
    local p3, be3 = process.monitor({})
    r.bad = {p1, be1:kind(), p2, be2:kind(), p3, be3:kind()}
    return r
end

return {main = main}
