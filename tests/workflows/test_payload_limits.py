"""No message can wedge a workflow (issue 9, point 5): a payload over Temporal's blob size limit fails its sender
at send time (Python: INVALID raised; Lua: ``nil, err``), batches of queued messages never exceed the limit, and a
message the server refuses anyway is dropped with a logged error while the ones behind it still land."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import trio
import yaml

import pidflow
from pidflow import EventKind

COLLECTOR = {"name": "collector", "kind": "workflow.lua", "source": "file://limits_collector.lua"}
SERVER_LIMIT = 2 * 1024 * 1024  # the dev server's limit.blobSize.error (Temporal's default)
# A server with a small limit (the server only checks the error limit of sizes above the warning limit).
SMALL_LIMIT = {"limit.blobSize.error": 100_000, "limit.blobSize.warn": 50_000}


def with_client_keys(app: Path, **keys: Any) -> Path:
    """The app with ``keys`` set on its ``temporal.client`` entry."""
    doc = yaml.safe_load(app.read_text())
    for entry in doc["entries"]:
        if entry["kind"] == "temporal.client":
            entry.update(keys)
    app.write_text(yaml.safe_dump(doc))
    return app


async def exit_value(node: pidflow.Node, pid: pidflow.Pid) -> Any:
    with trio.fail_after(30):
        event = await node.process.events().receive()
    assert event.kind is EventKind.EXIT and event.from_ == pid
    assert event.result.error is None, event.result.error
    return event.result.value


async def test_a_message_over_the_limit_fails_the_python_sender_and_later_messages_still_arrive(make_app):
    app = make_app([dict(COLLECTOR)])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:collector", "app:worker")
        with pytest.raises(pidflow.Error, match=rf"message 'big' to .* is \d+ bytes, over the payload limit of "
                                                rf"{SERVER_LIMIT} bytes") as info:
            await node.process.send(pid, "big", "x" * 3_000_000)
        assert info.value.kind == "INVALID"
        await node.process.send(pid, "small", "abc")
        await node.process.send(pid, "stop")
        assert await exit_value(node, pid) == [{"topic": "small", "size": 3}]


async def test_queued_messages_that_fit_alone_are_never_batched_over_the_limit(make_app):
    app = make_app([dict(COLLECTOR)])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:collector", "app:worker")
        # All queued at once: the first goes out alone, the rest wait behind it and leave as batches.
        node.process.send_nowait(pid, "first", "a")
        node.process.send_nowait(pid, "medium", "m" * 400_000)
        node.process.send_nowait(pid, "large", "l" * 1_800_000)
        node.process.send_nowait(pid, "last", "z")
        node.process.send_nowait(pid, "stop")
        assert await exit_value(node, pid) == [
            {"topic": "first", "size": 1}, {"topic": "medium", "size": 400_000},
            {"topic": "large", "size": 1_800_000}, {"topic": "last", "size": 1}]


async def test_a_message_over_the_limit_answers_nil_err_to_a_local_lua_sender(make_app):
    app = make_app([dict(COLLECTOR), {"name": "sender", "kind": "process.lua",
                                      "source": "file://limits_lua_sender.lua", "method": "main"}])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:collector", "app:worker")
        with trio.fail_after(30):
            sent = await node.process.exec("app:sender", "app:processes", {"pid": str(pid), "size": 3_000_000})
        assert await exit_value(node, pid) == [{"topic": "small", "size": 3}]
    assert sent.get("ok") is None
    assert sent["kind"] == "INVALID"
    assert f"over the payload limit of {SERVER_LIMIT} bytes" in sent["message"]


async def test_a_workflow_sending_or_starting_over_the_limit_gets_nil_err_and_its_child_is_not_wedged(make_app):
    app = make_app([dict(COLLECTOR), {"name": "parent", "kind": "workflow.lua", "source": "file://limits_parent.lua"}])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored(
            "app:parent", "app:worker", {"size": 3_000_000, "reply_to": str(node.process.pid())})
        result = await exit_value(node, pid)
    for what in ("to_child", "to_local", "started"):
        assert result[what].get("ok") is None, what
        assert result[what]["kind"] == "INVALID", what
        assert f"over the payload limit of {SERVER_LIMIT} bytes" in result[what]["message"], what
    assert result["child"] == [{"topic": "small", "size": 3}]


async def test_the_servers_own_limit_is_the_default(make_app, own_server):
    await own_server(SMALL_LIMIT)
    app = make_app([dict(COLLECTOR)])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:collector", "app:worker")
        with pytest.raises(pidflow.Error, match="over the payload limit of 100000 bytes"):
            await node.process.send(pid, "big", "x" * 150_000)
        await node.process.send(pid, "stop")
        assert await exit_value(node, pid) == {}  # nothing seen: an empty Lua table


async def test_a_message_the_server_refuses_is_dropped_with_a_logged_error_and_never_blocks_the_queue(
        make_app, own_server, caplog):
    # The configured limit (a payload codec or proxy may shrink payloads on the way) is above the server's,
    # so the server itself refuses: a batch it refuses is retried message by message, and only the message
    # that cannot fit alone is dropped.
    await own_server(SMALL_LIMIT)
    app = with_client_keys(make_app([dict(COLLECTOR)]), max_payload_size=1_000_000)
    caplog.set_level(logging.ERROR, logger="pidflow")
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:collector", "app:worker")
        # Queued together, they leave as batches the server refuses.
        node.process.send_nowait(pid, "first", "a")
        node.process.send_nowait(pid, "half1", "h" * 60_000)  # each fits alone; together they do not
        node.process.send_nowait(pid, "half2", "h" * 60_000)
        node.process.send_nowait(pid, "refused", "r" * 200_000)
        node.process.send_nowait(pid, "after", "b")
        node.process.send_nowait(pid, "stop")
        assert await exit_value(node, pid) == [
            {"topic": "first", "size": 1}, {"topic": "half1", "size": 60_000}, {"topic": "half2", "size": 60_000},
            {"topic": "after", "size": 1}]
    dropped = [r for r in caplog.records if r.name.startswith("pidflow") and "refused" in r.getMessage()]
    assert len(dropped) == 1, [r.getMessage() for r in caplog.records]
    assert dropped[0].levelno == logging.ERROR
    assert str(pid) in dropped[0].getMessage()
