"""Signals into workflows (spec: 信号): inbox mode, topic listeners (raw and whole messages), several handler
coroutines replying to the sender, request-reply with a caller-side timeout, and workflow-to-workflow signals."""

from __future__ import annotations

from typing import Any

import trio

import pidflow
from pidflow import EventKind


def wf(name: str, source: str, modules: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "kind": "workflow.lua", "source": f"file://{source}", "modules": modules or []}


async def exit_of(node: pidflow.Node, pid: pidflow.Pid) -> pidflow.Event:
    with trio.fail_after(30):
        event = await node.process.events().receive()
    assert event.kind is EventKind.EXIT
    assert event.from_ == pid
    return event


async def replies(node: pidflow.Node, count: int) -> list[tuple[str, Any]]:
    out = []
    with trio.fail_after(30):
        for _ in range(count):
            message = await node.process.inbox().receive()
            out.append((message.topic, message.data))
    return out


# -- inbox mode -----------------------------------------------------------------------------------------------------

async def test_inbox_workflow_skips_other_topics_and_continues_on_approve(make_app):
    app = make_app([wf("approval", "signals_inbox.lua")])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:approval", "app:worker", {"id": "o-1"})
        await node.process.send(pid, "note", {"text": "not yet"})
        await node.process.send(pid, "remind")
        await node.process.send(pid, "approve")
        event = await exit_of(node, pid)
    assert event.result.error is None
    assert event.result.value == {"status": "processed", "order_id": "o-1", "ignored": ["note", "remind"]}


async def test_inbox_workflow_returns_the_cancel_reason_from_the_payload(make_app):
    app = make_app([wf("approval", "signals_inbox.lua")])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:approval", "app:worker", {"id": "o-2"})
        await node.process.send(pid, "cancel", {"reason": "customer changed their mind"})
        event = await exit_of(node, pid)
    assert event.result.value == {"status": "cancelled", "reason": "customer changed their mind"}


async def test_inbox_workflow_sees_a_start_message_before_later_signals(make_app):
    app = make_app([wf("approval", "signals_inbox.lua")])
    async with pidflow.open_node(app) as node:
        pid = await node.process.with_message("approve").spawn_monitored("app:approval", "app:worker", {"id": "o-3"})
        await node.process.send(pid, "cancel", {"reason": "too late"})
        event = await exit_of(node, pid)
    # An empty Lua table comes back as an empty dict: nothing was skipped before approve.
    assert event.result.value == {"status": "processed", "order_id": "o-3", "ignored": {}}


# -- topic listeners ------------------------------------------------------------------------------------------------

async def test_listen_yields_raw_payloads_and_select_serves_jobs_until_exit(make_app):
    app = make_app([
        wf("jobs", "signals_jobs.lua", ["funcs"]),
        {"name": "signals_echo", "kind": "function.lua", "source": "file://signals_echo.lua", "method": "echo"},
    ])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:jobs", "app:worker", {})
        await node.process.send(pid, "add_job", {"id": 1, "payload": "a"})
        await node.process.send(pid, "add_job", {"id": 2, "payload": "b"})
        await node.process.send(pid, "exit")
        event = await exit_of(node, pid)
    assert event.result.error is None
    assert event.result.value == {"total_jobs": 2, "results": [
        {"job_id": 1, "result": {"echoed": "a", "job_id": 1}},
        {"job_id": 2, "result": {"echoed": "b", "job_id": 2}},
    ]}


async def test_listen_with_message_option_gives_the_sender_to_reply_to(make_app):
    app = make_app([wf("requests", "signals_request.lua")])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:requests", "app:worker", {})
        await node.process.send(pid, "request", {"question": "ready?"})
        with trio.fail_after(30):
            reply = await node.process.inbox().receive()
        event = await exit_of(node, pid)
        me = node.process.pid()
    assert (reply.topic, reply.data, reply.sender) == ("reply", {"echo": "ready?", "topic": "request"}, pid)
    assert event.result.value == {"sender": str(me)}


# -- several handler coroutines ---------------------------------------------------------------------------------------

async def test_counter_handlers_ack_and_reply_with_the_new_value(make_app):
    app = make_app([wf("counter", "signals_counter.lua")])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:counter", "app:worker", {"initial": 10})
        await node.process.send(pid, "increment", {"amount": 5})
        assert await replies(node, 2) == [("ack", None), ("ok", {"value": 15})]
        await node.process.send(pid, "decrement", {"amount": 4})
        assert await replies(node, 2) == [("ack", None), ("ok", {"value": 11})]
        await node.process.send(pid, "finish")
        assert await replies(node, 2) == [("ack", None), ("ok", {"message": "finishing"})]
        event = await exit_of(node, pid)
    assert event.result.value == {"final_counter": 11}


