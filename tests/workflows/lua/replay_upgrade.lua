-- A run that one pidflow starts and a later one finishes (golden history replay_upgrade.json): what it received,
-- in order, acknowledging each message to its sender.
local function main(input)
    local inbox = process.inbox()
    local got = {}
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then
            return {input = input, got = got}
        end
        got[#got + 1] = {topic = msg:topic(), data = msg:payload():data(), from = msg:from()}
        process.send(msg:from(), "ack", #got)
    end
end

return { main = main }
