-- a workflow that links to another workflow and unlinks again: the other's termination leaves it running
local function main(input)
    local ok, err = process.link(input.target)
    if err then return {error = tostring(err)} end
    process.unlink(input.target)
    process.send(input.reply_to, "unlinked")
    local msg = process.inbox():receive()
    return {survived = true, topic = msg:topic()}
end

return { main = main }
