"""Across hosts: a local process <-> a Lua workflow round trip against the native temporalio equivalent, and the
restart latency of a local child under a one_for_one supervisor.

Run: .venv/bin/python benchmarks/cross_host.py [--rounds 200] [--warmup 20] [--restarts 2000] [--repeats 3]

One in-memory dev server (started by this script) serves both round trips:

* pidflow: a local Python process on a pidflow node sends ``ping`` to a Lua workflow (a signal, through the node's
  ordered outbox) and waits in its inbox; the workflow answers with ``process.send(msg:from(), "pong", ...)``,
  which travels as an activity on the node's task queue (``pidflow-node-<name>``) back to the local PID;
* native: a temporalio client signals a plain temporalio workflow (unsandboxed, pidflow's JSON converter), whose
  signal handler wakes its main loop, which replies through an activity on the same worker; the activity hands the
  value to the client through an ``asyncio.Queue``.

Each round trip is timed from the send to the reply's arrival, one at a time; ``--warmup`` first ones are dropped;
the figure is the median over ``--rounds``, best of ``--repeats`` runs alternating native and pidflow.
``cross_host_rtt_ratio_vs_native`` = pidflow median / native median (lower is better). The dev server runs with
``history.transferProcessorMaxPollRPS`` raised (``_temporal_common.FAST_SERVER``): at the default 20/s every
sequential hop waits for a 50 ms tick, and pidflow's reply (an activity on the node's queue, never eager) takes
one more such hop than the native one (an eager activity on the workflow's own queue); ``--default-server``
keeps the default.

Restart: a ``one_for_one`` supervisor (pidflow.supervision) with one local child that records when it runs, waits
for a message, records the crash time and raises; latency = the new child's start minus the crash time, median
over ``--restarts`` crashes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import math
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import trio
from temporalio import activity, common, workflow

sys.path.insert(0, str(Path(__file__).parent))
import _temporal_common as tc  # noqa: E402

import pidflow  # noqa: E402
from pidflow import process  # noqa: E402
from pidflow.supervision import ChildSpec, SupervisorSpec, start_supervisor  # noqa: E402

LIMIT = 300  # seconds per run: a broken build fails instead of hanging

# -- native -----------------------------------------------------------------------------------------------------------
_replies: asyncio.Queue[Any] | None = None


@activity.defn(name="bench.reply")
async def reply(value: Any) -> None:
    assert _replies is not None
    _replies.put_nowait(value)


@workflow.defn(name="NativeEcho", sandboxed=False)
class NativeEcho:
    def __init__(self) -> None:
        self.pings: list[Any] = []

    @workflow.signal(name="ping")
    def ping(self, value: Any) -> None:
        self.pings.append(value)

    @workflow.run
    async def run(self, count: int) -> int:
        for _ in range(count):
            await workflow.wait_condition(lambda: bool(self.pings))
            await workflow.execute_activity(reply, self.pings.pop(0),
                                            start_to_close_timeout=datetime.timedelta(seconds=30),
                                            retry_policy=common.RetryPolicy(
                                                initial_interval=datetime.timedelta(milliseconds=200)))
        return count


async def native_rtts(address: str, total: int) -> list[float]:
    global _replies
    _replies = asyncio.Queue()
    client = await tc.connect(address)
    task_queue = f"native-{uuid.uuid4().hex[:8]}"
    rtts: list[float] = []
    async with tc.native_worker(client, task_queue, [NativeEcho], [reply]):
        handle = await client.start_workflow("NativeEcho", total, id=f"native-echo-{uuid.uuid4()}",
                                             task_queue=task_queue)
        for i in range(total):
            start = time.perf_counter()
            await handle.signal("ping", i)
            assert await _replies.get() == i
            rtts.append(time.perf_counter() - start)
        await handle.result()
    return rtts


# -- pidflow ----------------------------------------------------------------------------------------------------------
LUA = """
local function echo(count)
  local inbox = process.inbox()
  for _ = 1, count do
    local msg = inbox:receive()
    process.send(msg:from(), "pong", msg:payload():data())
  end
  return count
end

return {echo = echo}
"""


async def pidflow_rtts(app: Path, total: int) -> list[float]:
    rtts: list[float] = []

    async def pinger(target: pidflow.Pid) -> None:
        inbox = process.inbox()
        for i in range(total):
            start = time.perf_counter()
            await process.send(target, "ping", i)
            message = await inbox.receive()
            assert message.data == i, message
            rtts.append(time.perf_counter() - start)

    with trio.fail_after(LIMIT):
        async with pidflow.open_node(app) as node:
            echo = await node.process.spawn_monitored("bench:echo", "bench:worker", total)
            await node.process.exec(pinger, None, echo)
            event = await node.process.events().receive()
            assert event.result is not None and event.result.value == total, event
    return rtts


# -- restart latency --------------------------------------------------------------------------------------------------
async def restart_latencies(restarts: int) -> list[float]:
    started_send, started_recv = trio.open_memory_channel[tuple[pidflow.Pid, float]](math.inf)
    crashes: list[float] = []

    async def child(_input: Any) -> None:
        started_send.send_nowait((process.pid(), time.perf_counter()))
        await process.inbox().receive()
        crashes.append(time.perf_counter())
        raise RuntimeError("crash")

    latencies: list[float] = []
    with trio.fail_after(LIMIT):
        async with pidflow.open_node() as node:
            spec = SupervisorSpec(children=(ChildSpec(id="worker", entry=child),), intensity=restarts + 10,
                                  period=3600.0)
            supervisor = await start_supervisor(node.process, spec)
            pid, _ = await started_recv.receive()
            for _ in range(restarts):
                await node.process.send(pid, "crash")
                new_pid, started = await started_recv.receive()
                assert new_pid != pid
                latencies.append(started - crashes[-1])
                pid = new_pid
            await node.process.terminate(supervisor.pid)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--restarts", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--default-server", action="store_true",
                        help="keep the dev server's transfer-task poll limit (20/s; see _temporal_common.FAST_SERVER)")
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # the supervisor logs every crash
    total = args.rounds + args.warmup

    native: list[float] = []
    ours: list[float] = []
    with tc.dev_server(None if args.default_server else tc.FAST_SERVER) as address, tc.app_folder() as folder:
        app = tc.write_app(folder, f"lua-{uuid.uuid4().hex[:8]}", LUA, {"echo": {"method": "echo"}},
                           "pidflow_bench_cross_host", "", [])
        for _ in range(args.repeats):
            native.append(tc.median(asyncio.run(asyncio.wait_for(native_rtts(address, total), LIMIT))[args.warmup:]))
            ours.append(tc.median(trio.run(pidflow_rtts, app, total)[args.warmup:]))
    restart = min(tc.median(trio.run(restart_latencies, args.restarts)) for _ in range(args.repeats))

    server = "default" if args.default_server else "transferProcessorMaxPollRPS=10000"
    print(f"server: temporal dev server (in memory, {server}); native: unsandboxed, pidflow JSON converter; "
          f"medians over {args.rounds} round trips, best of {args.repeats}")
    print(f"native_rtt_ms: {min(native) * 1000:.2f}  (client signal -> workflow -> activity -> client)")
    print(f"pidflow_rtt_ms: {min(ours) * 1000:.2f}  (local process -> Lua workflow -> local activity on the worker's node -> local)")
    print(f"cross_host_rtt_ratio_vs_native: {min(ours) / min(native):.2f}")
    print(f"local_restart_us: {restart * 1e6:.0f}")


if __name__ == "__main__":
    main()
