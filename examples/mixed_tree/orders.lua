-- A durable child: an order book that lives as a Temporal workflow and outlives the node that started it.
local function main(input)
  local orders = 0
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    if msg:topic() == "order" then orders = orders + 1 end
    if msg:topic() == "close" then return {orders = orders} end
  end
end

return {main = main}
