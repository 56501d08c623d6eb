"""Micro-benchmarks of the Lua runtime (not a test). Run: .venv/bin/python tests/lua_bindings/bench_lua.py

Prints: Lua<->Python ping-pong round trips per second inside one process, pure-Lua channel ping-pong, the
memory of 2,000 idle Lua processes (each parked on an inbox receive), and the cost of the preemption hook.
"""

from __future__ import annotations

import gc
import os
import sys
import time

import lupa.lua54 as lupa
import trio

sys.path.insert(0, os.path.dirname(__file__))
from lua_helpers import main_body, make_process  # noqa: E402

from pidflow.lua_bindings import register_module  # noqa: E402


class Mailbox:
    def __init__(self) -> None:
        self.send, self.recv = trio.open_memory_channel(1000)

    def receive_nowait(self):
        return self.recv.receive_nowait()

    async def receive(self):
        return await self.recv.receive()


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def lua_python_ping_pong(n: int) -> float:
    inbox, replies = Mailbox(), trio.open_memory_channel(1000)

    async def reply(v):
        await replies[0].send(v)
        return True

    register_module("bench", lambda ctx: ctx.table(inbox=ctx.function(lambda: ctx.source_channel(inbox), raw=True),
                                                   reply=ctx.blocking(reply)), replace=True)
    proc = make_process(main_body("""
        local b = require("bench")
        local inbox = b.inbox()
        while true do
            local v, ok = inbox:receive()
            if not ok or v < 0 then return end
            b.reply(v + 1)
        end
    """), modules=["bench"])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(proc.run)
        t0 = time.perf_counter()
        for i in range(n):
            await inbox.send.send(i)
            assert await replies[1].receive() == i + 1
        dt = time.perf_counter() - t0
        await inbox.send.send(-1)
    return n / dt


async def lua_channel_ping_pong(n: int) -> float:
    proc = make_process(main_body("""
        local a, b = channel.new(), channel.new()
        coroutine.spawn(function() while true do local v = a:receive() b:send(v + 1) end end)
        for i = 1, input do b:receive(a:send(i)) end
    """.replace("b:receive(a:send(i))", "a:send(i) b:receive()")))
    t0 = time.perf_counter()
    await proc.run(n)
    return n / (time.perf_counter() - t0)


async def idle_processes(count: int) -> tuple[float, float]:
    gc.collect()
    before = rss_bytes()
    boxes = [Mailbox() for _ in range(count)]
    register_module("idle", lambda ctx: ctx.table(inbox=ctx.function(lambda: ctx.source_channel(ctx.backend.context["box"]),
                                                                      raw=True)), replace=True)
    from pidflow.lua_bindings import TrioBackend

    src = main_body("local inbox = require('idle').inbox() local v = inbox:receive() return v")
    lua_kb = 0.0
    async with trio.open_nursery() as nursery:
        procs = []
        for box in boxes:
            p = make_process(src, modules=["idle"], backend=TrioBackend(context={"box": box}))
            procs.append(p)
            nursery.start_soon(p.run)
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        after = rss_bytes()
        lua_kb = sum(p._rt.lua.execute("collectgarbage('collect') return collectgarbage('count')") for p in procs[:50]) / 50
        for box in boxes:
            box.send.send_nowait("bye")
    return (after - before) / count, lua_kb * 1024


def hook_overhead() -> tuple[float, float]:
    loop = "local x = 0 for i = 1, 3e7 do x = x + i % 7 end return x"
    raw = lupa.LuaRuntime()
    t0 = time.perf_counter()
    raw.execute(loop)
    bare = time.perf_counter() - t0

    async def hooked() -> float:
        proc = make_process(main_body(loop))
        t1 = time.perf_counter()
        await proc.run()
        return time.perf_counter() - t1

    return bare, trio.run(hooked)


async def main() -> None:
    import trio.testing  # noqa: F401

    print(f"Lua<->Python ping-pong (mailbox in, blocking call out): {await lua_python_ping_pong(20000):,.0f} round trips/s")
    print(f"pure Lua channel ping-pong (two coroutines):            {await lua_channel_ping_pong(200000):,.0f} round trips/s")
    per_rss, per_lua = await idle_processes(2000)
    print(f"2,000 idle Lua processes: {per_rss / 1024:.1f} KiB RSS each (Lua heap {per_lua / 1024:.1f} KiB each)")


if __name__ == "__main__":
    trio.run(main)
    bare, hooked = hook_overhead()
    print(f"preemption hook: 3e7-iteration loop {bare:.3f} s bare vs {hooked:.3f} s hooked ({(hooked / bare - 1) * 100:+.1f}%)")
