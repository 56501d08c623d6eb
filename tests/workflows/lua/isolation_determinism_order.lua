-- The order pairs/next walk in a workflow: canonical on a table's first walk, keys added later after the keys
-- already there, fields cleared during a walk skipped, nested walks.
local function keys_of(t)
    local out = {}
    for k in pairs(t) do out[#out + 1] = tostring(k) end
    return table.concat(out, " ")
end

local function main(input)
    local t = {zulu = 1, alpha = 2, mike = 3, [3] = "c", [1] = "a", [2.5] = "x", [true] = 1, [false] = 0}
    local first = keys_of(t)
    t.bravo, t[0], t.alpha = 4, 0, nil
    local later = keys_of(t)
    local cleared = {}
    for k in next, t do
        cleared[#cleared + 1] = tostring(k)
        t[k] = nil
    end
    t.b, t.a = 1, 2
    local refilled = keys_of(t)
    local nested = {}
    local u = {x = 1, y = 2, z = 3}
    for k in pairs(u) do
        for k2 in pairs(u) do nested[#nested + 1] = k .. k2 end
        u[k] = nil
    end
    local stepped, k = {}, nil
    local v = {c = 1, a = 2, b = 3}
    repeat
        k = next(v, k)
        stepped[#stepped + 1] = tostring(k)
    until k == nil
    local ok, err = pcall(function() for _ in pairs({[{}] = 1}) do end end)
    return {first = first, later = later, cleared = table.concat(cleared, " "), refilled = refilled,
            nested = table.concat(nested, " "), stepped = table.concat(stepped, " "), table_keys = tostring(err)}
end

return { main = main }
