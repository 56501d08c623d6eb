"""Python children for supervisor apps written from YAML (``source: sv_children:NAME``): they append
``start ID`` / ``stop ID`` lines to the file named by their input's ``log``, so a test (or another OS process)
can read the order in which a supervisor started and stopped them."""

from __future__ import annotations

from typing import Any

import pidflow


def _note(input: dict[str, Any], what: str) -> None:
    with open(input["log"], "a", encoding="utf-8") as f:
        f.write(f"{what} {input['id']}\n")


async def recorder(input: dict[str, Any]) -> str:
    """Runs until told: "exit" ends it normally, "crash" abnormally; killed or not, it notes its stop."""
    _note(input, "start")
    try:
        async for message in pidflow.process.inbox():
            if message.topic == "exit":
                return "done"
            if message.topic == "crash":
                raise RuntimeError(f"child {input['id']} was told to crash")
    finally:
        _note(input, "stop")
    return "inbox closed"
