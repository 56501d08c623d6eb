"""Workflow ids are checked before anything starts (issue 9, point 6): an id that cannot be the id of a PID
(``{``, ``}``; see ``pidflow/_pid.py``) fails the spawn with INVALID, from Python, from a local Lua process and
from a workflow starting a child, and no workflow runs under it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import trio
from temporalio.service import RPCError, RPCStatusCode

import pidflow

WAIT = {"name": "wait", "kind": "workflow.lua", "source": "file://starting_wait.lua"}
QUICK = {"name": "quick", "kind": "workflow.lua", "source": "file://starting_quick.lua", "modules": ["errors"]}


def bad_id(prefix: str) -> str:
    return f"{prefix}-{{{uuid.uuid4().hex[:8]}}}"


async def assert_never_started(node: pidflow.Node, workflow_id: str) -> None:
    host: Any = node.hosts["app:worker"]
    with pytest.raises(RPCError) as info:
        await host.service.aio.run(host.client.get_workflow_handle(workflow_id).describe)
    assert info.value.status == RPCStatusCode.NOT_FOUND


async def test_python_spawn_with_an_id_that_cannot_be_a_pid_fails_and_starts_nothing(make_app):
    app = make_app([dict(WAIT)])
    workflow_id = bad_id("order")
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_options({"temporal.workflow.id": workflow_id})
        with pytest.raises(pidflow.Error, match=r"option 'temporal.workflow.id' .* can't be a workflow id") as info:
            await spawner.spawn_monitored("app:wait", "app:worker")
        assert info.value.kind == "INVALID"
        await assert_never_started(node, workflow_id)


async def test_python_spawn_with_a_name_that_cannot_be_a_pid_fails_and_starts_nothing(make_app):
    app = make_app([dict(WAIT)])
    name = bad_id("named")
    async with pidflow.open_node(app) as node:
        with pytest.raises(pidflow.Error, match="name .* can't be a workflow id") as info:
            await node.process.with_name(name).spawn("app:wait", "app:worker")
        assert info.value.kind == "INVALID"
        await assert_never_started(node, name)


async def test_lua_process_spawn_with_an_id_that_cannot_be_a_pid_answers_nil_err_and_starts_nothing(make_app):
    app = make_app([dict(WAIT), {"name": "spawner", "kind": "process.lua", "source": "file://ids_lua_spawner.lua",
                                 "method": "main"}])
    workflow_id, name = bad_id("order"), bad_id("named")
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:spawner", "app:processes", {"id": workflow_id, "name": name})
        await assert_never_started(node, workflow_id)
        await assert_never_started(node, name)
    for how in ("by_option", "by_name"):
        assert result[how].get("pid") is None, how
        assert result[how]["kind"] == "INVALID", how
        assert "can't be a workflow id" in result[how]["message"], how


async def test_workflow_child_with_an_id_that_cannot_be_a_pid_answers_nil_err_and_starts_nothing(make_app):
    app = make_app([dict(QUICK), {"name": "parent", "kind": "workflow.lua", "source": "file://ids_parent.lua"}])
    workflow_id, name = bad_id("child"), bad_id("named")
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:parent", "app:worker", {"id": workflow_id, "name": name})
        await assert_never_started(node, workflow_id)
        await assert_never_started(node, name)
    for how in ("spawn", "exec", "exec_named"):
        assert result[how]["ok"] is False, how
        assert result[how]["kind"] == "INVALID", how
        assert "can't be a workflow id" in result[how]["message"], how
