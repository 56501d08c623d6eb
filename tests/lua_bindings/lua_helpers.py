"""Helpers shared by the lua_bindings tests."""

from __future__ import annotations

import textwrap
from typing import Any

from pidflow.lua_bindings import LuaProcess, TrioBackend

ALL_MODULES = ["time", "json", "uuid", "crypto", "ctx", "funcs"]


def make_process(source: str, *, modules=ALL_MODULES, backend=None, path="test.lua", entry_id="app:test", **kw: Any) -> LuaProcess:
    return LuaProcess(entry_id=entry_id, source=textwrap.dedent(source), path=path,
                      backend=backend or TrioBackend(), modules=modules, **kw)


async def run_lua(source: str, input: Any = None, **kw: Any) -> Any:
    return await make_process(source, **kw).run(input)


def main_body(body: str) -> str:
    """Wrap a function body as `return {main = function(input) BODY end}`."""
    return "return {main = function(input)\n" + textwrap.dedent(body) + "\nend}\n"




class DeterministicBackend(TrioBackend):
    """A trio backend that behaves like the workflow one: deterministic flag, fixed clock, seeded randomness."""

    def __init__(self, seed: int = 7, now_ns: int = 1_700_000_000_123_456_789, **kw: Any) -> None:
        import random

        super().__init__(**kw)
        self.deterministic = True
        self._rng = random.Random(seed)
        self._now = now_ns

    def now_ns(self) -> int:
        return self._now

    def random_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)

    def uuid4(self) -> str:
        import uuid

        return str(uuid.UUID(bytes=self._rng.randbytes(16), version=4))
