"""Child workflows (spec: 子 Workflow): workflow.exec, process.spawn with the child's EXIT on process.events(),
error propagation with kind/retryable/message, and process.exec of a workflow (from a workflow, a local Lua
process and Python)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

import pidflow
from pidflow import ErrorKind


def wf(name: str, source: str, modules: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "kind": "workflow.lua", "source": f"file://{source}", "modules": modules or []}


CHILDREN = [
    wf("child_workflow", "children_child.lua", ["workflow"]),
    wf("error_child_workflow", "children_error_child.lua"),
]


def entries(*more: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(e) for e in CHILDREN] + list(more)


async def run(node: pidflow.Node, entry: str, input: Any = None, host: str = "app:worker") -> Any:
    with trio.fail_after(60):
        return await node.process.exec(entry, host, input)


# -- workflow.exec ----------------------------------------------------------------------------------------------------

async def test_workflow_exec_returns_the_child_result(make_app):
    app = make_app(entries(wf("parent", "children_exec_parent.lua", ["workflow"])))
    async with pidflow.open_node(app) as node:
        result = await run(node, "app:parent", {"child": "app:child_workflow", "data": {"n": 7}})
    assert result["child"] == {"echo": {"n": 7}, "parent": result["me"]}


async def test_workflow_exec_returns_the_child_error_which_the_parent_can_return(make_app):
    app = make_app(entries(wf("parent", "children_exec_parent.lua", ["workflow"])))
    async with pidflow.open_node(app) as node:
        with pytest.raises(pidflow.Error) as caught:
            await run(node, "app:parent", {"child": "app:error_child_workflow"})
    err = caught.value
    assert (err.kind, err.retryable, err.message) == (ErrorKind.NOT_FOUND, False, "order 42 not found")


# -- process.spawn and the child's EXIT ------------------------------------------------------------------------------

async def test_spawned_child_reports_its_result_in_an_exit_event(make_app):
    app = make_app(entries(wf("parent", "children_spawn_parent.lua")))
    async with pidflow.open_node(app) as node:
        result = await run(node, "app:parent")
    assert result["status"] == "child_exited"
    assert result["from"] == result["child"]
    assert result["child"].startswith("{app:worker|")
    assert result["value"]["echo"] == {"message": "hello from parent"}
    assert result["has_error"] is False


async def test_spawned_child_error_arrives_in_the_exit_event_with_its_metadata(make_app):
    app = make_app(entries(wf("parent", "children_spawn_error_parent.lua")))
    async with pidflow.open_node(app) as node:
        result = await run(node, "app:parent")
    assert result["status"] == "child_failed"
    assert result["from"] == result["child"]
    assert (result["kind"], result["retryable"], result["message"]) == ("NOT_FOUND", False, "order 42 not found")


# -- process.exec -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("caller", ["workflow", "local lua process"])
async def test_process_exec_of_a_workflow_returns_its_result(make_app, caller):
    app = make_app(entries(
        wf("parent", "children_process_exec_parent.lua"),
        {"name": "caller", "kind": "process.lua", "source": "file://children_exec_caller.lua", "method": "main"},
    ))
    entry, host = ("app:parent", "app:worker") if caller == "workflow" else ("app:caller", "app:processes")
    async with pidflow.open_node(app) as node:
        result = await run(node, entry, {"entry": "app:child_workflow", "data": {"name": "world"}}, host)
    assert result["ok"] is True
    assert result["result"]["echo"] == {"name": "world"}


@pytest.mark.parametrize("caller", ["workflow", "local lua process"])
async def test_process_exec_of_a_failing_workflow_returns_its_error(make_app, caller):
    app = make_app(entries(
        wf("parent", "children_process_exec_parent.lua"),
        {"name": "caller", "kind": "process.lua", "source": "file://children_exec_caller.lua", "method": "main"},
    ))
    entry, host = ("app:parent", "app:worker") if caller == "workflow" else ("app:caller", "app:processes")
    async with pidflow.open_node(app) as node:
        result = await run(node, entry, {"entry": "app:error_child_workflow"}, host)
    assert result == {"ok": False, "kind": "NOT_FOUND", "retryable": False, "message": "order 42 not found"}


async def test_process_exec_from_python_raises_the_workflow_error(make_app):
    app = make_app(entries())
    async with pidflow.open_node(app) as node:
        with pytest.raises(pidflow.Error, match="order 42 not found") as caught:
            await run(node, "app:error_child_workflow")
    assert (caught.value.kind, caught.value.retryable) == (ErrorKind.NOT_FOUND, False)


async def test_child_of_a_workflow_exec_knows_its_parent(make_app):
    app = make_app(entries(wf("parent", "children_process_exec_parent.lua")))
    async with pidflow.open_node(app) as node:
        top = await run(node, "app:child_workflow", {"name": "top"})
        nested = await run(node, "app:parent", {"entry": "app:child_workflow", "data": {}})
    assert "parent" not in top  # a nil field is absent
    assert nested["result"]["parent"].startswith("app-parent-")
