"""Memory limits hold at the boundary (issue 9, points 1 and 3): whatever Python hands a Lua process either fits
under its ``max_memory`` or ends *that process* with a memory error, and queued messages count against the limit.
Before, a value pushed into a full state aborted the interpreter (``PANIC: unprotected error in call to Lua API
(not enough memory)``) or, returned from a callback, deadlocked it; so every scenario runs in a child
interpreter (isolation_helpers)."""

from __future__ import annotations

import textwrap

import pytest

from isolation_helpers import run_isolated

MIB = 1024 * 1024


def _memory_error(error: list[str], limit: int) -> None:
    kind, message = error
    assert kind == "INTERNAL"
    assert f"exceeded its Lua memory limit of {limit} bytes" in message


@pytest.mark.parametrize("how", ["blocking", "function", "input", "source"])
def test_a_value_over_the_memory_limit_fails_the_process_not_the_interpreter(how):
    # 40 MB into a 32 MiB process: a blocking call's result (process.exec, funcs.call), a plain function's result
    # (a callback's return value), the input, and a message polled from a source
    out = run_isolated(f"""
        from pidflow.lua_bindings import TrioBackend, register_module
        BIG = "y" * 40_000_000

        async def fetch():
            return BIG

        class Box:
            def __init__(self): self.items = [BIG]
            def receive_nowait(self):
                if self.items: return self.items.pop()
                raise trio.WouldBlock
            async def receive(self): await trio.sleep_forever()

        register_module("big", lambda ctx: ctx.table(fetch=ctx.blocking(fetch), get=ctx.function(lambda: BIG),
                                                   box=ctx.function(lambda: ctx.source_channel(Box()), raw=True)),
                        replace=True)
        bodies = {{
            "blocking": "local v, err = require('big').fetch() return {{v ~= nil, tostring(err)}}",
            "function": "local v, err = require('big').get() return {{v ~= nil, tostring(err)}}",
            "input": "return #input",
            "source": "local v = require('big').box():receive() return #v",
        }}

        async def main():
            proc = make_process(main_body(bodies[{how!r}]), modules=["big"], max_memory=32 * 1024 * 1024)
            try:
                report(value=await proc.run(BIG if {how!r} == "input" else None))
            except Error as exc:
                report(error=error_of(exc), details=exc.details, retryable=exc.retryable)

        trio.run(main)
    """)
    assert "value" not in out, out
    _memory_error(out["error"], 32 * MIB)
    assert out["retryable"] is False
    assert out["details"]["max_memory"] == 32 * MIB


def test_a_value_arriving_when_the_heap_is_nearly_full_fails_cleanly():
    # the process fills its heap to a few KiB under the limit, then takes values from Python of growing size:
    # each one either fits or ends the process with a memory error
    out = run_isolated("""
        from pidflow.lua_bindings import register_module
        register_module("give", lambda ctx: ctx.table(give=ctx.function(lambda n: "z" * n)), replace=True)

        async def main():
            results = []
            for reserve in (1024, 8192, 40_000, 200_000):
                proc = make_process(main_body(f'''
                    local give, keep = require("give").give, {{}}
                    local limit = 4 * 1024 * 1024
                    while collectgarbage("count") * 1024 < limit - {reserve} do keep[#keep + 1] = ("k"):rep(512) end
                    local got = 0
                    for _, n in ipairs({{10, 1000, 10000, 100000}}) do
                      local v = give(n)
                      got = got + #v
                    end
                    return got
                '''), modules=["give"], max_memory=4 * 1024 * 1024)
                try:
                    results.append(["ok", await proc.run()])
                except Error as exc:
                    results.append(error_of(exc))
            report(results=results)

        trio.run(main)
    """)
    for result in out["results"]:
        assert result[0] in ("ok", "INTERNAL"), result
        if result[0] == "INTERNAL":
            assert "exceeded its Lua memory limit" in result[1]
    assert out["results"][0][0] == "INTERNAL" and out["results"][-1] == ["ok", 111010]


