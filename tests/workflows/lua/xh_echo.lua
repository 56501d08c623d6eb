-- Sends to the local PID from its input, waits for the reply, returns it with who sent it.
local function main(input)
    process.send(input.target, "hello", {from_workflow = process.pid()})
    local msg = process.inbox():receive()
    return {topic = msg:topic(), data = msg:payload():data(), from_local = msg:from() == input.target}
end
return {main = main}
