-- Waits for a message forever (used as a linked durable peer).
local function main(input)
    local msg = process.inbox():receive()
    return msg:topic()
end
return {main = main}
