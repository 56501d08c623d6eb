-- Bad input inside a workflow (tests/workflows/test_parity_bad_input.py): a handful of wrong-type calls per module,
-- each under pcall, then normal calls (a child workflow, a function, a timer) to show the run goes on. Returns
-- what each bad call did: {name, word it must name, status ("failed": nil/false, err; "raised"; "returned"),
-- kind, message}.
local time = require("time")
local funcs = require("funcs")

local HUGE = string.rep("h", 1024 * 1024)
local function boom() error("boom") end
local EVIL = setmetatable({}, {__index = boom, __newindex = boom, __tostring = boom, __len = boom, __pairs = boom,
                               __eq = boom, __concat = boom, __call = boom})
local CO = coroutine.create(function() end)
local NAN = 0/0

local function main(input)
    local me = process.pid()
    local worker = "app:worker"
    local t, timer = time.now(), time.timer("1h")
    local future = funcs.async("app:fx_echo", "pending")
    local cases = {
        -- process
        {"send dest", "send", function() return process.send(42, "t", 1) end},
        {"send topic", "topic", function() return process.send(me, EVIL, 1) end},
        {"send payload function", "", function() return process.send(me, "t", function() end) end},
        {"spawn entry", "entry", function() return process.spawn(nil, worker) end},
        {"spawn host", "host", function() return process.spawn("app:parity_args", 42) end},
        {"spawn arg coroutine", "", function() return process.spawn("app:parity_args", worker, 1, CO) end},
        {"exec entry", "entry", function() return process.exec({}, worker) end},
        {"terminate", "terminate", function() return process.terminate(true) end},
        {"cancel deadline NaN", "deadline", function() return process.cancel("{app:worker|nobody}", NAN) end},
        {"monitor", "monitor", function() return process.monitor(nil) end},
        {"link", "link", function() return process.link(NAN) end},
        {"unlink", "unlink", function() return process.unlink(false) end},
        {"listen topic", "listen", function() return process.listen(42) end},
        {"listen options", "options", function() return process.listen("t", 5) end},
        {"unlisten", "unlisten", function() return process.unlisten("t") end},
        {"set_options", "set_options", function() return process.set_options(42) end},
        {"set_options key", "trap_links", function() return process.set_options({trap_links = "yes"}) end},
        {"register name", "register", function() return process.registry.register(42) end},
        {"register huge", "name", function() return process.registry.register(HUGE) end},
        {"register pid", "register", function() return process.registry.register("n", 42) end},
        {"lookup", "lookup", function() return process.registry.lookup({}) end},
        {"unregister", "unregister", function() return process.registry.unregister(nil) end},
        {"with_options", "with_options", function() return process.with_options(42) end},
        {"with_name", "with_name", function() return process.with_name("") end},
        {"with_message", "with_message", function() return process.with_message(EVIL) end},
        {"with_context", "with_context", function() return process.with_context("x") end},
        -- time
        {"sleep", "time.sleep", function() return time.sleep({}) end},
        {"after NaN", "time.after", function() return time.after(NAN) end},
        {"timer inf", "time.timer", function() return time.timer(math.huge) end},
        {"ticker negative", "time.ticker", function() return time.ticker(-1) end},
        {"parse_duration huge", "time.parse_duration", function() return time.parse_duration(HUGE) end},
        {"date", "time.date", function() return time.date("2024", 1, 1, 0, 0, 0, 0) end},
        {"parse", "time.parse", function() return time.parse(1, "x") end},
        {"unix NaN", "time.unix", function() return time.unix(NAN) end},
        {"add", "time:add", function() return t:add({}) end},
        {"format", "time:format", function() return t:format(5) end},
        {"round", "time:round", function() return t:round("1s") end},
        {"timer reset", "timer:reset", function() return timer:reset("soon") end},
        -- funcs
        {"call target", "funcs.call", function() return funcs.call(5) end},
        {"async target", "funcs.async", function() return funcs.async(nil) end},
        {"call argument function", "", function() return funcs.call("app:fx_echo", function() end) end},
        {"with_context", "executor:with_context", function() return funcs.new():with_context(5) end},
        {"with_options", "executor:with_options", function() return funcs.new():with_options("x") end},
        {"future self", "future:cancel", function() return future.cancel({}) end},
        -- errors
        {"errors.new", "errors.new", function() return errors.new(5) end},
        {"errors.new kind", "errors.new", function() return errors.new{kind = "WAT", message = "m"} end},
        {"errors.wrap", "errors.wrap", function() return errors.wrap(nil, "ctx") end},
        {"errors.wrap context", "errors.wrap", function() return errors.wrap(errors.new("x"), 5) end},
        {"errors.is", "errors.is", function() return errors.is(errors.new("x"), 5) end},
        {"err method", "err:kind", function() return errors.new("x").kind(5) end},
    }
    local out = {}
    for i, case in ipairs(cases) do
        local r = table.pack(pcall(case[3]))
        local status, kind, message
        if not r[1] then
            local e = r[2]
            status = "raised"
            if getmetatable(e) == "error" then kind, message = e:kind(), e:message() else kind, message = "", tostring(e) end
        elseif (r[2] == nil or r[2] == false) and getmetatable(r[3]) == "error" then
            status, kind, message = "failed", r[3]:kind(), r[3]:message()
        else
            status, kind, message = "returned", "", type(r[2])
        end
        out[i] = {name = case[1], word = case[2], status = status, kind = kind, message = message:sub(1, 300)}
    end

    -- the run goes on: a child workflow, a function, the pending future, a timer
    local child = process.exec("app:parity_args", worker, "a", nil, 3)
    local echoed = funcs.call("app:fx_echo", "ok")
    local pending = future:response():receive():data()
    timer:stop()
    time.sleep("10ms")
    return {cases = out, after = {child = child, echoed = echoed, pending = pending}}
end

return {main = main}
