"""A pidflow node in a process of its own, for tests that kill a worker: ``python worker_process.py APP``.

The node talks to ``PIDFLOW_TEMPORAL_ADDRESS``, prints ``ready`` once its hosts (and so its Temporal workers)
run, then runs until it is killed."""

from __future__ import annotations

import sys

import trio

import pidflow


async def main(app: str) -> None:
    async with pidflow.open_node(app):
        print("ready", flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
