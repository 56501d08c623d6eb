"""HTTP entry points: pidflow endpoints vs bare Starlette endpoints on the same hypercorn server, one run.

Run: .venv/bin/python benchmarks/http_endpoints.py [--requests 2000] [--workflow-requests 300] [--concurrency 8]
                                                   [--repeats 5] [--skip-workflow] [--only lua,bare] [--profile F]
                                                   [--in-process N]

One server process (this script with ``--serve``) opens a pidflow node on a throw-away app and serves ONE
Starlette app with hypercorn on the node's trio loop: the bare endpoints as plain Starlette routes, and pidflow's
routes mounted with ``pidflow.http.asgi_app(node)``::

    Starlette(routes=[Route("/bare", ...), Route("/native/orders", ...), Mount("/", app=asgi_app(node))])

The client is this script's own process (so client and server do not share an event loop or a core's worth of
Python): ``--concurrency`` keep-alive HTTP/1.1 connections, each sending its next request as soon as the answer
to the previous one arrived (``_http_client``: h11 over trio sockets; httpx costs the client ~4 times more CPU
per request, which made the client the bottleneck on 2 cores).

Endpoints (the pidflow ones are ``http.endpoint`` entries of router ``/api``):

* ``bare``: ``GET /bare``, a Starlette function answering ``JSONResponse({"ok": True, "answer": 42})``;
* ``lua``: ``GET /api/hello``, a ``function.lua`` handler answering the same JSON
  (``return http.response():json({ok = true, answer = 42})``);
* ``spawn``: ``GET /api/ask``, a ``function.lua`` handler that spawns a ``process.lua`` child on the node's local
  host, waits in its inbox for the child's reply (the same JSON) and answers with it;
* ``py``: ``GET /api/py``, a ``function.py`` handler returning the same dict (for reference: the HTTP layer and
  the handler process without a Lua state);
* ``workflow``: ``POST /api/orders`` with ``{"id": <unique>}``, the workflow spec's handler as written there
  (``process.with_context(...):with_options({["temporal.workflow.id"] = "order-" .. order.id,
  ["temporal.workflow.id_conflict_policy"] = "fail"}):spawn("app:order_workflow", "app:worker", order)``, 202
  with the PID);
* ``native``: ``POST /native/orders``, a Starlette endpoint that calls temporalio's ``client.start_workflow``
  directly for the SAME Lua workflow type on the same task queue, with the order as its one argument (a workflow
  started by hand that way gets it as its input), ``id="order-" + id``, ``id_conflict_policy=FAIL``, 202. It uses
  the node's temporalio client through the node's trio -> asyncio bridge (the server runs on trio; temporalio on
  asyncio), the hop pidflow's own start takes as well. Starting the same workflow means both sides hand the
  same work to the same worker (one short Lua workflow per start, run in the server process): the ratio is the
  cost of the handler path (request id, handler process, Lua state, spawn options) over a direct start.

Figures: requests/s of each endpoint (best of ``--repeats`` rounds; within a round the sides alternate, in
reversed order every other round), p50 / p99 latency of that best round, the server process's CPU time per
request (every thread, from ``/proc``; for the workflow endpoints up to the end of the workflows they started) and
the ratios: of the best rounds (and, in parentheses, each round's own ratio: its median and range), and by
server CPU per request (which moves less with the machine's load). Workflow phases wait until every workflow they
started has ended before the next phase, so one side's workflows do not run during the other's phase. ``--only``
runs some endpoints; ``--profile FILE`` runs the server's trio thread under cProfile and writes its stats there
(diagnosis only). Last line: the counters of the Lua state pools (lua_bindings/_state_pool.py) the endpoints ran
on, states made and calls that reused one, so a figure can be checked to come from reused states.
``--in-process N`` measures pidflow's own share instead: the same app called as an ASGI app in this process (no
sockets, no hypercorn), N sequential requests per local endpoint, CPU time per request.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import attrs
import trio
import yaml

sys.path.insert(0, str(Path(__file__).parent))
import _temporal_common as tc  # noqa: E402
from _http_client import Endpoint, get_json, load, server_cpu_seconds  # noqa: E402

HELLO = {"ok": True, "answer": 42}

# -- the app --------------------------------------------------------------------------------------------------------
HANDLERS_LUA = """
local http = require("http")

local function hello()
    return http.response():json({ok = true, answer = 42})
end

local function ask()
    local _, err = process.spawn("app:child", nil, process.pid())
    if err then error(err) end
    local msg = process.inbox():receive()
    return http.response():json(msg:payload():data())
