"""The ``workflow`` Lua module and the entry definition (spec: 定义 / 元数据字段, Workflow 模块: workflow.info,
workflow.exec, workflow.version, workflow.attrs, workflow.history_length / history_size).

What the Lua code reports is checked against what Temporal itself says (describe, history), through the
node's own client."""

from __future__ import annotations

from typing import Any

import trio
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey

import pidflow
from module_helpers import describe, history, terminate

MODULES = ["workflow", "time", "funcs"]


def wf(name: str, source: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "workflow.lua", "source": f"file://{source}", "modules": MODULES, **extra}


async def run_monitored(node: Any, entry: str, input: Any = None) -> tuple[pidflow.Pid, pidflow.Event]:
    pid = await node.process.spawn_monitored(entry, "app:worker", input)
    with trio.fail_after(30):
        event = await node.process.events().receive()
    assert event.from_ == pid
    return pid, event


# -- definition and meta -------------------------------------------------------------------------------------------

async def test_meta_name_sets_the_temporal_workflow_type(make_app, task_queue):
    app = make_app([wf("info", "module_info.lua", meta={"temporal": {"workflow": {"name": "OrderWorkflow"}}})])
    async with pidflow.open_node(app) as node:
        pid, event = await run_monitored(node, "app:info")
        description = await describe(node, pid)
    assert description.workflow_type == "OrderWorkflow"
    assert event.result.value["info"]["workflow_type"] == "OrderWorkflow"


async def test_workflow_type_defaults_to_the_entry_id(make_app):
    app = make_app([wf("info", "module_info.lua")])
    async with pidflow.open_node(app) as node:
        pid, event = await run_monitored(node, "app:info")
        description = await describe(node, pid)
    assert description.workflow_type == "app:info"
    assert event.result.value["info"]["workflow_type"] == "app:info"


# -- workflow.info, history_length, history_size -------------------------------------------------------------------

async def test_info_reports_the_execution_as_temporal_describes_it(make_app, task_queue):
    app = make_app([wf("info", "module_info.lua")])
    async with pidflow.open_node(app) as node:
        pid, event = await run_monitored(node, "app:info")
        description = await describe(node, pid)
    info = event.result.value["info"]
    assert info["workflow_id"] == pid.id == description.id
    assert info["run_id"] == description.run_id
    assert info["workflow_type"] == description.workflow_type
    assert info["task_queue"] == task_queue == description.task_queue
    assert info["namespace"] == "default" == description.namespace
    assert info["attempt"] == 1
    # First workflow task: WorkflowExecutionStarted, WorkflowTaskScheduled, WorkflowTaskStarted.
    assert info["history_length"] == 3
    assert info["history_size"] > 0


async def test_history_length_and_size_match_info_and_grow_with_the_run(make_app):
    app = make_app([wf("info", "module_info.lua"), wf("history", "module_history.lua")])
    async with pidflow.open_node(app) as node:
        _, info_event = await run_monitored(node, "app:info")
        _, history_event = await run_monitored(node, "app:history")
    first = info_event.result.value
    assert first["history_length"] == first["info"]["history_length"]
    assert first["history_size"] == first["info"]["history_size"]
    grown = history_event.result.value
    assert grown["length2"] > grown["length1"] >= 3
    assert grown["size2"] > grown["size1"] > 0


# -- workflow.exec -------------------------------------------------------------------------------------------------

async def test_exec_runs_a_child_workflow_and_returns_its_value(make_app):
    app = make_app([wf("parent", "module_exec_parent.lua"), wf("child", "module_exec_child.lua")])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:parent", "app:worker",
                                                 {"child": "app:child", "child_input": {"name": "world"}})
        with trio.fail_after(30):
            event = await node.process.events().receive()
    value = event.result.value["value"]
    assert value["greeting"] == "hello world"
    assert value["parent"] == pid.id  # a real Temporal child of the caller
    assert value["me"] != pid.id


async def test_exec_returns_the_child_error_with_kind_retryable_and_message(make_app):
    app = make_app([wf("parent", "module_exec_parent.lua"), wf("failing", "module_exec_failing_child.lua")])
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:parent", "app:worker", {"child": "app:failing"})
    assert result["error"]["kind"] == "NOT_FOUND"
    assert result["error"]["retryable"] is False
    assert "no such order" in result["error"]["message"]


# -- workflow.version ----------------------------------------------------------------------------------------------

async def test_version_gives_a_new_run_the_max_supported_version_for_the_whole_run(make_app):
    app = make_app([wf("versioned", "module_version_v2.lua")])
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:versioned", "app:worker", {})
    assert result == {"version": 2, "again": 2, "code_max": 2}


