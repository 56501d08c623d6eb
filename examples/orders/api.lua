-- The shop's HTTP API: function.lua handlers of the http.endpoint entries in app.yaml. Each request runs its
-- handler as a process (it has a PID, spawns, sends and monitors).
--   POST /api/orders               place an order: starts its workflow (the workflow spec's handler, as written)
--   GET  /api/orders/{id}          the order's status: the workflow's own answer while it runs, its result after
--   POST /api/orders/{id}/approve  approve an order that waits for approval: a message to its workflow
local http = require("http")
local json = require("json")
local time = require("time")

-- POST /api/orders: the handler of the workflow spec ("从 HTTP 处理器启动"), unchanged. The workflow id is
-- "order-" .. order.id and conflicts fail, so placing the same order twice answers 409.
local function handler()
    local req = http.request()
    local order = json.decode(req:body())

    local spawner = process
        .with_context({request_id = req:header("X-Request-ID")})
        :with_options({
            ["temporal.workflow.id"] = "order-" .. order.id,
            ["temporal.workflow.id_conflict_policy"] = "fail",
        })

    local pid, err = spawner:spawn(
        "app:order_workflow",
        "app:worker",
        order
    )

    if err then
        return http.response():status(409):json({error = tostring(err)})
    end

    return http.response():status(202):json({
        workflow_id = tostring(pid),
        status = "started"
    })
end

-- The PID of an order's workflow: the worker's host and the workflow id the handler above chose.
local function order_pid(id)
    return "{app:worker|order-" .. id .. "}"
end

-- ask(pid) -> state | nil, ended: asks the workflow for its status ("status"; it answers "order_status" to the
-- sender) and monitors it, and takes whichever comes first: the answer of a running workflow, or the EXIT of
-- one that has ended (monitoring an ended workflow gives its recorded result at once; one never started gives
-- NOT_FOUND). `ended` is that EXIT's result, {value =} or {error =}; a workflow that neither answers nor ends
-- within 10 s gives an UNAVAILABLE error.
local function ask(pid)
    local answers = process.listen("order_status")
    local events = process.events()
    process.monitor(pid)
    process.send(pid, "status")
    local timeout = time.after("10s")
    while true do
        local r = channel.select({answers:case_receive(), events:case_receive(), timeout:case_receive()})
        if r.channel == answers then
            process.unmonitor(pid)   -- it runs: no need to wait for its end
            return r.value
        elseif r.channel == events then
            if r.value.kind == process.event.EXIT and r.value.from == pid then
                return nil, r.value.result
            end
        else
            return nil, {error = errors.new({kind = errors.UNAVAILABLE, message = "the order's workflow did not answer"})}
        end
    end
end

local function status_of_error(err)
    if errors.is(err, errors.NOT_FOUND) then return http.STATUS.NOT_FOUND end
    if errors.is(err, errors.UNAVAILABLE) then return http.STATUS.SERVICE_UNAVAILABLE end
    return http.STATUS.OK
end

-- GET /api/orders/{id} (written with the set_status / write_json form)
local function get_order()
    local id = http.request():param("id")
    local pid = order_pid(id)
    local res = http.response()
    local state, ended = ask(pid)
    if state then
        state.workflow_id = pid
        res:set_status(http.STATUS.OK)
        return res:write_json(state)
    end
    if ended.error then
        res:set_status(status_of_error(ended.error))
        return res:write_json({order_id = id, workflow_id = pid, status = "error", error = tostring(ended.error)})
    end
    local result = ended.value or {}
    res:set_status(http.STATUS.OK)
    return res:write_json({order_id = id, workflow_id = pid, status = result.status, result = result})
end

-- POST /api/orders/{id}/approve, body (optional) {"by": "name"}
local function approve()
    local req = http.request()
    local id = req:param("id")
    local by
    if req:has_body() then
        local data, err = req:body_json()
        if err then error(err) end   -- INVALID: the server answers 400
        by = type(data) == "table" and data.by or nil
    end
    local pid = order_pid(id)
    local state, ended = ask(pid)
    if not state then
        local status = ended.error and status_of_error(ended.error) or http.STATUS.CONFLICT
        if status == http.STATUS.OK then status = http.STATUS.CONFLICT end
        return http.response():status(status):json({order_id = id,
            error = ended.error and tostring(ended.error) or "the order has ended"})
    end
    if state.status ~= "awaiting_approval" then
        return http.response():status(http.STATUS.CONFLICT):json({order_id = id,
            error = "the order does not wait for approval (" .. state.status .. ", " .. state.step .. ")"})
    end
    process.send(pid, "approve", {by = by})
    return http.response():status(http.STATUS.ACCEPTED):json({order_id = id, workflow_id = pid, status = "approved"})
end

return {handler = handler, get_order = get_order, approve = approve}
