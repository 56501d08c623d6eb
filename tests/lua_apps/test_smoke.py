"""The harness itself: a passing app prints its result, a failing check fails the run with its file:line."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
def test_an_app_runs_locally_and_durably(run_lua_app, entry: str) -> None:
    assert run_lua_app("smoke", entry) == {"ok": True}


def test_a_failing_check_fails_the_run_with_its_line(run_lua_app) -> None:
    code, _, stderr = run_lua_app("smoke", "app:local", input={"fail": True}, ok=False)
    assert code != 0
    assert "smoke.lua:4" in stderr and "asked to fail" in stderr
