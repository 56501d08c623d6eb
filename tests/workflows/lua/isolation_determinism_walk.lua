-- Walks and empties a table of input.n string keys with next and pairs: each step must cost O(1) amortised,
-- or a few thousand keys exceed the workflow's 1.5 s compute budget.
local function main(input)
    local t = {}
    for i = 1, input.n do t["key" .. i] = i end
    local walked = 0
    for _ in next, t do walked = walked + 1 end
    local paired = 0
    for _ in pairs(t) do paired = paired + 1 end
    local drained = 0
    while next(t) ~= nil do
        local k = next(t)
        t[k] = nil
        drained = drained + 1
    end
    return {walked = walked, paired = paired, drained = drained, empty = next(t) == nil}
end

return { main = main }
