"""``pidflow ps --url`` and ``pidflow tree --url`` (pidflow/observer/_terminal.py) against ``examples/mixed_tree``
under ``pidflow run --observe``, read from outside as a user reads them; and the ``--observe`` options' checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from observed_app import APP, TOKEN, WORKFLOW_ID, RunningApp

TIMEOUT = 60


def pidflow_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pidflow", *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env=env if env is not None else os.environ.copy())


def _api(app: RunningApp, path: str) -> Any:
    request = urllib.request.Request(app.url + path, headers=app.auth)
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
        return json.loads(answer.read())


def _without_token() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PIDFLOW_OBSERVER_TOKEN"}


@pytest.mark.temporal
def test_ps_url_prints_every_process_of_the_node_as_a_table(mixed_tree: RunningApp) -> None:
    done = pidflow_cli("ps", "--url", mixed_tree.url, env=mixed_tree.env)  # the token from the environment
    assert done.returncode == 0, done.stderr
    processes = _api(mixed_tree, "/api/processes")["processes"]
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:4] == ["PID", "ENTRY", "HOST", "STATUS"])
    assert lines[header].split() == ["PID", "ENTRY", "HOST", "STATUS", "MAILBOX", "IN", "OUT", "RESTARTS", "NAMES",
                                     "WORKFLOW"]
    rows = [line.split() for line in lines[header + 2:] if line.strip().startswith("{")]
    assert [row[0] for row in rows] == [p["pid"] for p in processes]  # one row each, in the API's order
    for row, process in zip(rows, processes):  # the node's own root process has no entry: an empty cell
        expected = [process["entry"], process["host"], process["status"]] if process["entry"] else \
            [process["host"], process["status"]]
        assert row[1:1 + len(expected)] == expected, (row, process)
    orders = next(row for row in rows if row[1] == "app:orders")
    assert orders[-1] == WORKFLOW_ID and orders[2] == "app:worker"
    assert f"{len(processes)} of {len(processes)} processes" in done.stdout


@pytest.mark.temporal
def test_ps_url_json_and_host_filter(mixed_tree: RunningApp) -> None:
    done = pidflow_cli("ps", "--url", mixed_tree.url, "--token", TOKEN, "--json", env=_without_token())
    assert done.returncode == 0, done.stderr
    assert [p["pid"] for p in json.loads(done.stdout)] == [p["pid"] for p in
                                                           _api(mixed_tree, "/api/processes")["processes"]]
    local = pidflow_cli("ps", "--url", mixed_tree.url, "--host", "app:worker", "--json", env=mixed_tree.env)
    assert local.returncode == 0, local.stderr
    assert [(p["entry"], p["durable"]["workflow_id"]) for p in json.loads(local.stdout)] == [
        ("app:orders", WORKFLOW_ID)]


@pytest.mark.temporal
def test_tree_url_prints_the_root_supervisor_and_its_children_in_start_order(mixed_tree: RunningApp) -> None:
    done = pidflow_cli("tree", "--url", mixed_tree.url, env=mixed_tree.env)
    assert done.returncode == 0, done.stderr
    root = _api(mixed_tree, "/api/tree")["tree"][0]
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"app:root {root['pid']} ")
    children = lines[1:]
    assert len(children) == 4, done.stdout
    for line, child in zip(children, root["children"]):
        assert f"[{child['child_id']}] {child['pid']} {child['status']}" in line, (line, child)
        assert line.lstrip("│├└─ ").startswith(child["entry"])
    assert children[1].endswith(f"durable workflow={WORKFLOW_ID}")
    assert "durable" not in "".join(children[i] for i in (0, 2, 3))


@pytest.mark.temporal
def test_ps_and_tree_without_the_token_fail_saying_how_to_give_it(mixed_tree: RunningApp) -> None:
    for command in (["ps", "--url", mixed_tree.url], ["tree", "--url", mixed_tree.url],
                    ["tree", "--url", mixed_tree.url, "--token", "wrong"]):
        done = pidflow_cli(*command, env=_without_token())
        assert done.returncode == 1, (command, done.stdout)
        assert "needs its token: give --token or set PIDFLOW_OBSERVER_TOKEN" in done.stderr


def test_ps_and_tree_of_an_unreachable_observer_fail_naming_it() -> None:
    done = pidflow_cli("tree", "--url", "http://127.0.0.1:1")
    assert done.returncode == 1 and "cannot reach the observer at http://127.0.0.1:1" in done.stderr
    done = pidflow_cli("ps")
    assert done.returncode == 1 and "ps needs an app (its workflows) or --url" in done.stderr
    done = pidflow_cli("ps", str(APP), "--url", "http://127.0.0.1:1")
    assert done.returncode == 1 and "give an app or --url, not both" in done.stderr


def test_run_refuses_to_observe_beyond_loopback_without_a_token(tmp_path: Any) -> None:
    env = {**_without_token(), "PIDFLOW_STATE_DIR": str(tmp_path)}
    for addr in ("0.0.0.0:0", ":9900"):
        done = pidflow_cli("run", str(APP), "--observe", addr, env=env)
        assert done.returncode == 1, done.stderr
        assert "it needs a token (--observe-token or PIDFLOW_OBSERVER_TOKEN)" in done.stderr
        assert "pidflow: node " not in done.stderr  # refused before a node started
    done = pidflow_cli("run", str(APP), "--entry", "app:journal", "--observe", env=env)
    assert done.returncode == 1 and "--observe serves a running app: drop --entry" in done.stderr
