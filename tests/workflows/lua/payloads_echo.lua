-- Readable payloads: returns its input and the first message it receives, or fails with an error of its own.
local function main(input)
    local msg = process.inbox():receive()
    if input.fail then
        return nil, errors.new{kind = errors.CONFLICT, message = "order " .. input.id .. " is taken",
                               retryable = false, details = {by = msg:from(), blob = input.blob}}
    end
    return {input = input, topic = msg:topic(), got = msg:payload():data(), from = msg:from(), me = process.pid()}
end

local function collect(input)
    local inbox = process.inbox()
    local seen = {}
    while #seen < input.count do
        seen[#seen + 1] = inbox:receive():topic()
    end
    return seen
end

return {main = main, collect = collect}
