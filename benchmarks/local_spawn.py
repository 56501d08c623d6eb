"""Spawn-and-exit rate vs bare ``nursery.start_soon`` tasks, and the memory of idle processes.

Run: .venv/bin/python benchmarks/local_spawn.py [--count N] [--idle N]
A second baseline, tasks that each enter one ``trio.CancelScope``, shows the floor any killable task pays
(``terminate`` must cancel whatever the body awaits, and in trio that takes a scope per task).

The memory figure is traced Python allocations (tracemalloc) per idle process, which includes the trio task,
its coroutine frame, the process record and its inbox; a blocked bare trio task with a memory channel is
measured the same way for comparison.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import trio

import pidflow
from pidflow import process


async def _noop(_input: object = None) -> None:
    return None


async def _cancellable_noop(_input: object = None) -> None:
    with trio.CancelScope():  # what any killable task needs: terminate must be able to cancel any await
        return None


async def raw_spawn(count: int, body=_noop) -> float:
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(body)
    return count / (time.perf_counter() - start)


async def cancellable_spawn(count: int) -> float:
    return await raw_spawn(count, _cancellable_noop)


async def pidflow_spawn(count: int) -> float:
    async with pidflow.open_node() as node:
        done = trio.Event()
        remaining = [count]

        async def body(_input: object) -> None:
            remaining[0] -= 1
            if not remaining[0]:
                done.set()

        start = time.perf_counter()
        for _ in range(count):
            await node.process.spawn(body)
        await done.wait()
        return count / (time.perf_counter() - start)


async def _idle(_input: object) -> None:
    await process.inbox().receive()


async def idle_bytes_pidflow(count: int) -> float:
    async with pidflow.open_node() as node:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        pids = [await node.process.spawn(_idle) for _ in range(count)]
        await trio.testing.wait_all_tasks_blocked()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        for pid in pids:
            await node.process.send(pid, "stop")
        return (after - before) / count


async def idle_bytes_raw(count: int) -> float:
    async def idle(recv: trio.MemoryReceiveChannel) -> None:
        await recv.receive()

    async with trio.open_nursery() as nursery:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        senders = []
        for _ in range(count):
            send, recv = trio.open_memory_channel(float("inf"))
            senders.append(send)
            nursery.start_soon(idle, recv)
        await trio.testing.wait_all_tasks_blocked()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        for send in senders:
            send.send_nowait(None)
    return (after - before) / count


def main() -> None:
    import trio.testing  # noqa: F401  (wait_all_tasks_blocked)

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--idle", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    raw = max(trio.run(raw_spawn, args.count) for _ in range(args.repeats))
    cancellable = max(trio.run(cancellable_spawn, args.count) for _ in range(args.repeats))
    ours = max(trio.run(pidflow_spawn, args.count) for _ in range(args.repeats))
    raw_idle = trio.run(idle_bytes_raw, args.idle)
    our_idle = trio.run(idle_bytes_pidflow, args.idle)
    print(f"raw_trio_spawns_per_s: {raw:,.0f}")
    print(f"cancellable_trio_spawns_per_s: {cancellable:,.0f}")
    print(f"pidflow_spawns_per_s: {ours:,.0f}")
    print(f"spawn_ratio_vs_cancellable_trio: {ours / cancellable:.2f}")
    print(f"bytes_per_idle_raw_trio_task: {raw_idle:,.0f}")
    print(f"spawn_ratio_vs_raw_trio: {ours / raw:.2f}")
    print(f"bytes_per_idle_process: {our_idle:.0f}")


if __name__ == "__main__":
    main()