end

return {hello = hello, ask = ask}
"""

ORDERS_LUA = """
local http = require("http")
local json = require("json")

-- the workflow spec's handler ("从 HTTP 处理器启动"), as written there
local function handler()
    local req = http.request()
    local order = json.decode(req:body())

    local spawner = process
        .with_context({request_id = req:header("X-Request-ID")})
        :with_options({
            ["temporal.workflow.id"] = "order-" .. order.id,
            ["temporal.workflow.id_conflict_policy"] = "fail",
        })

    local pid, err = spawner:spawn(
        "app:order_workflow",
        "app:worker",
        order
    )

    if err then
        return http.response():status(409):json({error = tostring(err)})
    end

    return http.response():status(202):json({
        workflow_id = tostring(pid),
        status = "started"
    })
end

return {handler = handler}
"""

CHILD_LUA = """
local function main(parent)
    process.send(parent, "reply", {ok = true, answer = 42})
end
return {main = main}
"""

PY_HANDLERS = """
def hello(request):
    return {"ok": True, "answer": 42}
"""

WORKFLOW_LUA = """
local ctx = require("ctx")

local function main(order)
    return {order_id = order.id, request_id = ctx.get("request_id")}
end
return {main = main}
"""


def write_app(folder: Path, workflow: bool) -> Path:
    (folder / "handlers.lua").write_text(HANDLERS_LUA)
    (folder / "orders.lua").write_text(ORDERS_LUA)
    (folder / "pidflow_http_bench.py").write_text(PY_HANDLERS)
    (folder / "child.lua").write_text(CHILD_LUA)
    (folder / "order_workflow.lua").write_text(WORKFLOW_LUA)
    entries: list[dict[str, Any]] = [
        # not started by the node: its routes are mounted in the benchmark's own Starlette app
        {"name": "gw", "kind": "http.service", "addr": "127.0.0.1:0", "lifecycle": {"auto_start": False}},
        {"name": "api", "kind": "http.router", "meta": {"server": "gw"}, "prefix": "/api"},
        {"name": "hello_fn", "kind": "function.lua", "source": "file://handlers.lua", "method": "hello",
         "modules": ["http"]},
        {"name": "hello", "kind": "http.endpoint", "meta": {"router": "api"}, "method": "GET", "path": "/hello",
         "func": "hello_fn"},
        {"name": "ask_fn", "kind": "function.lua", "source": "file://handlers.lua", "method": "ask",
         "modules": ["http"]},
        {"name": "ask", "kind": "http.endpoint", "meta": {"router": "api"}, "method": "GET", "path": "/ask",
         "func": "ask_fn"},
        {"name": "py_hello_fn", "kind": "function.py", "source": "pidflow_http_bench:hello"},
        {"name": "py_hello", "kind": "http.endpoint", "meta": {"router": "api"}, "method": "GET", "path": "/py",
         "func": "py_hello_fn"},
        {"name": "child", "kind": "process.lua", "source": "file://child.lua", "method": "main"},
    ]
    if workflow:
        entries += [
            {"name": "temporal", "kind": "temporal.client"},  # PIDFLOW_TEMPORAL_ADDRESS: the benchmark's server
            {"name": "worker", "kind": "temporal.worker", "client": "app:temporal",
             "task_queue": f"http-bench-{uuid.uuid4().hex[:8]}"},
            {"name": "order_workflow", "kind": "workflow.lua", "source": "file://order_workflow.lua",
             "method": "main", "modules": ["ctx"], "meta": {"temporal": {"workflow": {"worker": "app:worker"}}}},
            {"name": "create_order", "kind": "function.lua", "source": "file://orders.lua", "method": "handler",
             "modules": ["http", "json"]},
            {"name": "orders", "kind": "http.endpoint", "meta": {"router": "api"}, "method": "POST",
             "path": "/orders", "func": "create_order"},
        ]
    path = folder / "app.yaml"
    path.write_text(yaml.safe_dump({"version": "1.0", "namespace": "app", "entries": entries}))
    return path


# -- the server process -----------------------------------------------------------------------------------------------
async def serve(app_path: Path, workflow: bool) -> None:
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    import pidflow
    import pidflow.http

    async with pidflow.open_node(app_path, state_dir=app_path.parent / "state") as node:

        async def bare(request: Request) -> JSONResponse:
            return JSONResponse(HELLO)

        async def pools(request: Request) -> JSONResponse:
            """The Lua state pools' counters (lua_bindings/_state_pool.py): how many states the endpoints made and
            how many calls reused one."""
            found = node.resources.get("lua_state_pools", {})
            return JSONResponse({f"{entry}{' (process)' if process else ''}": {
                "created": pool.created, "reused": pool.reused, "dropped": pool.dropped, "live": pool.live}
                for (entry, process), pool in sorted(found.items())})

        routes = [Route("/bare", bare), Route("/pools", pools)]
        if workflow:
            from temporalio.common import WorkflowIDConflictPolicy
            from temporalio.exceptions import WorkflowAlreadyStartedError

            from pidflow.temporal_host._protocol import workflow_type_name

            host: Any = node.host("app:worker")
            client, aio, task_queue = host.client, host.service.aio, host.task_queue
            workflow_type = workflow_type_name(node.registry.get("app:order_workflow"))

            async def native_order(request: Request) -> JSONResponse:
                order = await request.json()
                workflow_id = "order-" + order["id"]

                async def start() -> Any:
                    return await client.start_workflow(workflow_type, order, id=workflow_id, task_queue=task_queue,
                                                       id_conflict_policy=WorkflowIDConflictPolicy.FAIL)

                try:
                    await aio.run(start)
                except WorkflowAlreadyStartedError as exc:
                    return JSONResponse({"error": str(exc)}, status_code=409)
                return JSONResponse({"workflow_id": f"{{app:worker|{workflow_id}}}", "status": "started"},
                                    status_code=202)

            async def drain(request: Request) -> JSONResponse:
                """Wait until no workflow of the benchmark runs (the phase's starts have all been run)."""
                query = f'WorkflowType="{workflow_type}" AND ExecutionStatus="Running"'

                async def running() -> int:
                    return (await client.count_workflows(query)).count

                with trio.move_on_after(120):
                    while (left := await aio.run(running)) > 0:
                        await trio.sleep(0.1)
                return JSONResponse({"running": left})

            async def result(request: Request) -> JSONResponse:
                handle = client.get_workflow_handle(request.query_params["id"])
                return JSONResponse(await aio.run(handle.result))

            routes += [Route("/native/orders", native_order, methods=["POST"]), Route("/drain", drain),
                       Route("/result", result)]
        app = Starlette(routes=[*routes, Mount("/", app=pidflow.http.asgi_app(node))])

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = Config()
        config.bind = [f"fd://{sock.detach()}"]
        config.accesslog = None
        config.errorlog = logging.getLogger("bench.hypercorn")  # no "Running on ..." line
        config.errorlog.setLevel(logging.WARNING)
        config.keep_alive_timeout = 600
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            await nursery.start(lambda task_status: hypercorn_serve(app, config, shutdown_trigger=stop.wait,
                                                                    task_status=task_status))
            print(json.dumps({"url": f"http://127.0.0.1:{port}", "pid": os.getpid()}), flush=True)
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    break
            stop.set()


async def in_process(app_path: Path, count: int, only: str | None) -> None:
    """``--in-process N``: pidflow's own share of a request. The same app is called as an ASGI app in this process,
    without sockets or hypercorn, N sequential requests per endpoint after a warm-up; prints the CPU time per
    request (best of 3)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    import pidflow
    import pidflow.http

    async def bare(request: Request) -> JSONResponse:
        return JSONResponse(HELLO)

    async with pidflow.open_node(app_path, state_dir=app_path.parent / "state") as node:
        app = Starlette(routes=[Route("/bare", bare), Mount("/", app=pidflow.http.asgi_app(node))])

        async def call(path: str) -> None:
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                     "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
                     "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
            sent: list[Any] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: Any) -> None:
                sent.append(message)

            await app(scope, receive, send)
            assert sent[0]["status"] == 200, sent

        paths = {"bare": "/bare", "lua": "/api/hello", "spawn": "/api/ask", "py": "/api/py"}
        for name, path in paths.items():
            if only and name not in only.split(","):
                continue
            for _ in range(max(100, count // 10)):
                await call(path)
            best = float("inf")
            for _ in range(3):
                start = time.process_time()
                for _ in range(count):
                    await call(path)
                best = min(best, (time.process_time() - start) / count)
            print(f"{name}_cpu_per_request_in_process: {best * 1e6:,.0f} us", flush=True)


def serve_main(app_path: Path, workflow: bool, profile: str | None) -> None:
    logging.basicConfig(level=logging.WARNING)  # a handler that fails is logged here (stderr)
    if profile is None:
        trio.run(serve, app_path, workflow)
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        trio.run(serve, app_path, workflow)
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


# -- the client -------------------------------------------------------------------------------------------------------
@attrs.define
class Phase:
    """One measured run of one endpoint."""

    rps: float
    latencies: list[float]  # seconds, sorted
    server_cpu: float  # seconds of the server process (every thread) per request
    client_cpu: float  # seconds of this process per request

    def percentile(self, p: float) -> float:
        return self.latencies[min(len(self.latencies) - 1, int(p * len(self.latencies)))]


async def phase(host: str, port: int, server_pid: int, endpoint: Endpoint, count: int, concurrency: int,
                durable: bool) -> Phase:
    await load(host, port, endpoint, max(concurrency, count // 20), concurrency, None)  # warm-up
    if durable:
        await get_json(host, port, "/drain")
    latencies: list[float] = []
    cpu, client_cpu, start = server_cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    await load(host, port, endpoint, count, concurrency, latencies)
    elapsed = time.perf_counter() - start
    client_cpu = time.process_time() - client_cpu
    if durable:
        # the starts were answered; their workflows may still run: wait for them (not in the rate, but in the
        # server's CPU: running them is part of what a start costs) before the next phase
        left = (await get_json(host, port, "/drain"))["running"]
        if left:
            raise RuntimeError(f"{left} workflows still run 120 s after the {endpoint.name} phase")
    cpu = server_cpu_seconds(server_pid) - cpu
    return Phase(count / elapsed, sorted(latencies), cpu / count, client_cpu / count)


def order_body(tag: str) -> Callable[[int], bytes]:
    """Order bodies with ids ``<tag>-0``, ``<tag>-1`` ..., unique across warm-ups and rounds."""
    counter = iter(range(10**9))
    return lambda n: json.dumps({"id": f"{tag}-{next(counter)}", "items": ["desk"], "total": 250}).encode()


async def run_client(url: str, server_pid: int,
                     args: argparse.Namespace) -> tuple[dict[str, list[Phase]], dict[str, Any]]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    port_n = int(port)
    run = uuid.uuid4().hex[:8]
    endpoints = {"bare": Endpoint("bare", "GET", "/bare", 200), "lua": Endpoint("lua", "GET", "/api/hello", 200),
                 "spawn": Endpoint("spawn", "GET", "/api/ask", 200), "py": Endpoint("py", "GET", "/api/py", 200)}
    groups = [["bare", "lua", "spawn", "py"]]
    if not args.skip_workflow:
        endpoints["native"] = Endpoint("native", "POST", "/native/orders", 202, order_body(f"{run}-native"))
        endpoints["workflow"] = Endpoint("workflow", "POST", "/api/orders", 202, order_body(f"{run}-pidflow"))
        groups.append(["native", "workflow"])
    # the answers are what they should be
    for name in ("bare", "lua", "spawn", "py"):
        answer = await get_json(host, port_n, endpoints[name].path)
        assert answer == HELLO, (name, answer)
    if args.only:
        groups = [[name for name in group if name in args.only.split(",")] for group in groups]
    phases: dict[str, list[Phase]] = {name: [] for group in groups for name in group}
    for round_ in range(args.repeats):
        for group in groups:
            for name in group if round_ % 2 == 0 else reversed(group):
                durable = name in ("native", "workflow")
                count = args.workflow_requests if durable else args.requests
                with trio.fail_after(600):
                    phases[name].append(await phase(host, port_n, server_pid, endpoints[name], count,
                                                    args.concurrency, durable))
        if round_ == 0 and {"native", "workflow"} <= phases.keys():  # both started the same workflow, same input
            native = await get_json(host, port_n, f"/result?id=order-{run}-native-0")
            ours = await get_json(host, port_n, f"/result?id=order-{run}-pidflow-0")
            assert native["order_id"] == f"{run}-native-0" and ours["order_id"] == f"{run}-pidflow-0", (native, ours)
            assert isinstance(ours.get("request_id"), str), ours  # the context reached the workflow
    return phases, await get_json(host, port_n, "/pools")


# -- main -------------------------------------------------------------------------------------------------------------
def start_server(app: Path, workflow: bool, profile: str | None) -> tuple[subprocess.Popen[str], str, int]:
    command = [sys.executable, __file__, "--serve", str(app)]
    if not workflow:
        command.append("--skip-workflow")
    if profile:
        command += ["--profile", profile]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line:
        server.wait()
        raise RuntimeError(f"the server process ended ({server.returncode}) before it served")
    info = json.loads(line)
    return server, info["url"], info["pid"]


def stop_server(server: subprocess.Popen[str]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def report(phases: dict[str, list[Phase]], pools: dict[str, Any], args: argparse.Namespace, load_before: float,
           load_after: float) -> None:
    best = {name: max(runs, key=lambda p: p.rps) for name, runs in phases.items()}
    print(f"machine: {os.cpu_count()} cores, load average (1 min) {load_before:.2f} before, {load_after:.2f} after; "
          f"client: a separate process, {args.concurrency} keep-alive connections (h11); best of {args.repeats}")
    labels = {"bare": "bare_starlette", "lua": "lua_endpoint", "spawn": "spawn_endpoint", "py": "python_endpoint",
              "native": "native_workflow_start", "workflow": "workflow_start_endpoint"}
    for name, phase_ in best.items():
        count = args.workflow_requests if name in ("native", "workflow") else args.requests
        print(f"{labels[name]}_rps: {phase_.rps:,.0f}  (p50 {phase_.percentile(0.5) * 1000:.2f} ms, "
              f"p99 {phase_.percentile(0.99) * 1000:.2f} ms; server CPU {phase_.server_cpu * 1e6:,.0f} us/request, "
              f"client CPU {phase_.client_cpu * 1e6:,.0f} us/request; {count} requests; all rounds: "
              f"{', '.join(f'{p.rps:,.0f}' for p in phases[name])})")
    ratios = [("lua_endpoint_rps_ratio_vs_starlette", "lua", "bare"),
              ("spawn_endpoint_rps_ratio_vs_starlette", "spawn", "bare"),
              ("python_endpoint_rps_ratio_vs_starlette", "py", "bare"),
              ("workflow_start_endpoint_ratio_vs_native", "workflow", "native")]
    for label, ours, baseline in ratios:
        if ours in best and baseline in best:
            # each round's own ratio too: its two phases ran seconds apart, under much the same load
            paired = sorted(o.rps / b.rps for o, b in zip(phases[ours], phases[baseline]))
            print(f"{label}: {best[ours].rps / best[baseline].rps:.2f}  (per round: median "
                  f"{statistics.median(paired):.2f}, {paired[0]:.2f} - {paired[-1]:.2f})")
    # what the ratios would be if the server process alone bounded the rate: less sensitive to the machine's load
    for label, ours, baseline in ratios:
        if ours in best and baseline in best:
            cpu = min(p.server_cpu for p in phases[baseline]) / min(p.server_cpu for p in phases[ours])
            print(f"{label.replace('rps_ratio', 'ratio').replace('_ratio', '_server_cpu_ratio')}: {cpu:.2f}")
    # the Lua states the endpoints ran on: made (pooled or fresh), calls that reused a pooled one, pooled ones dropped
    print("lua_state_pools: " + "; ".join(f"{entry} {c['created']} made, {c['reused']:,} reused, {c['dropped']} "
                                          f"dropped" for entry, c in pools.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per round (bare, lua, spawn, py)")
    parser.add_argument("--workflow-requests", type=int, default=300,
                        help="measured requests per round of the workflow start endpoints")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections of the client")
    parser.add_argument("--repeats", type=int, default=5, help="rounds; each figure is the best round")
    parser.add_argument("--skip-workflow", action="store_true", help="no Temporal: the local endpoints only")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the server's trio thread into FILE")
    parser.add_argument("--only", metavar="NAMES",
                        help="run only these endpoints (bare,lua,spawn,py,native,workflow)")
    parser.add_argument("--in-process", metavar="N", type=int,
                        help="no server: call the app as ASGI in this process, N requests per local endpoint, and "
                             "print pidflow's CPU time per request")
    parser.add_argument("--serve", metavar="APP", help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args()
    if args.serve:
        serve_main(Path(args.serve), not args.skip_workflow, args.profile)
        return
    if args.in_process:
        with tempfile.TemporaryDirectory(prefix="pidflow-http-bench-") as folder:
            trio.run(in_process, write_app(Path(folder), workflow=False), args.in_process, args.only)
        return

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pidflow-http-bench-") as folder:
        app = write_app(Path(folder), workflow=not args.skip_workflow)
        with tc.dev_server(tc.FAST_SERVER) if not args.skip_workflow else contextlib.nullcontext():
            server, url, pid = start_server(app, not args.skip_workflow, args.profile)
            try:
                phases, pools = trio.run(run_client, url, pid, args)
            finally:
                stop_server(server)
    report(phases, pools, args, load_before, os.getloadavg()[0])


if __name__ == "__main__":
    main()
