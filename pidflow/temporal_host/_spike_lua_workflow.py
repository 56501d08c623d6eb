"""Spike: a Lua script as a durable Temporal workflow (to be reworked into the real workflow host).

One dynamic workflow class serves every Lua workflow type: the type name selects a Lua source from ``SCRIPTS``.
Each run gets its own ``LuaRuntime``; the script's ``main`` runs as a Lua coroutine that yields requests
(``sleep``, ``call``, ``receive``) which Python performs with ``workflow.sleep``, ``workflow.execute_activity``
and a signal inbox fed by a dynamic signal handler, then resumes the coroutine with the answer.

Findings this module encodes:

- ``sandboxed=False`` (with ``UnsandboxedWorkflowRunner``): lupa does import and run inside temporalio's sandbox,
  but the sandbox only guards Python code (re-imported modules, proxied builtins) at a cost on every activation;
  here all user code is Lua, whose determinism we enforce in the Lua runtime itself.
- The 2 s deadlock detector interrupts a stuck activation by raising an async exception in its thread, which is
  only delivered while Python bytecode runs; lupa releases the GIL and runs pure Lua loops in C, so a spinning
  script is never interrupted and its eviction waits forever. A Lua count hook (every ``HOOK_INSTRUCTIONS``)
  calls back into Python, which both lets that interrupt through and enforces our own per-activation budget
  with an error that names the workflow.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import lupa.lua54 as lua54
from temporalio import activity, workflow
from temporalio.common import RawValue

SCRIPTS: dict[str, str] = {}
"""Workflow type name -> Lua source; a workflow type without a script fails its workflow task."""

ACTIVITY_NAME = "pidflow.spike.call"
SLICE_BUDGET_SECONDS = 1.5  # below temporalio's fixed 2 s deadlock timeout
HOOK_INSTRUCTIONS = 100_000

_PRELUDE = """
local yield = coroutine.yield
wf = {
  sleep = function(seconds) return yield("sleep", seconds) end,
  call = function(name, ...) return yield("call", name, {...}) end,
  receive = function() return yield("receive") end,
}
local create, resume, status, pack, sethook = coroutine.create, coroutine.resume, coroutine.status, table.pack, debug.sethook
-- Returns a stepper: step(...) resumes the coroutine and returns its status and the packed resume results.
return function(fn, hook, count)
  local co = create(fn)
  sethook(co, function() hook() end, "", count)
  return function(...)
    local results = pack(resume(co, ...))  -- before status(): Lua evaluates a return list left to right
    return status(co), results
  end
end
"""


class LuaBudgetExceeded(RuntimeError):
    """A Lua workflow ran too long without yielding; fails the workflow task (Temporal retries it)."""


def lua_to_py(value: Any) -> Any:
    """Lua tables become lists (keys 1..n) or dicts, recursively; other values pass through."""
    if lua54.lua_type(value) != "table":
        return value
    items = list(value.items())
    if all(isinstance(k, int) for k, _ in items) and sorted(k for k, _ in items) == list(range(1, len(items) + 1)):
        return [lua_to_py(v) for _, v in sorted(items)]
    return {k: lua_to_py(v) for k, v in items}


def py_to_lua(lua: lua54.LuaRuntime, value: Any) -> Any:
    return lua.table_from(value, recursive=True) if isinstance(value, (dict, list)) else value


@workflow.defn(dynamic=True, sandboxed=False)
class LuaWorkflow:
    def __init__(self) -> None:
        # Exists before any signal handler runs: signals that arrive with the start are queued in order.
        self._inbox: collections.deque[dict[str, Any]] = collections.deque()

    @workflow.signal(dynamic=True)
    def _on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        payload = workflow.payload_converter().from_payload(args[0].payload) if args else None
        self._inbox.append({"topic": name, "payload": payload})

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> Any:
        info = workflow.info()
        source = SCRIPTS.get(info.workflow_type)
        if source is None:
            raise RuntimeError(f"no Lua script registered for workflow type {info.workflow_type!r}")
        arg = workflow.payload_converter().from_payload(args[0].payload) if args else None

        lua = lua54.LuaRuntime(unpack_returned_tuples=True, register_eval=False)
        make_stepper = lua.execute(_PRELUDE)
        module = lua.execute(source)
        slice_start = 0.0

        def hook() -> None:
            if time.monotonic() - slice_start > SLICE_BUDGET_SECONDS:
                raise LuaBudgetExceeded(
                    f"lua workflow {info.workflow_type} ({info.workflow_id}) ran {SLICE_BUDGET_SECONDS}s without"
                    " yielding; move long computations into funcs.call"
                )

        step = make_stepper(module.main, hook, HOOK_INSTRUCTIONS)
        reply: Any = py_to_lua(lua, arg)
        while True:
            slice_start = time.monotonic()
            status, results = step(reply)
            if not results[1]:
                err = results[2]
                if isinstance(err, BaseException):
                    raise err
                raise RuntimeError(f"lua workflow {info.workflow_type} failed: {err}")
            values = [lua_to_py(results[i]) for i in range(2, results.n + 1)]
            if status == "dead":
                return values[0] if values else None
            reply = py_to_lua(lua, await self._perform(values))

    async def _perform(self, request: list[Any]) -> Any:
        op, *args = request
        if op == "sleep":
            await workflow.sleep(args[0])
            return None
        if op == "call":
            return await workflow.execute_activity(
                ACTIVITY_NAME, args=[args[0], args[1]], start_to_close_timeout=timedelta(seconds=30)
            )
        if op == "receive":
            await workflow.wait_condition(lambda: bool(self._inbox))
            return self._inbox.popleft()
        raise RuntimeError(f"lua workflow yielded an unknown request {op!r}")


def call_activity(functions: dict[str, Any]):
    """The one activity behind ``wf.call(name, ...)``: dispatch to ``functions[name](*args)`` (sync or async)."""

    @activity.defn(name=ACTIVITY_NAME)
    async def call(name: str, args: list[Any]) -> Any:
        result = functions[name](*args)
        return await result if asyncio.iscoroutine(result) else result

    return call


async def _replay_main(history_path: str, workflow_type: str, script_path: str) -> int:
    """Replay one saved history against a script in this (fresh) process; print the outcome as JSON."""
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

    with open(history_path) as f:
        data = json.load(f)
    with open(script_path) as f:
        SCRIPTS[workflow_type] = f.read()
    history = WorkflowHistory.from_json(data["workflow_id"], data["history"])
    replayer = Replayer(workflows=[LuaWorkflow], workflow_runner=UnsandboxedWorkflowRunner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    print(json.dumps({"ok": failure is None, "type": type(failure).__name__ if failure else None,
                      "message": str(failure) if failure else None}))
    return 0 if failure is None else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(_replay_main(*sys.argv[1:4])))