NODE_APP = """
import os, tempfile
from pathlib import Path
from pidflow import entries

folder = Path(tempfile.mkdtemp())
(folder / "mem.lua").write_text('''
local function child() local s = ("x"):rep(12 * 1024 * 1024) return {s .. "1", s .. "2", s .. "3"} end
local function parent() local v, err = process.exec("app:child", nil, nil) return {v ~= nil, tostring(err)} end
local function caller() local v, err = require("funcs").call("app:big") return {v ~= nil, tostring(err)} end
local function sleeper() require("time").sleep("10m") end
local function reader(n)
  local inbox, got = process.inbox(), 0
  for i = 1, n do got = got + #inbox:receive():payload():data() end
  return got
end
return {child = child, parent = parent, caller = caller, sleeper = sleeper, reader = reader}
''')
(folder / "bigfn.py").write_text("def big():\\n    return 'y' * 40_000_000\\n")
registry = entries.from_dicts("app", [
    {"name": "parent", "kind": "process.lua", "source": "file://mem.lua", "method": "parent"},
    {"name": "child", "kind": "process.lua", "source": "file://mem.lua", "method": "child", "max_memory": 100_000_000},
    {"name": "caller", "kind": "process.lua", "source": "file://mem.lua", "method": "caller", "modules": ["funcs"]},
    {"name": "big", "kind": "function.py", "source": "bigfn:big"},
    {"name": "sleeper", "kind": "process.lua", "source": "file://mem.lua", "method": "sleeper",
     "modules": ["time"], "max_memory": 4_000_000},
    {"name": "reader", "kind": "process.lua", "source": "file://mem.lua", "method": "reader", "max_memory": 4_000_000},
], base=folder)
sys.path.insert(0, str(folder))

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
"""


@pytest.mark.parametrize("entry", ["app:parent", "app:caller"])
def test_exec_and_funcs_results_over_the_limit_fail_the_caller(entry):
    # process.exec returning 3 x 12 MiB to a 32 MiB parent; a function.py returning 40 MB to funcs.call
    out = run_isolated(NODE_APP + textwrap.dedent(f"""
        async def main():
            async with pidflow.open_node(registry) as node:
                try:
                    report(value=await node.process.exec({entry!r}))
                except Error as exc:
                    report(error=error_of(exc))

        trio.run(main)
    """))
    _memory_error(out["error"], 32 * MIB)
    assert "does not fit" in out["error"][1]


def test_a_message_over_the_limit_ends_the_receiver_and_the_node_goes_on():
    # 5 MB to a process with max_memory 4000000: its gate refuses to queue it and ends the receiver (before, the
    # conversion deadlocked the node)
    out = run_isolated(NODE_APP + textwrap.dedent("""
        async def main():
            async with pidflow.open_node(registry) as node:
                pid = await node.process.spawn_monitored("app:sleeper")
                await trio.testing.wait_all_tasks_blocked()
                await node.process.send(pid, "big", "m" * 5_000_000)
                with trio.fail_after(30):
                    event = await node.process.events().receive()
                report(error=error_of(event.result.error), after=await node.process.exec("app:reader", None, 0))

        import trio.testing
        trio.run(main)
    """))
    _memory_error(out["error"], 4_000_000)
    assert out["after"] == 0


def test_queued_messages_count_against_the_memory_limit():
    # 400 x 1 MB to a process that never reads its inbox: it ends with a memory error after a few of them, and
    # the node does not grow by ~400 MB (before: the messages piled up while the Lua heap stayed at 1 MiB)
    out = run_isolated(NODE_APP + textwrap.dedent("""
        async def main():
            async with pidflow.open_node(registry) as node:
                pid = await node.process.spawn_monitored("app:sleeper")
                await trio.testing.wait_all_tasks_blocked()
                before = rss()
                for i in range(400):
                    await node.process.send(pid, "big", "m" * 1_000_000 + str(i))
                grown = rss() - before
                with trio.fail_after(30):
                    event = await node.process.events().receive()
                report(error=error_of(event.result.error), grown=grown)

        import trio.testing
        trio.run(main)
    """))
    _memory_error(out["error"], 4_000_000)
    assert "queued messages" in out["error"][1]
    assert out["grown"] < 100_000_000


def test_a_process_that_keeps_up_with_its_inbox_is_not_ended_by_queued_bytes():
    # 200 x 100 KB (20 MB in all) to a 4 MB process that reads them as they come: queued bytes never pile up
    out = run_isolated(NODE_APP + textwrap.dedent("""
        async def main():
            async with pidflow.open_node(registry) as node:
                pid = await node.process.spawn_monitored("app:reader", None, 200)
                await trio.testing.wait_all_tasks_blocked()
                for i in range(200):
                    await node.process.send(pid, "chunk", "c" * 100_000)
                    await trio.testing.wait_all_tasks_blocked()
                with trio.fail_after(30):
                    event = await node.process.events().receive()
                report(value=event.result.value, error=event.result.error and error_of(event.result.error))

        import trio.testing
        trio.run(main)
    """))
    assert out == {"value": 200 * 100_000, "error": None}
