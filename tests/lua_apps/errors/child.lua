-- A child (process, workflow or function) that fails as its input says.
local function main(input)
  input = input or {}
  if input.kind == nil then return nil, errors.new("unknown failure") end
  return nil, errors.new{kind = input.kind, message = "child failed", retryable = input.retryable}
end

return {main = main}
