"""Context propagation (spec: 上下文传播): ``with_context`` values are read with ``ctx.get``/``ctx.all`` inside the
workflow and inside every activity it calls (Python and Lua function entries), and child workflows inherit them."""

from __future__ import annotations

from typing import Any

import pytest
import trio

import pidflow

CONTEXT = {"user_id": "user-1", "tenant": "tenant-1", "request_id": "req-abc"}
ENTRIES = [
    {"name": "context_workflow", "kind": "workflow.lua", "source": "file://context_workflow.lua",
     "modules": ["ctx", "funcs", "workflow"]},
    {"name": "context_child", "kind": "workflow.lua", "source": "file://context_child.lua", "modules": ["ctx"]},
    {"name": "echo_context", "kind": "function.py", "source": "functions:echo_context"},
    {"name": "lua_echo_context", "kind": "function.lua", "source": "file://context_echo.lua", "method": "echo",
     "modules": ["ctx"]},
    {"name": "context_caller", "kind": "process.lua", "source": "file://context_caller.lua", "method": "main"},
]


@pytest.fixture
def app(make_app):
    return make_app([dict(e) for e in ENTRIES])


async def run(node: Any, spawner: Any, input: Any = None) -> Any:
    pid = await spawner.spawn_monitored("app:context_workflow", "app:worker", input or {})
    with trio.fail_after(30):
        event = await node.process.events().receive()
    assert event.from_ == pid
    assert event.result.error is None, event.result.error
    return event.result.value


async def test_with_context_values_are_read_by_ctx_get_and_ctx_all_in_the_workflow(app):
    async with pidflow.open_node(app) as node:
        result = await run(node, node.process.with_context(CONTEXT))
    assert result["user_id"] == "user-1"
    assert result["tenant"] == "tenant-1"
    assert result.get("missing") is None
    assert result["all"] == CONTEXT


async def test_with_context_values_reach_python_and_lua_function_activities(app):
    async with pidflow.open_node(app) as node:
        result = await run(node, node.process.with_context(CONTEXT))
    assert result["python_activity"] == CONTEXT
    assert result["lua_activity"] == CONTEXT


async def test_with_context_from_a_lua_caller_reaches_the_workflow_and_its_activities(app):
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:context_caller", "app:processes")
    assert result["all"] == CONTEXT
    assert result["python_activity"] == CONTEXT
    assert result["lua_activity"] == CONTEXT


async def test_child_workflows_inherit_the_context(app):
    async with pidflow.open_node(app) as node:
        result = await run(node, node.process.with_context(CONTEXT), {"child": True})
    assert result["child"] == CONTEXT


async def test_with_context_merges_successive_calls(app):
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_context({"user_id": "user-0", "tenant": "tenant-1"}).with_context(
            {"user_id": "user-1", "request_id": "req-abc"})
        result = await run(node, spawner)
    assert result["all"] == CONTEXT
    assert result["python_activity"] == CONTEXT


async def test_context_does_not_leak_into_a_workflow_started_without_one(app):
    async with pidflow.open_node(app) as node:
        await run(node, node.process.with_context(CONTEXT))
        result = await run(node, node.process.with_options({}))
    assert result.get("user_id") is None
    assert not result["all"]
    assert not result["python_activity"]
    assert not result["lua_activity"]
