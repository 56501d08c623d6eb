-- A workflow that answers calls until told to stop: "add" {a, b} -> a + b, "fail" -> a CONFLICT error answer,
-- "stop" -> ends with the number of calls it answered.
local function main(input)
  local inbox = process.inbox()
  local answered = 0
  while true do
    local msg = inbox:receive()
    local topic = msg:topic()
    if topic == "add" then
      local d = msg:payload():data()
      assert(process.reply(msg, d[1] + d[2]))
      answered = answered + 1
    elseif topic == "fail" then
      assert(process.reply(msg, nil, errors.new({kind = errors.CONFLICT, message = "refused", retryable = false})))
      answered = answered + 1
    elseif topic == "stop" then
      return answered
    end
  end
end
return {main = main}
