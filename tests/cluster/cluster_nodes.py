"""Real OS processes for the cluster tests (the ``cluster`` fixture is in conftest.py): ``pidflow run tests/cluster/app --node NAME`` children on the session's
dev server, next to the test's own node (``open_node(APP, name=...)``), so a test has three nodes or more."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


APP = Path(__file__).parent / "app"
#: The failure-detection bound the test nodes run with (seconds): small, so a death is seen quickly.
DOWN_AFTER = 3.0


class NodeProcess:
    """One ``pidflow run --node NAME`` child; its log is kept in ``log`` and shown when a test fails."""

    def __init__(self, name: str, address: str, state_dir: Path) -> None:
        self.name = name
        self.log = state_dir / f"node-{name}.log"
        self._address, self._state_dir = address, state_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> "NodeProcess":
        env = {**os.environ, "PIDFLOW_TEMPORAL_ADDRESS": self._address, "PIDFLOW_STATE_DIR": str(self._state_dir),
               "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "pidflow", "run", str(APP), "--node", self.name,
                   "--node-down-after", str(DOWN_AFTER)]
        with open(self.log, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + timeout
        while f"node {self.name} running".encode() not in self.log.read_bytes():
            if self.proc.poll() is not None:
                raise AssertionError(f"node {self.name} exited at start ({self.proc.returncode}):\n{self.text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"node {self.name} did not start within {timeout}s:\n{self.text()}")
            time.sleep(0.05)
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else "(no log)"

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Cluster:
    def __init__(self, address: str, state_dir: Path) -> None:
        self.address, self.state_dir = address, state_dir
        self.nodes: list[NodeProcess] = []
        self.suffix = secrets.token_hex(3)

    def name(self, base: str) -> str:
        """A node name unique in the session (the dev server outlives the test)."""
        return f"{base}-{self.suffix}"

    def start(self, base: str) -> NodeProcess:
        node = NodeProcess(self.name(base), self.address, self.state_dir)
        self.nodes.append(node)
        return node.start()

    def restart(self, node: NodeProcess) -> NodeProcess:
        again = NodeProcess(node.name, self.address, self.state_dir)
        self.nodes.append(again)
        return again.start()

    def logs(self) -> str:
        return "\n".join(f"--- node {n.name} ---\n{n.text()}" for n in self.nodes)


async def next_message(node: Any, topic: str, patience: float = DOWN_AFTER * 10) -> Any:
    """The next message on ``topic`` in the node's root inbox (others are skipped)."""
    import trio

    with trio.fail_after(patience):
        while True:
            message = await node.process.inbox().receive()
            if message.topic == topic:
                return message
