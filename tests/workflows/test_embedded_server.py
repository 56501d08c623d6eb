"""The embedded default: a `temporal.client` without an address (and no PIDFLOW_TEMPORAL_ADDRESS) makes the
node start the official dev server on a free port, with its SQLite file under the app's state folder, and stop
it when the node stops."""

from __future__ import annotations

import os

import trio

import pidflow

ENTRIES = [{"name": "order_workflow", "kind": "workflow.lua", "source": "file://order.lua",
            "modules": ["funcs", "time", "workflow"]},
           {"name": "charge_payment", "kind": "function.py", "source": "functions:charge_payment"},
           {"name": "ship_order", "kind": "function.py", "source": "functions:ship_order"},
           {"name": "refund_payment", "kind": "function.py", "source": "functions:refund_payment"}]


async def test_node_without_an_address_runs_workflows_on_an_embedded_dev_server(make_app, tmp_path, monkeypatch):
    app = make_app([dict(e) for e in ENTRIES])
    monkeypatch.delenv("PIDFLOW_TEMPORAL_ADDRESS")
    state = tmp_path / "state"
    async with pidflow.open_node(app, state_dir=state) as node:
        server = node.resources["temporal"]._dev_server
        assert server is not None and server.running
        server_pid = server.pid
        with trio.fail_after(60):
            result = await node.process.exec("app:order_workflow", "app:worker",
                                             {"id": "e1", "total": 5, "customer_id": "c9", "shipping_address": "x",
                                              "delay": "10ms"})
    assert result["status"] == "completed"
    assert (state / "temporal.sqlite").exists()
    assert not server.running
    assert not _process_exists(server_pid)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
