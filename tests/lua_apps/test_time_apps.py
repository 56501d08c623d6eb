"""The time module's Lua test apps (issue 11), each run through ``pidflow run`` as a local process and as a
workflow: select and timers (``timers/``), and a process waiting on select over its inbox and a timer while
messages arrive before and after the timer (``workflow_timers/``). Each app's checks are Lua asserts; the app
returns ``{ok = true}`` when all passed."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
@pytest.mark.parametrize("area", ["timers", "workflow_timers"])
def test_time_app_passes(run_lua_app, area: str, entry: str) -> None:
    assert run_lua_app(area, entry) == {"ok": True}
