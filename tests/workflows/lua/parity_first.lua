-- a child that returns its first n inbox messages as {topic, data}
local function main(n)
    local inbox, out = process.inbox(), {}
    for i = 1, n do
        local m = inbox:receive()
        out[i] = {m:topic(), m:payload():data()}
    end
    return out
end
return {main = main}
