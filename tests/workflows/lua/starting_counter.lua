-- The spec's counter workflow: "increment" messages add their amount until "finish".
local function main(input)
  local counter = input.initial or 0
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    if msg:topic() == "increment" then
      counter = counter + msg:payload():data().amount
    elseif msg:topic() == "finish" then
      break
    end
  end
  return {final_counter = counter}
end

return {main = main}
