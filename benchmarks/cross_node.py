"""Across nodes: round trips, a one-way burst and failure detection between two node processes on one Temporal
dev server.

Run: .venv/bin/python benchmarks/cross_node.py [--rounds 200] [--warmup 20] [--burst 20000] [--down-after 15]

Node ``a`` is this process (``pidflow.open_node(app, name=...)``); node ``b`` is a child OS process
(``pidflow run APP --node b``). Both poll their own queue ``pidflow-node-<name>`` on the one dev server
(``_temporal_common.FAST_SERVER``, as pidflow's embedded server runs).

* ``cross_node_rtt_ratio_vs_cross_host``: a local process on a sends ``ping`` to a local process on b, which
  answers; median round trip over ``--rounds`` (after ``--warmup``), against the same from a local process on a to a
  Lua workflow and back (today's cross-host path: a signal, then an activity on a's queue). Target <= 1.0.
* ``cross_node_msgs_per_s``: ``--burst`` messages sent at once from a to a collector on b, timed from the first
  send to the collector's report that it has them all (in order). Target >= 5,000/s.
* ``node_down_detect_s``: b is SIGKILLed; the time until the EXIT (UNAVAILABLE, noconnection) of b's process
  reaches its watcher on a, with the default bound (``--down-after`` 15 s). Target <= 15.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).parent))
import _temporal_common as tc  # noqa: E402
from cross_host import LUA  # noqa: E402  (the Lua echo workflow the cross-host round trip uses)

import pidflow  # noqa: E402
from pidflow import process  # noqa: E402

LIMIT = 300  # seconds per phase: a broken build fails instead of hanging


BODIES = '''
from pidflow import process


async def echo(_input=None):
    async for message in process.inbox():
        await process.send(message.sender, "pong", message.data)


async def collector(spec):
    expected, last, in_order = spec["n"], -1, True
    inbox = process.inbox()
    for _ in range(expected):
        message = await inbox.receive()
        in_order = in_order and message.data == last + 1
        last = message.data
    await process.send(spec["report_to"], "collected", {"count": expected, "in_order": in_order})
'''


def start_node_b(app: Path, name: str, down_after: float, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "pidflow", "--log-level", "warning", "run", str(app), "--node", name,
               "--node-down-after", str(down_after)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=out, env=env)
    deadline = time.monotonic() + 60
    while f"node {name} running".encode() not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"node {name} did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return proc


async def rtts(node: Any, target: pidflow.Pid, total: int) -> list[float]:
    times: list[float] = []

    async def pinger(_: Any) -> None:
        inbox = process.inbox()
        for i in range(total):
            start = time.perf_counter()
            await process.send(target, "ping", i)
            message = await inbox.receive()
            assert message.data == i, message
            times.append(time.perf_counter() - start)

    await node.process.exec(pinger, None, None)
    return times


async def measure(app: Path, args: argparse.Namespace, b_name: str, b_proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    total = args.rounds + args.warmup
    figures: dict[str, Any] = {}
    async with pidflow.open_node(app, name=f"bench-a-{os.getpid()}", node_down_after=args.down_after) as a:
        with trio.fail_after(LIMIT):
            on_b = await a.process.spawn("bench:echo", f"bench:processes@{b_name}", None)
            node_rtts = (await rtts(a, on_b, total))[args.warmup:]
            workflow = await a.process.spawn("bench:wf_echo", "bench:worker", total)
            host_rtts = (await rtts(a, workflow, total))[args.warmup:]
        node_median, host_median = statistics.median(node_rtts), statistics.median(host_rtts)
        figures["cross_node_rtt_ms"] = (round(node_median * 1000, 2), round(_p99(node_rtts) * 1000, 2))
        figures["cross_host_rtt_ms"] = (round(host_median * 1000, 2), round(_p99(host_rtts) * 1000, 2))
        figures["cross_node_rtt_ratio_vs_cross_host"] = round(node_median / host_median, 3)

        with trio.fail_after(LIMIT):
            collector = await a.process.spawn("bench:collector", f"bench:processes@{b_name}",
                                              {"n": args.burst, "report_to": a.process.pid()})
            start = time.perf_counter()
            for i in range(args.burst):
                a.process.send_nowait(collector, "n", i)
                if i % 1000 == 999:
                    await trio.lowlevel.checkpoint()
            report = await a.process.inbox().receive()
            elapsed = time.perf_counter() - start
        assert report.topic == "collected" and report.data["in_order"], report
        figures["cross_node_msgs_per_s"] = round(args.burst / elapsed)
        outbox = a.resources["remote_nodes"]._outboxes[b_name]
        figures["burst_batches"] = outbox.sent_batches

        watched = await a.process.spawn_monitored("bench:echo", f"bench:processes@{b_name}", None)
        await trio.sleep(1)
        b_proc.send_signal(signal.SIGKILL)
        killed = time.perf_counter()
        with trio.fail_after(LIMIT):
            while True:
                event = await a.process.events().receive()
                if event.sender == watched:
                    break
        figures["node_down_detect_s"] = round(time.perf_counter() - killed, 2)
        error = event.result.error
        assert error is not None and error.details.get("reason") == "noconnection", event
    return figures


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--burst", type=int, default=20_000)
    parser.add_argument("--down-after", type=float, default=15.0)
    args = parser.parse_args()
    with tc.dev_server(tc.FAST_SERVER), tc.app_folder() as folder:
        app = tc.write_app(folder, "cross-node", LUA, {"wf_echo": {"method": "echo"}}, "bench_nodes", BODIES, [],
                           extra_entries=[{"name": "echo", "kind": "process.py", "source": "bench_nodes:echo"},
                                          {"name": "collector", "kind": "process.py",
                                           "source": "bench_nodes:collector"}])
        sys.path.insert(0, str(folder))
        b_name = f"bench-b-{os.getpid()}"
        b_proc = start_node_b(app, b_name, args.down_after, folder / "node-b.log")
        try:
            figures = trio.run(measure, app, args, b_name, b_proc)
        finally:
            if b_proc.poll() is None:
                b_proc.kill()
    print(f"cross_node_rtt_ms (p50, p99)            {figures['cross_node_rtt_ms']}")
    print(f"cross_host_rtt_ms (p50, p99)            {figures['cross_host_rtt_ms']}")
    print(f"cross_node_rtt_ratio_vs_cross_host      {figures['cross_node_rtt_ratio_vs_cross_host']}   (target <= 1.0)")
    print(f"cross_node_msgs_per_s                   {figures['cross_node_msgs_per_s']}   "
          f"({args.burst} messages in {figures['burst_batches']} batches; target >= 5000)")
    print(f"node_down_detect_s                      {figures['node_down_detect_s']}   "
          f"(bound {args.down_after:g}; target <= 15)")


if __name__ == "__main__":
    main()
