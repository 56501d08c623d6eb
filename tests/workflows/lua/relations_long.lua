-- a long workflow: runs until it receives "stop" (every other message, and CANCEL events, are ignored)
local function main(input)
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then
            return {stopped = true, iterations = input and input.iterations}
        end
    end
end

return { main = main }
