-- A worker that fails: at once, or when told to ({wait = true}).
local function main(input)
  if input and input.wait then
    process.inbox():receive()
  end
  error("flaky worker gave up")
end

return {main = main}
