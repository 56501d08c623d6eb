-- Starts two durable orders, one that ships and one that cannot (its payment is refunded and its
-- inventory released), waits for both through EXIT events, and returns what happened.
local time = require("time")

local orders = {
    {id = "A-1", customer_id = "ada", total = 42, items = {"book"}, shipping = {address = "1 Main St"}, settle = "500ms"},
    {id = "B-2", customer_id = "bob", total = 7, items = {"pen"}, shipping = {address = "nowhere"}, settle = "500ms"},
}

local function main()
    local started = time.now()
    local pids = {}
    for _, order in ipairs(orders) do
        local pid, err = process
            .with_options({["temporal.workflow.id"] = "order-" .. order.id .. "-" .. tostring(started:unix_nano())})
            :with_context({request_id = "req-" .. order.id})
            :spawn_monitored("app:order_workflow", "app:worker", order)
        if err then return nil, err end
        pids[tostring(pid)] = order.id
    end

    local results = {}
    local events = process.events()
    for _ = 1, #orders do
        local event = events:receive()
        local id = pids[tostring(event.from)]
        results[id] = event.result.value or {status = "error", error = tostring(event.result.error)}
    end
    results.elapsed_ms = time.now():sub(started):milliseconds()
    return results
end

return { main = main }
