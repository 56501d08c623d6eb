-- Computes without yielding for `seconds` of CPU time (forever when nil).
local function main(input)
  local start = os.clock()
  while input.seconds == nil or os.clock() - start < input.seconds do end
  return "done"
end

return {main = main}
