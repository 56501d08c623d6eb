"""Lua test apps, one folder per area of the Lua API (issue: parity with the seed runtime's Lua surface).

Each folder is an app run the way a user runs one: ``pidflow run tests/lua_apps/AREA --entry ENTRY`` in a child
process. By convention ``app:local`` runs the area's checks as a local ``process.lua`` and ``app:durable`` runs
the same checks as a ``workflow.lua`` on the session's dev server (task queue ``lua-apps-AREA``). A check is a
plain Lua ``assert``/``error``: a failing one ends the entry with its file:line, which the test shows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def run_lua_app(tmp_path: Path, temporal_address: str) -> Callable[..., Any]:
    """``run_lua_app(area, entry="app:local", input=None, ok=True)`` -> the entry's result (printed JSON).

    With ``ok=False`` the run must fail; the answer is then ``(returncode, stdout, stderr)``."""

    def run(area: str, entry: str = "app:local", input: Any = None, ok: bool = True, timeout: float = 120) -> Any:
        command = [sys.executable, "-m", "pidflow", "run", str(HERE / area), "--entry", entry]
        if input is not None:
            command += ["--input", json.dumps(input)]
        env = {**os.environ, "PIDFLOW_TEMPORAL_ADDRESS": temporal_address, "PIDFLOW_STATE_DIR": str(tmp_path)}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
        if not ok:
            assert done.returncode != 0, f"{area} {entry} was expected to fail; stdout:\n{done.stdout}"
            return done.returncode, done.stdout, done.stderr
        assert done.returncode == 0, f"{area} {entry} failed ({done.returncode}):\n{done.stderr}\n{done.stdout}"
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        assert lines, f"{area} {entry} printed no result; stderr:\n{done.stderr}"
        return json.loads(lines[-1])

    return run
