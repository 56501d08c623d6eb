"""A mixed tree on the real dev server: a supervisor entry with a local Lua child and a durable workflow child.

Killed local children and failed workflow children are restarted (the workflow under the same workflow id, so
the same PID, in a new run); exceeding the intensity ends the supervisor abnormally; a node that restarts while
the durable child runs adopts it (same PID, same run, no second run). Temporal's own view (describe, list) is
the judge of what runs.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable

import trio
from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus

import pidflow
from pidflow import EventKind, Pid
from pidflow.supervision import Supervisor

from ._support import alive

RUNNING = WorkflowExecutionStatus.RUNNING


def tree(name: str, *, intensity: int = 3, durable_name: str | None = None) -> list[dict[str, Any]]:
    durable: dict[str, Any] = {"id": "durable", "entry": "app:durable_child", "host": "app:worker",
                               "shutdown": "1s"}
    if durable_name is not None:
        durable["name"] = durable_name
    return [
        {"name": "local_child", "kind": "process.lua", "source": "file://sv_local_child.lua", "method": "main"},
        {"name": "durable_child", "kind": "workflow.lua", "source": "file://sv_durable_child.lua",
         "modules": ["errors"]},
        {"name": name, "kind": "supervisor", "intensity": intensity, "period": "60s", "children": [
            {"id": "local", "entry": "app:local_child", "host": "app:processes"},
            durable,
        ]},
    ]


async def _temporal(node: pidflow.Node, fn: Callable[..., Any], *args: Any) -> Any:
    host: Any = node.hosts["app:worker"]
    return await host.service.aio.run(fn, *args)


async def describe(node: pidflow.Node, workflow_id: str) -> WorkflowExecutionDescription:
    host: Any = node.hosts["app:worker"]
    return await _temporal(node, host.client.get_workflow_handle(workflow_id).describe)


async def runs(node: pidflow.Node, workflow_id: str) -> list[Any]:
    host: Any = node.hosts["app:worker"]

    async def collect() -> list[Any]:
        return [w async for w in host.client.list_workflows(f'WorkflowId = "{workflow_id}"')]

    return await _temporal(node, collect)


async def terminate(node: pidflow.Node, workflow_id: str) -> None:
    host: Any = node.hosts["app:worker"]
    try:
        await _temporal(node, host.client.get_workflow_handle(workflow_id).terminate, "test cleanup")
    except Exception:  # noqa: BLE001 - already closed is fine
        pass


async def running_run(node: pidflow.Node, workflow_id: str, other_than: str | None = None) -> str:
    """Poll until the workflow id has a RUNNING run (other than ``other_than``); its run id."""
    while True:
        description = await describe(node, workflow_id)
        if description.status == RUNNING and description.run_id != other_than:
            return description.run_id
        await trio.sleep(0.05)


async def children(sup: Supervisor) -> dict[str, Pid | None]:
    return {c["id"]: c["pid"] for c in await sup.which_children()}


async def child_changed(sup: Supervisor, child_id: str, old: Pid) -> Pid:
    while True:
        pid = (await children(sup)).get(child_id)
        if pid is not None and pid != old:
            return pid
        await trio.sleep(0.02)


async def root_supervisor(node: pidflow.Node) -> Supervisor:
    [pid] = node.root_supervisors
    sup = Supervisor(node, pid)
    with trio.fail_after(30):
        while True:
            try:
                await sup.which_children()
                return sup
            except pidflow.Error:
                assert alive(node, pid)
                await trio.sleep(0.02)


async def test_a_killed_local_child_is_restarted_and_a_failed_workflow_child_restarts_under_the_same_id(
        make_app: Callable[..., Path]) -> None:
    workflow_id = f"sv-mixed-{uuid.uuid4().hex[:8]}"
    app = make_app(tree("root", durable_name=workflow_id))
    async with pidflow.open_node(app) as node:
        try:
            sup = (await root_supervisor(node))
            first = await children(sup)
            assert first["durable"] == Pid("app:worker", workflow_id)
            with trio.fail_after(30):
                run1 = await running_run(node, workflow_id)

                assert await node.process.terminate(first["local"])  # type: ignore[arg-type]
                local2 = await child_changed(sup, "local", first["local"])  # type: ignore[arg-type]
                assert alive(node, local2) and not alive(node, first["local"])

                await node.process.send(first["durable"], "fail")  # type: ignore[arg-type]
                run2 = await running_run(node, workflow_id, other_than=run1)
            assert (await children(sup))["durable"] == first["durable"]  # same workflow id: same PID
            failed = await _temporal(node, node.hosts["app:worker"].client  # type: ignore[attr-defined]
                                     .get_workflow_handle(workflow_id, run_id=run1).describe)
            assert failed.status == WorkflowExecutionStatus.FAILED
            assert run2 != run1
            assert (await children(sup))["local"] == local2  # one_for_one: the local child was left alone
        finally:
            await terminate(node, workflow_id)


async def test_exceeding_the_intensity_ends_the_mixed_supervisor_abnormally_and_stops_its_children(
        make_app: Callable[..., Path]) -> None:
    workflow_id = f"sv-mixed-{uuid.uuid4().hex[:8]}"
    app = make_app(tree("fragile", intensity=1, durable_name=workflow_id))
    async with pidflow.open_node(app) as node:
        try:
            sup = (await root_supervisor(node))
            await node.process.monitor(sup.pid)
            first = await children(sup)
            with trio.fail_after(30):
                await running_run(node, workflow_id)
                await node.process.terminate(first["local"])  # type: ignore[arg-type]
                local2 = await child_changed(sup, "local", first["local"])  # type: ignore[arg-type]
                await node.process.send(first["durable"], "fail")  # type: ignore[arg-type]
                async for event in node.process.events():
                    if event.kind is EventKind.EXIT and event.from_ == sup.pid:
                        break
            assert event.result is not None and event.result.error is not None
            assert "supervisor app:fragile reached its restart intensity" in event.result.error.message
            assert "child durable" in event.result.error.message
            assert not alive(node, local2)
            with trio.fail_after(30):  # the durable child was not restarted: nothing runs under its id
                while (await describe(node, workflow_id)).status == RUNNING:
                    await trio.sleep(0.05)
        finally:
            await terminate(node, workflow_id)


async def test_a_restarted_node_adopts_the_durable_child_that_still_runs(make_app: Callable[..., Path]) -> None:
    name = f"adopting_{uuid.uuid4().hex[:8]}"
    app = make_app(tree(name))
    workflow_id = f"app-{name}/durable"  # the stable id derived from the supervisor and child ids
    async with pidflow.open_node(app) as node:
        try:
            first = await children((await root_supervisor(node)))
            assert first["durable"] == Pid("app:worker", workflow_id)
            with trio.fail_after(30):
                run1 = await running_run(node, workflow_id)
        except BaseException:
            await terminate(node, workflow_id)
            raise
    async with pidflow.open_node(app) as node:
        try:
            sup = (await root_supervisor(node))
            again = await children(sup)
            assert again["durable"] == first["durable"]
            description = await describe(node, workflow_id)
            assert (description.status, description.run_id) == (RUNNING, run1)  # adopted, not restarted
            with trio.fail_after(30):
                executions = await runs(node, workflow_id)
                while not executions:  # visibility may lag a little behind the start
                    await trio.sleep(0.1)
                    executions = await runs(node, workflow_id)
            assert [(e.run_id, e.status) for e in executions] == [(run1, RUNNING)]  # no duplicate run

            await node.process.send(again["durable"], "fail")  # still supervised after the adoption
            with trio.fail_after(30):
                run2 = await running_run(node, workflow_id, other_than=run1)
            assert run2 != run1
        finally:
            await terminate(node, workflow_id)
