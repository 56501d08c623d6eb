"""Supervision as data: flags and child specs with every default in one place (OTP ``supervisor.erl``).

Validation is eager and complete (OTP ``check_childspec``): :func:`validate_supervisor_spec` lists every
problem of an entry, each naming its key; :func:`supervisor_spec` builds the frozen values the supervisor runs.
"""

from __future__ import annotations

import enum
from typing import Any, Mapping

import attrs

from .._duration import parse_duration
from ..entries import qualify
from ..errors import Error, ErrorKind


class Strategy(str, enum.Enum):
    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"
    SIMPLE_ONE_FOR_ONE = "simple_one_for_one"


class Restart(str, enum.Enum):
    """When a child that ended is started again: always, only after an abnormal end, or never."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


STRATEGIES = tuple(s.value for s in Strategy)
RESTARTS = tuple(r.value for r in Restart)
_CHILD_KEYS = {"id", "entry", "host", "restart", "input", "shutdown", "options", "name"}

DEFAULT_INTENSITY = 1
DEFAULT_PERIOD = 5.0
DEFAULT_SHUTDOWN = 5.0


@attrs.frozen
class ChildSpec:
    """One child. ``entry`` is an entry id (or, from Python, an async function for a local child); ``host`` a
    process.host or temporal.worker id (None: the node's default host); ``shutdown`` the seconds a child gets
    to stop after CANCEL before it is terminated; ``name`` the registered name (durable children default to a
    stable workflow id derived from the supervisor and child ids, so a restarted node adopts them)."""

    id: str
    entry: Any
    host: str | None = None
    restart: Restart = Restart.PERMANENT
    input: Any = None
    shutdown: float = DEFAULT_SHUTDOWN
    options: Mapping[str, Any] = attrs.field(factory=dict)
    name: str | None = None


@attrs.frozen
class SupervisorSpec:
    """Flags and children. More than ``intensity`` restarts within ``period`` seconds ends the supervisor
    abnormally (after stopping its children), which its own supervisor then handles."""

    children: tuple[ChildSpec, ...] = ()
    strategy: Strategy = Strategy.ONE_FOR_ONE
    intensity: int = DEFAULT_INTENSITY
    period: float = DEFAULT_PERIOD
    name: str | None = None


def validate_supervisor_spec(spec: Mapping[str, Any]) -> list[str]:
    """Every problem of a supervisor entry's spec, each naming the key."""
    problems: list[str] = []
    strategy = spec.get("strategy", Strategy.ONE_FOR_ONE.value)
    if strategy not in STRATEGIES:
        problems.append(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    intensity = spec.get("intensity", DEFAULT_INTENSITY)
    if not isinstance(intensity, int) or isinstance(intensity, bool) or intensity < 0:
        problems.append(f"intensity must be a non-negative integer, got {intensity!r}")
    try:
        parse_duration(spec.get("period", DEFAULT_PERIOD * 1000), what="period")
    except Error as exc:
        problems.append(exc.message)
    if "auto_start" in spec and not isinstance(spec["auto_start"], bool):
        problems.append("auto_start must be a boolean")
    children = spec.get("children")
    if not isinstance(children, list):
        problems.append("children must be a list")
        return problems
    if strategy == Strategy.SIMPLE_ONE_FOR_ONE.value and len(children) != 1:
        problems.append("simple_one_for_one takes exactly one child spec (the template)")
    seen: set[Any] = set()
    for i, child in enumerate(children):
        if not isinstance(child, dict):
            problems.append(f"children[{i}] must be a mapping")
            continue
        for key in sorted(child.keys() - _CHILD_KEYS):
            problems.append(f"children[{i}]: unknown key {key!r}")
        for key in ("id", "entry"):
            if not child.get(key):
                problems.append(f"children[{i}]: missing key {key!r}")
        child_id = child.get("id")
        if child_id and (not isinstance(child_id, (str, int)) or isinstance(child_id, bool)):
            problems.append(f"children[{i}]: id must be a string, got {child_id!r}")
        elif child_id in seen:
            problems.append(f"children[{i}]: duplicate child id {child_id!r}")
        else:
            seen.add(child_id)
        for key in ("entry", "host", "name"):
            if child.get(key) and not isinstance(child[key], str):
                problems.append(f"children[{i}]: {key} must be a string, got {child[key]!r}")
        restart = child.get("restart", Restart.PERMANENT.value)
        if restart not in RESTARTS:
            problems.append(f"children[{i}]: restart must be one of {', '.join(RESTARTS)}, got {restart!r}")
        if "shutdown" in child:
            try:
                parse_duration(child["shutdown"], what=f"children[{i}].shutdown")
            except Error as exc:
                problems.append(exc.message)
        if "options" in child and not isinstance(child["options"], dict):
            problems.append(f"children[{i}]: options must be a mapping")
    return problems


def supervisor_spec(entry_id: str, spec: Mapping[str, Any], namespace: str) -> SupervisorSpec:
    """The runnable spec of a ``supervisor`` entry (validated at load; entry references qualified)."""
    problems = validate_supervisor_spec(spec)
    if problems:
        raise Error(ErrorKind.INVALID, f"entry {entry_id}: " + "; ".join(problems))
    children = []
    for child in spec["children"]:
        host = child.get("host")
        children.append(ChildSpec(
            id=str(child["id"]),
            entry=qualify(str(child["entry"]), namespace),
            host=qualify(str(host), namespace) if host else None,
            restart=Restart(child.get("restart", Restart.PERMANENT.value)),
            input=child.get("input"),
            shutdown=parse_duration(child.get("shutdown", DEFAULT_SHUTDOWN * 1000)),
            options=dict(child.get("options") or {}),
            name=child.get("name"),
        ))
    return SupervisorSpec(
        children=tuple(children),
        strategy=Strategy(spec.get("strategy", Strategy.ONE_FOR_ONE.value)),
        intensity=int(spec.get("intensity", DEFAULT_INTENSITY)),
        period=parse_duration(spec.get("period", DEFAULT_PERIOD * 1000)),
        name=entry_id,
    )
