"""The ``funcs`` Lua module in local processes (_funcs_module.py): ``call``, ``async`` and its Future, executors,
bad input, and calls of real ``function.lua``/``function.py`` entries on a node."""

from __future__ import annotations

import sys
import textwrap
import uuid
from typing import Any

import pytest
import trio

import pidflow
from lua_helpers import main_body, make_process
from pidflow import entries
from pidflow.errors import Error, ErrorKind
from pidflow.lua_bindings import TrioBackend

pytestmark = pytest.mark.trio


class Functions:
    """A fake function runner: ``app:echo`` answers its arguments and context, ``app:slow`` sleeps ``args[0]``
    seconds, ``app:fail`` raises the error its arguments describe. Records starts, ends and cancellations."""

    def __init__(self) -> None:
        self.started: list[tuple[str, list[Any]]] = []
        self.cancelled: list[str] = []
        self.finished: list[str] = []
        self.calls: list[tuple[str, list[Any], dict[str, Any], Any]] = []

    async def __call__(self, entry: str, args: list[Any], options: Any, *, context: Any = None) -> Any:
        self.started.append((entry, args))
        self.calls.append((entry, args, dict(options), context))
        try:
            if entry == "app:slow":
                await trio.sleep(args[0])
                return {"slept": args[0], "tag": args[1] if len(args) > 1 else None}
            if entry == "app:fail":
                raise Error(args[0], args[1], retryable=args[2] if len(args) > 2 else None)
            return {"args": args, "ctx": context}
        except trio.Cancelled:
            self.cancelled.append(entry)
            raise
        finally:
            self.finished.append(entry)


async def run(body: str, functions: Functions | None = None, input: Any = None, context: Any = None) -> Any:
    backend = TrioBackend(call_function=functions or Functions(), context=context)
    return await make_process(main_body(body), backend=backend).run(input)


# ---------------------------------------------------------------- call

async def test_call_passes_entry_args_and_options():
    functions = Functions()
    out = await run("""
        local funcs = require("funcs")
        local a = funcs.call("app:charge", {amount = 5}, 2)
        local ex = funcs.new():with_options({["activity.retry_policy"] = {maximum_attempts = 1}})
        local b = ex:call("app:refund", "pay-1")
        return {a.args, b.args}
    """, functions)
    assert out == [[{"amount": 5}, 2], ["pay-1"]]
    assert [(e, o, c) for e, _, o, c in functions.calls] == [
        ("app:charge", {}, None), ("app:refund", {"activity.retry_policy": {"maximum_attempts": 1}}, None)]


async def test_call_failure_is_nil_err_with_kind_and_retryable():
    assert await run("""
        local r, err = require("funcs").call("app:fail", "NOT_FOUND", "no such order", false)
        local r2, err2 = require("funcs").call("app:fail", "RATE_LIMITED", "slow down")
        return {r == nil, err:kind(), err:retryable(), err:message(), err2:kind(), err2:retryable()}
    """) == [True, "NOT_FOUND", False, "no such order", "RATE_LIMITED", True]


# ---------------------------------------------------------------- async and the Future

async def test_async_returns_a_future_whose_channel_yields_a_payload_once_then_closes():
    out = await run("""
        local funcs = require("funcs")
        local f, err = funcs.async("app:echo", "async test", 2)
        local before = f:is_complete()
        local ch = f:response()
        local payload, ok = ch:receive()
        local again, ok2 = ch:receive()
        local r, rerr = f:result()
        local e, has = f:error()
        return {err == nil, before, payload:data().args, ok, again == nil, ok2, f:is_complete(), r == payload,
                rerr == nil, e == nil, has, f:channel() == ch, f:is_canceled(), getmetatable(f)}
    """)
    assert out == [True, False, ["async test", 2], True, True, False, True, True, True, True, False, True, False,
                   "future"]


async def test_result_is_nil_nil_while_pending_and_never_blocks(autojump_clock):
    out = await run("""
        local f = require("funcs").async("app:slow", 5, "x")
        local v, e = f:result()
        local err, has = f:error()
        local pending = {v == nil, e == nil, err == nil, has, f:is_complete()}
        local payload = f:channel():receive()
        return {pending, payload:data().tag, f:is_complete()}
    """)
    assert out == [[True, True, True, False, False], "x", True]


