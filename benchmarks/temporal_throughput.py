"""Durable workflows: the same logic as a native temporalio workflow and as a pidflow Lua workflow, one server.

Run: .venv/bin/python benchmarks/temporal_throughput.py [--workflows 200] [--signals 500] [--chain 160] [--repeats 3]

One in-memory dev server (``temporal server start-dev``, started by this script) serves both flavours:

* native: plain temporalio ``@workflow.defn`` classes + an ``@activity.defn`` function on a temporalio ``Worker``
  (unsandboxed; temporalio's default data converter, ``json/plain``, as a native app has it);
* Lua: a pidflow app (YAML + ``bench.lua`` + a ``function.py`` activity) on a pidflow node whose
  ``temporal.client`` has no address, so ``PIDFLOW_TEMPORAL_ADDRESS`` points it at the same server; driven
  through the node's process API (``node.process.exec`` / ``spawn_monitored`` / ``send``), as an app would.

Figures (higher is better):

1. throughput: ``--workflows`` workflows started at once, each calling one activity and returning its result;
   workflows per second from the first start to the last result;
2. signals: one workflow receives ``--signals`` signals sent one after the other by a temporalio client (Lua: the
   node's client sends ``msg:tick``, as the node's outbox does for one message) and takes them one
   receive at a time; signals per second from the first send to the workflow's result. A burst of
   ``node.process.send`` is also timed (the outbox batches it into few signals), for reference only;
3. replay: one history of ~1,000 events per flavour (a workflow calling ``--chain`` activities in sequence), timed
   through ``temporalio.worker.Replayer.replay_workflow``; the Lua flavour replays ``LuaWorkflow`` with its
   ``WorkerConfig`` built offline from the app (``register_config``), unsandboxed, pidflow's data converter (the
   native one temporalio's default).

Each figure is the best of ``--repeats`` rounds; native and Lua rounds alternate, so background load hits both.
The dev server runs with ``history.transferProcessorMaxPollRPS`` raised (``_temporal_common.FAST_SERVER``;
``--default-server`` keeps the default 20/s, which puts sequential hops on a 50 ms grid).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import trio
from temporalio import activity, common, workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

sys.path.insert(0, str(Path(__file__).parent))
import _temporal_common as tc  # noqa: E402

import pidflow  # noqa: E402
from pidflow import entries as entries_mod  # noqa: E402
from pidflow._events import EventKind, Message  # noqa: E402
from pidflow.temporal_host import _protocol as protocol  # noqa: E402
from pidflow.temporal_host._converter import DATA_CONVERTER  # noqa: E402
from pidflow.temporal_host._protocol import workflow_type_name  # noqa: E402
from pidflow.temporal_host._workflow import WorkerConfig, register_config  # noqa: E402

# -- native flavour ---------------------------------------------------------------------------------------------------
# Same activity options as pidflow's funcs.call defaults (5 min start-to-close, 3 attempts).
_TIMEOUT = datetime.timedelta(minutes=5)
_RETRY = common.RetryPolicy(initial_interval=datetime.timedelta(seconds=1), maximum_attempts=3)


@activity.defn(name="bench.work")
async def work(value: int) -> int:
    return value + 1


@workflow.defn(name="NativeOne", sandboxed=False)
class NativeOne:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(work, value, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)


@workflow.defn(name="NativeSignals", sandboxed=False)
class NativeSignals:
    def __init__(self) -> None:
        self.received: list[Any] = []

    @workflow.signal(name="tick")
    def tick(self, value: Any) -> None:
        self.received.append(value)

    @workflow.run
    async def run(self, count: int) -> int:
        total = 0
        for _ in range(count):  # one receive per signal, as the Lua inbox loop does
            await workflow.wait_condition(lambda: bool(self.received))
            total += self.received.pop(0)
        return total


@workflow.defn(name="NativeChain", sandboxed=False)
class NativeChain:
    @workflow.run
    async def run(self, count: int) -> int:
        total = 0
        for _ in range(count):
            total = await workflow.execute_activity(work, total, start_to_close_timeout=_TIMEOUT, retry_policy=_RETRY)
        return total


NATIVE_WORKFLOWS = [NativeOne, NativeSignals, NativeChain]

# -- Lua flavour ------------------------------------------------------------------------------------------------------
LUA = """
local funcs = require("funcs")

local function one(value)
  local result, err = funcs.call("bench:work", value)
  if err then return nil, err end
  return result
end

local function signals(count)
  local inbox = process.inbox()
  local total = 0
  for _ = 1, count do
    total = total + inbox:receive():payload():data()
  end
  return total
end

local function chain(count)
  local total = 0
  for _ = 1, count do
    local err
    total, err = funcs.call("bench:work", total)
    if err then return nil, err end
  end
  return total
end

return {one = one, signals = signals, chain = chain}
"""

FUNCTIONS = """
def work(value):
    return value + 1
