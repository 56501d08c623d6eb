-- spec 信号 / Inbox 模式: wait for approve or cancel on the inbox, ignoring any other topic
local function process_order(order, seen)
    return {status = "processed", order_id = order.id, ignored = seen}
end

local function main(order)
    local inbox = process.inbox()
    local seen = {}

    while true do
        local msg = inbox:receive()
        local topic = msg:topic()
        local data = msg:payload():data()

        if topic == "approve" then
            break
        elseif topic == "cancel" then
            return {status = "cancelled", reason = data.reason}
        end
        table.insert(seen, topic)
    end

    return process_order(order, seen)
end

return { main = main }
