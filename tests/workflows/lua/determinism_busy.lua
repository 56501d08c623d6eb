-- Computes without ever waiting: longer than temporalio lets a workflow task hold its event loop.
local function main(input)
    local x = 0
    while true do
        x = x + 1
    end
end

return { main = main }
