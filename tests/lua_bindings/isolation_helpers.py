"""Running a Lua isolation scenario in a child interpreter (issue 9): a regression there (an abort inside C, a
freeze inside a C function that no Python timeout can interrupt) fails the test instead of killing or freezing
pytest. The child prints one ``RESULT <json>`` line (``report(**fields)``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
REPO = HERE.parents[1]

PRELUDE = """
import json, sys, time, textwrap, trio
sys.path.insert(0, {here!r})
import pidflow
from pidflow.errors import Error
from lua_helpers import main_body, make_process

def report(**fields):
    print("RESULT " + json.dumps(fields), flush=True)

def error_of(exc):
    return [exc.kind.value, exc.message]
"""


def run_isolated(code: str, timeout: float = 90) -> dict[str, Any]:
    """Run ``code`` (after PRELUDE) in a fresh interpreter; the fields it reported. The child must exit 0 within
    ``timeout`` seconds (an abort is a negative return code: SIGABRT is -6)."""
    script = PRELUDE.format(here=str(HERE)) + textwrap.dedent(code)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert proc.returncode == 0, f"the child ended with {proc.returncode}:\n{proc.stderr[-4000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the child reported nothing:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT "):])
