"""``pidflow run APP`` without ``--entry`` (examples/mixed_tree): it starts the root supervisors, runs until
SIGINT, then stops the tree in reverse start order and exits 0, leaving the durable child running for the next
node to adopt."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus

from pidflow.temporal_host._devserver import DevServer

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "mixed_tree"
WORKFLOW_ID = "app-root/orders"  # derived from the supervisor and child ids


def _lines(stream: object, out: "queue.Queue[str]") -> None:
    for line in stream:  # type: ignore[attr-defined]
        out.put(line.rstrip("\n"))
    out.put("<eof>")


def _wait_for(lines: "queue.Queue[str]", seen: list[str], done: set[str], timeout: float) -> None:
    """Read lines into ``seen`` until every line of ``done`` was seen (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not done <= set(seen):
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"timed out waiting for {done - set(seen)}; got {seen}") from None
        if line == "<eof>":
            raise AssertionError(f"pidflow ended early; got {seen}")
        seen.append(line)


async def _workflow_status(address: str) -> WorkflowExecutionStatus | None:
    client = await Client.connect(address)
    return (await client.get_workflow_handle(WORKFLOW_ID).describe()).status


async def _terminate(address: str) -> None:
    client = await Client.connect(address)
    try:
        await client.get_workflow_handle(WORKFLOW_ID).terminate("test cleanup")
    except Exception:  # noqa: BLE001 - already closed is fine
        pass


def test_run_without_entry_runs_the_tree_until_sigint_then_stops_it_in_reverse_order(
        dev_server: DevServer, tmp_path: Path) -> None:
    env = {**os.environ, "PIDFLOW_TEMPORAL_ADDRESS": dev_server.address, "PIDFLOW_STATE_DIR": str(tmp_path)}
    with subprocess.Popen([sys.executable, "-m", "pidflow", "run", str(APP)], cwd=tmp_path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        lines: queue.Queue[str] = queue.Queue()  # Lua's print on stdout, pidflow's own lines on stderr
        reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
        reader.start()
        seen: list[str] = []
        try:
            started = {f"mixed_tree: {name} started" for name in ("journal", "cache", "audit")}
            _wait_for(lines, seen, started, timeout=60)  # the tree has started by the time the node says so
            while not any(line.startswith("pidflow: node ") for line in seen):
                seen.append(lines.get(timeout=60))
            assert any(line.startswith("pidflow: node ") and "running" in line for line in seen), seen
            node_line = next(i for i, line in enumerate(seen) if line.startswith("pidflow: node "))
            assert started <= set(seen[:node_line]), seen
            assert asyncio.run(_workflow_status(dev_server.address)) == WorkflowExecutionStatus.RUNNING

            proc.send_signal(signal.SIGINT)
            stopping = {f"mixed_tree: {name} stopping" for name in ("journal", "cache", "audit")}
            _wait_for(lines, seen, stopping | {"pidflow: stopped"}, timeout=60)
            assert proc.wait(timeout=60) == 0
            reader.join(timeout=10)
            assert [line for line in seen if line.endswith(" stopping")] == [
                "mixed_tree: audit stopping", "mixed_tree: cache stopping", "mixed_tree: journal stopping"]
            assert "Traceback" not in "\n".join(seen)
            # The durable child outlives the node (a restarted node adopts it).
            assert asyncio.run(_workflow_status(dev_server.address)) == WorkflowExecutionStatus.RUNNING
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            asyncio.run(_terminate(dev_server.address))
