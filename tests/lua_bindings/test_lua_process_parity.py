"""The ``process`` module's parity with the seed runtime's (issue 11) in local Lua processes (_process_module.py,
_process_lua.py, _local.py): PID strings, positional arguments, unlisten, get_options, id, event shapes, sends
to processes that are not running, reserved topics, names as destinations, ``return main``, and bad input.

Every test builds an app from entry dicts with its Lua beside it in ``tmp_path`` and runs ``app:main`` (a
``process.lua`` entry) to the end with ``exec`` from top-level code. The same behaviour inside workflows is
tests/workflows/test_process_parity.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio

import pidflow
from pidflow import entries
from pidflow.lua_bindings import check_lua_code

pytestmark = pytest.mark.trio

# Children (file children.lua), one entry per method.
CHILDREN_LUA = """
local M = {}
-- its positional arguments as Lua saw them: the count and each one (nil as the string "nil")
function M.args(...)
  local n, out = select("#", ...), {}
  for i = 1, n do local v = select(i, ...); out[i] = v == nil and "nil" or v end
  return {n = n, args = out}
end
function M.echo()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    process.send(msg:from(), "echo:" .. msg:topic(), msg:payload():data())
  end
end
function M.first_messages(n)
  local inbox, out = process.inbox(), {}
  for i = 1, n do
    local msg = inbox:receive()
    out[i] = {msg:topic(), msg:payload():data()}
  end
  return out
end
function M.wait_forever() local inbox = process.inbox() while true do inbox:receive() end end
function M.fail() return nil, errors.new{kind = errors.CONFLICT, message = "child failed", retryable = false} end
function M.graceful()
  local ev = process.events():receive()
  return {kind = ev.kind, deadline = ev.deadline, from = ev.from}
