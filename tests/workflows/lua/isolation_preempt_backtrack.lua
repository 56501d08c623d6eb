-- A backtracking pattern the C matcher would run for centuries: in a workflow it must fail the workflow within the
-- compute budget (the guarded string.find runs it as pre-emptible Lua), not trip temporalio's deadlock detector.
local function main(input)
    return string.find(("a"):rep(200), ".-.-.-.-.-.-b")
end

return { main = main }
