"""A nursery that a component owns inside the node's nursery, until the component says it is done."""

from __future__ import annotations

import trio


async def serve_nursery(done: trio.Event, task_status: trio.TaskStatus[trio.Nursery] = trio.TASK_STATUS_IGNORED) -> None:
    """``nursery = await node.start_task(serve_nursery, done)``: every task of the component runs in the
    returned nursery (no orphans), and all of them are cancelled once ``done`` is set."""
    async with trio.open_nursery() as nursery:
        task_status.started(nursery)
        await done.wait()
        nursery.cancel_scope.cancel()
