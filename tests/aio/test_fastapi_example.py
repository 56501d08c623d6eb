"""examples/fastapi_app under a real uvicorn server on a free port, with its durable workflows on the session's
Temporal dev server: a request gets a local process's quote and starts a workflow, whose report reaches the
local process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app"

pytestmark = pytest.mark.temporal


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(temporal_address: str, tmp_path: Path) -> object:
    port = _free_port()
    env = {**os.environ, "PIDFLOW_TEMPORAL_ADDRESS": temporal_address, "PIDFLOW_STATE_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLE), "--port", str(port),
                             "--log-level", "warning", "main:app"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "uvicorn exited"
            try:
                httpx.get(f"{base}/orders/none", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "uvicorn did not answer within 60 s"
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        # a clean stop: uvicorn shuts the app down (the node stops with its lifespan), then re-raises SIGTERM
        assert proc.returncode in (0, -signal.SIGTERM), out
        assert "Traceback" not in out and "ERROR" not in out, out


def test_a_request_gets_a_local_quote_and_its_durable_workflow_reports_back(server: str) -> None:
    order_id = f"o-{time.time_ns()}"
    placed = httpx.post(f"{server}/orders", json={"id": order_id, "items": ["a", "b", "c"]}, timeout=30)
    assert placed.status_code == 200, placed.text
    body = placed.json()
    assert body["price"] == 15
    assert body["workflow"].endswith(f"|order-{order_id}}}")
    deadline = time.monotonic() + 30
    while True:
        status = httpx.get(f"{server}/orders/{order_id}", timeout=10).json()
        if status["shipped"]:
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status == {"id": order_id, "shipped": True}
