"""Shared pieces of the Temporal benchmarks: one in-memory dev server per run, a throw-away pidflow app folder
(YAML + Lua + a Python function module), and a native temporalio worker/client pair on the same server.

Both flavours use pidflow's data converter (JSON, :data:`pidflow.temporal_host._converter.DATA_CONVERTER`),
so payload encoding is the same on both sides; the native workflows are unsandboxed (``sandboxed=False``), as
pidflow's ``LuaWorkflow`` is, so neither side pays temporalio's sandbox.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Sequence

import yaml
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from pidflow.temporal_host._converter import DATA_CONVERTER
from pidflow.temporal_host._devserver import DevServer
from pidflow.temporal_host._service import ADDRESS_ENV, DEV_DYNAMIC_CONFIG

NAMESPACE = "bench"

# The dev server's history service loads new transfer tasks (a workflow task or an activity task to hand to
# matching) at most ``history.transferProcessorMaxPollRPS`` = 20 times per second: under a sustained sequential
# load every hop then waits for the next 50 ms tick (measured: every WORKFLOW_TASK_STARTED/ACTIVITY_TASK_STARTED
# on a 50 ms grid), which measures the limiter, not the workers. The benchmarks raise it (``--default-server``
# keeps the default).
FAST_SERVER = DEV_DYNAMIC_CONFIG  # what pidflow's embedded server uses too


@contextlib.contextmanager
def dev_server(dynamic_config: dict[str, Any] | None = None) -> Iterator[str]:
    """Start one in-memory dev server and point pidflow nodes at it (``PIDFLOW_TEMPORAL_ADDRESS``)."""
    server = DevServer(dynamic_config=dynamic_config)
    address = server.start()
    old = os.environ.get(ADDRESS_ENV)
    os.environ[ADDRESS_ENV] = address
    try:
        yield address
    finally:
        if old is None:
            os.environ.pop(ADDRESS_ENV, None)
        else:
            os.environ[ADDRESS_ENV] = old
        server.stop()


def write_app(folder: Path, task_queue: str, lua_source: str, workflows: dict[str, dict[str, Any]],
              functions_module: str, functions_source: str, functions: Sequence[str],
              extra_entries: Sequence[dict[str, Any]] = ()) -> Path:
    """An app in namespace ``bench``: client ``bench:temporal``, worker ``bench:worker`` on ``task_queue``,
    local host ``bench:processes``; ``workflows`` maps entry name -> {method, modules}; every workflow's source
    is ``bench.lua``; ``functions`` are ``function.py`` entries from ``functions_module``."""
    (folder / "bench.lua").write_text(lua_source)
    (folder / f"{functions_module}.py").write_text(functions_source)
    entries: list[dict[str, Any]] = [
        {"name": "temporal", "kind": "temporal.client"},
        {"name": "worker", "kind": "temporal.worker", "client": "bench:temporal", "task_queue": task_queue},
        {"name": "processes", "kind": "process.host"},
    ]
    for name, spec in workflows.items():
        entries.append({"name": name, "kind": "workflow.lua", "source": "file://bench.lua",
                        "method": spec["method"], "modules": spec.get("modules", []),
                        "meta": {"temporal": {"workflow": {"worker": "bench:worker"}}}})
    for name in functions:
        entries.append({"name": name, "kind": "function.py", "source": f"{functions_module}:{name}"})
    entries.extend(extra_entries)
    path = folder / "app.yaml"
    path.write_text(yaml.safe_dump({"version": "1.0", "namespace": NAMESPACE, "entries": entries}))
    return path


@contextlib.contextmanager
def app_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pidflow-bench-") as folder:
        yield Path(folder)


async def connect(address: str) -> Client:
    return await Client.connect(address, data_converter=DATA_CONVERTER)


@contextlib.asynccontextmanager
async def native_worker(client: Client, task_queue: str, workflows: Sequence[type],
                        activities: Sequence[Any]) -> AsyncIterator[Worker]:
    """A plain temporalio worker with temporalio's default limits (as the pidflow worker has)."""
    worker = Worker(client, task_queue=task_queue, workflows=list(workflows), activities=list(activities),
                    workflow_runner=UnsandboxedWorkflowRunner())
    async with worker:
        yield worker


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
