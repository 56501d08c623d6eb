"""The ``observer`` entry kind: the observer served by the node, started with it like a service.

``addr`` (default ``127.0.0.1:0``, a free port; a bare port is on 127.0.0.1) and ``token`` (a string, or
``env:NAME`` to read it from the environment when the node starts). Everything that can be checked at load is:
the address, the token's form, and that a non-loopback address has a token.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .._kind import Key, Kind
from ..entries import Entry
from ..errors import Error, ErrorKind
from ._service import DEFAULT_ADDR, Observer, is_loopback, observer_addr, start_observer

if TYPE_CHECKING:
    from .._host import NodePort

KIND = "observer"


def resolve_token(token: Any, where: str) -> str | None:
    """The token of an entry's ``token`` value: a string, ``env:NAME`` (read now), or None."""
    if token is None:
        return None
    if not isinstance(token, str) or not token:
        raise Error(ErrorKind.INVALID, f"{where}: token must be a non-empty string or env:NAME, got {token!r}")
    if token.startswith("env:"):
        value = os.environ.get(token[4:])
        if not value:
            raise Error(ErrorKind.INVALID, f"{where}: token {token}: the environment variable {token[4:]} is not set")
        return value
    return token


def _check(entry: Entry) -> list[str]:
    problems = []
    host = None
    try:
        host, _ = observer_addr(entry.spec.get("addr", DEFAULT_ADDR))
    except Error as exc:
        problems.append(exc.message)
    token = entry.spec.get("token")
    if token is not None and (not isinstance(token, str) or not token or token == "env:"):
        problems.append(f"token must be a non-empty string or env:NAME, got {token!r}")
    elif token is None and host is not None and not is_loopback(host):
        problems.append(f"addr {entry.spec.get('addr')!r} is reachable from other machines: give a token "
                        "(token: env:NAME), or bind to 127.0.0.1")
    return problems


async def _service(node: "NodePort", entry: Entry) -> Observer:
    problems = _check(entry)
    if problems:
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: " + "; ".join(problems))
    token = resolve_token(entry.spec.get("token"), f"entry {entry.id}")
    return await start_observer(node, entry.spec.get("addr", DEFAULT_ADDR), token=token,  # type: ignore[arg-type]
                                entry_id=entry.id, token_option=f"entry {entry.id}: token")


KEYS = (
    Key("addr", "host:port or port", "where it listens; a bare port is on 127.0.0.1, port 0 a free one (logged)",
        default=DEFAULT_ADDR),
    Key("token", "string or env:NAME", "the bearer token every /api/ and /metrics request needs; env:NAME reads it "
                                       "when the node starts; required when addr is not a loopback address",
        default="none"),
)

KINDS = (Kind(name=KIND, keys=KEYS, check=_check, service=_service,
              description="The node's observer, started with it: a JSON API with events and actions, a web page "
                          "and /metrics (see [observer.md](observer.md))."),)
