-- the other workflow of 跨 Workflow 信号传递: answers a ping with a pong to its sender
local function main(input)
    local ch = process.listen("cross_host_ping", {message = true})
    local msg = ch:receive()
    local ping = msg:payload():data()
    process.send(msg:from(), "cross_host_pong", {reply_to = ping.data, from = tostring(process.pid())})
    return {pinged_by = tostring(msg:from())}
end

return { main = main }
