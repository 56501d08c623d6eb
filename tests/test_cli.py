"""The ``pidflow`` command end to end (cli.py), as a user runs it: a subprocess on the example apps."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LUA_APP = ROOT / "examples" / "lua_processes"


def pidflow(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pidflow.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_run_entry_prints_the_result_as_one_json_line():
    done = pidflow("run", "examples/lua_processes", "--entry", "app:main")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    link_down = result.pop("link_down")
    assert result == {"squares": [1, 4, 9], "total": 114, "counter_final": 114, "exits": 4, "timed_out": True}
    assert link_down["from_flaky"] is True and link_down["kind"] == "INTERNAL"
    assert link_down["message"].endswith("flaky.lua:6: flaky worker gave up")


def test_run_entry_passes_the_input_json():
    done = pidflow("run", str(LUA_APP), "--entry", "app:main", "--input", '{"numbers": [3, 4]}')
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["squares"], result["total"], result["exits"]) == ([9, 16], 125, 3)


def test_run_entry_on_an_explicit_host():
    done = pidflow("run", str(LUA_APP), "--entry", "app:main", "--host", "app:processes")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == 114


def test_a_failing_entry_exits_1_with_the_error_on_stderr():
    done = pidflow("run", str(LUA_APP), "--entry", "app:flaky")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "INTERNAL" in done.stderr and "flaky.lua:6: flaky worker gave up" in done.stderr


def test_an_unknown_entry_exits_1_naming_it():
    done = pidflow("run", str(LUA_APP), "--entry", "app:nope")
    assert done.returncode == 1
    assert "app:nope not found" in done.stderr


def test_bad_input_json_exits_1():
    done = pidflow("run", str(LUA_APP), "--entry", "app:main", "--input", "{oops")
    assert done.returncode == 1
    assert "--input is not valid JSON" in done.stderr


def _broken_app(tmp_path: Path) -> Path:
    (tmp_path / "ok.lua").write_text("return {main = function() return 1 end}\n")
    (tmp_path / "bad.lua").write_text("return {main = function()\n  local x = \nend}\n")
    (tmp_path / "app.yaml").write_text(textwrap.dedent("""
        version: "1.0"
        namespace: app
        entries:
          - {name: ok, kind: process.lua, source: file://ok.lua}
          - {name: bad, kind: process.lua, source: file://bad.lua}
    """))
    return tmp_path


def test_check_reports_a_lua_syntax_error_with_file_and_line(tmp_path):
    done = pidflow("check", str(_broken_app(tmp_path)))
    assert done.returncode == 1
    assert "entry app:bad" in done.stderr and "lua syntax error" in done.stderr
    assert "bad.lua:3:" in done.stderr  # `end` where the expression was expected
    assert "app:ok" not in done.stderr


def test_check_reports_an_unknown_kind_and_a_dangling_reference_at_once(tmp_path):
    (tmp_path / "app.yaml").write_text(textwrap.dedent("""
        version: "1.0"
        namespace: app
        entries:
          - {name: thing, kind: process.rust, source: x}
          - name: worker
            kind: temporal.worker
            client: app:missing_client
            task_queue: q
          - name: root
            kind: supervisor
            children:
              - {id: a, entry: app:ghost, restart: permanent}
    """))
    done = pidflow("check", str(tmp_path))
    assert done.returncode == 1
    assert "entry app:thing: unknown kind 'process.rust'" in done.stderr
    assert "client refers to unknown entry app:missing_client" in done.stderr
    assert "children[0].entry refers to unknown entry app:ghost" in done.stderr
    assert str(tmp_path / "app.yaml") in done.stderr


def test_run_refuses_a_broken_app(tmp_path):
    done = pidflow("run", str(_broken_app(tmp_path)), "--entry", "app:ok")
    assert done.returncode == 1
    assert "bad.lua:3:" in done.stderr


def test_dev_runs_a_temporal_server_that_answers_until_interrupted(tmp_path):
    import asyncio
    import signal

    from temporalio.client import Client

    from pidflow.temporal_host._devserver import free_port

    port, ui_port = free_port(), free_port()
    db = tmp_path / "state" / "dev.sqlite"

    async def namespace_of_a_client() -> str:
        client = await Client.connect(f"127.0.0.1:{port}")
        return client.namespace

    with subprocess.Popen([sys.executable, "-m", "pidflow.cli", "dev", "--port", str(port), "--ui-port",
                           str(ui_port), "--db", str(db)], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            first = proc.stdout.readline()
            assert f"127.0.0.1:{port}" in first
            assert f"web UI at http://127.0.0.1:{ui_port}" in first
            assert asyncio.run(namespace_of_a_client()) == "default"
            assert db.exists()  # state is kept in the SQLite file, not in memory
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    assert proc.returncode == 0


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").iterdir() if p.is_dir()))
def test_every_example_app_passes_check(example):
    done = pidflow("check", f"examples/{example}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"examples/{example}: ok"


def test_local_pipeline_example_runs():
    done = pidflow("run", "examples/local_pipeline", "--entry", "app:main", "--input", '{"workers": 2}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"squares": [1, 4, 9, 16, 25, 36, 49, 64, 81], "workers_exited": 2}


def test_the_readme_order_saga_ships_one_order_and_compensates_the_other(temporal_address, tmp_path):
    import os

    env = {**os.environ, "PIDFLOW_TEMPORAL_ADDRESS": temporal_address, "PIDFLOW_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "pidflow.cli", "run", "examples/orders", "--entry", "app:main"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["A-1"]["status"] == "completed" and result["A-1"]["tracking"].startswith("TRK-")
    assert result["B-2"] == {"status": "failed", "step": "shipping", "compensated": 2,
                             "error": "no route to 'nowhere'"}
    assert "compensation: refunded" in done.stderr
