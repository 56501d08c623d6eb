local function main(input)
  local pid = process.pid()
  assert(pid ~= nil, "process.pid() is nil")
  if input and input.fail then error("asked to fail") end
  return {ok = true}
end
return {main = main}
