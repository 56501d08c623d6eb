-- spec 信号确认, caller side (a local Lua process): request, then wait for the reply or a timeout
local time = require("time")

local function main(input)
    local workflow_pid = input.workflow
    local response_ch = process.listen("status_response")
    process.send(workflow_pid, "get_status", {})

    local timeout = time.after(input.timeout or "5s")
    local result = channel.select{
        response_ch:case_receive(),
        timeout:case_receive()
    }

    if result.channel == response_ch then
        local status = result.value
        return {answered = true, status = status}
    end
    return {answered = false}
end

return { main = main }
