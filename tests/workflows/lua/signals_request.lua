-- spec 信号: process.listen(topic, {message = true}) gives Message objects with msg:from()
local function main(input)
    local ch = process.listen("request", {message = true})
    local msg = ch:receive()
    local sender = msg:from()
    local data = msg:payload():data()
    process.send(sender, "reply", {echo = data.question, topic = msg:topic()})
    return {sender = tostring(sender)}
end

return { main = main }
