-- links to a running workflow without trapping links, then waits for a message that never comes
local function main(input)
    local ok, err = process.link(input.target)
    if err then return {error = tostring(err)} end
    process.send(input.reply_to, "linked")
    if input.unlink then
        process.unlink(input.target)
        process.send(input.reply_to, "unlinked")
    end
    local msg = process.inbox():receive()
    return {survived = true, topic = msg:topic()}
end

return { main = main }
