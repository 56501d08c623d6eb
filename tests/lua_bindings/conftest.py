from __future__ import annotations

from typing import Any

import pytest

from lua_helpers import main_body, run_lua


@pytest.fixture
def lua():
    async def run(body: str, input: Any = None, **kw: Any) -> Any:
        return await run_lua(main_body(body), input, **kw)

    return run