"""

LUA_WORKFLOWS = {"one": {"method": "one", "modules": ["funcs"]},
                 "signals": {"method": "signals", "modules": ["funcs"]},
                 "chain": {"method": "chain", "modules": ["funcs"]}}


class Figures:
    def __init__(self) -> None:
        self.native: dict[str, list[float]] = {"throughput": [], "signals": [], "replay": []}
        self.lua: dict[str, list[float]] = {"throughput": [], "signals": [], "replay": []}
        # CPU time of this Python process (every thread: workers, client, node) per workflow / per signal
        self.cpu: dict[str, dict[str, list[float]]] = {"native": {"throughput": [], "signals": []},
                                                       "lua": {"throughput": [], "signals": []}}
        self.burst: list[float] = []  # messages/s of 500 node.process.send to one Lua workflow (outbox batching)
        self.history_ids: dict[str, str] = {}
        self.history_events: dict[str, int] = {}


# -- native rounds ----------------------------------------------------------------------------------------------------
async def native_client(address: str) -> Client:
    """A plain temporalio client: temporalio's default data converter (JSON), as a native app has it."""
    return await Client.connect(address, data_converter=DataConverter.default)


async def native_round(address: str, args: argparse.Namespace, figures: Figures, record: bool) -> None:
    client = await native_client(address)
    task_queue = f"native-{uuid.uuid4().hex[:8]}"
    async with tc.native_worker(client, task_queue, NATIVE_WORKFLOWS, [work]):
        # warm-up: one workflow through the whole path
        await client.execute_workflow("NativeOne", 0, id=f"native-warm-{uuid.uuid4()}", task_queue=task_queue)

        start, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.gather(*(
            client.execute_workflow("NativeOne", i, id=f"native-one-{uuid.uuid4()}", task_queue=task_queue)
            for i in range(args.workflows)))
        elapsed = time.perf_counter() - start
        assert results == [i + 1 for i in range(args.workflows)], results[:5]
        figures.native["throughput"].append(args.workflows / elapsed)
        figures.cpu["native"]["throughput"].append((time.process_time() - cpu) / args.workflows)

        handle = await client.start_workflow("NativeSignals", args.signals, id=f"native-sig-{uuid.uuid4()}",
                                             task_queue=task_queue)
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(args.signals):
            await handle.signal("tick", i)
        total = await handle.result()
        elapsed = time.perf_counter() - start
        assert total == sum(range(args.signals)), total
        figures.native["signals"].append(args.signals / elapsed)
        figures.cpu["native"]["signals"].append((time.process_time() - cpu) / args.signals)

        if record:
            workflow_id = f"native-chain-{uuid.uuid4()}"
            assert await client.execute_workflow("NativeChain", args.chain, id=workflow_id,
                                                 task_queue=task_queue) == args.chain
            figures.history_ids["native"] = workflow_id


# -- Lua rounds -------------------------------------------------------------------------------------------------------
async def exit_of(events: Any, pid: pidflow.Pid) -> Any:
    while True:
        event = await events.receive()
        if event.kind is EventKind.EXIT and event.from_ == pid:
            return event


async def lua_round(app: Path, args: argparse.Namespace, figures: Figures, record: bool) -> None:
    async with pidflow.open_node(app) as node:
        api = node.process
        await api.exec("bench:one", "bench:worker", 0)  # warm-up

        results: list[Any] = [None] * args.workflows

        async def one(i: int) -> None:
            results[i] = await api.exec("bench:one", "bench:worker", i)

        start, cpu = time.perf_counter(), time.process_time()
        async with trio.open_nursery() as nursery:
            for i in range(args.workflows):
                nursery.start_soon(one, i)
        elapsed = time.perf_counter() - start
        assert results == [i + 1 for i in range(args.workflows)], results[:5]
        figures.lua["throughput"].append(args.workflows / elapsed)
        figures.cpu["lua"]["throughput"].append((time.process_time() - cpu) / args.workflows)

        # 500 signals, one after the other, as the native client sends them: what the node's outbox sends per
        # message when nothing queued behind it (a burst of process.send is batched into few signals instead;
        # measured separately below).
        host = node.host("bench:worker")
        events = api.events()
        pid = await api.spawn_monitored("bench:signals", "bench:worker", args.signals)

        async def signal_each() -> None:
            handle = host.client.get_workflow_handle(pid.id)
            name = protocol.message_signal("tick")  # "msg:tick", as the outbox names one message
            for i in range(args.signals):
                await handle.signal(name, Message("tick", i, api.pid()).to_wire())

        start, cpu = time.perf_counter(), time.process_time()
        await host.service.aio.run(signal_each)
        event = await exit_of(events, pid)
        elapsed = time.perf_counter() - start
        assert event.result is not None and event.result.value == sum(range(args.signals)), event
        figures.lua["signals"].append(args.signals / elapsed)
        figures.cpu["lua"]["signals"].append((time.process_time() - cpu) / args.signals)

        pid = await api.spawn_monitored("bench:signals", "bench:worker", args.signals)
        start = time.perf_counter()
        for i in range(args.signals):
            await api.send(pid, "tick", i)
        event = await exit_of(events, pid)
        figures.burst.append(args.signals / (time.perf_counter() - start))

        if record:
            pid = await api.spawn_monitored("bench:chain", "bench:worker", args.chain)
            event = await exit_of(events, pid)
            assert event.result is not None and event.result.value == args.chain, event
            figures.history_ids["lua"] = pid.id


