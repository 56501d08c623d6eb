"""The funcs and errors Lua test apps (tests/lua_apps/funcs, tests/lua_apps/errors), each run through
``pidflow run`` as a local process and as a workflow: the checks are the apps' own Lua asserts."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
def test_the_funcs_app_passes(run_lua_app, entry: str) -> None:
    assert run_lua_app("funcs", entry) == {"ok": True}


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
def test_the_errors_app_passes(run_lua_app, entry: str) -> None:
    assert run_lua_app("errors", entry) == {"ok": True}
