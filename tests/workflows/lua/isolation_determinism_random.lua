-- math.random's arguments, errors and ranges (run both as a workflow and as a local process: they must agree
-- on everything but the drawn values).
local function reason(...)
    local args = table.pack(...)
    local ok, err = pcall(function() return math.random(table.unpack(args, 1, args.n)) end)
    if ok then return "no error" end
    return (tostring(err):gsub("^.-:%d+: ", ""))
end

local function main(input)
    local seen = {zero_neg = false, zero_pos = false, full_neg = false, full_pos = false, wide_high = false,
                  integers = true, in_range = true}
    for _ = 1, 64 do
        local a, b = math.random(0), math.random(math.mininteger, math.maxinteger)
        local c, d = math.random(0, 1 << 62), math.random(-3, 3)
        for _, x in ipairs({a, b, c, d}) do seen.integers = seen.integers and math.type(x) == "integer" end
        seen.zero_neg, seen.zero_pos = seen.zero_neg or a < 0, seen.zero_pos or a > 0
        seen.full_neg, seen.full_pos = seen.full_neg or b < 0, seen.full_pos or b > 0
        seen.wide_high = seen.wide_high or c > (1 << 53)
        seen.in_range = seen.in_range and c >= 0 and c <= (1 << 62) and d >= -3 and d <= 3
        local f = math.random()
        seen.in_range = seen.in_range and math.type(f) == "float" and f >= 0 and f < 1
        local e = math.random(6)
        seen.in_range = seen.in_range and e >= 1 and e <= 6
    end
    seen.one = math.random(1)
    seen.same = math.random(5, 5)
    seen.from_strings = math.random("7", "7.0")
    seen.from_floats = math.random(3.0, 3.0)
    seen.from_floats_type = math.type(seen.from_floats)
    seen.max = math.random(math.maxinteger, math.maxinteger)
    seen.errors = {
        reason(1.5), reason(1, 2.5), reason(1, 2, 3), reason(3, 1), reason(-1), reason({}), reason(nil), reason("x"),
        reason("1.5"),
    }
    return seen
end

return { main = main }