# -- replay -----------------------------------------------------------------------------------------------------------
REPLAY_BUILD_ID = "bench"


def lua_replay_workflow(app: Path) -> type:
    """The Lua workflow class with the app's worker configuration, built offline as a replay test would.
    temporalio's Replayer runs every history on the task queue ``replay-<build id>``: register it there."""
    registry = entries_mod.load(app)
    types = {workflow_type_name(e): e for e in registry.of_kind("workflow.lua")}
    return register_config(WorkerConfig.build("bench:worker", f"replay-{REPLAY_BUILD_ID}", registry, types))


async def replays(address: str, app: Path, args: argparse.Namespace, figures: Figures) -> None:
    client = await tc.connect(address)
    flavours = {"native": NativeChain, "lua": lua_replay_workflow(app)}
    converters = {"native": DataConverter.default, "lua": DATA_CONVERTER}
    histories: dict[str, WorkflowHistory] = {}
    for flavour, workflow_id in figures.history_ids.items():
        histories[flavour] = await client.get_workflow_handle(workflow_id).fetch_history()
        figures.history_events[flavour] = len(histories[flavour].events)
    for _ in range(args.repeats):
        for flavour in ("native", "lua"):
            replayer = Replayer(workflows=[flavours[flavour]], data_converter=converters[flavour],
                                workflow_runner=UnsandboxedWorkflowRunner(), build_id=REPLAY_BUILD_ID)
            start = time.perf_counter()
            await replayer.replay_workflow(histories[flavour])
            elapsed = time.perf_counter() - start
            getattr(figures, flavour)["replay"].append(figures.history_events[flavour] / elapsed)


LIMIT = 300  # seconds per round: a broken build fails instead of hanging (the dev server is then still stopped)


async def _limited(fn: Any, *args: Any) -> None:
    with trio.fail_after(LIMIT):
        await fn(*args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--signals", type=int, default=500)
    parser.add_argument("--chain", type=int, default=166, help="activities in the recorded history (~6 events each)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--default-server", action="store_true",
                        help="keep the dev server's transfer-task poll limit (20/s; see _temporal_common.FAST_SERVER)")
    args = parser.parse_args()

    figures = Figures()
    lua_task_queue = f"lua-{uuid.uuid4().hex[:8]}"
    with tc.dev_server(None if args.default_server else tc.FAST_SERVER) as address, tc.app_folder() as folder:
        app = tc.write_app(folder, lua_task_queue, LUA, LUA_WORKFLOWS, "pidflow_bench_throughput", FUNCTIONS,
                           ["work"])
        for round_ in range(args.repeats):
            asyncio.run(asyncio.wait_for(native_round(address, args, figures, record=round_ == 0), LIMIT))
            trio.run(_limited, lua_round, app, args, figures, round_ == 0)
        asyncio.run(asyncio.wait_for(replays(address, app, args, figures), LIMIT))

    best = {flavour: {k: max(v) for k, v in getattr(figures, flavour).items()} for flavour in ("native", "lua")}
    server = "default" if args.default_server else "transferProcessorMaxPollRPS=10000"
    print(f"server: temporal dev server (in memory, {server}); native: unsandboxed, temporalio's default converter; "
          f"best of {args.repeats}")
    for flavour in ("native", "lua"):
        b, cpu = best[flavour], {k: min(v) * 1000 for k, v in figures.cpu[flavour].items()}
        print(f"{flavour}_workflows_per_s: {b['throughput']:,.1f}  ({args.workflows} concurrent, 1 activity each; "
              f"{cpu['throughput']:.2f} ms CPU per workflow in this process)")
        print(f"{flavour}_signals_per_s: {b['signals']:,.1f}  ({args.signals} signals to one workflow; "
              f"{cpu['signals']:.2f} ms CPU per signal)")
        print(f"{flavour}_replay_events_per_s: {b['replay']:,.0f}  (history of {figures.history_events[flavour]} "
              f"events, {figures.history_events[flavour] / b['replay'] * 1000:.1f} ms)")
    print(f"lua_process_send_burst_messages_per_s: {max(figures.burst):,.0f}  ({args.signals} node.process.send "
          f"to one Lua workflow; the outbox batches queued messages into few signals)")
    print(f"lua_vs_native_throughput_ratio: {best['lua']['throughput'] / best['native']['throughput']:.2f}")
    print(f"lua_vs_native_signal_ratio: {best['lua']['signals'] / best['native']['signals']:.2f}")
    print(f"lua_vs_native_replay_ratio: {best['lua']['replay'] / best['native']['replay']:.2f}")


if __name__ == "__main__":
    main()
