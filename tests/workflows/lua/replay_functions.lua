-- Function entries (activities) for the replay, durability and determinism tests.
local function echo(value)
    return value
end

return { echo = echo }
