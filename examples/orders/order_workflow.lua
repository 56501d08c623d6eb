-- The saga: every step that succeeded registers its compensation; a failure runs them in reverse.
local funcs = require("funcs")
local time = require("time")
local workflow = require("workflow")

local function run_compensations(compensations)
    for _, comp in ipairs(compensations) do
        funcs.call(comp.action, comp.args)
    end
end

local function main(order)
    workflow.attrs({search = {status = "processing", customer_id = order.customer_id}})
    local compensations = {}

    local reservation, err = funcs.call("app:reserve_inventory", order.items)
    if err then
        return {status = "failed", step = "inventory", error = tostring(err)}
    end
    table.insert(compensations, 1, {action = "app:release_inventory", args = reservation.id})

    local payment, err = funcs.call("app:charge_payment", {amount = order.total, customer = order.customer_id})
    if err then
        run_compensations(compensations)
        return {status = "failed", step = "payment", error = tostring(err)}
    end
    table.insert(compensations, 1, {action = "app:refund_payment", args = payment.id})

    time.sleep(order.settle or "1s")  -- a durable timer: survives worker and server restarts

    local shipment, err = funcs.call("app:ship_order", order.shipping)
    if err then
        run_compensations(compensations)
        workflow.attrs({search = {status = "compensated"}})
        return {status = "failed", step = "shipping", error = tostring(err), compensated = #compensations}
    end

    workflow.attrs({search = {status = "completed"}})
    return {status = "completed", payment_id = payment.id, tracking = shipment.tracking}
end

return { main = main }
