"""examples/orders served over HTTP, as a user runs it: ``pidflow run examples/orders`` in a subprocess (on the
test session's Temporal dev server), driven with httpx. The workflow spec's handler places orders (202, then 409
for the same order id), the request id reaches the workflow through ``ctx``, GET reads an order's status from
its workflow, and approve sends it a message.

The example is copied so that its server listens on a free port instead of 8080 (nothing else changes)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "examples" / "orders"
ADDR = 'addr: "127.0.0.1:8080"'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory, dev_server: Any) -> Iterator[httpx.Client]:
    """The example running (``pidflow run``, one for this module's tests) and a client of its API; at the end,
    Ctrl-C stops it cleanly."""
    tmp_path = tmp_path_factory.mktemp("orders_example")
    app = tmp_path / "orders"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns(".pidflow", "__pycache__"))
    yaml_text = (app / "app.yaml").read_text()
    assert yaml_text.count(ADDR) == 1
    port = free_port()
    (app / "app.yaml").write_text(yaml_text.replace(ADDR, f'addr: "127.0.0.1:{port}"'))
    env = {**os.environ, "PIDFLOW_TEMPORAL_ADDRESS": dev_server.address,
           "PIDFLOW_STATE_DIR": str(tmp_path / "state")}
    log = (tmp_path / "stderr.txt").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "pidflow.cli", "run", str(app)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log, text=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"pidflow run ended early:\n{(tmp_path / 'stderr.txt').read_text()}"
            try:
                client.get("/")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.1)
        yield client
    finally:
        client.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        log.seek(0)
        stderr = log.read()
        log.close()
    assert proc.returncode == 0, stderr


def order(oid: str, total: int, **extra: Any) -> dict[str, Any]:
    return {"id": oid, "customer_id": "ada", "total": total, "items": ["desk"],
            "shipping": {"address": "1 Main St"}, "settle": "10ms", **extra}


def until(client: httpx.Client, path: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """GET ``path`` until ``done(json)`` (the workflow moves on its own time); the last answer."""
    deadline = time.monotonic() + 60
    while True:
        r = client.get(path)
        assert r.status_code == 200, r.text
        body = r.json()
        if done(body):
            return body
        assert time.monotonic() < deadline, f"{path} never got there; last answer {body}"
        time.sleep(0.05)


def test_the_spec_handler_starts_an_order_then_conflicts_and_the_order_is_approved_over_http(
        orders: httpx.Client) -> None:
    oid = f"H{uuid.uuid4().hex[:10]}"
    pid = f"{{app:worker|order-{oid}}}"
    r = orders.post("/orders", json=order(oid, 150), headers={"X-Request-ID": f"req-{oid}"})
    assert r.status_code == 202, r.text
    assert r.json() == {"workflow_id": pid, "status": "started"}
    assert r.headers["x-request-id"] == f"req-{oid}"

    r = orders.post("/orders", json=order(oid, 150), headers={"X-Request-ID": f"req-{oid}-again"})
    assert r.status_code == 409, r.text
    assert set(r.json()) == {"error"} and r.json()["error"]

    # the workflow reads the request id through ctx and waits for approval (total >= 100)
    state = until(orders, f"/orders/{oid}", lambda s: s["status"] == "awaiting_approval")
    assert state == {"order_id": oid, "status": "awaiting_approval", "step": "approval",
                     "request_id": f"req-{oid}", "workflow_id": pid}

    r = orders.post(f"/orders/{oid}/approve", content=b"{not json")
    assert r.status_code == 400 and "invalid JSON" in r.json()["error"]
    r = orders.post(f"/orders/{oid}/approve", json={"by": "grace"})
    assert r.status_code == 202, r.text
    assert r.json() == {"order_id": oid, "workflow_id": pid, "status": "approved"}

    done = until(orders, f"/orders/{oid}", lambda s: s["status"] != "awaiting_approval" and "result" in s)
    assert done["status"] == "completed" and done["workflow_id"] == pid
    assert done["result"]["approved_by"] == "grace" and done["result"]["tracking"].startswith("TRK-")

    r = orders.post(f"/orders/{oid}/approve", json={"by": "grace"})
    assert r.status_code == 409 and r.json()["error"] == "the order has ended"


def test_a_generated_request_id_reaches_the_workflow(orders: httpx.Client) -> None:
    oid = f"G{uuid.uuid4().hex[:10]}"
    r = orders.post("/orders", json=order(oid, 500))
    assert r.status_code == 202, r.text
    generated = r.headers["x-request-id"]
    assert generated
    state = until(orders, f"/orders/{oid}", lambda s: s["status"] == "awaiting_approval")
    assert state["request_id"] == generated
    assert orders.post(f"/orders/{oid}/approve").status_code == 202
    done = until(orders, f"/orders/{oid}", lambda s: "result" in s)
    assert done["status"] == "completed" and "approved_by" not in done["result"]


def test_a_small_order_completes_without_approval_and_an_unknown_one_is_404(orders: httpx.Client) -> None:
    oid = f"S{uuid.uuid4().hex[:10]}"
    assert orders.post("/orders", json=order(oid, 5)).status_code == 202
    done = until(orders, f"/orders/{oid}", lambda s: "result" in s)
    assert done["status"] == "completed" and done["result"]["status"] == "completed"

    r = orders.post(f"/orders/{oid}/approve")
    assert r.status_code == 409

    unknown = f"U{uuid.uuid4().hex[:10]}"
    r = orders.get(f"/orders/{unknown}")
    assert r.status_code == 404, r.text
    assert r.json()["status"] == "error" and "no such process" in r.json()["error"]
    assert orders.post(f"/orders/{unknown}/approve").status_code == 404


def test_an_order_that_fails_reports_its_compensation(orders: httpx.Client) -> None:
    oid = f"F{uuid.uuid4().hex[:10]}"
    r = orders.post("/orders", json=order(oid, 7, shipping={"address": "nowhere"}))
    assert r.status_code == 202
    done = until(orders, f"/orders/{oid}", lambda s: "result" in s)
    assert done["status"] == "failed"
    assert done["result"] == {"status": "failed", "step": "shipping", "compensated": 2,
                              "error": "no route to 'nowhere'"}
