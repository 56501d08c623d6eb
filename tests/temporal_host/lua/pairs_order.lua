-- Prints the order in which pairs() visits 32 string keys.
local t = {}
for i = 1, 32 do t["key" .. i] = i end
local order = {}
for k in pairs(t) do order[#order + 1] = k end
return table.concat(order, ",")