async def _start_then_redeploy(make_app, old: str, new: str) -> tuple[Any, Any]:
    """Start a run on code ``old`` until it reports its version, stop that node (and its worker), then finish
    the run on a new node whose worker runs code ``new`` on the same task queue (the run replays there)."""
    async with pidflow.open_node(make_app([wf("versioned", old)])) as node:
        pid = await node.process.spawn("app:versioned", "app:worker", {"notify": str(node.process.pid())})
        with trio.fail_after(30):
            ready = await node.process.inbox().receive()
    async with pidflow.open_node(make_app([wf("versioned", new)])) as node:
        try:
            await node.process.monitor(pid)
            await node.process.send(pid, "go")
            with trio.fail_after(60):
                event = await node.process.events().receive()
        finally:
            await terminate(node, pid)
    return ready.data, event.result


async def test_version_keeps_the_version_a_running_workflow_recorded_after_a_redeploy(make_app):
    ready, result = await _start_then_redeploy(make_app, "module_version_v1.lua", "module_version_v2.lua")
    assert ready == 1
    assert result.error is None
    assert result.value == {"version": 1, "again": 1, "code_max": 2}  # new code, recorded version


async def test_version_gives_default_version_to_a_run_recorded_before_the_change(make_app):
    ready, result = await _start_then_redeploy(make_app, "module_version_none.lua", "module_version_default.lua")
    assert ready == "none"
    assert result.value == {"version": -1}


async def test_version_recorded_below_min_supported_fails_the_workflow_task_until_a_deploy_supports_it(make_app):
    async with pidflow.open_node(make_app([wf("versioned", "module_version_v1.lua")])) as node:
        pid = await node.process.spawn("app:versioned", "app:worker", {"notify": str(node.process.pid())})
        with trio.fail_after(30):
            assert (await node.process.inbox().receive()).data == 1
    # A deploy that dropped version 1: the replay reaches workflow.version("payment-v2", 2, 2) and raises, which
    # fails the workflow task (Go's GetVersion panics); the run stays open, nothing is decided on wrong code.
    async with pidflow.open_node(make_app([wf("versioned", "module_version_min2.lua")])) as node:
        await node.process.send(pid, "go")
        with trio.fail_after(60):
            while True:
                failures = [e.workflow_task_failed_event_attributes.failure.message
                            for e in await history(node, pid) if e.HasField("workflow_task_failed_event_attributes")]
                if failures:
                    break
                await trio.sleep(0.1)
        assert (await describe(node, pid)).status == WorkflowExecutionStatus.RUNNING
    assert "recorded version 1, which the code no longer supports" in failures[0]
    assert "payment-v2" in failures[0]
    # Deploying code that supports version 1 again lets the same run finish with the version it recorded.
    async with pidflow.open_node(make_app([wf("versioned", "module_version_v2.lua")])) as node:
        try:
            await node.process.monitor(pid)
            with trio.fail_after(60):
                event = await node.process.events().receive()
        finally:
            await terminate(node, pid)
    assert event.result.value == {"version": 1, "again": 1, "code_max": 2}


# -- workflow.attrs ------------------------------------------------------------------------------------------------

async def test_attrs_upserts_search_attributes_and_memo_visible_to_temporal(make_app):
    app = make_app([wf("attrs", "module_attrs.lua")])
    async with pidflow.open_node(app) as node:
        pid, event = await run_monitored(node, "app:attrs", {"customer_id": "cust-7", "total": 99.5})
        description = await describe(node, pid)
        memo = await node.hosts["app:worker"].service.aio.run(description.memo)
    assert event.result.value == {"ok": True}
    search = description.typed_search_attributes
    assert search[SearchAttributeKey.for_keyword("status")] == "processing"
    assert search[SearchAttributeKey.for_keyword("customer_id")] == "cust-7"
    assert search[SearchAttributeKey.for_float("order_total")] == 99.5
    assert memo == {"notes": "Priority customer", "source": "web"}


async def test_attrs_stores_an_integral_total_in_a_double_search_attribute(make_app):
    app = make_app([wf("attrs", "module_attrs.lua")])
    async with pidflow.open_node(app) as node:
        pid, event = await run_monitored(node, "app:attrs", {"customer_id": "cust-8", "total": 100})
        description = await describe(node, pid)
    assert event.result.error is None
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert description.typed_search_attributes[SearchAttributeKey.for_float("order_total")] == 100.0
