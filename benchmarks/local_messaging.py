"""Round trips per second: raw trio memory channels vs two pidflow local processes (send + inbox receive).

Run: .venv/bin/python benchmarks/local_messaging.py [--rounds N]
Both measurements run in this process, one after the other, so the ratio is stable across machines.
"""

from __future__ import annotations

import argparse
import time

import trio

import pidflow
from pidflow import process


async def raw_trio(rounds: int) -> float:
    ping_send, ping_recv = trio.open_memory_channel(0)
    pong_send, pong_recv = trio.open_memory_channel(0)

    async def ponger() -> None:
        async for value in ping_recv:
            await pong_send.send(value)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ponger)
        start = time.perf_counter()
        for i in range(rounds):
            await ping_send.send(i)
            await pong_recv.receive()
        elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return rounds / elapsed


async def ponger_body(_input: object) -> None:
    inbox = process.inbox()
    while True:
        message = await inbox.receive()
        await process.send(message.sender, "pong", message.data)


async def pidflow_processes(rounds: int) -> float:
    result: list[float] = []

    async def pinger_body(target: pidflow.Pid) -> None:
        inbox = process.inbox()
        start = time.perf_counter()
        for i in range(rounds):
            await process.send(target, "ping", i)
            await inbox.receive()
        result.append(rounds / (time.perf_counter() - start))

    async with pidflow.open_node() as node:
        ponger = await node.process.spawn(ponger_body)
        await node.process.exec(pinger_body, None, ponger)
        await node.process.terminate(ponger)
    return result[0]


def best_of(fn, rounds: int, repeats: int) -> float:
    return max(trio.run(fn, rounds) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    raw = best_of(raw_trio, args.rounds, args.repeats)
    ours = best_of(pidflow_processes, args.rounds, args.repeats)
    print(f"raw_trio_roundtrips_per_s: {raw:,.0f}")
    print(f"pidflow_roundtrips_per_s: {ours:,.0f}")
    print(f"roundtrip_ratio_vs_raw_trio: {ours / raw:.2f}")


if __name__ == "__main__":
    main()
