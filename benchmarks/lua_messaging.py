"""Lua process ping-pong vs Python process ping-pong, and the memory of idle Lua processes.

Run: .venv/bin/python benchmarks/lua_messaging.py [--rounds N] [--repeats N] [--idle N]

Both ping-pongs are two pidflow local processes on one node (a pinger that sends ``ping`` and waits for the
``pong`` in its inbox, ``rounds`` times, and a ponger that answers every inbox message to its sender), measured
in this run, one after the other, so the ratio does not depend on the machine. The time covers the pinger's
whole ``exec`` (spawning it included; negligible at the default 20,000 rounds). Best of ``repeats``.

Memory: ``bytes_per_idle_lua_process`` is the growth of the process's resident set size (RSS, from
``/proc/self/statm``) while ``idle`` Lua processes are spawned from a ``process.lua`` entry and all parked in
``inbox:receive()``, divided by ``idle``: everything a process costs (Lua state, Python objects, trio task,
mailbox), as the operating system sees it. The Lua heap of one of them (``collectgarbage('count')``) is printed
too, for reference.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

import trio
import trio.testing

import pidflow
from pidflow import entries, process

PONGER_LUA = """
local function main()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    process.send(msg:from(), "pong", msg:payload():data())
  end
end

local function pinger(input)
  local target, rounds = input.target, input.rounds
  local inbox = process.inbox()
  for i = 1, rounds do
    process.send(target, "ping", i)
    inbox:receive()
  end
  return rounds
end

local function idle()
  local msg = process.inbox():receive()
  return collectgarbage("count")
end

return {main = main, pinger = pinger, idle = idle}
"""


def _registry(folder: Path) -> entries.Registry:
    (folder / "bench.lua").write_text(PONGER_LUA)
    return entries.from_dicts("bench", [
        {"name": "ponger", "kind": "process.lua", "source": "file://bench.lua", "method": "main"},
        {"name": "pinger", "kind": "process.lua", "source": "file://bench.lua", "method": "pinger"},
        {"name": "idle", "kind": "process.lua", "source": "file://bench.lua", "method": "idle"},
    ], base=folder)


async def _py_ponger(_input: object) -> None:
    inbox = process.inbox()
    while True:
        message = await inbox.receive()
        await process.send(message.sender, "pong", message.data)


async def _py_pinger(input: dict) -> int:
    target, rounds = input["target"], input["rounds"]
    inbox = process.inbox()
    for i in range(rounds):
        await process.send(target, "ping", i)
        await inbox.receive()
    return rounds


async def ping_pong(registry: entries.Registry, rounds: int, lua: bool) -> float:
    async with pidflow.open_node(registry) as node:
        ponger = await node.process.spawn("bench:ponger" if lua else _py_ponger)
        start = time.perf_counter()
        done = await node.process.exec("bench:pinger" if lua else _py_pinger, None,
                                       {"target": ponger, "rounds": rounds})
        elapsed = time.perf_counter() - start
        assert done == rounds
        await node.process.terminate(ponger)
    return rounds / elapsed


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def idle_lua(registry: entries.Registry, count: int) -> float:
    async with pidflow.open_node(registry) as node:
        # warm up: the entry's compiled body, module code and allocator pools exist before the measurement
        warm = [await node.process.spawn("bench:idle") for _ in range(50)]
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        before = rss_bytes()
        pids = [await node.process.spawn("bench:idle") for _ in range(count)]
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        after = rss_bytes()
        for pid in warm + pids:
            await node.process.send(pid, "stop")
        await trio.testing.wait_all_tasks_blocked()
    return (after - before) / count


async def lua_heap(registry: entries.Registry) -> float:
    """Lua heap (bytes) of one idle process, read by the process itself when it is woken."""
    async with pidflow.open_node(registry) as node:
        pid = await node.process.spawn_monitored("bench:idle")
        await trio.testing.wait_all_tasks_blocked()
        await node.process.send(pid, "stop")
        event = await node.process.events().receive()
        return event.result.value * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--idle", type=int, default=3_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        registry = _registry(Path(tmp))
        # Alternate the two sides, so that a busy moment of the machine does not favour one of them.
        py_runs, lua_runs = [], []
        for _ in range(args.repeats):
            py_runs.append(trio.run(ping_pong, registry, args.rounds, False))
            lua_runs.append(trio.run(ping_pong, registry, args.rounds, True))
        py, lua = max(py_runs), max(lua_runs)
        heap = trio.run(lua_heap, registry)
        per_process = trio.run(idle_lua, registry, args.idle)
    print(f"python_roundtrips_per_s: {py:,.0f}")
    print(f"lua_roundtrips_per_s: {lua:,.0f}")
    print(f"lua_heap_bytes_per_idle_process: {heap:,.0f}")
    print(f"lua_roundtrip_ratio_vs_python: {lua / py:.2f}")
    print(f"bytes_per_idle_lua_process: {per_process:.0f}")


if __name__ == "__main__":
    main()
