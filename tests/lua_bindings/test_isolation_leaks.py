"""Nothing from Python leaks into Lua, and pidflow's Lua objects keep their internals (issue 9, point 4): a Lua
process never holds a Python object (an exception as userdata), cannot write what the core or the driver trust
(a channel's source id), cannot forge a value into a task parked in a channel operation, and a message it could
not receive fails its *sender*. Errors name the file and line, even a stack overflow."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio

import pidflow
from pidflow import entries
from pidflow.errors import Error, ErrorKind
from pidflow.lua_bindings import register_module

from lua_helpers import main_body, make_process

pytestmark = pytest.mark.trio

ECHO_LUA = """
local function echo()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    process.send(msg:from(), "echo", msg:payload():data())
  end
end
local function main(input) return (load(input.code, "=main.lua"))() end
return {echo = echo, main = main}
"""


def _registry(tmp_path: Path) -> entries.Registry:
    (tmp_path / "leaks.lua").write_text(ECHO_LUA)
    (tmp_path / "pychild.py").write_text("async def opaque(_input):\n    return object()\n")
    return entries.from_dicts("app", [
        {"name": "echo", "kind": "process.lua", "source": "file://leaks.lua", "method": "echo"},
        {"name": "main", "kind": "process.lua", "source": "file://leaks.lua", "method": "main",
         "modules": ["time"]},
        {"name": "opaque", "kind": "process.py", "source": "pychild:opaque"},
    ], base=tmp_path)


async def _main(tmp_path: Path, code: str) -> Any:
    async with pidflow.open_node(_registry(tmp_path)) as node:
        return await node.process.exec("app:main", None, {"code": textwrap.dedent(code)})


# ---------------------------------------------------------------- internals out of reach


async def test_rewriting_a_channels_fields_changes_nothing_and_leaks_no_python_object(tmp_path):
    # before: rawset(process.inbox(), "src", 999) made the driver raise KeyError, which reached Lua as userdata
    out = await _main(tmp_path, """
        local inbox = process.inbox()
        rawset(inbox, "src", 999)
        rawset(inbox, "recvq", "garbage")
        rawset(inbox, "make", function() return "forged" end)
        process.send(process.pid(), "self", 42)
        local ok, msg = pcall(inbox.receive, inbox)
        return {ok, type(msg), ok and msg:payload():data(), getmetatable(inbox), pcall(setmetatable, inbox, nil)}
    """)
    assert out == [True, "table", 42, "channel", False, "cannot change a protected metatable"]


async def test_a_channels_internals_are_not_reachable_through_select_either(lua):
    out = await lua("""
        local ch = channel.new(1)
        ch:send("real")
        local forged = {op = "recv", ch = {src = 1}}
        local ok, err = pcall(channel.select, {forged})
        local r = channel.select{ch:case_receive()}
        return {ok, err, r.channel == ch, r.value}
    """)
    assert out[0] is False and "is not a channel case" in out[1]
    assert out[2:] == [True, "real"]


async def test_a_failing_python_function_gives_lua_an_error_value_never_a_python_object(lua):
    def explode(*_args: Any) -> None:
        raise RuntimeError("secret")

    register_module("explode", lambda ctx: ctx.table(now=ctx.function(explode), raw=ctx.function(explode, raw=True)),
                    replace=True)
    out = await lua("""
        local m = require("explode")
        local v1, e1 = m.now()
        local v2, e2 = m.raw({1, 2})
        return {type(e1), e1:kind(), type(e2), e2:kind()}
    """, modules=["explode"])
    assert out == ["table", "INTERNAL", "table", "INTERNAL"]


# ---------------------------------------------------------------- what a Lua process cannot receive fails its sender


@pytest.mark.parametrize("data", [object(), {math.nan: 1}, {None: 1}, {(1, 2): 3}, 2**70, "\ud800", {1, 2}],
                         ids=["object", "nan-key", "none-key", "tuple-key", "huge-int", "surrogate", "set"])
async def test_a_python_sender_of_a_value_lua_cannot_hold_fails_and_the_lua_receiver_goes_on(tmp_path, data):
    async with pidflow.open_node(_registry(tmp_path)) as node:
        pid = await node.process.spawn_monitored("app:echo")
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(Error) as info:
            await node.process.send(pid, "bad", data)
        assert info.value.kind is ErrorKind.INVALID
        await node.process.send(pid, "good", [1, 2.5, "three"])
        with trio.fail_after(10):
            reply = await node.process.inbox().receive()
        assert (reply.topic, reply.data) == ("echo", [1, 2.5, "three"])
        await node.process.terminate(pid)


async def test_an_exit_result_lua_cannot_hold_reaches_a_lua_watcher_as_invalid(tmp_path):
    out = await _main(tmp_path, """
        local pid = assert(process.spawn_monitored("app:opaque", nil, nil))
        local ev = process.events():receive()
        return {ev.kind, ev.from == pid, ev.result.value == nil, ev.result.error:kind()}
    """)
    assert out == ["pid.exit", True, True, "INVALID"]


# ---------------------------------------------------------------- tasks belong to the scheduler


async def test_a_spawned_task_parked_in_receive_cannot_be_resumed_with_a_forged_value(lua):
    out = await lua("""
        local ch, task, got = channel.new(), nil, nil
        coroutine.spawn(function()
          task = coroutine.running()
          got = ch:receive()
        end)
        require("time").sleep(0)
        local ok, err = coroutine.resume(task, "forged")
        local cok, cerr = pcall(coroutine.close, task)
        ch:send("real")
        require("time").sleep(0)
        return {ok, err, cok, cerr:match("cannot close a task's coroutine") ~= nil, got}
    """)
    assert out == [False, "cannot resume a task's coroutine: the scheduler runs it", False, True, "real"]


async def test_the_main_task_cannot_be_resumed_from_a_spawned_one(lua):
    out = await lua("""
        local main, ch, res = coroutine.running(), channel.new(), nil
        coroutine.spawn(function() res = {coroutine.resume(main, "forged")} ch:send("real") end)
        return {ch:receive(), res[1], res[2]}
    """)
    assert out == ["real", False, "cannot resume a task's coroutine: the scheduler runs it"]


async def test_user_coroutines_still_resume(lua):
    assert await lua("""
        local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
        local _, x = coroutine.resume(co, 1)
        local _, y = coroutine.resume(co, 5)
        return {x, y, coroutine.running() ~= nil}
    """) == [2, 10, True]


# ---------------------------------------------------------------- errors say where


@pytest.mark.parametrize("code", [
    "local function f() return 1 + f() end return f()",
    "local function f() local ok, e = pcall(f) if not ok then error(e, 0) end end return f()",
    "local t = setmetatable({}, {__index = function(s, k) return s[k] end}) return t.x",
    "local function f() local r = coroutine.wrap(f)() return r end return f()",
], ids=["lua-stack", "pcall-c-stack", "metamethod-c-stack", "coroutine-c-stack"])
async def test_infinite_recursion_reports_the_file_and_line(code):
    proc = make_process(main_body(code), max_memory=256 * 1024 * 1024)
    with pytest.raises(Error, match=r"^INTERNAL: test\.lua:\d+: .*stack overflow") as info:
        await proc.run()
    assert info.value.kind is ErrorKind.INTERNAL