async def test_a_failed_call_yields_its_error_with_kind_and_retryable_kept():
    out = await run("""
        local f = require("funcs").async("app:fail", "RATE_LIMITED", "quota", false)
        local got, ok = f:response():receive()
        local v, err = f:result()
        local e, has = f:error()
        return {ok, got:kind(), got:retryable(), got:message(), v == nil, err == got, e == got, has, f:is_complete()}
    """)
    assert out == [True, "RATE_LIMITED", False, "quota", True, True, True, True, True]


async def test_futures_run_concurrently_and_select_takes_the_first_done(autojump_clock):
    start = trio.current_time()
    out = await run("""
        local funcs = require("funcs")
        local slow = funcs.async("app:slow", 2, "slow")
        local fast = funcs.async("app:slow", 1, "fast")
        local r = channel.select{slow:channel():case_receive(), fast:channel():case_receive()}
        local second = slow:response():receive()
        return {r.channel == fast:channel(), r.value:data().tag, r.ok, second:data().tag}
    """)
    assert out == [True, "fast", True, "slow"]
    assert trio.current_time() - start == pytest.approx(2)  # (the mock clock: both slept at once)


async def test_a_channel_asked_for_after_completion_still_yields_the_outcome_once(autojump_clock):
    out = await run("""
        local f = require("funcs").async("app:slow", 1, "late")
        require("time").sleep("2s")
        local complete = f:is_complete()
        local ch = f:response()
        local p, ok = ch:receive()
        local _, ok2 = ch:receive()
        return {complete, p:data().tag, ok, ok2}
    """)
    assert out == [True, "late", True, False]


async def test_cancel_stops_the_call_and_settles_the_future_as_canceled(autojump_clock):
    functions = Functions()
    out = await run("""
        local f = require("funcs").async("app:slow", 60, "x")
        require("time").sleep("1s")                 -- the call is running
        local first = f:cancel()
        local got, ok = f:response():receive()
        local v, err = f:result()
        local e, has = f:error()
        require("time").sleep("1s")                 -- the cancelled call has ended meanwhile
        return {first, f:cancel(), f:is_canceled(), f:is_complete(), got:kind(), ok, v == nil, err:kind(),
                err:retryable(), e:kind(), has}
    """, functions)
    assert out == [True, True, True, True, "CANCELED", True, True, "CANCELED", False, "CANCELED", True]
    assert functions.cancelled == ["app:slow"]


async def test_cancel_before_the_call_started_never_starts_it():
    functions = Functions()
    out = await run("""
        local f = require("funcs").async("app:echo", 1)
        local c = f:cancel()                        -- same step: its coroutine has not run yet
        local v, err = f:result()
        return {c, err:kind()}
    """, functions)
    assert out == [True, "CANCELED"]
    assert functions.started == []


async def test_cancel_after_completion_changes_nothing():
    out = await run("""
        local f = require("funcs").async("app:echo", 1)
        local p = f:response():receive()
        local c = f:cancel()
        local v, err = f:result()
        return {c, f:is_canceled(), v == p, err == nil}
    """)
    assert out == [False, False, True, True]


async def test_a_wait_on_a_future_is_no_deadlock(autojump_clock):
    assert await run("return require('funcs').async('app:slow', 3, 'z'):response():receive():data().tag") == "z"


async def test_calls_still_running_end_with_the_process(autojump_clock):
    functions = Functions()
    out = await run("""
        local f = require("funcs").async("app:slow", 3600, "forever")
        require("time").sleep("10s")
        return f:is_complete()
    """, functions)
    assert out is False
    assert functions.cancelled == ["app:slow"]


async def test_a_terminated_process_cancels_its_calls(autojump_clock):
    functions = Functions()
    proc = make_process(main_body("""
        require("funcs").async("app:slow", 3600, "forever")
        channel.new(0):receive()                    -- (not a deadlock: the call is pending)
    """), backend=TrioBackend(call_function=functions))
    ended: list[Error] = []

    async def running() -> None:
        try:
            await proc.run()
        except Error as exc:
            ended.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(running)
        await trio.sleep(1)
        proc.terminate()
    assert [e.kind for e in ended] == [ErrorKind.TERMINATED]
    assert functions.cancelled == ["app:slow"]


# ---------------------------------------------------------------- executors

