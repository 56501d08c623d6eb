"""Signals that come with a workflow's start (Temporal hands them over before the run begins) see the start
record: a link exit from the process that started the workflow linked ends the workflow, as it would a moment
later."""

from __future__ import annotations

import trio

import pidflow
from pidflow import Error, ErrorKind, EventKind, Pid
from pidflow.temporal_host import _protocol as protocol


async def test_a_link_exit_that_comes_with_the_start_ends_the_linked_workflow(make_app) -> None:
    app = make_app([{"name": "wait", "kind": "workflow.lua", "source": "file://xh_wait.lua"}])
    async with pidflow.open_node(app) as node:
        host = node.host("app:worker")
        parent = Pid("app:processes", "41", node.name)  # a linked local process that failed at once
        start = protocol.StartInfo(parent=parent, links=[parent]).to_wire()
        reason = Error(ErrorKind.CONFLICT, "parent gave up")

        async def start_with_link_exit() -> None:
            await host.client.start_workflow(
                "app:wait", args=[None, start], id="linked-exit-at-start", task_queue=host.task_queue,
                start_signal=protocol.LINK_EXIT, start_signal_args=[{"from": parent, "reason": reason}])

        await host.service.aio.run(start_with_link_exit)
        pid = Pid("app:worker", "linked-exit-at-start")
        await node.process.monitor(pid)
        with trio.fail_after(30):
            event = await node.process.events().receive()
    assert event.kind is EventKind.EXIT and event.from_ == pid
    assert event.result.error.kind is ErrorKind.CONFLICT
    assert f"linked process {parent} failed: parent gave up" in event.result.error.message


async def test_a_signal_whose_payload_cannot_be_read_is_dropped_and_the_workflow_goes_on(make_app) -> None:
    from temporalio.api.common.v1 import Payload
    from temporalio.common import RawValue

    app = make_app([{"name": "wait", "kind": "workflow.lua", "source": "file://xh_wait.lua"}])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:wait", "app:worker", {})
        host = node.host("app:worker")
        garbage = RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b"{not json"))

        async def signal_garbage() -> None:
            await host.client.get_workflow_handle(pid.id).signal("msg:junk", garbage)

        await host.service.aio.run(signal_garbage)
        await node.process.send(pid, "after")
        with trio.fail_after(30):
            event = await node.process.events().receive()
    assert event.kind is EventKind.EXIT and event.from_ == pid
    assert event.result.error is None and event.result.value == "after"
