"""What the observer's bookkeeping costs, and what listing 10,000 processes costs.

Run: .venv/bin/python benchmarks/observer_overhead.py [--rounds N] [--spawns N] [--batches N] [--processes N]
[--repeats N]

1. Local ping-pong (as benchmarks/local_messaging.py: two processes, send + inbox receive) with the node's
   bookkeeping on (the default: per-process messages in and out) and off: ``observer_roundtrip_ratio`` = on / off
   (the target is >= 0.95). One node, one pinger, ``batches`` batches of ``rounds / batches`` round trips, the flag
   flipped between batches (the hosts read it on every send), so both sides share every moment of a busy machine;
   each side's figure is its best batch (the median is printed too). The same for spawning processes that end at
   once (``observer_spawn_ratio``: start time, spawn and exit counters, parent and entry).
2. ``processes`` idle processes (and the node's root): the time of ``node.processes()``, of
   ``[p.to_json() for p in ...]``, of that as JSON text, and its size in bytes: what the observer's
   ``GET /api/processes`` serves. When the observer package is there, the real ``GET /api/processes`` is timed
   too (httpx against ``pidflow.observer.start_observer`` on the node's loop). Best of ``repeats``.

Both ratios are of this run only, so they do not depend on the machine; the absolute rates do.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any, Callable

import trio
import trio.testing

import pidflow
from pidflow import process


async def _ponger(_input: object) -> None:
    inbox = process.inbox()
    while True:
        message = await inbox.receive()
        await process.send(message.sender, "pong", message.data)


Rates = dict[bool, list[float]]


async def ping_pong(rounds: int, batches: int) -> Rates:
    """Round trips per second of each batch, by the bookkeeping flag it ran with."""
    rates: Rates = {True: [], False: []}
    size = max(1, rounds // batches)

    async def pinger(target: pidflow.Pid) -> None:
        inbox = process.inbox()
        node: Any = process.node
        for batch in range(batches):
            flag = batch % 4 in (0, 3)  # on, off, off, on, ...: neither side always goes first
            node.bookkeeping = flag
            start = time.perf_counter()
            for i in range(size):
                await process.send(target, "ping", i)
                await inbox.receive()
            rates[flag].append(size / (time.perf_counter() - start))

    async with pidflow.open_node() as node:
        ponger = await node.process.spawn(_ponger)
        await node.process.exec(pinger, None, ponger)
        await node.process.terminate(ponger)
    return rates


async def spawns(count: int, batches: int) -> Rates:
    """Spawn-and-exit rate of each batch, by the bookkeeping flag it ran with."""
    rates: Rates = {True: [], False: []}
    size = max(1, count // batches)
    async with pidflow.open_node() as node:
        remaining = [0]
        done = trio.Event()

        async def body(_input: object) -> None:
            remaining[0] -= 1
            if not remaining[0]:
                done.set()

        for batch in range(batches):
            flag = batch % 4 in (0, 3)
            node.bookkeeping = flag
            remaining[0], done = size, trio.Event()
            start = time.perf_counter()
            for _ in range(size):
                await node.process.spawn(body)
            await done.wait()
            rates[flag].append(size / (time.perf_counter() - start))
    return rates


def summary(rates: Rates) -> tuple[float, float, float, float]:
    """(best on, best off, median on, median off)."""
    return max(rates[True]), max(rates[False]), statistics.median(rates[True]), statistics.median(rates[False])


async def _idle(_input: object) -> None:
    await process.inbox().receive()


def _best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


async def listing(count: int, repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with pidflow.open_node() as node:
        pids = [await node.process.spawn(_idle) for _ in range(count)]
        await trio.testing.wait_all_tasks_blocked()
        out["processes"] = len(node.processes())
        out["processes_s"], infos = _best(node.processes, repeats)
        out["to_json_s"], rows = _best(lambda: [p.to_json() for p in infos], repeats)
        out["json_s"], text = _best(lambda: json.dumps(rows), repeats)
        out["json_bytes"] = len(text.encode())
        try:
            import httpx

            from pidflow.observer import start_observer
        except ImportError:
            out["http"] = None
        else:
            observer = await start_observer(node, "127.0.0.1:0")
            try:
                async with httpx.AsyncClient(base_url=observer.url, timeout=120) as client:
                    best, size = float("inf"), 0
                    for _ in range(repeats):
                        start = time.perf_counter()
                        response = await client.get("/api/processes")
                        best = min(best, time.perf_counter() - start)
                        response.raise_for_status()
                        size = len(response.content)
                    out["http"] = (best, size)
            finally:
                await observer.stop()
        for pid in pids:
            await node.process.send(pid, "stop")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200_000)
    parser.add_argument("--spawns", type=int, default=40_000)
    parser.add_argument("--batches", type=int, default=80)
    parser.add_argument("--processes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    on, off, median_on, median_off = summary(trio.run(ping_pong, args.rounds, args.batches))
    spawn_on, spawn_off, spawn_median_on, spawn_median_off = summary(trio.run(spawns, args.spawns, args.batches))
    listed = trio.run(listing, args.processes, args.repeats)
    print(f"roundtrips_per_s_bookkeeping_on: {on:,.0f} (median {median_on:,.0f})")
    print(f"roundtrips_per_s_bookkeeping_off: {off:,.0f} (median {median_off:,.0f})")
    print(f"observer_roundtrip_ratio: {on / off:.3f} (medians: {median_on / median_off:.3f})")
    print(f"spawns_per_s_bookkeeping_on: {spawn_on:,.0f} (median {spawn_median_on:,.0f})")
    print(f"spawns_per_s_bookkeeping_off: {spawn_off:,.0f} (median {spawn_median_off:,.0f})")
    print(f"observer_spawn_ratio: {spawn_on / spawn_off:.3f} (medians: {spawn_median_on / spawn_median_off:.3f})")
    print(f"listed_processes: {listed['processes']:,}")
    print(f"processes_ms: {listed['processes_s'] * 1000:.1f}")
    print(f"to_json_ms: {listed['to_json_s'] * 1000:.1f}")
    print(f"json_dumps_ms: {listed['json_s'] * 1000:.1f}")
    print(f"json_bytes: {listed['json_bytes']:,}")
    if listed["http"] is None:
        print("get_api_processes: (the observer package is not there)")
    else:
        seconds, size = listed["http"]
        print(f"get_api_processes_ms: {seconds * 1000:.1f}")
        print(f"get_api_processes_bytes: {size:,}")


if __name__ == "__main__":
    main()
