"""The Lua scheduler, channels, select, coroutines, sources and blocking calls (_core.lua, _driver.py)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from pidflow.errors import Error, ErrorKind
from pidflow.lua_bindings import TrioBackend, register_module

from lua_helpers import main_body, make_process

pytestmark = pytest.mark.trio


async def test_unbuffered_channel_is_a_rendezvous(lua):
    out = await lua("""
        local ch, log = channel.new(), {}
        coroutine.spawn(function() table.insert(log, "send"); ch:send(1); table.insert(log, "sent") end)
        table.insert(log, "recv")
        local v = ch:receive()
        table.insert(log, "got")
        coroutine.spawn(function() end)
        require("time").sleep(0)
        return {v, log}
    """)
    assert out == [1, ["recv", "send", "sent", "got"]]


async def test_buffered_channel_send_does_not_block_until_full(lua):
    assert await lua("""
        local ch = channel.new(2)
        ch:send("a"); ch:send("b")
        return {ch:len(), (ch:receive()), (ch:receive())}
    """) == [2, "a", "b"]


async def test_receive_on_closed_drained_channel_returns_nil_false(lua):
    assert await lua("""
        local ch = channel.new(1)
        ch:send(7); ch:close()
        local a, ok1 = ch:receive()
        local b, ok2 = ch:receive()
        return {a, ok1, b == nil, ok2}
    """) == [7, True, True, False]


async def test_send_on_closed_channel_raises(lua):
    with pytest.raises(Error, match="send on closed channel"):
        await lua("local ch = channel.new(1) ch:close() ch:send(1)")


async def test_channel_carries_nil_values(lua):
    assert await lua("local ch = channel.new(2) ch:send(nil) local v, ok = ch:receive() return {v == nil, ok}") == [True, True]


async def test_close_wakes_blocked_receivers(lua):
    assert await lua("""
        local ch, done = channel.new(), channel.new(2)
        for i = 1, 2 do coroutine.spawn(function() local v, ok = ch:receive(); done:send(ok) end) end
        require("time").sleep(0)
        ch:close()
        return {(done:receive()), (done:receive())}
    """) == [False, False]


async def test_select_picks_the_ready_case(lua):
    assert await lua("""
        local a, b = channel.new(1), channel.new(1)
        b:send("x")
        local r = channel.select{a:case_receive(), b:case_receive()}
        return {r.channel == b, r.value, r.ok}
    """) == [True, "x", True]


async def test_select_with_default_does_not_block(lua):
    assert await lua("""
        local a = channel.new()
        local r1 = channel.select{a:case_receive(), default = true}
        local r2 = channel.select{a:case_receive(), channel.default()}
        return {r1.default, r2.default}
    """) == [True, True]


async def test_select_send_case_completes_when_receiver_arrives(lua):
    assert await lua("""
        local a = channel.new()
        coroutine.spawn(function() require("time").sleep("5ms") end)
        coroutine.spawn(function() local v = a:receive(); _G.got = v end)
        local r = channel.select{a:case_send(42)}
        require("time").sleep(0)
        return {r.channel == a, got}
    """) == [True, 42]


async def test_select_with_timeout_returns_timer_channel(lua, autojump_clock):
    start = trio.current_time()
    out = await lua("""
        local time = require("time")
        local never = channel.new()
        local timeout = time.after("5s")
        local r = channel.select{never:case_receive(), timeout:case_receive()}
        return r.channel == timeout
    """)
    assert out is True
    assert trio.current_time() - start == pytest.approx(5.0)


async def test_select_leaves_no_waiter_behind_on_losing_channel(lua, autojump_clock):
    # a channel's queues are private to the core (user code cannot reach them): read through a probe module
    register_module("probe", lambda ctx: ctx.load_lua("local S = ... return S.queue_lengths", "probe", ctx.core),
                    replace=True)
    assert await lua("""
        local time = require("time")
        local never = channel.new()
        for i = 1, 50 do channel.select{never:case_receive(), time.after("1ms"):case_receive()} end
        return {require("probe")(never)}
    """, modules=["time", "probe"]) == [0, 0]


async def test_sleep_uses_nanoseconds_for_numbers(lua, autojump_clock):
    start = trio.current_time()
    await lua('local time = require("time") time.sleep(10 * time.MILLISECOND) time.sleep(1000000)')
    assert trio.current_time() - start == pytest.approx(0.011)


async def test_worker_pool_from_spec_runs(lua, autojump_clock):
    out = await lua("""
        local time = require("time")
        local work_queue, results = channel.new(10), channel.new(10)
        for w = 1, 3 do
            coroutine.spawn(function()
                while true do
                    local job, ok = work_queue:receive()
                    if not ok then break end
                    time.sleep(10 * time.MILLISECOND)
                    results:send({worker = w, job = job, result = job * 2})
                end
            end)
        end
        for j = 1, 6 do work_queue:send(j) end
        work_queue:close()
        local total = 0
        for _ = 1, 6 do total = total + results:receive().result end
        return total
    """)
    assert out == 42


async def test_blocking_inside_user_coroutine_passes_through(lua):
    assert await lua("""
        local ch = channel.new()
        coroutine.spawn(function() for i = 1, 3 do ch:send(i) end end)
        local gen = coroutine.wrap(function()
            for i = 1, 3 do coroutine.yield(ch:receive() * 10) end
        end)
        return {gen(), gen(), gen()}
    """) == [10, 20, 30]


async def test_user_coroutine_resume_and_status_work(lua):
    assert await lua("""
        local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
        local ok1, x = coroutine.resume(co, 1)
        local ok2, y = coroutine.resume(co, 5)
        return {ok1, x, ok2, y, coroutine.status(co)}
    """) == [True, 2, True, 10, "dead"]


async def test_yield_from_top_level_of_a_task_fails(lua):
    with pytest.raises(Error, match="coroutine.yield outside a coroutine"):
        await lua("coroutine.yield(1)")


async def test_deadlock_is_reported(lua):
    with pytest.raises(Error, match="deadlock") as info:
        await lua("channel.new():receive()")
    assert info.value.kind is ErrorKind.INTERNAL


async def test_error_in_spawned_coroutine_fails_the_process(lua):
    with pytest.raises(Error, match=r"test.lua:4: boom"):
        await lua("""
            coroutine.spawn(function()
                error("boom")
            end)
            require("time").sleep("1ms")
        """)


async def test_main_returning_nil_err_fails_with_that_error(lua):
    with pytest.raises(Error, match="NOT_FOUND: gone") as info:
        await lua('return nil, errors.new{kind = errors.NOT_FOUND, message = "gone"}')
    assert info.value.kind is ErrorKind.NOT_FOUND and info.value.retryable is False


async def test_raised_string_error_names_file_and_line(lua):
    with pytest.raises(Error, match=r"^INTERNAL: test.lua:4: bad thing$") as info:
        await lua("""
            local x = 1
            error("bad thing")
        """)
    assert "traceback" in info.value.details


async def test_raised_non_string_value_names_location(lua):
    with pytest.raises(Error, match=r"test.lua:2: table:"):
        await lua("error({})")


async def test_missing_main_method_is_invalid():
    with pytest.raises(Error, match="must return a function or a table with a function 'main'") as info:
        await make_process("return {}").run()
    assert info.value.kind is ErrorKind.INVALID


class _Mailbox:
    """A host mailbox double: trio memory channel with the receive_nowait/receive protocol."""

    def __init__(self, size=100):
        self.send, self.recv = trio.open_memory_channel(size)

    def receive_nowait(self):
        return self.recv.receive_nowait()

    async def receive(self):
        return await self.recv.receive()


def _register_inbox(mailbox):
    def factory(ctx):
        return ctx.table(inbox=ctx.function(lambda: ctx.source_channel(mailbox), raw=True))

    register_module("testbox", factory, replace=True)


async def test_external_source_delivers_in_order_without_loss():
    box = _Mailbox()
    _register_inbox(box)
    for i in range(3):
        box.send.send_nowait(i)
    proc = make_process(main_body("""
        local inbox, got = require("testbox").inbox(), {}
        for i = 1, 6 do got[#got + 1] = inbox:receive() end
        return got
    """), modules=["testbox"])
    async with trio.open_nursery() as n:
        async def feed():
            await trio.testing.wait_all_tasks_blocked()
            for i in range(3, 6):
                box.send.send_nowait(i)
        n.start_soon(feed)
        assert await proc.run() == [0, 1, 2, 3, 4, 5]


async def test_external_source_works_in_select_with_timeout(autojump_clock):
    box = _Mailbox()
    _register_inbox(box)
    proc = make_process(main_body("""
        local time = require("time")
        local inbox = require("testbox").inbox()
        local r1 = channel.select{inbox:case_receive(), time.after("1s"):case_receive()}
        local r2 = channel.select{inbox:case_receive(), time.after("1s"):case_receive()}
        return {r1.channel == inbox, r1.value, r2.channel == inbox}
    """), modules=["testbox", "time"])
    async with trio.open_nursery() as n:
        async def feed():
            await trio.sleep(0.5)
            box.send.send_nowait({"topic": "ping"})
        n.start_soon(feed)
        assert await proc.run() == [True, {"topic": "ping"}, False]


async def test_closed_external_source_receives_nil_false():
    box = _Mailbox()
    _register_inbox(box)
    await box.send.aclose()
    assert await make_process(main_body("""
        local v, ok = require("testbox").inbox():receive()
        return {v == nil, ok}
    """), modules=["testbox"]).run() == [True, False]


async def test_blocking_python_call_parks_only_its_coroutine():
    release = trio.Event()

    async def slow(x):
        await release.wait()
        return x * 2

    register_module("slow", lambda ctx: ctx.table(double=ctx.blocking(slow), release=ctx.function(release.set)),
                    replace=True)
    assert await make_process(main_body("""
        local slow, log = require("slow"), {}
        coroutine.spawn(function() table.insert(log, "other ran"); slow.release() end)
        local v, err = slow.double(21)
        table.insert(log, v)
        return log
    """), modules=["slow"]).run() == ["other ran", 42]


async def test_blocking_python_call_failure_returns_nil_err():
    async def fail():
        raise Error(ErrorKind.CONFLICT, "taken")

    register_module("failing", lambda ctx: ctx.table(go=ctx.blocking(fail)), replace=True)
    assert await make_process(main_body("""
        local v, err = require("failing").go()
        return {v == nil, err:kind(), tostring(err)}
    """), modules=["failing"]).run() == [True, "CONFLICT", "taken"]
