"""Pre-emption inside workflows (issue 9, point 2): the Lua code that froze a node (a backtracking pattern, an
error object whose ``__tostring`` loops, one slow instruction after another) fails the *workflow* with the compute
budget's error naming the entry, instead of holding temporalio's event loop until its deadlock detector fires
(which left a worker slot busy, so ``pidflow run`` never exited); a ``__gc`` finalizer fails the workflow task
with a clear error; a returned table is read without running its metamethods."""

from __future__ import annotations

import pytest
import trio

import pidflow
from history_helpers import terminate, workflow_task_failure


def _workflow(script: str) -> dict:
    return {"name": "wf", "kind": "workflow.lua", "source": f"file://{script}"}


@pytest.mark.parametrize("script", [
    "isolation_preempt_backtrack.lua", "isolation_preempt_tostring.lua", "isolation_preempt_upper.lua",
])
async def test_code_that_froze_the_node_fails_the_workflow_within_its_budget(make_app, script):
    app = make_app([_workflow(script)])
    with trio.fail_after(60):  # neither the run nor the worker's shutdown afterwards may hang
        async with pidflow.open_node(app) as node:
            with pytest.raises(pidflow.Error) as info:
                await node.process.exec("app:wf", "app:worker")
    assert "app:wf ran Lua for more than 1.5 s" in info.value.message
    assert "funcs.call" in info.value.message
    assert info.value.retryable is False


async def test_a_finalizer_fails_the_workflow_task_with_a_clear_error(make_app):
    app = make_app([_workflow("isolation_preempt_finalizer.lua")])
    with trio.fail_after(60):
        async with pidflow.open_node(app) as node:
            pid = await node.process.spawn("app:wf", "app:worker")
            failure = await workflow_task_failure(node, pid)
            await terminate(node, pid)
    assert "__gc metamethods are not available" in failure
    assert "isolation_preempt_finalizer.lua:3:" in failure


async def test_a_returned_table_is_read_without_running_its_metamethods(make_app):
    app = make_app([_workflow("isolation_preempt_index.lua")])
    with trio.fail_after(60):
        async with pidflow.open_node(app) as node:
            assert await node.process.exec("app:wf", "app:worker") == [1, None, 3]
