"""``process.call`` vs a hand-written round trip (``send`` + ``inbox().receive()``) between two local processes.

Run: .venv/bin/python benchmarks/call_reply.py [--rounds N] [--repeats N]

Both run in this process, interleaved, best of ``repeats`` each, so the ratio does not depend on the machine.
The hand-written round trip is the least a request/reply can cost: the client sends, the server answers the
sender from its inbox, the client receives the next inbox message (and so would take a late answer of an earlier
request for this one's). ``call`` adds what makes it safe: a fresh reference and its reply claim, a monitor of the
server for the duration of the call (a dead server answers at once) and a timeout (the default 5 s). Prints
``call_ratio_vs_send_receive`` (call round trips per second / hand-written round trips per second).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Awaitable, Callable

import trio

import pidflow
from pidflow import process


async def server(_input: Any) -> None:
    """Answers a call with ``reply`` and a plain message by sending back to its sender."""
    inbox = process.inbox()
    while True:
        message = await inbox.receive()
        if message.ref is not None:
            await process.reply(message, message.data)
        else:
            await process.send(message.sender, "pong", message.data)  # type: ignore[arg-type]


async def _measure(client: Callable[[pidflow.Pid, int], Awaitable[None]], rounds: int) -> float:
    result: list[float] = []

    async def body(target: pidflow.Pid) -> None:
        start = time.perf_counter()
        await client(target, rounds)
        result.append(rounds / (time.perf_counter() - start))

    async with pidflow.open_node() as node:
        pid = await node.process.spawn(server)
        await node.process.exec(body, None, pid)
        await node.process.terminate(pid)
    return result[0]


async def send_receive(target: pidflow.Pid, rounds: int) -> None:
    inbox = process.inbox()
    for i in range(rounds):
        await process.send(target, "ping", i)
        await inbox.receive()


async def call(target: pidflow.Pid, rounds: int) -> None:
    for i in range(rounds):
        await process.call(target, "ping", i)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    manual = calls = 0.0
    for _ in range(args.repeats):  # interleaved, so that a busy spell of the machine hits both sides
        manual = max(manual, trio.run(_measure, send_receive, args.rounds))
        calls = max(calls, trio.run(_measure, call, args.rounds))
    print(f"send_receive_roundtrips_per_s: {manual:,.0f}")
    print(f"call_roundtrips_per_s: {calls:,.0f}")
    print(f"call_ratio_vs_send_receive: {calls / manual:.2f}")


if __name__ == "__main__":
    main()
