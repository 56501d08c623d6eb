-- A child of replay_parity.lua: returns its positional arguments as it saw them (the count, nil as "nil") and,
-- given a PID first, sends it two values with one send.
return function(reply_to, ...)
    local n, args = select("#", ...), {}
    for i = 1, n do
        local v = select(i, ...)
        args[i] = v == nil and "nil" or v
    end
    if reply_to ~= nil then process.send(reply_to, "from-child", n, args[2]) end
    return {n = n, args = args}
end
