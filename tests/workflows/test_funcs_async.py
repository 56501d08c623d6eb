"""``funcs.async`` and errors inside workflows: futures are activities started without waiting, selected on like
channels, cancelled through Temporal (a cancel request in the history), and replay (the golden history
``replay_funcs_async.json``, replayed with the others by test_replay.py); errors keep kind and retryable across
activities, workflow failures and EXIT events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
from temporalio.api.enums.v1 import EventType

import pidflow
from pidflow import Error, ErrorKind

from history_helpers import history_events

HISTORIES = Path(__file__).parent / "histories"


def fx(name: str, modules: list[str] | None = None) -> dict[str, Any]:
    return {"name": f"fx_{name}", "kind": "function.lua", "source": "file://funcs_async_functions.lua",
            "method": name, "modules": modules or ["ctx", "time"]}


ENTRIES = [
    {"name": "funcs_async", "kind": "workflow.lua", "source": "file://funcs_async.lua", "modules": ["funcs", "time"]},
    fx("echo"), fx("context"), fx("fail"), fx("plain"), fx("slow"),
]


def workflow(method: str) -> dict[str, Any]:
    return {**ENTRIES[0], "name": f"funcs_{method}", "method": method}


@pytest.fixture
def app(make_app):
    methods = ["parallel", "errors", "cancel", "fail", "golden"]
    return make_app([dict(e) for e in ENTRIES[1:]] + [workflow(m) for m in methods])


async def exec_(node: Any, method: str, input: Any = None) -> Any:
    with trio.fail_after(90):
        return await node.process.exec(f"app:funcs_{method}", "app:worker", input or {})


async def test_async_calls_run_as_concurrent_activities_and_select_takes_the_first(app):
    async with pidflow.open_node(app) as node:
        out = await node.process.with_context({"tenant": "acme"}).exec("app:funcs_parallel", "app:worker", {})
    assert out == {"first": "echo", "slow": "slow", "context": {"tenant": "acme", "trace_id": "t-9"},
                   "echo": [1, "two"], "complete": [True, True, True]}


async def test_a_futures_error_keeps_kind_and_retryable_across_the_activity(app):
    async with pidflow.open_node(app) as node:
        out = await exec_(node, "errors")
    assert out == [
        {"kind": "RATE_LIMITED", "retryable": False, "message": "failed as asked", "same": True},
        {"kind": "INVALID", "retryable": True, "message": "failed as asked", "same": True},
        # retryable nil in the function: UNKNOWN's default once it crossed into Python
        {"kind": "UNKNOWN", "retryable": False, "message": "plain failure", "same": True},
    ]


async def test_cancel_requests_the_activitys_cancellation_and_never_schedules_an_unstarted_one(app):
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:funcs_cancel", "app:worker", {"duration": "3s"})
        with trio.fail_after(60):
            event = await node.process.events().receive()
        events = await history_events(node, pid)
    assert event.result.error is None, event.result.error
    assert event.result.value == {"c1": True, "c2": True, "again": True, "kind": "CANCELED", "ok": True,
                                  "early": True, "complete": True, "after": ["after"]}
    types = [e.event_type for e in events]
    # the running one and the call after it were scheduled; the early one never was
    assert types.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 2
    assert types.count(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED) == 1


@pytest.mark.parametrize("input, kind, retryable", [
    ({"kind": "RATE_LIMITED", "retryable": False}, ErrorKind.RATE_LIMITED, False),
    ({"kind": "UNKNOWN", "retryable": True}, ErrorKind.UNKNOWN, True),
    ({"kind": "TIMEOUT"}, ErrorKind.TIMEOUT, True),  # nil: the kind's default
    ({"plain": True}, ErrorKind.UNKNOWN, False),
])
async def test_a_workflow_failure_keeps_kind_and_retryable_for_exec_and_exit(app, input, kind, retryable):
    async with pidflow.open_node(app) as node:
        with pytest.raises(Error) as info:
            await exec_(node, "fail", input)
        pid = await node.process.spawn_monitored("app:funcs_fail", "app:worker", input)
        with trio.fail_after(60):
            event = await node.process.events().receive()
    assert (info.value.kind, info.value.retryable) == (kind, retryable)
    assert event.from_ == pid and (event.result.error.kind, event.result.error.retryable) == (kind, retryable)


async def test_the_golden_scenario_runs_on_the_current_code(app):
    # what replay_funcs_async.json recorded (test_replay.py replays that history against this code)
    async with pidflow.open_node(app) as node:
        out = await exec_(node, "golden")
    assert out == {"a": ["a"], "b": ["b"], "timed_out": True, "failed": ["CONFLICT", False], "slow": "CANCELED",
                   "early": True}


def test_the_golden_history_holds_async_activities_and_a_cancel_request() -> None:
    doc = json.loads((HISTORIES / "replay_funcs_async.json").read_text())
    types = [e["eventType"] for e in doc["history"]["events"]]
    assert types.count("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED") == 4  # a, b, failed, slow: not the early one
    assert "EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED" in types
    assert "EVENT_TYPE_TIMER_STARTED" in types
