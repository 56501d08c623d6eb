-- The saga: every step that succeeded registers its compensation; a failure runs them in reverse.
-- Orders of APPROVAL_LIMIT or more wait for an "approve" (or "cancel") message before the payment. While it
-- runs, the workflow answers "status" messages with an "order_status" message to the sender (the HTTP API's
-- GET /api/orders/{id} asks it so); ctx carries the request id the order was placed with.
local ctx = require("ctx")
local funcs = require("funcs")
local time = require("time")
local workflow = require("workflow")

local APPROVAL_LIMIT = 100

local function run_compensations(compensations)
    for _, comp in ipairs(compensations) do
        funcs.call(comp.action, comp.args)
    end
end

local function main(order)
    local state = {order_id = order.id, status = "processing", step = "inventory",
                   request_id = ctx.get("request_id")}
    local function step(status, name)
        state.status, state.step = status, name
    end
    coroutine.spawn(function()
        local requests = process.listen("status", {message = true})
        while true do
            local msg, ok = requests:receive()
            if not ok then break end
            if msg:from() then process.send(msg:from(), "order_status", state) end
        end
    end)

    workflow.attrs({search = {status = "processing", customer_id = order.customer_id}})
    local compensations = {}

    local reservation, err = funcs.call("app:reserve_inventory", order.items)
    if err then
        return {status = "failed", step = "inventory", error = tostring(err)}
    end
    table.insert(compensations, 1, {action = "app:release_inventory", args = reservation.id})

    local approved_by
    if (order.total or 0) >= APPROVAL_LIMIT then
        step("awaiting_approval", "approval")
        workflow.attrs({search = {status = "awaiting_approval"}})
        local inbox = process.inbox()
        while true do
            local msg = inbox:receive()
            local topic, data = msg:topic(), msg:payload():data()
            if topic == "approve" then
                approved_by = type(data) == "table" and data.by or nil
                break
            elseif topic == "cancel" then
                run_compensations(compensations)
                workflow.attrs({search = {status = "cancelled"}})
                return {status = "cancelled", reason = type(data) == "table" and data.reason or nil}
            end
        end
    end

    step("processing", "payment")
    local payment, err = funcs.call("app:charge_payment", {amount = order.total, customer = order.customer_id})
    if err then
        run_compensations(compensations)
        return {status = "failed", step = "payment", error = tostring(err)}
    end
    table.insert(compensations, 1, {action = "app:refund_payment", args = payment.id})

    step("processing", "settling")
    time.sleep(order.settle or "1s")  -- a durable timer: survives worker and server restarts

    step("processing", "shipping")
    local shipment, err = funcs.call("app:ship_order", order.shipping)
    if err then
        run_compensations(compensations)
        workflow.attrs({search = {status = "compensated"}})
        return {status = "failed", step = "shipping", error = tostring(err), compensated = #compensations}
    end

    workflow.attrs({search = {status = "completed"}})
    return {status = "completed", payment_id = payment.id, tracking = shipment.tracking, approved_by = approved_by}
end

return { main = main }
