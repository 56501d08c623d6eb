"""Spike: Lua scripts as durable Temporal workflows, run by a worker on the asyncio thread of the trio bridge."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from pidflow.temporal_host import _spike_lua_workflow as spike
from pidflow.temporal_host._aio import AsyncioThread

LUA = Path(__file__).parent / "lua"
REPO = Path(__file__).parents[2]


@contextlib.asynccontextmanager
async def running_worker(
    aio: AsyncioThread, client: Client, task_queue: str, functions: dict[str, Callable[..., Any]]
) -> AsyncIterator[None]:
    async def run() -> None:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[spike.LuaWorkflow],
            activities=[spike.call_activity(functions)],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        await worker.run()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(aio.run, run)
        yield
        nursery.cancel_scope.cancel()


def register(script: str) -> str:
    workflow_type = f"Lua_{Path(script).stem}_{uuid.uuid4().hex[:6]}"
    spike.SCRIPTS[workflow_type] = (LUA / script).read_text()
    return workflow_type


async def history_events(aio: AsyncioThread, client: Client, workflow_id: str) -> list[Any]:
    async def fetch() -> list[Any]:
        return list((await client.get_workflow_handle(workflow_id).fetch_history()).events)

    return await aio.run(fetch)


async def run_inbox_workflow(aio: AsyncioThread, client: Client, task_queue: str) -> tuple[str, Any]:
    """Three signals before any worker exists, three more after the workflow has consumed the first ones."""
    workflow_type = register("inbox.lua")
    workflow_id = f"inbox-{uuid.uuid4().hex[:8]}"
    checkpoint = trio.Event()

    async def greet(name: str) -> str:  # runs on trio, called from the activity on asyncio
        await trio.sleep(0)
        return f"hello {name}"

    async def on_checkpoint(i: int) -> None:
        checkpoint.set()

    functions = {"greet": lambda name: aio.run_trio(greet, name), "checkpoint": lambda i: aio.run_trio(on_checkpoint, i)}
    handle = await aio.run(
        lambda: client.start_workflow(
            workflow_type, {"name": "lua", "expect": 6, "checkpoint": 3}, id=workflow_id, task_queue=task_queue
        )
    )
    for i in (1, 2, 3):
        await aio.run(handle.signal, "early", i)
    async with running_worker(aio, client, task_queue, functions):
        await checkpoint.wait()
        for i in (4, 5, 6):
            await aio.run(handle.signal, "late", i)
        result = await aio.run(handle.result)
    return workflow_id, result


async def test_lua_workflow_calls_activity_sleeps_and_receives_signals_in_order(
    aio: AsyncioThread, client: Client, task_queue: str
) -> None:
    _, result = await run_inbox_workflow(aio, client, task_queue)
    assert result == {
        "greeting": "hello lua",
        "seen": ["early=1", "early=2", "early=3", "late=4", "late=5", "late=6"],
    }


async def test_history_replays_in_a_fresh_process_and_a_changed_script_is_nondeterministic(
    aio: AsyncioThread, client: Client, task_queue: str, tmp_path: Path
) -> None:
    workflow_id, _ = await run_inbox_workflow(aio, client, task_queue)

    async def fetch() -> WorkflowHistory:
        return await client.get_workflow_handle(workflow_id).fetch_history()

    history = await aio.run(fetch)
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"workflow_id": workflow_id, "history": json.loads(history.to_json())}))
    workflow_type = history.events[0].workflow_execution_started_event_attributes.workflow_type.name

    def replay(script: str) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-m", "pidflow.temporal_host._spike_lua_workflow", str(path), workflow_type, str(LUA / script)],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])

    assert replay("inbox.lua") == {"ok": True, "type": None, "message": None}
    changed = replay("inbox_changed.lua")
    assert changed["type"] == "NondeterminismError"
    assert "Nondeterminism" in changed["message"]


async def test_lua_that_never_yields_fails_the_workflow_task_with_a_clear_error(
    aio: AsyncioThread, client: Client, task_queue: str
) -> None:
    workflow_type = register("spin.lua")
    workflow_id = f"spin-{uuid.uuid4().hex[:8]}"
    async with running_worker(aio, client, task_queue, {}):
        handle = await aio.run(lambda: client.start_workflow(workflow_type, {}, id=workflow_id, task_queue=task_queue))
        failure = await wait_for_task_failure(aio, client, workflow_id)
        await aio.run(handle.terminate)
    assert f"lua workflow {workflow_type} ({workflow_id}) ran 1.5s without yielding" in failure
    assert "move long computations into funcs.call" in failure


async def test_deadlock_detector_interrupts_spinning_lua_through_the_hook(
    aio: AsyncioThread, client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spike, "SLICE_BUDGET_SECONDS", 3600.0)
    workflow_type = register("spin.lua")
    workflow_id = f"deadlock-{uuid.uuid4().hex[:8]}"
    async with running_worker(aio, client, task_queue, {}):
        handle = await aio.run(lambda: client.start_workflow(workflow_type, {}, id=workflow_id, task_queue=task_queue))
        failure = await wait_for_task_failure(aio, client, workflow_id)
        await aio.run(handle.terminate)
    assert "[TMPRL1101] Potential deadlock detected: workflow didn't yield within 2 second(s)" in failure


async def wait_for_task_failure(aio: AsyncioThread, client: Client, workflow_id: str) -> str:
    with trio.fail_after(30):
        while True:
            for event in await history_events(aio, client, workflow_id):
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    return event.workflow_task_failed_event_attributes.failure.message
            await trio.sleep(0.2)


def test_lua_pairs_order_differs_between_processes() -> None:
    code = (
        "import lupa.lua54 as l, pathlib, sys;"
        "print(l.LuaRuntime().execute(pathlib.Path(sys.argv[1]).read_text()))"
    )
    orders = {
        subprocess.run([sys.executable, "-c", code, str(LUA / "pairs_order.lua")], capture_output=True, text=True,
                       check=True).stdout
        for _ in range(4)
    }
    assert len(orders) > 1
