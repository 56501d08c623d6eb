-- One slow instruction after another (upper of a 10 MB string): the hook paces itself, so the budget still holds.
local function main(input)
    local s = ("x"):rep(10000000)
    while true do
        local _ = s:upper()
    end
end

return { main = main }
