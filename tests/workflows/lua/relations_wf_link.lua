-- a workflow linking to another workflow: trapped -> LINK_DOWN; untrapped -> this workflow fails with it
local function main(input)
    if input.trap then
        process.set_options({trap_links = true})
    end
    local ok, err = process.link(input.target)
    if err then return {error = tostring(err)} end
    if input.terminate then
        process.terminate(input.target)
    else
        process.send(input.reply_to, "linked")
    end
    local event = process.events():receive()
    return {kind = event.kind, from = tostring(event.from), reason_kind = event.reason and event.reason:kind()}
end

return { main = main }
