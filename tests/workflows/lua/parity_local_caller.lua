-- a local Lua process that runs a workflow with several positional arguments (they cross to Temporal)
return function(...)
    local r = {}
    r.exec = process.exec("app:parity_args", "app:worker", "a", nil, "c")
    r.exec0 = process.exec("app:parity_args", "app:worker")
    return r
end
