-- The coordinator: squares numbers on linked, monitored workers and sums them on a named counter.
local time = require("time")

local function main(input)
  local numbers = (input and input.numbers) or {1, 2, 3}
  local me = process.pid()
  process.set_options({trap_links = true})  -- a failing linked process becomes a LINK_DOWN event

  local workers = {}
  for i = 1, #numbers do
    local pid, err = process.with_context({worker = i}):spawn_linked("app:worker", nil, {reply_to = me})
    if err then return nil, err end
    process.monitor(pid)
    workers[i] = pid
  end
  -- start messages are queued before anything else the counter receives
  local counter, err = process.with_name("counter"):with_message("add", 100)
                              :spawn_monitored("app:counter", nil, {initial = 0})
  if err then return nil, err end
  local flaky = process.spawn_linked("app:flaky", nil, {wait = true})

  -- a coroutine collects the results from the inbox while this one hands out the jobs
  local collected = channel.new(1)
  coroutine.spawn(function()
    local inbox, squares = process.inbox(), {}
    for _ = 1, #numbers do
      local result = inbox:receive():payload():data()
      squares[#squares + 1] = result.square
      process.send(counter, "add", result.square)
    end
    table.sort(squares)
    collected:send(squares)
  end)
  for i, n in ipairs(numbers) do process.send(workers[i], "job", {n = n}) end
  local squares = collected:receive()

  -- ask the counter; its answer comes on a topic this process listens to
  local totals = process.listen("total")
  process.send(counter, "get")
  local total = totals:receive()

  -- make the flaky worker fail, stop the others, and gather what the events say
  process.send(flaky, "go")
  for _, pid in ipairs(workers) do process.send(pid, "job", {stop = true}) end
  process.send(counter, "stop")
  local events, exits, link_down = process.events(), {}, nil
  while #exits < #workers + 1 or link_down == nil do
    local ev = events:receive()
    if ev.kind == process.event.LINK_DOWN then
      link_down = {from_flaky = ev.from == flaky, kind = ev.reason:kind(), message = ev.reason:message()}
    elseif ev.kind == process.event.EXIT then
      exits[#exits + 1] = ev.result.value
    end
  end

  -- nobody sends on "never": the select ends with the timeout
  local never = process.listen("never")
  local r = channel.select{never:case_receive(), time.after("50ms"):case_receive()}

  return {
    squares = squares,
    total = total,
    exits = #exits,
    counter_final = math.max(table.unpack(exits)),  -- workers exit with 1 (jobs done), the counter with its total
    link_down = link_down,
    timed_out = r.channel ~= never,
  }
end

return {main = main}
