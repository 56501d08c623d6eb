"""Continue-as-new (spec: workflow.history_length(); DESIGN "Workflow history is finite"): a long-lived inbox
loop continues as new before Temporal's history limit and carries its unprocessed messages and its PID along.

The dev server takes about 200-300 signals per second to one workflow (measured with bare temporalio), so
pidflow's outbox sends the messages that queued up behind a signal in flight as one batch signal, in order. The
big test sends 20,000 messages in a burst; the counter continues as new every few thousand messages and whenever
its history passes a small limit, so most runs end with messages still queued, which must be carried."""

from __future__ import annotations

import trio

import pidflow

COUNTER = [{"name": "counter", "kind": "workflow.lua", "source": "file://can_counter.lua", "modules": ["workflow"]}]


async def test_twenty_thousand_signals_to_one_workflow_are_all_counted_across_continue_as_new(make_app):
    n = 20_000
    app = make_app([dict(e) for e in COUNTER])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:counter", "app:worker",
                                                 {"history_limit": 200, "max_per_run": 3_000})
        for i in range(1, n + 1):
            await node.process.send(pid, "inc", i)
        await node.process.send(pid, "done")
        with trio.fail_after(100):
            event = await node.process.events().receive()
    assert event.from_ == pid
    assert event.result.error is None
    result = event.result.value
    assert (result["count"], result["out_of_order"]) == (n, 0)
    assert result["runs"] > 1  # it did continue as new ...
    assert (result["workflow_id"], result["pid"]) == (pid.id, str(pid))  # ... under the same PID


async def test_messages_queued_at_continue_as_new_are_carried_to_the_next_run_in_order(make_app):
    # Every message is queued before the first run starts; with a history limit of 1 each run takes one
    # message and continues as new, so each run inherits the rest of the queue from the previous one.
    app = make_app([dict(e) for e in COUNTER])
    async with pidflow.open_node(app) as node:
        spawner = node.process.with_options({})
        for i in range(1, 9):
            spawner = spawner.with_message("inc", i)
        spawner = spawner.with_message("done")
        with trio.fail_after(60):
            result = await spawner.exec("app:counter", "app:worker", {"history_limit": 1})
    assert result["count"] == 8
    assert result["out_of_order"] == 0
    assert result["runs"] == 9
