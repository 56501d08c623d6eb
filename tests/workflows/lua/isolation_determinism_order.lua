-- The order pairs/next walk in a workflow: pairs walks the keys a table has when it is called, in canonical
-- order; next walks a per-table order (canonical when made, keys added later appended); fields cleared during
-- a walk are skipped; nested walks.
local function keys_of(t)
    local out = {}
    for k in pairs(t) do out[#out + 1] = tostring(k) end
    return table.concat(out, " ")
end

local function next_walk(t, clear)
    local out = {}
    for k in next, t do
        out[#out + 1] = tostring(k)
        if clear then t[k] = nil end
    end
    return table.concat(out, " ")
end

local function main(input)
    local t = {zulu = 1, alpha = 2, mike = 3, [3] = "c", [1] = "a", [2.5] = "x", [true] = 1, [false] = 0}
    local first = keys_of(t)
    local first_next = next_walk(t)
    t.bravo, t[0], t.alpha = 4, 0, nil
    local later = keys_of(t)
    local later_next = next_walk(t, true)
    t.b, t.a = 1, 2
    local refilled = next_walk(t)
    local grow, visited = {a = 1, b = 2}, {}
    for k in pairs(grow) do
        visited[#visited + 1] = k
        grow[k .. "x"] = true
    end
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
    return {first = first, first_next = first_next, later = later, later_next = later_next, refilled = refilled,
            added_during_pairs = table.concat(visited, " "), grown = keys_of(grow),
            nested = table.concat(nested, " "), stepped = table.concat(stepped, " "), table_keys = tostring(err)}
end

return { main = main }
