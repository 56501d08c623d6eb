"""Restart intensity: a window of restart timestamps trimmed to the period (OTP ``add_restart/3``)."""

from __future__ import annotations

from collections import deque

import attrs


@attrs.define
class RestartWindow:
    """``add(now)`` records a restart and says whether the supervisor is still within ``intensity`` restarts
    per ``period`` seconds. Timestamps come from the caller (trio's clock, so MockClock drives it in tests)."""

    intensity: int
    period: float
    _times: deque[float] = attrs.field(factory=deque, init=False)

    def add(self, now: float) -> bool:
        self._times.append(now)
        while self._times and self._times[0] <= now - self.period:
            self._times.popleft()
        return len(self._times) <= self.intensity

    def __len__(self) -> int:
        return len(self._times)
