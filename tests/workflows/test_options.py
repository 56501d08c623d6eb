"""Workflow start options (spec: Workflow 启动选项, 完整选项参考, 父关闭策略): every ``temporal.workflow.*`` option
reaches Temporal (checked with describe and the start event of the history), or is refused with an INVALID
error naming it; durations are strings or milliseconds."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey

import pidflow
from module_helpers import describe, started_attributes, terminate, wait_status

P = "temporal.workflow."
ENTRIES = [
    {"name": "quick", "kind": "workflow.lua", "source": "file://options_quick.lua"},
    {"name": "child", "kind": "workflow.lua", "source": "file://options_child.lua"},
    {"name": "parent", "kind": "workflow.lua", "source": "file://options_parent.lua"},
    {"name": "lua_invalid", "kind": "process.lua", "source": "file://options_lua_invalid.lua", "method": "main"},
]


@pytest.fixture
def app(make_app):
    return make_app([dict(e) for e in ENTRIES])


async def start_child(node: Any, options: dict[str, Any]) -> pidflow.Pid:
    """Start app:child (it waits for a message) with ``options``; the caller terminates it."""
    return await node.process.with_options(options).spawn("app:child", "app:worker", {})


# -- options Temporal records ----------------------------------------------------------------------------------------

async def test_timeouts_reach_temporal_as_strings_or_milliseconds(app):
    async with pidflow.open_node(app) as node:
        pid = await start_child(node, {P + "execution_timeout": "24h", P + "run_timeout": 3_600_000,
                                       P + "task_timeout": "30s"})
        try:
            config = (await describe(node, pid)).raw_description.execution_config
        finally:
            await terminate(node, pid)
    assert config.workflow_execution_timeout.ToSeconds() == 24 * 3600
    assert config.workflow_run_timeout.ToSeconds() == 3600
    assert config.default_workflow_task_timeout.ToSeconds() == 30


async def test_retry_policy_reaches_temporal(app):
    async with pidflow.open_node(app) as node:
        pid = await start_child(node, {P + "retry_policy": {"initial_interval": 1000, "backoff_coefficient": 2.0,
                                                            "maximum_interval": "5m", "maximum_attempts": 3}})
        try:
            policy = (await started_attributes(node, pid)).retry_policy
        finally:
            await terminate(node, pid)
    assert policy.initial_interval.ToMilliseconds() == 1000
    assert policy.backoff_coefficient == 2.0
    assert policy.maximum_interval.ToSeconds() == 300
    assert policy.maximum_attempts == 3


async def test_cron_schedule_reaches_temporal(app):
    async with pidflow.open_node(app) as node:
        pid = await start_child(node, {P + "cron_schedule": "0 */6 * * *"})
        try:
            attributes = await started_attributes(node, pid)
        finally:
            await terminate(node, pid)
    assert attributes.cron_schedule == "0 */6 * * *"


async def test_memo_and_search_attributes_reach_temporal(app):
    async with pidflow.open_node(app) as node:
        pid = await start_child(node, {P + "memo": {"source": "api"},
                                       P + "search_attributes": {"customer_id": "cust-123", "order_total": 12}})
        try:
            description = await describe(node, pid)
            memo = await node.hosts["app:worker"].service.aio.run(description.memo)
        finally:
            await terminate(node, pid)
    assert memo == {"source": "api"}
    assert description.typed_search_attributes[SearchAttributeKey.for_keyword("customer_id")] == "cust-123"
    # order_total is registered as a Double: a Lua/JSON integer is stored as one
    assert description.typed_search_attributes[SearchAttributeKey.for_float("order_total")] == 12.0


async def test_start_delay_holds_the_first_workflow_task_back(app):
    async with pidflow.open_node(app) as node:
        pid = await start_child(node, {P + "start_delay": "5m"})
        try:
            attributes = await started_attributes(node, pid)
            description = await describe(node, pid)
        finally:
            await terminate(node, pid)
    assert attributes.first_workflow_task_backoff.ToSeconds() == 300
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert description.history_length == 1  # started, and nothing scheduled yet


async def test_enable_eager_start_runs_the_first_task_in_the_start_call(app):
    async with pidflow.open_node(app) as node:
        pid = await node.process.with_options({P + "enable_eager_start": True}).spawn_monitored(
            "app:quick", "app:worker", {"n": 1})
        with trio.fail_after(30):
            event = await node.process.events().receive()
        attributes = await started_attributes(node, pid)
    assert event.result.value == {"input": {"n": 1}}
    assert attributes.eager_execution_accepted is True


async def test_task_queue_option_overrides_the_workers_queue(app, task_queue):
    async with pidflow.open_node(app) as node:
        other = f"{task_queue}-other"
        pid = await start_child(node, {P + "task_queue": other})
        try:
            description = await describe(node, pid)
        finally:
            await terminate(node, pid)
    assert description.task_queue == other
    assert pid.host == "app:worker"


async def test_namespace_option_default_starts_in_that_namespace(app):
    async with pidflow.open_node(app) as node:
        pid = await node.process.with_options({P + "namespace": "default"}).spawn_monitored(
            "app:quick", "app:worker", {"n": 1})
        with trio.fail_after(30):
            event = await node.process.events().receive()
    assert event.result.value == {"input": {"n": 1}}


async def test_namespace_option_for_an_unknown_namespace_is_an_error(app):
    async with pidflow.open_node(app) as node:
        with pytest.raises(pidflow.Error, match="no-such-namespace") as caught:
            await node.process.with_options({P + "namespace": "no-such-namespace"}).spawn("app:quick", "app:worker")
    assert caught.value.kind == pidflow.ErrorKind.NOT_FOUND
    assert caught.value.retryable is False


# -- refused options -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "value"), [
    ("temporal.workflow.no_such_option", 1),
    ("temporal.workflow.execution_timeout", True),
    ("temporal.workflow.run_timeout", "soon"),
    ("temporal.workflow.task_timeout", {}),
    ("temporal.workflow.id", 42),
    ("temporal.workflow.task_queue", ""),
    ("temporal.workflow.id_conflict_policy", "overwrite"),
    ("temporal.workflow.id_reuse_policy", "sometimes"),
    ("temporal.workflow.execution_error_when_already_started", "yes"),
    ("temporal.workflow.retry_policy", {"maximum_attempts": "three"}),
    ("temporal.workflow.retry_policy", {"max_tries": 3}),
    ("temporal.workflow.cron_schedule", 5),
    ("temporal.workflow.memo", "source=api"),
    ("temporal.workflow.search_attributes", {"customer_id": {"nested": True}}),
    ("temporal.workflow.enable_eager_start", 1),
    ("temporal.workflow.start_delay", -5),
    ("temporal.workflow.namespace", 7),
    ("temporal.id", "x"),  # the Temporal host owns every temporal.* key: a typo there is refused, not passed
])
async def test_invalid_option_is_refused_naming_the_option(app, option, value):
    async with pidflow.open_node(app) as node:
        with pytest.raises(pidflow.Error) as caught:
            await node.process.with_options({option: value}).spawn("app:quick", "app:worker", {})
    assert caught.value.kind == pidflow.ErrorKind.INVALID
    assert option in caught.value.message


# -- options of other hosts pass through ----------------------------------------------------------------------------

PASSED_THROUGH = {"trap_links": True, "network": "app:proxy", "activity.start_to_close_timeout": "5s", "x.y": {}}


async def test_options_the_temporal_host_does_not_own_pass_through_a_workflow_start(app):
    async with pidflow.open_node(app) as node:
        pid = await node.process.with_options({**PASSED_THROUGH, P + "memo": {"kept": "yes"}}).spawn_monitored(
            "app:quick", "app:worker", {"n": 1})
        with trio.fail_after(30):
            event = await node.process.events().receive()
        attributes = await started_attributes(node, pid)
    assert event.result.value == {"input": {"n": 1}}
    assert set(attributes.memo.fields) == {"kept"}  # the owned option still applies; the others are not sent


async def test_options_the_temporal_host_does_not_own_pass_through_a_child_start(app):
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:parent", "app:worker",
                                             {"options": {**PASSED_THROUGH, P + "parent_close_policy": "abandon"}})
        assert "error" not in result, result
        await terminate(node, pidflow.Pid.parse(result["child"]))


@pytest.mark.parametrize(("option", "value"), [("parent_close_policy", "terminate"),
                                               ("wait_for_cancellation", True)])
async def test_child_only_option_from_a_non_workflow_caller_is_refused(app, option, value):
    async with pidflow.open_node(app) as node:
        with pytest.raises(pidflow.Error, match="only to child workflows") as caught:
            await node.process.with_options({P + option: value}).spawn("app:quick", "app:worker", {})
    assert caught.value.kind == pidflow.ErrorKind.INVALID
    assert P + option in caught.value.message


async def test_invalid_option_from_lua_is_an_error_value_naming_it(app):
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:lua_invalid", "app:processes",
                                             {"options": {P + "parent_close_policy": "abandon"}})
    assert result.get("pid") is None
    assert result["kind"] == "INVALID"
    assert P + "parent_close_policy" in result["message"]


@pytest.mark.parametrize(("option", "value"), [("start_delay", "1s"), ("enable_eager_start", True),
                                               ("namespace", "default"), ("id_conflict_policy", "terminate_existing")])
async def test_client_only_option_in_a_child_start_is_refused_naming_it(app, option, value):
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:parent", "app:worker", {"options": {P + option: value}})
    assert result["error"]["kind"] == "INVALID"
    assert option in result["error"]["message"]


# -- parent close policies -------------------------------------------------------------------------------------------

async def _child_after_parent_completes(node: Any, options: dict[str, Any]) -> tuple[pidflow.Pid, Any]:
    with trio.fail_after(30):
        result = await node.process.exec("app:parent", "app:worker", {"options": options})
    assert "error" not in result, result
    child = pidflow.Pid.parse(result["child"])
    return child, result


@pytest.mark.parametrize(("policy", "fate"), [
    ("terminate", WorkflowExecutionStatus.TERMINATED),
    ("request_cancel", WorkflowExecutionStatus.CANCELED),
])
async def test_parent_close_policy_decides_the_childs_fate_when_the_parent_completes(app, policy, fate):
    async with pidflow.open_node(app) as node:
        child, _ = await _child_after_parent_completes(node, {P + "parent_close_policy": policy})
        try:
            with trio.fail_after(30):
                description = await wait_status(node, child, fate)
        finally:
            await terminate(node, child)
    assert description.status == fate


async def test_abandon_parent_close_policy_lets_the_child_run_on(app):
    async with pidflow.open_node(app) as node:
        child, _ = await _child_after_parent_completes(node, {P + "parent_close_policy": "abandon"})
        await node.process.monitor(child)
        assert (await describe(node, child)).status == WorkflowExecutionStatus.RUNNING
        await node.process.send(child, "stop")  # still alive: it gets the message and completes
        with trio.fail_after(30):
            event = await node.process.events().receive()
    assert event.result.value == "stopped"


async def test_default_parent_close_policy_terminates_the_child(app):
    async with pidflow.open_node(app) as node:
        child, _ = await _child_after_parent_completes(node, {})
        with trio.fail_after(30):
            description = await wait_status(node, child, WorkflowExecutionStatus.TERMINATED)
    assert description.status == WorkflowExecutionStatus.TERMINATED


async def test_wait_for_cancellation_is_accepted_for_a_child(app):
    async with pidflow.open_node(app) as node:
        child, _ = await _child_after_parent_completes(node, {P + "wait_for_cancellation": True,
                                                              P + "parent_close_policy": "abandon"})
        await terminate(node, child)
    assert child.host == "app:worker"
