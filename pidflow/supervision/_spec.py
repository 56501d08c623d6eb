"""Supervisor specs as data, validated eagerly (OTP ``check_childspec``)."""

from __future__ import annotations

from typing import Any, Mapping

STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one")
RESTARTS = ("permanent", "transient", "temporary")
_CHILD_KEYS = {"id", "entry", "host", "restart", "input", "shutdown", "options", "name"}


def validate_supervisor_spec(spec: Mapping[str, Any]) -> list[str]:
    """Every problem of a supervisor entry's spec, each naming the key."""
    from .._duration import parse_duration
    from ..errors import Error

    problems: list[str] = []
    strategy = spec.get("strategy", "one_for_one")
    if strategy not in STRATEGIES:
        problems.append(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    intensity = spec.get("intensity", 1)
    if not isinstance(intensity, int) or isinstance(intensity, bool) or intensity < 0:
        problems.append(f"intensity must be a non-negative integer, got {intensity!r}")
    try:
        parse_duration(spec.get("period", 5000), what="period")
    except Error as exc:
        problems.append(exc.message)
    children = spec.get("children")
    if not isinstance(children, list):
        problems.append("children must be a list")
        return problems
    seen: set[str] = set()
    for i, child in enumerate(children):
        if not isinstance(child, dict):
            problems.append(f"children[{i}] must be a mapping")
            continue
        for key in sorted(child.keys() - _CHILD_KEYS):
            problems.append(f"children[{i}]: unknown key {key!r}")
        for key in ("id", "entry"):
            if not child.get(key):
                problems.append(f"children[{i}]: missing key {key!r}")
        if child.get("id") in seen:
            problems.append(f"children[{i}]: duplicate child id {child.get('id')!r}")
        seen.add(child.get("id"))
        restart = child.get("restart", "permanent")
        if restart not in RESTARTS:
            problems.append(f"children[{i}]: restart must be one of {', '.join(RESTARTS)}, got {restart!r}")
        if "shutdown" in child:
            try:
                parse_duration(child["shutdown"], what=f"children[{i}].shutdown")
            except Error as exc:
                problems.append(exc.message)
    return problems
