"""library.lua through ``pidflow run``: the same checks (imports, nested imports, a library's modules, loaded
once and lazily, a failing or blocking top level) in a local process and in a workflow."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("entry", ["app:local", "app:durable"])
def test_a_library_is_imported_locally_and_in_a_workflow(run_lua_app, entry: str) -> None:
    assert run_lua_app("library", entry) == {"ok": True, "shout": "LIB!", "loads": 1}
