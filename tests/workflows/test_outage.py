"""No outage fakes an exit (issue 9, point 7): while the Temporal server is down, a workflow has not ended, so its
watchers get nothing and a supervisor restarts nothing; when the server is back, the workflow goes on and its
watchers get the EXIT of its real end."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import trio
from temporalio.client import WorkflowExecutionStatus

import pidflow
from pidflow import EventKind, Pid
from pidflow.supervision import Supervisor

OUTAGE_SECONDS = 20
WAIT = {"name": "wait", "kind": "workflow.lua", "source": "file://starting_wait.lua"}


async def temporal(node: pidflow.Node, fn: Any, *args: Any) -> Any:
    host: Any = node.hosts["app:worker"]
    return await host.service.aio.run(fn, *args)


async def describe(node: pidflow.Node, workflow_id: str) -> Any:
    host: Any = node.hosts["app:worker"]
    return await temporal(node, host.client.get_workflow_handle(workflow_id).describe)


async def durable_child(sup: Supervisor) -> Pid | None:
    """The supervisor's durable child (None until it has one, or while the supervisor is not serving yet)."""
    try:
        children = await sup.which_children()
    except pidflow.Error as err:
        if err.kind != "NOT_FOUND":
            raise
        return None
    return {c["id"]: c["pid"] for c in children}.get("durable")


@pytest.mark.temporal
@pytest.mark.timeout(240)
async def test_a_server_outage_neither_ends_a_watched_workflow_nor_restarts_it_and_its_real_exit_arrives(
        make_app, own_server):
    server = await own_server()
    workflow_id = f"outage-{uuid.uuid4().hex[:8]}"
    app = make_app([dict(WAIT), {"name": "root", "kind": "supervisor", "intensity": 5, "period": "60s", "children": [
        {"id": "durable", "entry": "app:wait", "host": "app:worker", "restart": "transient", "name": workflow_id,
         "input": {"n": 1}}]}])
    pid = Pid("app:worker", workflow_id)
    async with pidflow.open_node(app) as node:
        [sup_pid] = node.root_supervisors
        sup = Supervisor(node, sup_pid)
        with trio.fail_after(30):
            while await durable_child(sup) != pid:
                await trio.sleep(0.05)
            run_id = (await describe(node, workflow_id)).run_id
        await node.process.monitor(pid)

        await server.kill()
        with trio.move_on_after(OUTAGE_SECONDS):
            event = await node.process.events().receive()
            pytest.fail(f"an outage ended {pid} for its watcher: {event}")
        assert await durable_child(sup) == pid
        await server.start()

        with trio.fail_after(60):
            await node.process.send(pid, "stop")
            event = await node.process.events().receive()
        assert event.kind is EventKind.EXIT and event.from_ == pid
        assert event.result.error is None, event.result.error
        assert event.result.value == {"input": {"n": 1}, "seen": {}}
        assert node.route(sup_pid).is_alive(sup_pid)
        # A restart would reuse the workflow id (so the PID): the latest run is still the first one.
        description = await describe(node, workflow_id)
        assert (description.run_id, description.status) == (run_id, WorkflowExecutionStatus.COMPLETED)
