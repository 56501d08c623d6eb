"""The ``process`` Lua module in real local Lua processes on a real node (_process_module.py, _local.py).

Every test builds an app from entry dicts with its Lua files written beside it in ``tmp_path``, opens a node and
runs ``app:main`` (a ``process.lua`` entry) to the end with ``exec`` from top-level code.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

import pidflow
from pidflow import entries, process
from pidflow.errors import Error, ErrorKind

pytestmark = pytest.mark.trio

ALL = ["time", "json", "ctx", "funcs", "uuid", "crypto"]

# Children used by many tests (file children.lua); each entry names its method.
CHILDREN_LUA = """
local time = require("time")
local M = {}

function M.echo()                       -- answers every inbox message to its sender, forever
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    process.send(msg:from(), "echo:" .. msg:topic(), msg:payload():data())
  end
end

function M.first_messages(n)            -- returns the first n inbox messages as {topic, data}
  local inbox, out = process.inbox(), {}
  for i = 1, n do
    local msg = inbox:receive()
    out[i] = {msg:topic(), msg:payload():data()}
  end
  return out
end

function M.double(x) return x * 2 end

function M.fail(kind)                   -- ends with `nil, err`
  return nil, errors.new{kind = kind or "CONFLICT", message = "child failed", retryable = false}
end

function M.crash() error("child crashed") end

function M.wait_forever() process.inbox():receive() end

function M.wait_then_fail()             -- fails when told to
  process.inbox():receive()
  error("told to fail")
end

function M.context() return require("ctx").all() end

function M.graceful()                   -- stops cleanly on CANCEL, reporting the deadline it got
  local ev = process.events():receive()
  return {kind = ev.kind, deadline = ev.deadline, cancel = ev.kind == process.event.CANCEL}
end

function M.ignores_cancel() while true do time.sleep("1h") end end

function M.busy() while true do end end

