"""pidflow in asyncio programs (FastAPI, aiohttp, temporalio code): ``async with pidflow.aio.open_node(app) as
node:`` takes the arguments of :func:`pidflow.open_node`, and ``node.process`` is the same process API with
awaitables of the asyncio loop (``docs/python.md``, "asyncio").

Design note: the node runs as a trio *guest* on the asyncio loop, in its thread. Both designs were measured with a
prototype that bridged every operation the same way (a trio task per send and per receive; round trips from an
asyncio task to a local echo process and back, against the same from a trio task in the same run, on the 2-core
test machine):

- the node in a thread of its own, called with ``TrioToken.run_sync_soon`` and answering with
  ``call_soon_threadsafe``: 0.07 – 0.08 of trio's rate. Each round trip pays thread switches (about 60 µs per
  switch there and back here, four times trio's whole round trip), and the two loops contend for the GIL.
- trio's guest mode, as shipped: 0.10. trio tasks run on the asyncio thread, but an idle trio waits for I/O in a
  helper thread, so waking it from asyncio still costs two thread switches.
- guest mode with trio's I/O wait folded into asyncio's selector (``_guest``): 0.46 – 0.47. The wakeups from the
  loop's thread become ``call_soon``; no thread, no system call.

The shipped bridge adds what only the same-thread design allows: a send runs synchronously in one portal task
(``_portal``), and a receive waits on the mailbox itself (its ``observe`` hook sets an asyncio future), with no
trio task at all: ``benchmarks/asyncio_bridge.py`` measures 0.82 – 0.92 (docs/performance.md, "asyncio").

The guest design is also the safer one: asyncio and the node never run at the same time, so asyncio code can read
the node's state (names, ``node.processes()``) without locks, an exception is never raised on a thread nobody
watches, and the node stops with the block that opened it. Its cost: the node shares the loop's thread, so a
process that computes for long stalls the asyncio program as it stalls other processes (preemptible Lua
processes yield; Python bodies must await). Durable workflows are unaffected: the Temporal SDK keeps its own
asyncio loop in its own thread (``temporal_host._aio``), whatever loop the program runs.
"""

from ._node import AioNode as AioNode, open_node as open_node
from ._process import AioMailbox as AioMailbox, AioProcess as AioProcess, AioSpawner as AioSpawner

__all__ = ["AioMailbox", "AioNode", "AioProcess", "AioSpawner", "open_node"]