async def test_counter_handlers_nak_invalid_requests_and_keep_the_value(make_app):
    app = make_app([wf("counter", "signals_counter.lua")])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:counter", "app:worker", {"initial": 3})
        await node.process.send(pid, "increment", {"amount": "lots"})
        assert await replies(node, 1) == [("nak", "amount must be a number")]
        await node.process.send(pid, "decrement", {"amount": 4})
        assert await replies(node, 1) == [("nak", "would result in negative value")]
        await node.process.send(pid, "finish")
        assert await replies(node, 2) == [("ack", None), ("ok", {"message": "finishing"})]
        event = await exit_of(node, pid)
    assert event.result.value == {"final_counter": 3}


async def test_counter_replies_reach_each_concurrent_sender_only(make_app):
    async def client(request: tuple[pidflow.Pid, int]) -> list[Any]:
        pid, amount = request
        await pidflow.process.send(pid, "increment", {"amount": amount})
        inbox = pidflow.process.inbox()
        return [(m.topic, m.data) for m in [await inbox.receive(), await inbox.receive()]]

    app = make_app([wf("counter", "signals_counter.lua")])
    results: dict[int, list[Any]] = {}
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:counter", "app:worker", {"initial": 0})

        async def run(amount: int) -> None:
            results[amount] = await node.process.exec(client, None, (pid, amount))

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(run, 2)
                nursery.start_soon(run, 3)
        await node.process.send(pid, "finish")
        assert await replies(node, 2) == [("ack", None), ("ok", {"message": "finishing"})]
        event = await exit_of(node, pid)
    assert [topic for topic, _ in results[2]] == [topic for topic, _ in results[3]] == ["ack", "ok"]
    # Whichever came second saw the other's increment.
    assert sorted([results[2][1][1]["value"], results[3][1][1]["value"]]) in ([2, 5], [3, 5])
    assert event.result.value == {"final_counter": 5}


# -- request-reply ----------------------------------------------------------------------------------------------------

STATUS_ENTRIES = [
    wf("status_workflow", "signals_status.lua"),
    {"name": "status_caller", "kind": "process.lua", "source": "file://signals_status_caller.lua",
     "method": "main", "modules": ["time"]},
]


async def test_status_request_from_a_local_lua_process_gets_the_reply_before_the_timeout(make_app):
    app = make_app([dict(e) for e in STATUS_ENTRIES])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:status_workflow", "app:worker", {})
        with trio.fail_after(30):
            result = await node.process.exec("app:status_caller", "app:processes", {"workflow": str(pid)})
        event = await exit_of(node, pid)
    assert result == {"answered": True, "status": {"status": "processing", "progress": 75}}
    assert event.result.value["answered"].startswith("{app:processes@")


async def test_status_request_without_a_reply_ends_in_the_caller_timeout(make_app):
    # The workflow listens for get_status only; this one waits for approve and never answers.
    app = make_app([dict(e) for e in STATUS_ENTRIES] + [wf("silent", "signals_inbox.lua")])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn("app:silent", "app:worker", {"id": "s"})
        with trio.fail_after(30):
            result = await node.process.exec("app:status_caller", "app:processes",
                                             {"workflow": str(pid), "timeout": "200ms"})
        await node.process.terminate(pid)
    assert result == {"answered": False}


async def test_status_request_from_python_gets_the_reply(make_app):
    app = make_app([wf("status_workflow", "signals_status.lua")])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn("app:status_workflow", "app:worker", {})
        responses = node.process.listen("status_response")
        await node.process.send(pid, "get_status", {})
        with trio.fail_after(30):
            status = await responses.receive()
    assert status == {"status": "processing", "progress": 75}


# -- workflow to workflow ---------------------------------------------------------------------------------------------

async def test_workflow_pings_another_workflow_by_pid_and_gets_its_pong(make_app):
    app = make_app([wf("ping_sender", "signals_ping_sender.lua"), wf("ping_target", "signals_ping_target.lua")])
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn_monitored("app:ping_target", "app:worker", {})
        with trio.fail_after(30):
            result = await node.process.exec("app:ping_sender", "app:worker", {"target": str(target)})
        event = await exit_of(node, target)
    assert result == {"ok": True, "received": {"reply_to": "hello", "from": str(target)}}
    assert event.result.value["pinged_by"].startswith("{app:worker|app-ping_sender-")
