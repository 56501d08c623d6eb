"""Durable workflows under pidflow.aio: the Temporal SDK's own asyncio thread and the program's loop, with the
node as a guest on the latter."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import pidflow.aio

pytestmark = pytest.mark.temporal

LUA = """
local time = require("time")
local function main(input)
    time.sleep("10ms")
    process.send(input.reply_to, "progress", {step = 1})
    return {doubled = input.n * 2}
end
return { main = main }
"""


def app(tmp_path: Path, task_queue: str) -> Path:
    (tmp_path / "wf.lua").write_text(LUA)
    (tmp_path / "app.yaml").write_text(f"""
version: "1.0"
namespace: app
entries:
  - {{name: temporal, kind: temporal.client}}
  - {{name: worker, kind: temporal.worker, client: app:temporal, task_queue: {task_queue}}}
  - name: wf
    kind: workflow.lua
    source: file://wf.lua
    method: main
    modules: [time]
    meta: {{temporal: {{workflow: {{worker: app:worker}}}}}}
""")
    return tmp_path / "app.yaml"


def test_a_workflow_run_from_asyncio_sends_to_the_asyncio_side_and_returns(tmp_path: Path, task_queue: str,
                                                                          temporal_address: str) -> None:
    async def main() -> tuple[Any, Any]:
        async with pidflow.aio.open_node(app(tmp_path, task_queue), state_dir=tmp_path / "state") as node:
            inbox = node.process.inbox()
            result = await node.process.exec("app:wf", "app:worker", {"n": 21, "reply_to": str(node.process.pid())})
            message = await asyncio.wait_for(inbox.receive(), 30)
            return result, (message.topic, message.data)

    assert asyncio.run(main()) == ({"doubled": 42}, ("progress", {"step": 1}))