async def test_executor_builders_are_immutable_and_merge():
    functions = Functions()
    out = await run("""
        local funcs = require("funcs")
        local base = funcs.new()
        local a = base:with_context({trace_id = "abc"})
        local b = a:with_context({user = 7}):with_options({x = 1})
        local c = b:with_options({y = 2})
        local r0 = base:call("app:echo")
        local r1 = a:call("app:echo")
        local r2 = c:call("app:echo", "arg")
        local f = b:async("app:echo")
        local r3 = f:response():receive():data()
        return {base ~= a, r0.ctx == nil, r1.ctx, r2.ctx, r2.args, r3.ctx}
    """, functions, context={"tenant": "t"})
    assert out == [True, True, {"tenant": "t", "trace_id": "abc"}, {"tenant": "t", "trace_id": "abc", "user": 7},
                   ["arg"], {"tenant": "t", "trace_id": "abc", "user": 7}]
    assert [options for _, _, options, _ in functions.calls] == [{}, {}, {"x": 1, "y": 2}, {"x": 1}]


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, message", [
    ("funcs.call(5)", "funcs.call: the function id must be a string 'namespace:name', got number"),
    ("funcs.call('')", "funcs.call: function id '' must be 'namespace:name'"),
    ("funcs.call('nons')", "function id 'nons' must be 'namespace:name'"),
    ("funcs.call('app:')", "function id 'app:' must be 'namespace:name'"),
    ("funcs.async(nil)", "funcs.async: the function id must be a string 'namespace:name', got nil"),
    ("funcs.async(':x')", "function id ':x' must be 'namespace:name'"),
    ("funcs.async('app:echo', function() end)", "cannot be converted"),
    ("funcs.new():async('app:echo', coroutine.create(print))", "cannot be converted"),
    ("funcs.call('app:echo', setmetatable({}, {__index = function() end}), {[{}] = 1})", "table keys"),
])
async def test_bad_targets_and_arguments_are_nil_err_invalid(call, message):
    functions = Functions()
    out = await run(f"local funcs = require('funcs') local v, err = {call} return {{v == nil, err:kind(), err:message()}}",
                    functions)
    assert out[:2] == [True, "INVALID"] and message in out[2], out
    assert functions.started == []


@pytest.mark.parametrize("call, message", [
    ("funcs.new():with_context(5)", "bad argument #1 to 'executor:with_context' (table expected, got number)"),
    ("funcs.new():with_options('x')", "bad argument #1 to 'executor:with_options' (table expected, got string)"),
    ("funcs.async('app:echo').result()", "bad argument #1 to 'future:result' (a future expected, got nil)"),
    ("funcs.async('app:echo').cancel({})", "bad argument #1 to 'future:cancel' (a future expected, got table)"),
])
async def test_misused_builders_and_futures_raise_naming_the_argument(call, message):
    out = await run(f"local funcs = require('funcs') local ok, err = pcall(function() local v = {call} return v end) "
                    "return {ok, err}")
    assert out[0] is False and message in out[1] and out[1].startswith("test.lua:2: "), out


async def test_a_list_as_executor_context_is_invalid():
    out = await run("""
        local v, err = require("funcs").new():with_context({1, 2}):call("app:echo")
        return {v == nil, err:kind(), err:message()}
    """)
    assert out == [True, "INVALID", "with_context expects a table of named values, got a list"]


async def test_without_a_function_runner_calls_are_unavailable():
    out = await make_process(main_body("""
        local v, err = require("funcs").call("app:x")
        local f = require("funcs").async("app:x")
        local fv, ferr = f:response():receive()
        return {err:kind(), fv:kind()}
    """), backend=TrioBackend()).run()
    assert out == ["UNAVAILABLE", "UNAVAILABLE"]


async def test_the_future_code_loads_only_when_used():
    out = await run("""
        local funcs = require("funcs")
        local before = rawget(funcs, "async") == nil and rawget(funcs, "new") == nil
        local _ = funcs.new
        return {before, rawget(funcs, "async") ~= nil}
    """)
    assert out == [True, True]


# ---------------------------------------------------------------- real function entries on a node

PY_FUNCTIONS = """
import trio
import pidflow
from pidflow import Error, ErrorKind

CANCELLED = []

def add(a, b):
    return {"sum": a + b, "trace": pidflow.ctx.get("trace_id"), "tenant": pidflow.ctx.get("tenant")}

async def slow(tag):
    try:
        await trio.sleep(3600)
    except trio.Cancelled:
        CANCELLED.append(tag)
        raise

def limited():
    raise Error(ErrorKind.RATE_LIMITED, "quota", retryable=False)
"""

LUA_FUNCTIONS = """
local ctx = require("ctx")
return {
  greet = function(name) return "hi " .. name .. " (" .. tostring(ctx.get("trace_id")) .. ")" end,
  fail = function(kind, retryable) return nil, errors.new{kind = kind, message = "lua failed", retryable = retryable} end,
  plain = function() return nil, errors.new("plain") end,
}
"""


