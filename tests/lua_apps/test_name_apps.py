"""Registered names through ``pidflow run``: ``registry`` (process.registry: register, lookup, unregister,
several names, ALREADY_EXISTS, bad names, release at the holder's end) and ``names`` (spawner and names:
``with_name`` spawns agreeing with the registry, every destination by name, option pass-through), each as a local
process and as a workflow (whose registry is its worker node's)."""

from __future__ import annotations

import uuid

import pytest


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
def test_the_registry_app_runs_locally_and_durably(run_lua_app, entry: str) -> None:
    assert run_lua_app("registry", entry, input={"tag": uuid.uuid4().hex[:8]}) == {"ok": True}


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
def test_the_names_app_runs_locally_and_durably(run_lua_app, entry: str) -> None:
    assert run_lua_app("names", entry, input={"tag": uuid.uuid4().hex[:8]}) == {"ok": True}


def test_a_failing_registry_check_fails_the_run_with_its_line(run_lua_app) -> None:
    # names over the length limit: the app's first register is refused, and its check says so
    code, _, stderr = run_lua_app("registry", "app:local", input={"tag": "x" * 1000}, ok=False)
    assert code != 0 and "registry.lua" in stderr and "register self" in stderr
