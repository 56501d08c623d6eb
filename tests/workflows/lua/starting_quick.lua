-- Ends at once: with its input, or failing when asked to.
local function main(input)
  if input and input.fail then
    return nil, errors.new({kind = "INTERNAL", message = "asked to fail", retryable = false})
  end
  return {input = input}
end

return {main = main}
