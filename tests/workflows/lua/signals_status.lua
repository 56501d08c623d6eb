-- spec 信号确认, workflow side: answer one get_status request to its sender
local function main(input)
    local ch = process.listen("get_status", {message = true})
    local msg = ch:receive()
    process.send(msg:from(), "status_response", {status = "processing", progress = 75})
    return {answered = tostring(msg:from())}
end

return { main = main }
