-- spec 补偿模式 (Saga): compensations run newest first when a later step fails.
-- (run_compensations is defined before main: a local defined after main would not be visible in it.)
local funcs = require("funcs")

local function run_compensations(compensations)
    local done = {}
    for _, comp in ipairs(compensations) do
        local result, err = funcs.call(comp.action, comp.args)
        table.insert(done, {action = comp.action, result = result, error = err and tostring(err)})
    end
    return done
end

local function main(order)
    local compensations = {}

    local reservation, err = funcs.call("app:reserve_inventory", order.items)
    if err then
        return {status = "failed", step = "inventory", error = tostring(err), compensated = {}}
    end
    table.insert(compensations, 1, {
        action = "app:release_inventory",
        args = reservation.id
    })

    local payment, err = funcs.call("app:charge_payment", order.payment)
    if err then
        local compensated = run_compensations(compensations)
        return {status = "failed", step = "payment", error = tostring(err), compensated = compensated}
    end
    table.insert(compensations, 1, {
        action = "app:refund_payment",
        args = payment.id
    })

    local shipment, err = funcs.call("app:ship_order", order.shipping)
    if err then
        local compensated = run_compensations(compensations)
        return {status = "failed", step = "shipping", error = tostring(err), compensated = compensated}
    end

    return {status = "completed", tracking = shipment.tracking_number}
end

return { main = main }
