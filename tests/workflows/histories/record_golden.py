"""Regenerate the golden histories of this folder: ``python tests/workflows/histories/record_golden.py``.

Starts a dev server, runs each scenario once on ``app.yaml`` and saves its history with
``pidflow.temporal_host._replay`` (``replay_version.json`` is recorded with the first deploy of that workflow,
``replay_version_v1.lua``, so that replaying it with the current code checks that recorded runs keep version 1).
Commit the JSON files; tests/workflows/test_replay.py replays them in every test run."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import attrs
import trio

import pidflow
from pidflow import entries
from pidflow.temporal_host import _replay
from pidflow.temporal_host._devserver import DevServer
from pidflow.temporal_host._service import ADDRESS_ENV
from temporalio.client import Client

HERE = Path(__file__).parent
LUA = HERE.parent / "lua"


def registry(version_source: str) -> entries.Registry:
    app = entries.load(HERE / "app.yaml")
    out = entries.Registry()
    for entry in app:
        if entry.id == "app:replay_version":
            entry = attrs.evolve(entry, spec={**entry.spec, "source": f"file://{LUA / version_source}"})
        out.add(entry)
    return out


async def run_scenarios() -> dict[str, str]:
    """Scenario name -> workflow id."""
    ids = {}
    with tempfile.TemporaryDirectory() as state:
        async with pidflow.open_node(registry("replay_version_v1.lua"), state_dir=state) as node:
            pid = await node.process.with_message("go", {"n": 1}).spawn_monitored("app:replay_sources", "app:worker")
            await node.process.events().receive()
            ids["replay_sources"] = pid.id
            pid = await node.process.spawn_monitored("app:replay_pairs", "app:worker")
            await node.process.events().receive()
            ids["replay_pairs"] = pid.id
            pid = await node.process.spawn_monitored("app:replay_version", "app:worker")
            await node.process.events().receive()
            ids["replay_version"] = pid.id
    return ids


async def save(address: str, ids: dict[str, str]) -> None:
    client = await Client.connect(address, data_converter=_replay.DATA_CONVERTER)
    for name, workflow_id in ids.items():
        _replay.save_history(await _replay.fetch_history(client, workflow_id), HERE / f"{name}.json")
        print("recorded", HERE / f"{name}.json")


def main() -> None:
    server = DevServer()
    server.start()
    try:
        os.environ[ADDRESS_ENV] = server.address
        ids = trio.run(run_scenarios)
        asyncio.run(save(server.address, ids))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
