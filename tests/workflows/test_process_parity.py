"""The ``process`` module's parity with the seed runtime's (issue 11) inside workflows: the same behaviour as
local Lua processes (tests/lua_bindings/test_lua_process_parity.py): PID strings, positional arguments (Temporal
workflow arguments), unlisten, get_options, id, event shapes, reserved topics, names, ``return main``."""

from __future__ import annotations

import uuid
from typing import Any

import trio

import pidflow


def wf(name: str, source: str, modules: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "kind": "workflow.lua", "source": f"file://{source}", "modules": modules or []}


ENTRIES = [
    wf("parity", "parity_workflow.lua"),
    wf("parity_args", "parity_args.lua"),
    wf("parity_first", "parity_first.lua"),
    wf("parity_fail", "parity_fail.lua"),
    wf("parity_names", "parity_names.lua"),
    {"name": "local_caller", "kind": "process.lua", "source": "file://parity_local_caller.lua"},
]


async def run(node: pidflow.Node, entry: str, *input: Any, host: str = "app:worker") -> Any:
    with trio.fail_after(90):
        return await node.process.exec(entry, host, *input)


async def test_the_process_module_behaves_inside_a_workflow_as_in_a_local_process(make_app):
    async with pidflow.open_node(make_app([dict(e) for e in ENTRIES])) as node:
        r = await run(node, "app:parity")
    me = r["pid"][1]
    assert r["pid"] == ["string", me, "me", "pid=" + me] and pidflow.Pid.parse(me).host == "app:worker"
    assert r["id"] == "app:parity"
    assert r["options"] == [False, True, False, "INVALID"]
    assert r["kinds"] == ["pid.exit", "pid.link.down", "pid.cancel"]
    assert r["same"] == [True, True, True]
    assert r["send"] == [5, 1, True, "x", True]
    assert r["reserved"] == [None, "INVALID", None, "INVALID"]
    assert r["unlisten"] == [1, True, True, False, "t", 2]
    assert r["spawn"][:3] == ["pid.exit", True, "string"]
    assert r["spawn"][3] == {"n": 3, "args": [1, "nil", 3], "id": "app:parity_args"}
    assert r["exec0"] == {"n": 0, "args": {}, "id": "app:parity_args"}
    assert r["exec1"] == {"n": 1, "args": [{"k": "v"}], "id": "app:parity_args"}
    assert r["sexec"] == {"n": 2, "args": ["a", "b"], "id": "app:parity_args"}
    assert r["with_message"] == [["a", 1], ["b", [1, 2]]]
    assert r["linked_monitored"] == [True, "CONFLICT", "CONFLICT", "CONFLICT"]
    assert r["send_ended"] == [True]
    assert r["bad"] == [None, "INVALID", None, "INVALID", None, "INVALID"]


async def test_a_local_process_runs_a_workflow_with_several_positional_arguments(make_app):
    async with pidflow.open_node(make_app([dict(e) for e in ENTRIES])) as node:
        r = await run(node, "app:local_caller", host=None)
    assert r == {"exec": {"n": 3, "args": ["a", "nil", "c"], "id": "app:parity_args"},
                 "exec0": {"n": 0, "args": {}, "id": "app:parity_args"}}


async def test_python_spawn_of_a_workflow_with_one_input_is_unchanged(make_app):
    async with pidflow.open_node(make_app([dict(e) for e in ENTRIES])) as node:
        assert await run(node, "app:parity_args", {"x": 1}) == {"n": 1, "args": [{"x": 1}], "id": "app:parity_args"}
        assert await run(node, "app:parity_args") == {"n": 1, "args": ["nil"], "id": "app:parity_args"}


async def test_names_as_destinations_inside_a_workflow(make_app):
    name = f"parity-{uuid.uuid4().hex[:8]}"
    async with pidflow.open_node(make_app([dict(e) for e in ENTRIES])) as node:
        r = await run(node, "app:parity_names", {"name": name})
    assert r == {"register": [True], "lookup": True, "send": True, "got": ["to-me", [1, 2]],
                 "nobody": [None, "NOT_FOUND"], "unregister": [True, False]}
