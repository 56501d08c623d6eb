-- a child that returns its positional arguments as it saw them (the count, and each one with nil as "nil");
-- the source returns its main function itself (`return main`)
return function(...)
    local n, out = select("#", ...), {}
    for i = 1, n do
        local v = select(i, ...)
        out[i] = v == nil and "nil" or v
    end
    return {n = n, args = out, id = process.id()}
end
