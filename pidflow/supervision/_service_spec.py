"""A ``process.service`` as data: which process it keeps running, where, with what arguments, and its
``lifecycle`` (the seed runtime's block: when it starts, how long starting and stopping may take, how it is
restarted), with every default in one place.

Validation is eager and complete: :func:`validate_service_spec` lists every problem, each naming its key
(``lifecycle.restart.jitter``); :func:`service_spec` builds the frozen values the keeper runs. Durations are
strings (``"1s"``, ``"250ms"``) or numbers of milliseconds, as in every entry.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .._duration import parse_duration
from ..entries import qualify
from ..errors import Error, ErrorKind

#: The seed runtime's defaults (its ``LifecycleConfig.InitDefaults``).
DEFAULT_START_TIMEOUT = 10.0
DEFAULT_STOP_TIMEOUT = 10.0
DEFAULT_STABLE_THRESHOLD = 5.0
DEFAULT_INITIAL_DELAY = 1.0
DEFAULT_MAX_DELAY = 90.0
DEFAULT_BACKOFF_FACTOR = 2.0
DEFAULT_JITTER = 0.1

_DURATIONS = ("start_timeout", "stop_timeout", "stable_threshold")
_RESTART_DURATIONS = ("initial_delay", "max_delay")
LIFECYCLE_KEYS = frozenset({"auto_start", *_DURATIONS, "restart"})
RESTART_KEYS = frozenset({*_RESTART_DURATIONS, "backoff_factor", "jitter", "max_attempts"})
#: Keys of the seed runtime's lifecycle block that pidflow does not offer, and why.
_UNSUPPORTED = {
    "requires": "services start in declaration order and stop in reverse; declare a dependency first",
    "depends_on": "services start in declaration order and stop in reverse; declare a dependency first",
    "startup": "a service whose process cannot start is retried by its restart policy",
    "security": "pidflow has no security contexts",
}


@attrs.frozen
class RestartPolicy:
    """How a service is restarted after its process failed: the n-th restart in a row waits
    ``min(initial_delay * backoff_factor ** (n - 1), max_delay)`` seconds, spread by up to ``jitter`` of itself
    either way (0.1: +-10%). After ``max_attempts`` failed runs in a row the service gives up (0: never)."""

    initial_delay: float = DEFAULT_INITIAL_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    backoff_factor: float = DEFAULT_BACKOFF_FACTOR
    jitter: float = DEFAULT_JITTER
    max_attempts: int = 0

    def delay(self, failures: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
        """Seconds to wait before the restart that follows ``failures`` failed runs in a row (1, 2, ...)."""
        base = min(self.initial_delay * self.backoff_factor ** (failures - 1), self.max_delay)
        return max(0.0, base + uniform(-1.0, 1.0) * self.jitter * base) if self.jitter else base


@attrs.frozen
class Lifecycle:
    """``auto_start``: start with the node (default false, as in the seed runtime). ``start_timeout``: seconds
    the process may take to start (a workflow: to be accepted by the server). ``stop_timeout``: seconds it gets
    to end after CANCEL when the service stops, before it is terminated. ``stable_threshold``: a run at least
    this long resets the count of failed runs in a row."""

    auto_start: bool = False
    start_timeout: float = DEFAULT_START_TIMEOUT
    stop_timeout: float = DEFAULT_STOP_TIMEOUT
    stable_threshold: float = DEFAULT_STABLE_THRESHOLD
    restart: RestartPolicy = RestartPolicy()


@attrs.frozen
class ServiceSpec:
    """One service: ``name`` (its entry id), the ``process`` entry it runs on ``host`` (None: the host that
    runs the entry when none is named: a workflow's worker, else the node's default host), ``args`` (the
    process's positional arguments: ``main(*args)``) and its :class:`Lifecycle`."""

    name: str
    process: str
    host: str | None = None
    args: tuple[Any, ...] = (None,)
    lifecycle: Lifecycle = Lifecycle()


def _duration(block: Mapping[str, Any], key: str, where: str, problems: list[str]) -> None:
    if key not in block:
        return
    try:
        seconds = parse_duration(block[key], what=f"{where}.{key}")
    except Error as exc:
        problems.append(exc.message)
        return
    if seconds <= 0:
        problems.append(f"{where}.{key} must be a positive duration, got {block[key]!r}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_restart(restart: Any, problems: list[str]) -> None:
    where = "lifecycle.restart"
    if not isinstance(restart, Mapping):
        problems.append(f"{where} must be a mapping of {', '.join(sorted(RESTART_KEYS))}")
        return
    problems.extend(f"{where}: unknown key {key!r} (known: {', '.join(sorted(RESTART_KEYS))})"
                    for key in sorted(set(restart) - RESTART_KEYS, key=str))
    for key in _RESTART_DURATIONS:
        _duration(restart, key, where, problems)
    factor = restart.get("backoff_factor", DEFAULT_BACKOFF_FACTOR)
    if not _number(factor) or factor < 1:
        problems.append(f"{where}.backoff_factor must be a number >= 1 (1: the same delay every time), got {factor!r}")
    jitter = restart.get("jitter", DEFAULT_JITTER)
    if not _number(jitter) or not 0 <= jitter <= 1:
        problems.append(f"{where}.jitter must be a number from 0 to 1 (0.1: +-10%), got {jitter!r}")
    attempts = restart.get("max_attempts", 0)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 0:
        problems.append(f"{where}.max_attempts must be a non-negative integer (0: no limit), got {attempts!r}")


def _check_lifecycle(lifecycle: Any, problems: list[str]) -> None:
    if not isinstance(lifecycle, Mapping):
        problems.append(f"lifecycle must be a mapping of {', '.join(sorted(LIFECYCLE_KEYS))}")
        return
    for key in sorted(set(lifecycle) - LIFECYCLE_KEYS, key=str):
        why = _UNSUPPORTED.get(key)
        problems.append(f"lifecycle.{key} is not supported by pidflow: {why}" if why else
                        f"lifecycle: unknown key {key!r} (known: {', '.join(sorted(LIFECYCLE_KEYS))})")
    if "auto_start" in lifecycle and not isinstance(lifecycle["auto_start"], bool):
        problems.append(f"lifecycle.auto_start must be true or false, got {lifecycle['auto_start']!r}")
    for key in _DURATIONS:
        _duration(lifecycle, key, "lifecycle", problems)
    if "restart" in lifecycle:
        _check_restart(lifecycle["restart"], problems)


def validate_service_spec(spec: Mapping[str, Any]) -> list[str]:
    """Every problem of a ``process.service`` entry's keys (the entries it names are checked as references)."""
    problems: list[str] = []
    for key in ("process", "host"):
        value = spec.get(key)
        if key in spec and (not isinstance(value, str) or not value):
            problems.append(f"{key} must be an entry id, got {value!r}")
    if "lifecycle" in spec:
        _check_lifecycle(spec["lifecycle"], problems)
    return problems


def _seconds(block: Mapping[str, Any], key: str, default: float) -> float:
    return parse_duration(block[key]) if key in block else default


def service_spec(entry_id: str, spec: Mapping[str, Any], namespace: str) -> ServiceSpec:
    """The runnable spec of a ``process.service`` entry (validated at load; entry ids qualified). ``input``: a
    list is the process's positional arguments (``main(a, b)``, as in the seed runtime), any other value its
    one argument."""
    problems = validate_service_spec(spec)
    if problems:
        raise Error(ErrorKind.INVALID, f"entry {entry_id}: " + "; ".join(problems))
    block = spec.get("lifecycle") or {}
    restart = block.get("restart") or {}
    policy = RestartPolicy(
        initial_delay=_seconds(restart, "initial_delay", DEFAULT_INITIAL_DELAY),
        max_delay=_seconds(restart, "max_delay", DEFAULT_MAX_DELAY),
        backoff_factor=float(restart.get("backoff_factor", DEFAULT_BACKOFF_FACTOR)),
        jitter=float(restart.get("jitter", DEFAULT_JITTER)),
        max_attempts=int(restart.get("max_attempts", 0)),
    )
    lifecycle = Lifecycle(
        auto_start=bool(block.get("auto_start", False)),
        start_timeout=_seconds(block, "start_timeout", DEFAULT_START_TIMEOUT),
        stop_timeout=_seconds(block, "stop_timeout", DEFAULT_STOP_TIMEOUT),
        stable_threshold=_seconds(block, "stable_threshold", DEFAULT_STABLE_THRESHOLD),
        restart=policy,
    )
    value = spec.get("input")
    host = spec.get("host")
    return ServiceSpec(name=entry_id, process=qualify(str(spec["process"]), namespace),
                       host=qualify(str(host), namespace) if host else None,
                       args=tuple(value) if isinstance(value, list) else (value,), lifecycle=lifecycle)
