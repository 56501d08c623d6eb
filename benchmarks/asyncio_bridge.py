"""Round trips per second from an asyncio task to a local pidflow process and back (``pidflow.aio``), against the
same round trips from a trio task of the same node (``node.run``), in the same run and the same process.

Run: .venv/bin/python benchmarks/asyncio_bridge.py [--rounds N] [--repeat R]
Prints ``asyncio_roundtrip_ratio_vs_trio`` (asyncio rate / trio rate; target >= 0.5), the median of R runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import pidflow
import pidflow.aio
from pidflow import process


async def echo(_input: object) -> None:
    async for message in process.inbox():
        if message.sender is not None:
            await process.send(message.sender, "pong", message.data)


async def from_trio(api: pidflow.ProcessAPI, pid: pidflow.Pid, rounds: int) -> float:
    inbox = api.inbox()
    start = time.perf_counter()
    for i in range(rounds):
        await api.send(pid, "ping", i)
        await inbox.receive()
    return rounds / (time.perf_counter() - start)


async def from_asyncio(node: pidflow.aio.AioNode, pid: pidflow.Pid, rounds: int) -> float:
    inbox = node.process.inbox()
    start = time.perf_counter()
    for i in range(rounds):
        await node.process.send(pid, "ping", i)
        await inbox.receive()
    return rounds / (time.perf_counter() - start)


async def measure(rounds: int, repeat: int) -> dict[str, Any]:
    ratios, aio_rates, trio_rates = [], [], []
    async with pidflow.aio.open_node() as node:
        pid = await node.process.spawn(echo)
        await from_asyncio(node, pid, rounds // 10)  # warm up both paths
        await node.run(from_trio, node.node.process, pid, rounds // 10)
        for _ in range(repeat):
            aio_rate = await from_asyncio(node, pid, rounds)
            trio_rate = await node.run(from_trio, node.node.process, pid, rounds)
            aio_rates.append(aio_rate)
            trio_rates.append(trio_rate)
            ratios.append(aio_rate / trio_rate)
        await node.process.terminate(pid)
        fast = node.fast_guest
    return {"asyncio_roundtrips_per_s": statistics.median(aio_rates),
            "trio_roundtrips_per_s": statistics.median(trio_rates),
            "asyncio_roundtrip_ratio_vs_trio": statistics.median(ratios), "selector_guest": fast}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(measure(args.rounds, args.repeat))
    print(f"asyncio round trips/s: {result['asyncio_roundtrips_per_s']:,.0f}")
    print(f"trio round trips/s:    {result['trio_roundtrips_per_s']:,.0f}")
    print(f"selector-folded guest: {result['selector_guest']}")
    print(f"asyncio_roundtrip_ratio_vs_trio: {result['asyncio_roundtrip_ratio_vs_trio']:.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