return M
"""

CHILD_ENTRIES = [
    {"name": name, "kind": "process.lua", "source": "file://children.lua", "method": name, "modules": ["time", "ctx"]}
    for name in ("echo", "first_messages", "double", "fail", "crash", "wait_forever", "wait_then_fail", "context",
                 "graceful", "ignores_cancel", "busy")
]


def make_app(tmp_path: Path, main: str, *, modules: list[str] | None = None, files: dict[str, str] | None = None,
             extra: list[dict[str, Any]] | None = None) -> entries.Registry:
    """``app:main`` from ``main`` (a main.lua body), the children above, and ``extra`` entries."""
    (tmp_path / "main.lua").write_text(textwrap.dedent(main))
    (tmp_path / "children.lua").write_text(CHILDREN_LUA)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    specs = [{"name": "main", "kind": "process.lua", "source": "file://main.lua", "method": "main",
              "modules": ALL if modules is None else modules}]
    return entries.from_dicts("app", specs + CHILD_ENTRIES + list(extra or []), base=tmp_path)


def body(text: str) -> str:
    return "local time = require('time')\nreturn {main = function(input)\n" + textwrap.dedent(text) + "\nend}\n"


@pytest.fixture
def run(tmp_path):
    async def run(main_body: str, input: Any = None, **kw: Any) -> Any:
        async with pidflow.open_node(make_app(tmp_path, body(main_body), **kw)) as node:
            return await node.process.exec("app:main", None, input)

    return run


# ---------------------------------------------------------------- spawning


async def test_spawn_returns_a_pid_of_a_running_child(run):
    out = await run("""
        local pid, err = process.spawn("app:echo", nil, nil)
        process.send(pid, "hi", {n = 1})
        local reply = process.inbox():receive()
        return {type(pid), tostring(pid):match("^{.+|%d+}$") ~= nil, err == nil, reply:topic(), reply:payload():data(),
                reply:from() == pid}
    """)
    assert out == ["string", True, True, "echo:hi", {"n": 1}, True]


async def test_spawn_passes_the_input_and_exec_returns_the_result(run):
    assert await run('return process.exec("app:double", nil, 21)') == 42


async def test_spawn_monitored_delivers_exit_with_the_value(run):
    out = await run("""
        local pid = process.spawn_monitored("app:double", nil, 5)
        local ev = process.events():receive()
        return {ev.kind == process.event.EXIT, ev.from == pid, ev.result.value, ev.result.error == nil}
    """)
    assert out == [True, True, 10, True]


async def test_spawn_monitored_exit_carries_the_child_error(run):
    out = await run("""
        process.spawn_monitored("app:fail", nil, "CONFLICT")
        local ev = process.events():receive()
        local e = ev.result.error
        return {ev.result.value == nil, e:kind(), e:message(), e:retryable(), tostring(e)}
    """)
    assert out == [True, "CONFLICT", True and "child failed", False, "child failed"]


async def test_exec_of_a_failing_child_returns_nil_and_the_error(run):
    out = await run("""
        local v, err = process.exec("app:crash", nil, nil)
        return {v == nil, err:kind(), err:message()}
    """)
    assert out[0:2] == [True, "INTERNAL"]
    assert "children.lua:" in out[2] and "child crashed" in out[2]


async def test_spawn_of_an_unknown_entry_returns_not_found(run):
    out = await run("""
        local pid, err = process.spawn("app:nope", nil, nil)
        return {pid == nil, err:kind(), err:message()}
    """)
    assert out == [True, "NOT_FOUND", "entry app:nope not found"]


async def test_spawn_on_an_unknown_host_returns_not_found(run):
    out = await run('local p, err = process.spawn("app:echo", "app:nohost", nil) return {p == nil, err:kind()}')
    assert out == [True, "NOT_FOUND"]


async def test_spawn_with_a_non_string_entry_is_invalid(run):
    assert await run('local p, err = process.spawn(42) return err:kind()') == "INVALID"


# ---------------------------------------------------------------- the spawner builder


async def test_spawner_builders_are_immutable(run):
    out = await run("""
        local base = process.with_context({a = 1})
        local named = base:with_name("n1")
        local more = base:with_context({b = 2}):with_message("t", 1)
        return {base._name == nil, named._name, #base._messages, #more._messages,
                base._context.b == nil, more._context.a, more._context.b}
    """)
    assert out == [True, "n1", 0, 1, True, 1, 2]


async def test_with_name_spawns_once_and_returns_the_running_pid(run):
    out = await run("""
        local s = process.with_name("the-echo")
        local a = s:spawn("app:echo", nil, nil)
        local b = s:spawn("app:echo", nil, nil)
        return {a == b, tostring(a) == tostring(b)}
    """)
    assert out == [True, True]


async def test_with_message_is_queued_before_any_other_message(run):
    out = await run("""
        local pid = process.with_message("first", 1):with_message("second", {x = 2})
                           :spawn_monitored("app:first_messages", nil, 3)
        process.send(pid, "third", 3)
        return process.events():receive().result.value
    """)
    assert out == [["first", 1], ["second", {"x": 2}], ["third", 3]]


async def test_with_context_reaches_the_child_and_merges_with_its_own(run):
    out = await run("""
        return process.with_context({tenant = "t1"}):with_context({user = "u1"}):exec("app:context", nil, nil)
    """)
    assert out == {"tenant": "t1", "user": "u1"}


async def test_context_is_inherited_by_grandchildren(tmp_path):
    files = {"mid.lua": "return {main = function() return process.exec('app:context', nil, nil) end}"}
    extra = [{"name": "mid", "kind": "process.lua", "source": "file://mid.lua"}]
    registry = make_app(tmp_path, body('return process.with_context({req = "r9"}):exec("app:mid", nil, nil)'),
                        files=files, extra=extra)
    async with pidflow.open_node(registry) as node:
        assert await node.process.exec("app:main") == {"req": "r9"}


async def test_with_options_trap_links_is_accepted(run):
    assert await run('local p, err = process.with_options({trap_links = true}):spawn("app:double", nil, 1) '
                     'return {p ~= nil, err == nil}') == [True, True]


async def test_a_spawn_option_the_host_does_not_own_passes_through(run):
    out = await run("""
        local pid, err = process.with_options({bogus_option = 1}):spawn("app:double", nil, 1)
        return {pid ~= nil, err == nil}
    """)
    assert out == [True, True]


async def test_a_malformed_spawn_option_the_host_owns_is_invalid_and_named(run):
    out = await run("""
        local pid, err = process.with_options({trap_links = "yes"}):spawn("app:echo", nil, nil)
        return {pid == nil, err:kind(), err:message()}
    """)
    assert out[0:2] == [True, "INVALID"] and "trap_links" in out[2]


async def test_builder_argument_errors_name_the_method(run):
    with pytest.raises(Error, match="with_options expects a table") as info:
        await run('process.with_options("x")')
    assert "main.lua:" in info.value.message


# ---------------------------------------------------------------- messages


async def test_message_methods_topic_payload_from(run):
    out = await run("""
        process.send(process.pid(), "greet", {who = "me", list = {1, 2.5, "x"}})
        local m = process.inbox():receive()
        return {m:topic(), m:payload():data(), m:from() == process.pid(), tostring(m)}
    """)
    assert out == ["greet", {"who": "me", "list": [1, 2.5, "x"]}, True, "message(greet)"]


async def test_send_preserves_order_per_sender(run):
    assert await run("""
        local echo = process.spawn("app:echo", nil, nil)
        for i = 1, 50 do process.send(echo, "n", i) end
        local got = {}
        for i = 1, 50 do got[i] = process.inbox():receive():payload():data() end
        return got
    """) == list(range(1, 51))


async def test_send_to_a_dead_pid_is_not_found(run):
    out = await run("""
        local pid = process.spawn_monitored("app:double", nil, 1)
        process.events():receive()
        local ok, err = process.send(pid, "late", 1)
        return {ok, err:kind()}
    """)
    assert out == [None, "NOT_FOUND"]


async def test_send_accepts_the_string_form_of_a_pid(run):
    assert await run("""
        local echo = process.spawn("app:echo", nil, nil)
        process.send(tostring(echo), "s", 1)
        return process.inbox():receive():topic()
    """) == "echo:s"


async def test_send_with_a_bad_topic_or_pid_returns_invalid(run):
    assert await run("""
        local ok1, e1 = process.send(process.pid(), "", 1)
        local ok2, e2 = process.send("{not a pid", "t", 1)
        return {ok1 == nil, e1:kind(), ok2 == nil, e2:kind()}
    """) == [True, "INVALID", True, "INVALID"]


async def test_pid_round_trips_through_payloads(run):
    out = await run("""
        local me = process.pid()
        process.send(me, "p", {pid = me, list = {me}})
        local data = process.inbox():receive():payload():data()
        return {data.pid == me, data.list[1] == me, tostring(data.pid) == tostring(me), me}
    """)
    assert out[:3] == [True, True, True]
    assert type(out[3]) is str and str(pidflow.Pid.parse(out[3])) == out[3]  # a PID string stays a str


async def test_listen_claims_a_topic_and_yields_payload_data(run):
    out = await run("""
        local me = process.pid()
        process.send(me, "other", 1)
        process.send(me, "temp", 20)      -- queued before listen: moves to the listener
        local temps = process.listen("temp")
        process.send(me, "temp", 21)
        return {temps:receive(), temps:receive(), process.inbox():receive():topic(), process.listen("temp") == temps}
    """)
    assert out == [20, 21, "other", True]


async def test_listen_with_message_true_yields_message_objects(run):
    out = await run("""
        local ch = process.listen("job", {message = true})
        process.send(process.pid(), "job", {id = 7})
        local m = ch:receive()
        return {m:topic(), m:payload():data(), m:from() == process.pid()}
    """)
    assert out == ["job", {"id": 7}, True]


async def test_listen_with_a_bad_topic_is_invalid(run):
    assert await run('local ch, err = process.listen("") return err:kind()') == "INVALID"


async def test_select_on_inbox_with_a_time_after_timeout(run, autojump_clock):
    out = await run("""
        local inbox = process.inbox()
        local r1 = channel.select{inbox:case_receive(), time.after("5s"):case_receive()}
        process.send(process.pid(), "x", 1)
        local timeout = time.after("5s")
        local r2 = channel.select{inbox:case_receive(), timeout:case_receive()}
        return {r1.channel == inbox, r2.channel == inbox, r2.value:topic()}
    """)
    assert out == [False, True, "x"]


# ---------------------------------------------------------------- events, monitors, links


async def test_monitor_delivers_exit_and_unmonitor_stops_it(run, autojump_clock):
    out = await run("""
        local a = process.spawn("app:wait_forever", nil, nil)
        local b = process.spawn("app:wait_forever", nil, nil)
        assert(process.monitor(a))
        assert(process.monitor(b))
        assert(process.unmonitor(b))
        process.send(b, "go", 1)
        process.send(a, "go", 1)
        local ev = process.events():receive()
        local r = channel.select{process.events():case_receive(), time.after("1s"):case_receive()}
        return {ev.kind, ev.from == a, ev.result.value == nil and ev.result.error == nil, r.channel ~= process.events()}
    """)
    assert out == ["pid.exit", True, True, True]


async def test_monitor_of_a_dead_pid_gives_exit_with_noproc(run):
    out = await run("""
        local pid = process.spawn_monitored("app:double", nil, 1)
        process.events():receive()
        process.monitor(pid)
        local ev = process.events():receive()
        return {ev.kind, ev.result.error:kind()}
    """)
    assert out == ["pid.exit", "NOT_FOUND"]


async def test_spawn_linked_failure_kills_the_parent(tmp_path):
    registry = make_app(tmp_path, body("""
        local child = process.spawn_linked("app:wait_then_fail", nil, nil)
        process.send(child, "go", 1)
        process.inbox():receive()
    """))
    async with pidflow.open_node(registry) as node:
        with pytest.raises(Error) as info:
            await node.process.exec("app:main")
    assert info.value.kind is ErrorKind.INTERNAL
    assert "linked process" in info.value.message and "told to fail" in info.value.message


async def test_trap_links_turns_a_linked_failure_into_link_down(run):
    out = await run("""
        assert(process.set_options({trap_links = true}))
        local child = process.spawn_linked("app:wait_then_fail", nil, nil)
        process.send(child, "go", 1)
        local ev = process.events():receive()
        return {ev.kind == process.event.LINK_DOWN, ev.from == child, ev.reason:kind(), ev.reason:message():find("told to fail") ~= nil}
    """)
    assert out == [True, True, "INTERNAL", True]


async def test_link_and_unlink_an_existing_process(run, autojump_clock):
    out = await run("""
        process.set_options({trap_links = true})
        local a = process.spawn("app:wait_then_fail", nil, nil)
        local b = process.spawn("app:wait_then_fail", nil, nil)
        assert(process.link(a)); assert(process.link(b)); assert(process.unlink(b))
        process.send(b, "go", 1); process.send(a, "go", 1)
        local ev = process.events():receive()
        local r = channel.select{process.events():case_receive(), time.after("1s"):case_receive()}
        return {ev.kind, ev.from == a, r.channel ~= process.events()}
    """)
    assert out == ["pid.link.down", True, True]


async def test_normal_exit_of_a_linked_child_does_not_propagate(run, autojump_clock):
    out = await run("""
        local child = process.spawn_linked("app:double", nil, 2)
        local r = channel.select{process.events():case_receive(), time.after("1s"):case_receive()}
        return r.channel ~= process.events()
    """)
    assert out is True


async def test_link_to_a_dead_pid_is_not_found_or_link_down_when_trapping(run):
    out = await run("""
        local pid = process.spawn_monitored("app:double", nil, 1)
        process.events():receive()
        local ok, err = process.link(pid)
        process.set_options({trap_links = true})
        local ok2, err2 = process.link(pid)
        local ev = process.events():receive()
        return {ok == nil, err:kind(), ok2, ev.kind, ev.reason:kind()}
    """)
    assert out == [True, "NOT_FOUND", True, "pid.link.down", "NOT_FOUND"]


async def test_set_options_rejects_unknown_options(run):
    out = await run('local ok, err = process.set_options({nope = true}) return {ok, err:kind(), err:message()}')
    assert out[:2] == [False, "INVALID"] and "nope" in out[2]


async def test_terminate_ends_a_process_with_terminated(run):
    out = await run("""
        local pid = process.spawn_monitored("app:wait_forever", nil, nil)
        local ok = process.terminate(pid)
        local ev = process.events():receive()
        local again = process.terminate(pid)
        return {ok, ev.result.error:kind(), again}
    """)
    assert out == [True, "TERMINATED", False]


async def test_cancel_delivers_cancel_with_the_deadline_in_ms(run, autojump_clock):
    out = await run("""
        local pid = process.spawn_monitored("app:graceful", nil, nil)
        assert(process.cancel(pid, "2s"))
        return process.events():receive().result.value
    """)
    assert out == {"kind": "pid.cancel", "deadline": 2000.0, "cancel": True}


async def test_cancel_terminates_when_the_deadline_passes(run, autojump_clock):
    out = await run("""
        local pid = process.spawn_monitored("app:ignores_cancel", nil, nil)
        local t0 = time.now()
        process.cancel(pid, 500)
        local ev = process.events():receive()
        return {ev.result.error:kind()}
    """)
    assert out == ["CANCELED"]


async def test_terminate_stops_a_busy_loop_while_other_tasks_keep_running(tmp_path):
    registry = make_app(tmp_path, body("return 1"))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with pidflow.open_node(registry) as node, trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        pid = await node.process.spawn_monitored("app:busy")
        start = ticks
        while ticks < start + 20:  # the busy Lua loop is preempted, so the ticker runs
            await trio.lowlevel.checkpoint()
        assert await node.process.terminate(pid)
        event = await node.process.events().receive()
        nursery.cancel_scope.cancel()
    assert event.result.error.kind is ErrorKind.TERMINATED


# ---------------------------------------------------------------- errors, sandbox and capabilities


async def test_nil_err_return_fails_the_process_with_that_error(tmp_path):
    registry = make_app(tmp_path, body('return nil, errors.new{kind = "UNAVAILABLE", message = "down"}'))
    async with pidflow.open_node(registry) as node:
        with pytest.raises(Error, match="down") as info:
            await node.process.exec("app:main")
    assert info.value.kind is ErrorKind.UNAVAILABLE and info.value.retryable


async def test_a_lua_error_names_the_file_and_line(tmp_path):
    registry = make_app(tmp_path, body("local x = 1\nerror('kaput')"))
    async with pidflow.open_node(registry) as node:
        with pytest.raises(Error) as info:
            await node.process.exec("app:main")
    assert info.value.kind is ErrorKind.INTERNAL
    assert info.value.message.endswith("main.lua:4: kaput")  # Lua shortens long paths with a leading '...'


async def test_require_of_an_unlisted_module_is_permission_denied(tmp_path):
    registry = make_app(tmp_path, "return {main = function() return require('json') end}", modules=["time"])
    async with pidflow.open_node(registry) as node:
        with pytest.raises(Error) as info:
            await node.process.exec("app:main")
    assert info.value.kind is ErrorKind.PERMISSION_DENIED
    assert "json" in info.value.message and "app:main" in info.value.message


async def test_a_process_over_its_memory_limit_fails(tmp_path):
    (tmp_path / "main.lua").write_text("return {main = function() local t = {} for i = 1, 1e7 do t[i] = i end end}")
    registry = entries.from_dicts("app", [{"name": "main", "kind": "process.lua", "source": "file://main.lua",
                                           "max_memory": 2_000_000}], base=tmp_path)
    async with pidflow.open_node(registry) as node:
        with pytest.raises(Error, match="memory limit") as info:
            await node.process.exec("app:main")
    assert info.value.kind is ErrorKind.INTERNAL


async def test_the_sandbox_holds_in_a_process(run):
    assert await run("return {io == nil, debug == nil, os.execute == nil, loadfile == nil, dofile == nil}") == [True] * 5


# ---------------------------------------------------------------- Lua and Python processes together


async def py_echo(_input: Any) -> None:
    inbox = process.inbox()
    while True:
        message = await inbox.receive()
        await process.send(message.sender, "py:" + message.topic, message.data)


async def test_lua_and_python_processes_message_each_other(tmp_path):
    registry = make_app(tmp_path, body("""
        local py = input.py
        process.send(py, "ping", {n = 1, f = 1.5, list = {1, nil, 3}})
        local reply = process.inbox():receive()
        return {reply:topic(), reply:payload():data(), reply:from() == py}
    """))
    async with pidflow.open_node(registry) as node:
        py = await node.process.spawn(py_echo)
        out = await node.process.exec("app:main", None, {"py": py})
    assert out == ["py:ping", {"n": 1, "f": 1.5, "list": [1, None, 3]}, True]


async def test_python_sends_to_a_lua_process_and_gets_the_reply(tmp_path):
    registry = make_app(tmp_path, body("return 0"))
    async with pidflow.open_node(registry) as node:
        echo = await node.process.spawn("app:echo")
        await node.process.send(echo, "hello", {"a": [1, 2], "b": None, "c": 2.0})
        reply = await node.process.inbox().receive()
    assert (reply.topic, reply.data, reply.sender) == ("echo:hello", {"a": [1, 2], "c": 2.0}, echo)
    assert type(reply.data["c"]) is float


async def test_lua_spawns_a_python_process_entry(tmp_path):
    module = f"pyprocs_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent("""
        import pidflow
        async def main(input):
            return {"got": input, "ctx": pidflow.ctx.get("tenant")}
    """))
    registry = make_app(tmp_path, body('return process.with_context({tenant = "t"}):exec("app:pyproc", nil, {1, 2})'),
                        extra=[{"name": "pyproc", "kind": "process.py", "source": f"{module}:main"}])
    async with pidflow.open_node(registry) as node:
        assert await node.process.exec("app:main") == {"got": [1, 2], "ctx": "t"}


async def test_funcs_call_runs_lua_and_python_functions_with_the_context(tmp_path):
    module = f"pyfuncs_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent("""
        import pidflow
        from pidflow import Error, ErrorKind
        def add(a, b):
            return {"sum": a + b, "tenant": pidflow.ctx.get("tenant")}
        async def refuse(x):
            raise Error(ErrorKind.CONFLICT, "refused " + str(x))
    """))
    (tmp_path / "fns.lua").write_text(textwrap.dedent("""
        local ctx = require("ctx")  -- funcs is required inside `nested`: only that entry lists it
        return {
          greet = function(name) return "hi " .. name .. " from " .. tostring(ctx.get("tenant")) end,
          nested = function(a, b) return require("funcs").call("app:py_add", a, b) end,
          fail = function() return nil, errors.new{kind = "NOT_FOUND", message = "nothing here"} end,
        }
    """))
    extra = [
        {"name": "greet", "kind": "function.lua", "source": "file://fns.lua", "method": "greet", "modules": ["ctx"]},
        {"name": "nested", "kind": "function.lua", "source": "file://fns.lua", "method": "nested",
         "modules": ["ctx", "funcs"]},
        {"name": "lua_fail", "kind": "function.lua", "source": "file://fns.lua", "method": "fail", "modules": ["ctx"]},
        {"name": "py_add", "kind": "function.py", "source": f"{module}:add"},
        {"name": "py_refuse", "kind": "function.py", "source": f"{module}:refuse"},
    ]
    registry = make_app(tmp_path, body("""
        local funcs = require("funcs")
        local g = funcs.call("app:greet", "ann")
        local s = funcs.call("app:py_add", 2, 3)
        local n = funcs.call("app:nested", 10, 20)
        local _, e1 = funcs.call("app:lua_fail")
        local _, e2 = funcs.call("app:py_refuse", 5)
        local _, e3 = funcs.call("app:nope")
        return {g, s, n, e1:kind(), e1:message(), e2:kind(), e2:message(), e3:kind()}
    """), extra=extra)
    async with pidflow.open_node(registry) as node:
        out = await node.process.with_context({"tenant": "acme"}).exec("app:main")
    assert out == ["hi ann from acme", {"sum": 5, "tenant": "acme"}, {"sum": 30, "tenant": "acme"},
                   "NOT_FOUND", "nothing here", "CONFLICT", "refused 5", "NOT_FOUND"]


async def test_coroutines_in_a_process_share_its_inbox_and_events(run):
    out = await run("""
        local results = channel.new(2)
        coroutine.spawn(function() results:send(process.exec("app:double", nil, 4)) end)
        coroutine.spawn(function()
          local m = process.inbox():receive()
          results:send(m:payload():data())
        end)
        process.send(process.pid(), "x", 99)
        local a, b = results:receive(), results:receive()
        return {math.min(a, b), math.max(a, b)}
    """)
    assert out == [8, 99]


async def test_process_pid_is_the_callers_pid(tmp_path):
    registry = make_app(tmp_path, body("return process.pid()"))
    async with pidflow.open_node(registry) as node:
        pid = await node.process.spawn_monitored("app:main")
        event = await node.process.events().receive()
    assert event.result.value == str(pid)  # a PID string in a result stays a str
