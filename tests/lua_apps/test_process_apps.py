"""The ``process`` module's Lua test apps (issue 11), each run through ``pidflow run`` as a local process and as
a workflow: listen/unlisten (``listen/``), links and trap_links (``links/``), cancel and events (``events/``),
positional arguments, spawner builders, exec and ``return main`` (``spawner/``). Each app's checks are Lua
asserts; the app returns ``{ok = true}`` when all passed."""

from __future__ import annotations

import pytest

AREAS = ["listen", "links", "events", "spawner"]


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
@pytest.mark.parametrize("area", AREAS)
def test_process_app_passes(run_lua_app, area: str, entry: str) -> None:
    assert run_lua_app(area, entry) == {"ok": True}


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
def test_workflow_options_app_passes(run_lua_app, entry: str) -> None:
    """"Workflow links and options": spawn options from a workflow and from a local process."""
    assert run_lua_app("workflow_options", entry) == {"ok": True}
