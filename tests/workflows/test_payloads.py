"""Payloads read as text (issue 10): what pidflow writes into a workflow's history is ``json/plain`` with PIDs,
errors, bytes and maps with number keys as tagged JSON objects, and a message's signal is named after its topic.
Checked through the raw Temporal API (a plain temporalio client, its default converter), as the UI and the
``temporal`` CLI see it."""

from __future__ import annotations

import base64
import json
from typing import Any

import trio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

import pidflow
from pidflow import EventKind

ECHO = {"name": "echo", "kind": "workflow.lua", "source": "file://payloads_echo.lua"}
COLLECT = {"name": "collect", "kind": "workflow.lua", "source": "file://payloads_echo.lua", "method": "collect"}


async def raw_history(address: str, workflow_id: str) -> list[Any]:
    client = await Client.connect(address)  # temporalio's default data converter: pidflow plays no part
    return list((await client.get_workflow_handle(workflow_id).fetch_history()).events)


def as_json(payload: Any) -> Any:
    """A payload's data parsed by a plain JSON parser, after checking that it says it is JSON."""
    assert payload.metadata["encoding"] == b"json/plain", payload.metadata
    return json.loads(payload.data.decode("utf-8"))


async def exit_of(node: pidflow.Node, pid: pidflow.Pid) -> Any:
    with trio.fail_after(30):
        event = await node.process.events().receive()
    assert event.kind is EventKind.EXIT and event.from_ == pid, event
    return event.result


async def history_of(address: str, workflow_id: str) -> list[Any]:
    return await trio.to_thread.run_sync(lambda: __import__("asyncio").run(raw_history(address, workflow_id)))


async def test_input_signal_result_and_failure_are_json_text_with_tags(make_app, temporal_address):
    app = make_app([dict(ECHO)])
    async with pidflow.open_node(app) as node:
        me = node.process.pid()
        order = {"id": 7, "owner": me, "blob": b"\xff\x00", "sparse": {1: "a", 10: "b"}, "price": 1.0, "qty": 2}
        pid = await node.process.spawn_monitored("app:echo", "app:worker", order)
        await node.process.send(pid, "approve", {"$pid": "just a key"})  # data, not a PID
        result = await exit_of(node, pid)
        assert result.error is None, result.error

        failing = await node.process.spawn_monitored("app:echo", "app:worker", {**order, "id": 8, "fail": True})
        await node.process.send(failing, "approve")
        failed = await exit_of(node, failing)
        assert failed.error is not None and failed.error.kind == "CONFLICT"

    tagged_me = {"$pid": str(me)}
    tagged_order = {"id": 7, "owner": tagged_me, "blob": {"$bytes": base64.b64encode(b"\xff\x00").decode()},
                    "sparse": {"$map": [[1, "a"], [10, "b"]]}, "price": 1.0, "qty": 2}
    events = await history_of(temporal_address, pid.id)

    [started] = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]
    assert started.workflow_execution_started_event_attributes.workflow_type.name == "app:echo"
    input_payloads = started.workflow_execution_started_event_attributes.input.payloads
    assert as_json(input_payloads[0]) == tagged_order
    assert b'"price":1.0' in input_payloads[0].data and b'"qty":2' in input_payloads[0].data  # float vs int
    assert as_json(input_payloads[1])["parent"] == tagged_me

    [signaled] = [e.workflow_execution_signaled_event_attributes for e in events
                  if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
    assert signaled.signal_name == "msg:approve"
    assert as_json(signaled.input.payloads[0]) == {
        "topic": "approve", "data": {"$map": [["$pid", "just a key"]]}, "from": tagged_me}

    [completed] = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]
    value = completed.workflow_execution_completed_event_attributes.result.payloads[0]
    # PIDs that Lua returns are strings (issue 11): plain JSON strings in the result
    assert as_json(value) == {"input": {**tagged_order, "owner": str(me)}, "topic": "approve",
                              "got": {"$map": [["$pid", "just a key"]]},
                              "from": str(me), "me": str(pid)}
    assert b'"price":1.0' in value.data

    events = await history_of(temporal_address, failing.id)
    [failure] = [e.workflow_execution_failed_event_attributes.failure for e in events
                 if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED]
    assert failure.message == "order 8 is taken"
    assert failure.application_failure_info.type == "CONFLICT"
    assert failure.application_failure_info.non_retryable
    assert as_json(failure.application_failure_info.details.payloads[0]) == {
        "kind": "CONFLICT", "message": "order 8 is taken", "retryable": False,
        "details": {"blob": {"$bytes": "/wA="}, "by": str(me)}}


async def test_signals_are_named_after_the_topic_batches_of_one_topic_too(make_app, temporal_address):
    app = make_app([dict(COLLECT)])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:collect", "app:worker", {"count": 9})
        await node.process.send(pid, "hello")
        with trio.fail_after(30):  # the first signal landed: the next sends queue behind nothing in flight
            while not any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                          for e in await history_of(temporal_address, pid.id)):
                await trio.sleep(0.05)
        for _ in range(3):  # queued together: one batch of one topic
            node.process.send_nowait(pid, "tick")
        await wait_signals(temporal_address, pid, 2)
        for topic in ("tick", "tock", "tick"):  # one batch of two topics
            node.process.send_nowait(pid, topic)
        await wait_signals(temporal_address, pid, 3)
        node.process.send_nowait(pid, "x" * 300)  # too long for a name
        await wait_signals(temporal_address, pid, 4)
        node.process.send_nowait(pid, "last")
        result = await exit_of(node, pid)
    assert result.value == ["hello", "tick", "tick", "tick", "tick", "tock", "tick", "x" * 300, "last"]
    names = [e.workflow_execution_signaled_event_attributes.signal_name
             for e in await history_of(temporal_address, pid.id)
             if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
    assert names == ["msg:hello", "msgs:tick", "pidflow.messages", "pidflow.message", "msg:last"]


async def wait_signals(address: str, pid: pidflow.Pid, count: int) -> None:
    with trio.fail_after(30):
        while sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                  for e in await history_of(address, pid.id)) < count:
            await trio.sleep(0.05)


async def test_start_messages_of_a_signal_with_start_are_named_after_their_topic(make_app, temporal_address,
                                                                                  task_queue):
    app = make_app([dict(COLLECT)])
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_name(f"collect-{task_queue}").with_message("go", 1).with_message("go", 2)
        pid = await spawner.spawn_monitored("app:collect", "app:worker", {"count": 2})
        result = await exit_of(node, pid)
    assert result.value == ["go", "go"]
    signals = [e.workflow_execution_signaled_event_attributes for e in await history_of(temporal_address, pid.id)
               if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
    assert [s.signal_name for s in signals] == ["msgs:go"]
    assert [m["data"] for m in as_json(signals[0].input.payloads[0])] == [1, 2]
