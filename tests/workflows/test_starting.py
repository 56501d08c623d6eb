"""Starting workflows (spec: 启动 Workflow — 基本启动, 带监控启动, 带名称启动, 带显式 Workflow ID 启动, ID 冲突策略,
ID 复用策略, 启动消息): from top-level Python (``node.process``) and from local Lua processes (the spec's caller
snippets), checked against what Temporal itself records (describe)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import trio
from temporalio.client import WorkflowExecutionStatus

import pidflow
from module_helpers import describe

ENTRIES = [
    {"name": "wait", "kind": "workflow.lua", "source": "file://starting_wait.lua"},
    {"name": "quick", "kind": "workflow.lua", "source": "file://starting_quick.lua"},
    {"name": "counter", "kind": "workflow.lua", "source": "file://starting_counter.lua"},
    {"name": "lua_monitored", "kind": "process.lua", "source": "file://starting_lua_monitored.lua", "method": "main"},
    {"name": "lua_named", "kind": "process.lua", "source": "file://starting_lua_named.lua", "method": "main"},
    {"name": "lua_counter", "kind": "process.lua", "source": "file://starting_lua_counter.lua", "method": "main"},
    {"name": "lua_fail_policy", "kind": "process.lua", "source": "file://starting_lua_fail_policy.lua",
     "method": "main"},
]

ID = "temporal.workflow.id"
CONFLICT = "temporal.workflow.id_conflict_policy"
REUSE = "temporal.workflow.id_reuse_policy"


@pytest.fixture
def app(make_app):
    return make_app([dict(e) for e in ENTRIES])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def finish(node: Any, pid: pidflow.Pid) -> Any:
    """Stop a ``starting_wait`` workflow and return its result."""
    await node.process.monitor(pid)
    await node.process.send(pid, "stop")
    with trio.fail_after(30):
        event = await node.process.events().receive()
    assert event.from_ == pid
    assert event.result.error is None
    return event.result.value


async def run_quick(node: Any, workflow_id: str, input: Any, **options: Any) -> pidflow.Pid:
    """Start ``starting_quick`` under ``workflow_id`` and wait until it has closed."""
    pid = await node.process.with_options({ID: workflow_id, **options}).spawn_monitored("app:quick", "app:worker",
                                                                                         input)
    with trio.fail_after(30):
        await node.process.events().receive()
    return pid


# -- basic, monitored ----------------------------------------------------------------------------------------------

async def test_spawn_on_a_temporal_worker_starts_a_workflow_on_its_task_queue(app, task_queue):
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn("app:wait", "app:worker", {"order_id": "123"})
        description = await describe(node, pid)
        result = await finish(node, pid)
    assert pid.host == "app:worker"
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert description.task_queue == task_queue
    assert description.workflow_type == "app:wait"
    assert result["input"] == {"order_id": "123"}
    assert len(result["seen"]) == 0  # an empty Lua table


async def test_spawn_monitored_from_lua_gets_exit_with_the_workflow_result(app):
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:lua_monitored", "app:processes")
    assert result["is_exit"] is True and result["kind"] == "pid.exit"
    assert result["from"] == result["pid"]
    assert result["pid"].startswith("{app:worker|")
    assert result["value"] == {"input": {"order_id": "123"}}
    assert result["has_error"] is False


async def test_spawn_monitored_from_python_gets_exit_with_the_workflow_result(app):
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:quick", "app:worker", {"order_id": "9"})
        with trio.fail_after(30):
            event = await node.process.events().receive()
    assert event.kind == pidflow.EventKind.EXIT
    assert event.from_ == pid
    assert event.result.value == {"input": {"order_id": "9"}}
    assert event.result.error is None


# -- names and explicit ids ----------------------------------------------------------------------------------------

async def test_with_name_spawn_while_running_returns_the_same_pid_and_keeps_the_first_input(app):
    async with pidflow.open_node(app) as node:
        name = unique("order")
        first = await node.process.with_name(name).spawn("app:wait", "app:worker", {"n": 1})
        run_id = (await describe(node, first)).run_id
        second = await node.process.with_name(name).spawn("app:wait", "app:worker", {"n": 2})
        assert (await describe(node, second)).run_id == run_id  # no second run was started
        result = await finish(node, first)
    assert first == second
    assert first.id == name  # the name is the Temporal workflow id
    assert result["input"] == {"n": 1}


async def test_with_name_spawn_from_lua_is_idempotent_while_running(app):
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:lua_named", "app:processes", {"order_id": unique("o")})
    assert result["again"] == result["pid"]
    assert result["value"]["input"]["order_id"] != "other"


async def test_with_name_spawn_after_the_workflow_ended_starts_a_new_run(app):
    async with pidflow.open_node(app) as node:
        name = unique("order")
        first = await node.process.with_name(name).spawn("app:wait", "app:worker", {"n": 1})
        first_run = (await describe(node, first)).run_id
        await finish(node, first)
        second = await node.process.with_name(name).spawn("app:wait", "app:worker", {"n": 2})
        second_run = (await describe(node, second)).run_id
        result = await finish(node, second)
    assert second == first
    assert second_run != first_run
    assert result["input"] == {"n": 2}


async def test_explicit_workflow_id_option_is_the_pid_id(app):
    async with pidflow.open_node(app) as node:
        workflow_id = unique("order")
        pid = await node.process.with_options({ID: workflow_id}).spawn_monitored("app:quick", "app:worker", {})
        with trio.fail_after(30):
            event = await node.process.events().receive()
        description = await describe(node, workflow_id)
    assert pid == pidflow.Pid("app:worker", workflow_id)
    assert str(pid) == f"{{app:worker|{workflow_id}}}"
    assert event.from_ == pid
    assert description.status == WorkflowExecutionStatus.COMPLETED


# -- id conflict policies ------------------------------------------------------------------------------------------

async def test_explicit_id_reuses_the_running_workflow_by_default(app):
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_options({ID: unique("order")})
        first = await spawner.spawn("app:wait", "app:worker", {"n": 1})
        run_id = (await describe(node, first)).run_id
        second = await spawner.spawn("app:wait", "app:worker", {"n": 2})
        assert (await describe(node, second)).run_id == run_id
        result = await finish(node, first)
    assert second == first
    assert result["input"] == {"n": 1}


async def test_use_existing_policy_returns_the_running_workflow(app):
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_options({ID: unique("order"), CONFLICT: "use_existing"})
        first = await spawner.spawn("app:wait", "app:worker", {"n": 1})
        second = await spawner.spawn("app:wait", "app:worker", {"n": 2})
        result = await finish(node, first)
    assert second == first
    assert result["input"] == {"n": 1}


async def test_fail_policy_is_already_exists_while_the_workflow_runs(app):
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_options({ID: unique("order"), CONFLICT: "fail"})
        first = await spawner.spawn("app:wait", "app:worker", {"n": 1})
        with pytest.raises(pidflow.Error, match="already started") as caught:
            await spawner.spawn("app:wait", "app:worker", {"n": 2})
        result = await finish(node, first)
    assert caught.value.kind == pidflow.ErrorKind.ALREADY_EXISTS
    assert result["input"] == {"n": 1}


async def test_fail_policy_from_lua_returns_the_error_as_a_value(app):
    async with pidflow.open_node(app) as node:
        workflow_id = unique("order")
        with trio.fail_after(30):
            result = await node.process.exec("app:lua_fail_policy", "app:processes", {"id": workflow_id})
    assert result["pid"] == f"{{app:worker|{workflow_id}}}"
    assert result.get("second_pid") is None
    assert result["kind"] == "ALREADY_EXISTS"
    assert workflow_id in result["message"]


async def test_execution_error_when_already_started_is_already_exists_while_the_workflow_runs(app):
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_options({ID: unique("order"),
                                             "temporal.workflow.execution_error_when_already_started": True})
        first = await spawner.spawn("app:wait", "app:worker", {"n": 1})
        with pytest.raises(pidflow.Error) as caught:
            await spawner.spawn("app:wait", "app:worker", {"n": 2})
        await finish(node, first)
    assert caught.value.kind == pidflow.ErrorKind.ALREADY_EXISTS


async def test_terminate_existing_policy_terminates_the_running_workflow_and_starts_a_new_run(app):
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_options({ID: unique("order"), CONFLICT: "terminate_existing"})
        first = await spawner.spawn("app:wait", "app:worker", {"n": 1})
        first_run = (await describe(node, first)).run_id
        second = await spawner.spawn("app:wait", "app:worker", {"n": 2})
        old = await describe(node, first, run_id=first_run)
        new = await describe(node, second)
        result = await finish(node, second)
    assert second == first
    assert old.status == WorkflowExecutionStatus.TERMINATED
    assert new.run_id != first_run
    assert result["input"] == {"n": 2}


# -- id reuse policies (a workflow with this id has closed) ------------------------------------------------------

async def test_allow_duplicate_reuse_policy_starts_a_new_run_after_a_completed_one(app):
    async with pidflow.open_node(app) as node:
        workflow_id = unique("order")
        await run_quick(node, workflow_id, {"n": 1})
        pid = await run_quick(node, workflow_id, {"n": 2}, **{REUSE: "allow_duplicate"})
        description = await describe(node, pid)
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert pid.id == workflow_id


async def test_reject_duplicate_reuse_policy_refuses_an_id_that_was_used(app):
    async with pidflow.open_node(app) as node:
        workflow_id = unique("order")
        await run_quick(node, workflow_id, {"n": 1})
        with pytest.raises(pidflow.Error) as caught:
            await node.process.with_options({ID: workflow_id, REUSE: "reject_duplicate"}).spawn(
                "app:quick", "app:worker", {"n": 2})
    assert caught.value.kind == pidflow.ErrorKind.ALREADY_EXISTS


async def test_allow_duplicate_failed_only_refuses_an_id_whose_run_completed(app):
    async with pidflow.open_node(app) as node:
        workflow_id = unique("order")
        await run_quick(node, workflow_id, {"n": 1})
        with pytest.raises(pidflow.Error) as caught:
            await node.process.with_options({ID: workflow_id, REUSE: "allow_duplicate_failed_only"}).spawn(
                "app:quick", "app:worker", {"n": 2})
    assert caught.value.kind == pidflow.ErrorKind.ALREADY_EXISTS


async def test_allow_duplicate_failed_only_starts_a_new_run_after_a_failed_one(app):
    async with pidflow.open_node(app) as node:
        workflow_id = unique("order")
        failed = await run_quick(node, workflow_id, {"fail": True})
        assert (await describe(node, failed)).status == WorkflowExecutionStatus.FAILED
        pid = await run_quick(node, workflow_id, {"n": 2}, **{REUSE: "allow_duplicate_failed_only"})
        description = await describe(node, pid)
    assert description.status == WorkflowExecutionStatus.COMPLETED


# -- start messages ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("named", [False, True], ids=["unnamed", "named"])
async def test_start_messages_are_delivered_before_a_signal_sent_right_after_the_start(app, named):
    async with pidflow.open_node(app) as node:
        # The start delay holds the first workflow task back until the signal below has landed too, so the
        # workflow's first activation holds both: the start messages must still come first.
        spawner = node.process.with_options({"temporal.workflow.start_delay": "300ms"})
        if named:
            spawner = spawner.with_name(unique("counter"))
        spawner = spawner.with_message("increment", {"amount": 2}).with_message("increment", {"amount": 1}) \
            .with_message("increment", {"amount": 4})
        pid = await spawner.spawn("app:wait", "app:worker", {"initial": 0})
        await node.process.send(pid, "external", {"amount": 100})
        result = await finish(node, pid)
    assert result["seen"] == [
        {"topic": "increment", "data": {"amount": 2}},
        {"topic": "increment", "data": {"amount": 1}},
        {"topic": "increment", "data": {"amount": 4}},
        {"topic": "external", "data": {"amount": 100}},
    ]


async def test_start_messages_reach_an_existing_workflow_under_use_existing(app):
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:lua_counter", "app:processes", {"name": unique("my-counter")})
    assert result["same"] is True
    assert result["result"] == {"final_counter": 5}  # 0 + 3 + 2: the second input {initial = 999} is ignored


async def test_start_messages_reach_an_existing_workflow_started_by_an_explicit_id(app):
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_options({ID: unique("counter")})
        pid = await spawner.with_message("increment", {"amount": 3}).spawn("app:counter", "app:worker", {"initial": 0})
        again = await spawner.with_message("increment", {"amount": 2}).spawn("app:counter", "app:worker",
                                                                              {"initial": 999})
        await node.process.monitor(pid)
        await node.process.send(pid, "finish")
        with trio.fail_after(30):
            event = await node.process.events().receive()
    assert again == pid
    assert event.result.value == {"final_counter": 5}
