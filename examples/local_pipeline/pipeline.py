"""Local processes: spawn workers, send them jobs, collect replies, watch them exit."""

from typing import Any

import pidflow
from pidflow import process


async def squarer(_input: Any) -> str | None:
    """Reply to every 'square' request until told to stop."""
    async for message in process.inbox():
        if message.topic == "stop":
            return "stopped"
        if message.sender is not None:  # (None: sent from outside any process, nobody to answer)
            await process.send(message.sender, "result", {"n": message.data, "square": message.data ** 2})
    return None  # (the inbox closes only when the process ends)


async def main(input: dict[str, Any] | None) -> dict[str, Any]:
    count = (input or {}).get("workers", 3)
    workers = [await process.spawn_monitored("app:squarer", "app:processes") for _ in range(count)]
    results = process.listen("result")
    for n in range(1, 10):
        await process.send(workers[n % count], "square", n)
    squares = sorted([(await results.receive())["square"] for _ in range(1, 10)])
    for pid in workers:
        await process.send(pid, "stop")
    exits = [await process.events().receive() for _ in workers]
    return {"squares": squares, "workers_exited": sum(e.kind is pidflow.EventKind.EXIT for e in exits)}