end
function M.whoami() return process.id() end
return M
"""
CHILD_ENTRIES = [{"name": name, "kind": "process.lua", "source": "file://children.lua", "method": name}
                 for name in ("args", "echo", "first_messages", "wait_forever", "fail", "graceful", "whoami")]


def make_app(tmp_path: Path, main: str, extra: list[dict[str, Any]] | None = None,
             files: dict[str, str] | None = None) -> entries.Registry:
    (tmp_path / "main.lua").write_text(main)
    (tmp_path / "children.lua").write_text(CHILDREN_LUA)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    specs = [{"name": "main", "kind": "process.lua", "source": "file://main.lua", "method": "main",
              "modules": ["time", "json"]}]
    return entries.from_dicts("app", specs + CHILD_ENTRIES + list(extra or []), base=tmp_path)


def body(text: str) -> str:
    return "local time = require('time')\nreturn {main = function(input)\n" + textwrap.dedent(text) + "\nend}\n"


@pytest.fixture
def run(tmp_path):
    async def run(main_body: str, input: Any = None, **kw: Any) -> Any:
        async with pidflow.open_node(make_app(tmp_path, body(main_body), **kw)) as node:
            with trio.fail_after(20):
                return await node.process.exec("app:main", None, input)

    return run


# ---------------------------------------------------------------- PIDs are strings

async def test_pids_are_strings_that_compare_index_and_concatenate(run):
    out = await run("""
        local me = process.pid()
        local child = process.spawn_monitored("app:echo", nil, nil)
        process.send(child, "hi", 1)
        local reply = process.inbox():receive()
        local seen = {[me] = "me", [child] = "child"}
        process.terminate(child)
        local ev = process.events():receive()
        return {type(me), type(child), type(reply:from()), type(ev.from), reply:from() == child, ev.from == child,
                seen[reply:from()], seen[me], "pid=" .. me, me}
    """)
    assert out[:8] == ["string", "string", "string", "string", True, True, "child", "me"]
    assert out[8] == "pid=" + out[9] and str(pidflow.Pid.parse(out[9])) == out[9]


async def test_a_python_pid_crosses_as_its_string_and_comes_back_a_str(tmp_path):
    registry = make_app(tmp_path, body("return {input.pid, type(input.pid), input.pid == process.pid()}"))
    async with pidflow.open_node(registry) as node:
        me = node.process.pid()
        out = await node.process.exec("app:main", None, {"pid": me})
    assert out == [str(me), "string", False]
    assert type(out[0]) is str  # a PID string in a payload stays a str in Python (Pid.parse it if needed)


async def test_a_pid_string_is_accepted_by_every_destination_call(run):
    out = await run("""
        local pid = process.spawn("app:wait_forever", nil, nil)
        local copy = "" .. pid
        return {process.monitor(copy), process.unmonitor(copy), process.link(copy), process.unlink(copy),
                process.send(copy, "x", 1), process.terminate(copy)}
    """)
    assert out == [True] * 6


# ---------------------------------------------------------------- positional arguments

async def test_spawn_passes_positional_arguments_with_nils_in_the_middle_and_at_the_end(run):
    out = await run("""
        local events = process.events()
        local results = {}
        for i, args in ipairs({{}, {7}, {1, nil, 3}, {"a", {x = 1}, nil}}) do
          local pid = process.spawn_monitored("app:args", nil, table.unpack(args, 1, ({0, 1, 3, 3})[i]))
          local ev = events:receive()
          results[i] = ev.result.value
        end
        return results
    """)
    assert out == [{"n": 0, "args": {}}, {"n": 1, "args": [7]}, {"n": 3, "args": [1, "nil", 3]},
                   {"n": 3, "args": ["a", {"x": 1}, "nil"]}]


async def test_exec_and_every_spawner_starter_pass_positional_arguments(run):
    out = await run("""
        local events = process.events()
        local s = process.with_context({k = 1})
        local r = {}
        r.exec = process.exec("app:args", nil, 1, 2)
        r.exec0 = process.exec("app:args", nil)
        r.sexec = s:exec("app:args", nil, "a", nil, "c")
        local p1 = s:spawn_monitored("app:args", nil, 5, 6)
        r.spawn_monitored = events:receive().result.value
        local p2 = s:spawn_linked_monitored("app:args", nil, 8)
        r.spawn_linked_monitored = events:receive().result.value
        local p3 = process.spawn_linked_monitored("app:args", nil)
        r.module_slm = events:receive().result.value
        return r
    """)
    assert out == {"exec": {"n": 2, "args": [1, 2]}, "exec0": {"n": 0, "args": {}},
                   "sexec": {"n": 3, "args": ["a", "nil", "c"]}, "spawn_monitored": {"n": 2, "args": [5, 6]},
                   "spawn_linked_monitored": {"n": 1, "args": [8]}, "module_slm": {"n": 0, "args": {}}}


async def test_spawn_linked_monitored_links_and_monitors(run):
    out = await run("""
        process.set_options({trap_links = true})
        local events = process.events()
        local pid = process.spawn_linked_monitored("app:fail", nil)
        local a, b = events:receive(), events:receive()
        local kinds = {[a.kind] = a, [b.kind] = b}
        local exit, down = kinds[process.event.EXIT], kinds[process.event.LINK_DOWN]
        return {exit ~= nil, down ~= nil, exit.from == pid, down.from == pid, exit.result.error:kind(),
                down.result.error:kind()}
    """)
    assert out == [True, True, True, True, "CONFLICT", "CONFLICT"]


async def test_python_spawn_with_one_input_is_unchanged(tmp_path):
    registry = make_app(tmp_path, body("return 1"))
    async with pidflow.open_node(registry) as node:
        assert await node.process.exec("app:args", None, {"a": 1}) == {"n": 1, "args": [{"a": 1}]}
        assert await node.process.exec("app:args") == {"n": 1, "args": ["nil"]}


async def test_send_and_with_message_carry_one_value_or_the_list_of_several(run):
    out = await run("""
        local me = process.pid()
        process.send(me, "one", 5)
        process.send(me, "none")
        process.send(me, "many", 1, nil, "x")
        local inbox, got = process.inbox(), {}
        for i = 1, 3 do local m = inbox:receive(); got[m:topic()] = m:payload():data() end
        local many = got.many
        process.with_message("a", 1):with_message("b", 1, 2):with_message("c")
               :spawn_monitored("app:first_messages", nil, 3)
        local firsts = process.events():receive().result.value
        return {got.one, got.none == nil, many[1], many[2] == nil, many[3], firsts}
    """)
    assert out == [5, True, 1, True, "x", [["a", 1], ["b", [1, 2]], ["c"]]]


# ---------------------------------------------------------------- listen, unlisten, inbox, events

async def test_unlisten_sends_later_messages_of_the_topic_to_the_inbox_and_closes_the_channel(run):
    out = await run("""
        local me = process.pid()
        local ch = process.listen("t")
        process.send(me, "t", 1)
        local first = ch:receive()
        process.send(me, "t", 2)                 -- queued on the listener, not received: back to the inbox
        local ok = process.unlisten(ch)
        local after, closed_ok = ch:receive()
        process.send(me, "t", 3)
        local inbox = process.inbox()
        local m2, m3 = inbox:receive(), inbox:receive()
        local again = process.listen("t")
        return {first, ok, after == nil, closed_ok, m2:topic(), m2:payload():data(), m2:from() == nil,
                m3:payload():data(), m3:from() == me, again ~= ch}
    """)
    assert out == [1, True, True, False, "t", 2, True, 3, True, True]


async def test_unlisten_of_a_message_listener_gives_back_whole_messages(run):
    out = await run("""
        local me = process.pid()
        local ch = process.listen("t", {message = true})
        process.send(me, "t", "x")
        process.unlisten(ch)
        local m = process.inbox():receive()
        return {m:topic(), m:payload():data(), m:from() == me}
    """)
    assert out == ["t", "x", True]


async def test_inbox_events_and_listen_return_the_same_channel_on_every_call(run):
    out = await run("""
        return {process.inbox() == process.inbox(), process.events() == process.events(),
                process.listen("x") == process.listen("x"), process.listen("x", {message = true}) == process.listen("x")}
    """)
    assert out == [True, True, True, True]


async def test_unlisten_of_a_channel_listen_did_not_return_is_invalid(run):
    out = await run("""
        local a, e1 = process.unlisten(process.inbox())
        local b, e2 = process.unlisten(channel.new(1))
        local c, e3 = process.unlisten(42)
        return {a, e1:kind(), e1:message(), b, e2:kind(), c, e3:kind(), e3:message()}
    """)
    assert out[0] is None and out[1] == "INVALID" and "unlisten: channel" in out[2]
    assert out[3:6] == [None, "INVALID", None] and out[6] == "INVALID" and "got a number" in out[7]


# ---------------------------------------------------------------- options, id, event kinds

async def test_get_options_reports_trap_links(run):
    out = await run("""
        local before = process.get_options()
        process.set_options({trap_links = true})
        local after = process.get_options()
        local ok, err = process.set_options({bogus = 1})
        return {before.trap_links, after.trap_links, ok, err:kind()}
    """)
    assert out == [False, True, False, "INVALID"]


async def test_process_id_is_the_running_entry_id(run):
    out = await run("return {process.id(), process.exec('app:whoami', nil)}")
    assert out == ["app:main", "app:whoami"]


async def test_event_kinds_are_the_seed_runtimes_strings(run):
    out = await run("return {process.event.EXIT, process.event.LINK_DOWN, process.event.CANCEL}")
    assert out == ["pid.exit", "pid.link.down", "pid.cancel"]


async def test_link_down_carries_result_error_like_exit_and_keeps_reason(run):
    out = await run("""
        process.set_options({trap_links = true})
        local pid = process.spawn_linked("app:fail", nil)
        local ev = process.events():receive()
        return {ev.kind, ev.from == pid, ev.result.error:kind(), ev.result.error:message(), ev.result.value == nil,
                ev.reason:kind()}
    """)
    assert out == ["pid.link.down", True, "CONFLICT", "child failed", True, "CONFLICT"]


async def test_cancel_event_carries_from_and_deadline_in_milliseconds(run):
    out = await run("""
        local pid = process.spawn_monitored("app:graceful", nil)
        process.cancel(pid, "2s")
        local ev = process.events():receive()
        return {ev.result.value, process.pid()}
    """)
    got, me = out
    assert got == {"kind": "pid.cancel", "deadline": 2000.0, "from": me}


# ---------------------------------------------------------------- sends to processes that are not running

async def test_send_to_a_local_pid_that_is_not_running_is_not_found(run):
    out = await run("""
        local pid = process.spawn_monitored("app:fail", nil)
        process.events():receive()
        local ok, err = process.send(pid, "late", 1)
        return {ok, err:kind(), err:message()}
    """)
    assert out[0] is None and out[1] == "NOT_FOUND" and "not found" in out[2]


async def test_python_send_to_a_pid_that_is_not_running_stays_quiet(tmp_path):
    registry = make_app(tmp_path, body("return 1"))
    async with pidflow.open_node(registry) as node:
        pid = await node.process.spawn_monitored("app:fail")
        await node.process.events().receive()
        await node.process.send(pid, "late", 1)  # no error: Erlang's quiet send


# ---------------------------------------------------------------- reserved topics

async def test_topics_beginning_with_at_are_invalid(run):
    out = await run("""
        local a, e1 = process.send(process.pid(), "@inbox", 1)
        local b, e2 = process.listen("@events")
        local ok, e3 = pcall(process.with_message, "@x", 1)
        return {a, e1:kind(), e1:message(), b, e2:kind(), ok, tostring(e3)}
    """)
    assert out[:2] == [None, "INVALID"] and "reserved" in out[2]
    assert out[3:6] == [None, "INVALID", False] and "reserved" in out[6]


# ---------------------------------------------------------------- names as destinations

async def test_registry_and_names_as_destinations(run):
    out = await run("""
        local pid = process.spawn("app:echo", nil)
        local r = {}
        r.register = process.registry.register("echoer", pid)
        r.lookup = process.registry.lookup("echoer") == pid
        r.send = process.send("echoer", "hi", 1, 2)
        local m = process.inbox():receive()
        r.reply = {m:topic(), m:payload():data(), m:from() == pid}
        r.monitor = process.monitor("echoer")
        r.terminate = process.terminate("echoer")
        local ev = process.events():receive()
        r.exit = ev.from == pid
        local _, gone = process.registry.lookup("echoer")
        r.gone = gone:kind()
        r.self = process.registry.register("me")
        r.me = process.registry.lookup("me") == process.pid()
        r.unregister = {process.registry.unregister("me"), process.registry.unregister("me")}
        return r
    """)
    assert out == {"register": True, "lookup": True, "send": True, "reply": ["echo:hi", [1, 2], True],
                   "monitor": True, "terminate": True, "exit": True, "gone": "NOT_FOUND", "self": True, "me": True,
                   "unregister": [True, False]}


async def test_a_name_nobody_holds_is_not_found_for_every_destination_call(run):
    out = await run("""
        local out = {}
        for _, call in ipairs({"send", "terminate", "cancel", "monitor", "unmonitor", "link", "unlink"}) do
          local ok, err
          if call == "send" then ok, err = process.send("nobody", "t", 1) else ok, err = process[call]("nobody") end
          out[call] = {ok == nil, err and err:kind(), err and err:message():find("not resolve", 1, true) ~= nil}
        end
        return out
    """)
    assert out == {call: [True, "NOT_FOUND", True]
                   for call in ("send", "terminate", "cancel", "monitor", "unmonitor", "link", "unlink")}


# ---------------------------------------------------------------- sources that return main

async def test_a_source_may_return_its_main_function(tmp_path):
    extra = [{"name": "fn_main", "kind": "process.lua", "source": "file://fn_main.lua"},
             {"name": "fn_function", "kind": "function.lua", "source": "file://fn_function.lua"}]
    files = {"fn_main.lua": "return function(a, b) return {a = a, b = b, id = process.id()} end",
             "fn_function.lua": "return function(a, b) return {a = a, b = b} end"}
    registry = make_app(tmp_path, body("return process.exec('app:fn_main', nil, 1, 2)"), extra=extra, files=files)
    assert check_lua_code(registry.get("app:fn_main")) == []  # what `pidflow check` runs
    async with pidflow.open_node(registry) as node:
        assert await node.process.exec("app:main") == {"a": 1, "b": 2, "id": "app:fn_main"}
        assert await node.call("app:fn_function", 3, 4) == {"a": 3, "b": 4}


# ---------------------------------------------------------------- bad input

BAD_CALLS = [
    # (Lua call, the argument its error names)
    ("process.send(42, 't', 1)", "destination"),
    ("process.send({}, 't', 1)", "destination"),
    ("process.send('', 't', 1)", "destination"),
    ("process.send(process.pid(), 42, 1)", "topic"),
    ("process.send(process.pid(), '', 1)", "topic"),
    ("process.send('somebody', nil, 1)", "topic"),
    ("process.send(process.pid(), 't', function() end)", "function"),
    ("process.spawn(42, nil)", "entry"),
    ("process.spawn('app:echo', 42)", "host"),
    ("process.exec(nil, nil)", "entry"),
    ("process.spawn_linked_monitored({}, nil)", "entry"),
    ("process.terminate(42)", "destination"),
    ("process.cancel(true)", "destination"),
    ("process.cancel(process.pid(), {})", "deadline"),
    ("process.monitor(nil)", "destination"),
    ("process.unmonitor({})", "destination"),
    ("process.link(1.5)", "destination"),
    ("process.unlink(false)", "destination"),
    ("process.listen(42)", "topic"),
    ("process.listen('t', 42)", "options"),
    ("process.unlisten('t')", "channel"),
    ("process.set_options(42)", "options"),
    ("process.registry.register(42)", "name"),
    ("process.registry.register('n', 42)", "pid"),
    ("process.registry.lookup({})", "name"),
    ("process.registry.unregister(nil)", "name"),
]


@pytest.mark.parametrize("call,argument", BAD_CALLS, ids=[c for c, _ in BAD_CALLS])
async def test_wrong_types_give_invalid_naming_the_argument(run, call: str, argument: str):
    out = await run(f"""
        local v, err = {call}
        return {{v, err and err:kind(), err and err:message()}}
    """)
    assert out[0] in (None, False) and out[1] == "INVALID", out
    assert argument in out[2], out


CROSSING = [
    ("process.send(process.pid(), 't', 1, coroutine.create(print))", "process.send: argument #4: a Lua thread"),
    ("process.send('a-name', 't', print)", "process.send: argument #3: a Lua function"),
    ("process.spawn_linked('app:echo', nil, print)", "process.spawn_linked: argument #3: a Lua function"),
    ("process.spawn_monitored('app:echo', nil, 1, print)", "process.spawn_monitored: argument #4: a Lua function"),
    ("process.with_options({f = print}):exec('app:echo', nil)", "process.exec: with_options: a Lua function"),
    ("process.with_message('t', print):spawn('app:echo', nil)", "process.spawn: with_message: a Lua function"),
    ("process.listen('t', {f = print})", "process.listen: argument #2: a Lua function"),
    ("process.registry.lookup(coroutine.create(print))", "process.registry.lookup: argument #1: a Lua thread"),
    ("process.cancel(process.pid(), print)", "process.cancel: argument #2: a Lua function"),
]


@pytest.mark.parametrize("call,fragment", CROSSING, ids=[c for c, _ in CROSSING])
async def test_a_value_that_cannot_cross_names_the_call_and_the_argument(run, call: str, fragment: str):
    # (it used to be "a Lua function cannot be converted to data", for a coroutine too, naming nothing)
    out = await run(f"""
        local v, err = {call}
        return {{v, err and err:kind(), err and err:message()}}
    """)
    assert out[0] is None and out[1] == "INVALID" and out[2] == fragment + " cannot be converted to data", out


async def test_messages_quote_a_long_string_cut_short(run):
    out = await run("""
        local huge = ("h"):rep(100000)
        local out = {}
        for _, r in ipairs{{process.send("{" .. huge, "t")}, {process.send(process.pid(), "@" .. huge)},
                           {process.spawn("x" .. huge)}, {process.cancel(process.pid(), huge)},
                           {process.registry.register("{" .. huge)}} do
          out[#out + 1] = #r[2]:message()
        end
        return out
    """)
    assert all(n < 300 for n in out), out


BUILDER_ERRORS = [
    ("process.with_options(42)", "with_options"),
    ("process.with_context('x')", "with_context"),
    ("process.with_name(42)", "with_name"),
    ("process.with_message(42)", "with_message"),
]


@pytest.mark.parametrize("call,name", BUILDER_ERRORS, ids=[c for c, _ in BUILDER_ERRORS])
async def test_builders_raise_a_lua_error_naming_the_call(run, call: str, name: str):
    out = await run(f"local ok, err = pcall(function() return {call} end) return {{ok, tostring(err)}}")
    assert out[0] is False and name in out[1]


async def test_a_listen_unlisten_loop_keeps_a_bounded_set_of_sources(tmp_path):
    """Each listen makes a mailbox the driver observes and gates; unlisten closes it. The driver must let go of
    closed, empty ones, or a long-running loop costs more per message (the gate walks every gated mailbox)."""
    import gc

    from pidflow.lua_bindings._driver import LuaProcess

    main = body("""
        local me = process.pid()
        for i = 1, 300 do
          local ch = process.listen("t")
          process.send(me, "t", i)
          assert(ch:receive() == i)
          process.unlisten(ch)
          if i % 2 == 0 then process.unlisten(process.listen("u")) end   -- never received from
        end
        process.inbox():receive()
    """)
    async with pidflow.open_node(make_app(tmp_path, main)) as node:
        pid = await node.process.spawn("app:main", None, None)
        with trio.fail_after(20):
            while True:
                procs = [o for o in gc.get_objects() if isinstance(o, LuaProcess) and o.entry_id == "app:main"]
                proc = max(procs, key=lambda p: p._op_seq, default=None)
                if proc is not None and proc._op_seq >= 450:  # 450 listens: the loop is done
                    await trio.sleep(0.05)
                    break
                await trio.sleep(0.01)
        assert len(proc._sources) <= 4, len(proc._sources)
        assert len(proc._gated) <= 4, len(proc._gated)
        await node.process.terminate(pid)
