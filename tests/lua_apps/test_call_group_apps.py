"""call/reply and process groups from Lua through ``pidflow run``: ``call`` (process.call and process.reply against
a local server and a durable one: answers, error answers, timeouts with late replies dropped, dead targets, bad
input) and ``groups`` (the pg module: multi-join, batches, members, broadcast, a member's end, bad input), each
as a local process and as a workflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def run_with_services(area: str, entry: str, tmp_path: Path, temporal_address: str, input: Any = None) -> Any:
    """As the ``run_lua_app`` fixture, with the app's services started (``--with-services``): the call app's
    workflow gets its local servers from a service (a workflow cannot spawn a local process)."""
    command = [sys.executable, "-m", "pidflow", "run", str(HERE / area), "--entry", entry, "--with-services"]
    if input is not None:
        command += ["--input", json.dumps(input)]
    env = {**os.environ, "PIDFLOW_TEMPORAL_ADDRESS": temporal_address, "PIDFLOW_STATE_DIR": str(tmp_path)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, f"{area} {entry} failed ({done.returncode}):\n{done.stderr}\n{done.stdout}"
    return json.loads([line for line in done.stdout.splitlines() if line.strip()][-1])


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
def test_the_call_app_runs_locally_and_durably(tmp_path: Path, temporal_address: str, entry: str) -> None:
    assert run_with_services("call", entry, tmp_path, temporal_address) == {"ok": True}


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
def test_the_groups_app_runs_locally_and_durably(run_lua_app: Any, entry: str) -> None:
    assert run_lua_app("groups", entry, input={"tag": uuid.uuid4().hex[:8]}) == {"ok": True}


def test_a_failing_groups_check_fails_the_run_with_its_line(run_lua_app: Any) -> None:
    # group names over the length limit: the app's first join is refused, and its check says so
    code, _, stderr = run_lua_app("groups", "app:local", input={"tag": "x" * 1000}, ok=False)
    assert code != 0 and "groups.lua" in stderr and "join" in stderr
