-- An inbox loop that continues as new before its history grows too long, carrying its count. Messages
-- "inc" carry a sequence number, so the loop also checks that none is lost, duplicated or reordered.
local workflow = require("workflow")

local function main(input)
    local count = input.count or 0
    local runs = (input.runs or 0) + 1
    local out_of_order = input.out_of_order or 0
    local limit = input.history_limit or 10000
    local per_run = input.max_per_run
    local taken = 0
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        local topic = msg:topic()
        if topic == "inc" then
            count = count + 1
            taken = taken + 1
            if msg:payload():data() ~= count then out_of_order = out_of_order + 1 end
        elseif topic == "done" then
            return {count = count, runs = runs, out_of_order = out_of_order, pid = tostring(process.pid()),
                    workflow_id = workflow.info().workflow_id}
        end
        if workflow.history_length() > limit or workflow.info().continue_as_new_suggested
                or (per_run and taken >= per_run) then
            workflow.continue_as_new({count = count, runs = runs, out_of_order = out_of_order, history_limit = limit,
                                      max_per_run = per_run})
        end
    end
end

return { main = main }