@pytest.fixture
def node_app(tmp_path):
    module = f"funcs_test_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(PY_FUNCTIONS)
    (tmp_path / "fns.lua").write_text(LUA_FUNCTIONS)

    def build(main: str) -> tuple[entries.Registry, str]:
        (tmp_path / "main.lua").write_text(main_body(main))
        specs = [
            {"name": "main", "kind": "process.lua", "source": "file://main.lua", "method": "main",
             "modules": ["funcs", "time"]},
            {"name": "greet", "kind": "function.lua", "source": "file://fns.lua", "method": "greet", "modules": ["ctx"]},
            {"name": "fail", "kind": "function.lua", "source": "file://fns.lua", "method": "fail", "modules": ["ctx"]},
            {"name": "plain", "kind": "function.lua", "source": "file://fns.lua", "method": "plain", "modules": ["ctx"]},
            {"name": "add", "kind": "function.py", "source": f"{module}:add"},
            {"name": "slow", "kind": "function.py", "source": f"{module}:slow"},
            {"name": "limited", "kind": "function.py", "source": f"{module}:limited"},
        ]
        return entries.from_dicts("app", specs, base=tmp_path), module

    return build


async def test_async_runs_lua_and_python_functions_with_the_executors_context(node_app):
    registry, _ = node_app("""
        local ex = require("funcs").new():with_context({trace_id = "t-1"})
        local f1 = ex:async("app:greet", "ann")
        local f2 = ex:async("app:add", 2, 3)
        local f3 = require("funcs").async("app:add", 1, 1)
        return {f1:response():receive():data(), f2:response():receive():data(), f3:response():receive():data()}
    """)
    async with pidflow.open_node(registry) as node:
        out = await node.process.with_context({"tenant": "acme"}).exec("app:main")
    assert out == ["hi ann (t-1)", {"sum": 5, "trace": "t-1", "tenant": "acme"}, {"sum": 2, "tenant": "acme"}]  # (no trace: a nil drops out)


async def test_errors_keep_kind_and_retryable_across_calls_of_real_functions(node_app):
    registry, _ = node_app("""
        local funcs = require("funcs")
        local _, e1 = funcs.call("app:fail", errors.RATE_LIMITED, false)
        local _, e2 = funcs.call("app:fail", errors.INVALID, true)
        local _, e3 = funcs.call("app:limited")
        local e4 = funcs.async("app:fail", errors.CONFLICT, true):response():receive()
        local _, e5 = funcs.call("app:plain")
        local out = {}
        for i, e in ipairs({e1, e2, e3, e4, e5}) do out[i] = {e:kind(), e:retryable(), e:message()} end
        return out
    """)
    async with pidflow.open_node(registry) as node:
        out = await node.process.exec("app:main")
    assert out == [["RATE_LIMITED", False, "lua failed"], ["INVALID", True, "lua failed"],
                   ["RATE_LIMITED", False, "quota"], ["CONFLICT", True, "lua failed"],
                   # retryable nil crossed into Python: UNKNOWN's default
                   ["UNKNOWN", False, "plain"]]


async def test_cancel_cancels_a_running_python_function(node_app):
    registry, module = node_app("""
        local f = require("funcs").async("app:slow", "one")
        require("time").sleep("50ms")
        local c = f:cancel()
        local got = f:response():receive()
        require("time").sleep("50ms")
        return {c, got:kind()}
    """)
    async with pidflow.open_node(registry) as node:
        out = await node.process.exec("app:main")
    assert out == [True, "CANCELED"]
    assert sys.modules[module].CANCELLED == ["one"]


async def test_a_function_that_returns_before_its_async_call_ends_cancels_it(node_app, tmp_path):
    registry, module = node_app("return require('funcs').call('app:starter')")
    (tmp_path / "starter.lua").write_text(textwrap.dedent("""
        return {main = function()
          require("funcs").async("app:slow", "orphan")
          require("time").sleep("50ms")
          return "returned"
        end}
    """))
    registry.add(entries.from_dicts("app", [{"name": "starter", "kind": "function.lua", "source": "file://starter.lua",
                                            "method": "main", "modules": ["funcs", "time"]}], base=tmp_path)
                 .get("app:starter"))
    async with pidflow.open_node(registry) as node:
        assert await node.process.exec("app:main") == "returned"
    assert sys.modules[module].CANCELLED == ["orphan"]
