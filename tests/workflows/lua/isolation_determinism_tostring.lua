-- What tostring, print and string.format show of objects (run both as a workflow and as a local process):
-- inside a workflow an object's "address" is a number counted per run; locally it stays Lua's own.
local function main(input)
    local t = {}
    local shown = {}
    shown.table = tostring(t)
    shown.again = tostring(t)
    shown.other = tostring({})
    shown.fn = tostring(function() end)
    shown.thread = tostring(coroutine.create(function() end))
    shown.channel = tostring(channel.new(1))
    shown.named = tostring(setmetatable({}, {__name = "Thing"}))
    shown.with_tostring = tostring(setmetatable({}, {__tostring = function() return "custom" end}))
    shown.format_s = string.format("%s|%12s|", t, setmetatable({}, {__name = "Thing"}))
    shown.format_p = string.format("%p|%-12p|%p", t, t, 42)
    shown.format_plain = string.format("%s=%d %5.1f %q", "n", 7, 2.25, "q")
    print("printed", t, {})
    local ok, err = pcall(function() local s = string.format("%p", "text") return s end)
    shown.string_p_ok, shown.string_p = ok, tostring(err)
    return shown
end

return { main = main }
