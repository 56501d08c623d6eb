"""Bad input inside a workflow (issue 11): a handful of wrong-type calls per module (``process``, ``time``,
``funcs``, ``errors``), each under ``pcall`` in one run (lua/parity_bad_input.lua), answer ``nil, err`` INVALID or
raise a Lua error naming the call or the argument; none fails the workflow task, and the run goes on to start a
child workflow, call a function, take a Future's result and sleep. The full sweep, in a local process:
tests/lua_bindings/test_parity_bad_input.py."""

from __future__ import annotations

import trio

import pidflow

ENTRIES = [
    {"name": "bad_input", "kind": "workflow.lua", "source": "file://parity_bad_input.lua", "modules": ["time", "funcs"]},
    {"name": "parity_args", "kind": "workflow.lua", "source": "file://parity_args.lua"},
    {"name": "fx_echo", "kind": "function.lua", "source": "file://funcs_async_functions.lua", "method": "echo",
     "modules": ["ctx", "time"]},
]

# Values that cannot cross into Python answer INVALID with the value rules' message, which names neither the call
# nor the argument (the known gap of tests/lua_bindings/test_parity_bad_input.py::
# test_a_value_that_cannot_cross_names_the_call): for these, the kind is checked, not the words.
UNNAMED = {"send payload function", "spawn arg coroutine", "call argument function"}


async def test_bad_calls_inside_a_workflow_are_rejected_and_the_run_goes_on(make_app):
    async with pidflow.open_node(make_app([dict(e) for e in ENTRIES])) as node:
        with trio.fail_after(90):
            result = await node.process.exec("app:bad_input", "app:worker")
    assert result["after"] == {"child": {"n": 3, "args": ["a", "nil", 3], "id": "app:parity_args"},
                               "echoed": ["ok"], "pending": ["pending"]}
    cases = result["cases"]
    assert len(cases) == 50
    wrong = []
    for case in cases:
        if case["status"] == "returned":
            wrong.append(f"{case['name']}: returned a {case['message']}")
        elif case["status"] == "failed" and case["kind"] != "INVALID":
            wrong.append(f"{case['name']}: failed with {case['kind']}: {case['message']}")
        elif case["name"] not in UNNAMED and case["word"] not in case["message"] and "boom" not in case["message"]:
            wrong.append(f"{case['name']}: does not name {case['word']!r}: {case['message']}")
        elif case["status"] == "raised" and case["kind"] not in ("", "INVALID"):
            wrong.append(f"{case['name']}: raised {case['kind']}: {case['message']}")
    assert not wrong, "\n".join(wrong)
    # the gap's cases are INVALID all the same
    assert {c["name"]: (c["status"], c["kind"]) for c in cases if c["name"] in UNNAMED} == {
        name: ("failed", "INVALID") for name in UNNAMED}
