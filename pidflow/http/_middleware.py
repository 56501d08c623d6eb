"""Middleware as entry data: what a router's (or a static handler's) ``middleware:`` list and ``options:`` map
say, checked at load, and the ASGI pieces they become.

Names and options follow the seed runtime where it has them (``cors`` with ``cors.allow.origins`` ...); pidflow
adds ``request_id``, ``body_limit`` and ``timeout``. Option values may be strings (the seed writes every option as
one) or plain YAML numbers and booleans. Validation is eager and complete: :func:`middleware_config` returns every
problem, each naming its key, and the frozen :class:`MiddlewareConfig` the routes are built from.

- ``request_id`` is built into every server (an error answer names the request, and every handler has
  ``ctx.get("request_id")``): the outermost layer of the app reads ``X-Request-ID``, generates one when it is
  absent or unusable, and echoes it in every response. Listing it is allowed and changes nothing.
- ``cors`` is Starlette's ``CORSMiddleware``; preflights are answered before routing (see ``_routes``).
- ``body_limit`` and ``timeout`` bound what a handler gets: the body is read before the handler starts (413 past
  ``body_limit.max``, default :data:`DEFAULT_BODY_LIMIT`), and a handler process still running after
  ``timeout.duration`` is terminated (504). They apply to the router's endpoints, so a static handler may not list
  them.

Rejected: the seed's other middleware (``compress``, ``ratelimit``, ``token_auth``, ...) silently ignored; an
unknown name or option is an error at load.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._duration import parse_duration
from ..errors import Error

if TYPE_CHECKING:
    from .._host import NodePort

#: The request body limit of an endpoint whose router lists no ``body_limit`` (10 MiB).
DEFAULT_BODY_LIMIT = 10 * 1024 * 1024
#: The header a request id is read from and echoed in.
REQUEST_ID_HEADER = "X-Request-ID"
#: Where the request id of a request is kept in its ASGI scope.
REQUEST_ID_SCOPE_KEY = "pidflow.request_id"
#: ``node.resources`` key of the requests the node's servers answered (the observer's metrics read it).
REQUEST_COUNTS = "pidflow.http.requests"


def request_counts(node: "NodePort") -> dict[str, "Counter[tuple[str, int]]"]:
    """Requests answered, by server entry id, then by (method, status)."""
    counts: dict[str, Counter[tuple[str, int]]] = node.resources.setdefault(REQUEST_COUNTS, {})
    return counts


#: The options of each middleware (without the ``name.`` prefix).
OPTIONS: dict[str, frozenset[str]] = {
    "request_id": frozenset(),
    "cors": frozenset({"allow.origins", "allow.methods", "allow.headers", "expose.headers", "allow.credentials",
                       "max.age", "allow.private.network"}),
    "body_limit": frozenset({"max"}),
    "timeout": frozenset({"duration"}),
}
#: Middleware that only endpoints have (a static handler may not list them).
ENDPOINT_ONLY = frozenset({"body_limit", "timeout"})
#: The seed runtime's middleware that pidflow does not offer.
SEED_ONLY = frozenset({"compress", "ratelimit", "real_ip", "token_auth", "metrics", "endpoint_firewall",
                       "resource_firewall", "sendfile", "websocket_relay", "sse_relay", "otel"})

_CORS_DEFAULTS = {
    "allow.origins": "*",
    "allow.methods": "GET,POST,PUT,DELETE,OPTIONS,PATCH",
    "allow.headers": "Origin,Content-Type,Accept,Authorization,X-Requested-With",
    "expose.headers": "",
    "allow.credentials": "false",
    "max.age": "86400",
    "allow.private.network": "false",
}
_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {None: 1, "b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2, "gb": 1024**3,
               "gib": 1024**3}
#: What a request id from a client may look like to be kept (else one is generated): no spaces, no control
#: characters, nothing a log line or a header could be confused by.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,200}$")


@attrs.frozen
class CorsConfig:
    """Starlette ``CORSMiddleware`` arguments. Origins with a ``*`` (``https://*.example.com``) become
    ``origin_regex``."""

    origins: tuple[str, ...] = ("*",)
    origin_regex: str | None = None
    methods: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    credentials: bool = False
    max_age: int = 86400
    private_network: bool = False

    def wrap(self, app: ASGIApp) -> ASGIApp:
        return CORSMiddleware(app, allow_origins=self.origins, allow_origin_regex=self.origin_regex,
                              allow_methods=self.methods, allow_headers=self.headers, expose_headers=self.expose,
                              allow_credentials=self.credentials, max_age=self.max_age,
                              allow_private_network=self.private_network)


@attrs.frozen
class MiddlewareConfig:
    """What an entry's middleware says: CORS (None: none), the body limit in bytes, the handler timeout in
    seconds (None: none)."""

    cors: CorsConfig | None = None
    body_limit: int = DEFAULT_BODY_LIMIT
    timeout: float | None = None

    def wrap(self, app: ASGIApp) -> ASGIApp:
        return app if self.cors is None else self.cors.wrap(app)


def middleware_config(spec: Mapping[str, Any], *, endpoints: bool = True) -> tuple[MiddlewareConfig, list[str]]:
    """The config of an entry's ``middleware`` and ``options`` keys, and every problem with them (each naming its
    key). ``endpoints``: the entry has endpoints (a router), so ``body_limit`` and ``timeout`` may be listed."""
    problems: list[str] = []
    names = spec.get("middleware", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        problems.append(f"middleware must be a list of middleware names, got {names!r}")
        names = []
    listed: list[str] = []
    for name in names:
        if name in SEED_ONLY:
            problems.append(f"middleware {name!r} of the seed runtime is not supported by pidflow "
                            f"(known: {', '.join(sorted(OPTIONS))})")
        elif name not in OPTIONS:
            problems.append(f"unknown middleware {name!r} (known: {', '.join(sorted(OPTIONS))})")
        elif name in ENDPOINT_ONLY and not endpoints:
            problems.append(f"middleware {name!r} applies to endpoints: list it on a router")
        elif name in listed:
            problems.append(f"middleware {name!r} is listed twice")
        else:
            listed.append(name)
    options = spec.get("options", {})
    if not isinstance(options, Mapping):
        problems.append(f"options must be a mapping of 'middleware.option: value', got {options!r}")
        options = {}
    by_name: dict[str, dict[str, Any]] = {name: {} for name in listed}
    for key, value in options.items():
        name, _, option = str(key).partition(".")
        if name not in OPTIONS or option not in OPTIONS[name]:
            known = ", ".join(f"{n}.{o}" for n in sorted(OPTIONS) for o in sorted(OPTIONS[n]))
            problems.append(f"options: unknown option {key!r} (known: {known})")
        elif name not in by_name:
            problems.append(f"options: {key!r} is an option of middleware {name!r}, which middleware does not list")
        elif not isinstance(value, (str, int, float, bool)):
            problems.append(f"options.{key} must be a string, number or boolean, got {value!r}")
        else:
            by_name[name][option] = value
    cors = _cors(by_name["cors"], problems) if "cors" in by_name else None
    limit = _size(by_name["body_limit"].get("max"), problems) if "body_limit" in by_name else DEFAULT_BODY_LIMIT
    timeout = _timeout(by_name["timeout"].get("duration"), problems) if "timeout" in by_name else None
    return MiddlewareConfig(cors=cors, body_limit=limit, timeout=timeout), problems


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _list(value: Any) -> tuple[str, ...]:
    return tuple(part.strip() for part in _text(value).split(",") if part.strip())


def _flag(option: str, value: Any, problems: list[str]) -> bool:
    text = _text(value).strip().lower()
    if text not in ("true", "false"):
        problems.append(f"options.{option} must be true or false, got {value!r}")
    return text == "true"


def _origin_pattern(origin: str) -> str:
    """A regex for an origin with ``*`` (one host label or more); without a scheme, any scheme."""
    scheme, sep, rest = origin.partition("://")
    if not sep:
        scheme, rest = "", origin
    body = "[^/]*".join(re.escape(part) for part in rest.split("*"))
    head = re.escape(scheme) + "://" if scheme else "[a-z][a-z0-9+.-]*://"
    return head + body


def _cors(options: dict[str, Any], problems: list[str]) -> CorsConfig:
    value = {**_CORS_DEFAULTS, **options}
    origins = _list(value["allow.origins"])
    exact = tuple(o for o in origins if o == "*" or "*" not in o)
    patterns = [_origin_pattern(o) for o in origins if o != "*" and "*" in o]
    max_age = _text(value["max.age"]).strip()
    if not max_age.isdigit():
        problems.append(f"options.cors.max.age must be a number of seconds, got {value['max.age']!r}")
    return CorsConfig(
        origins=exact,
        origin_regex="|".join(f"(?:{p})" for p in patterns) or None,
        methods=tuple(m.upper() for m in _list(value["allow.methods"])),
        headers=_list(value["allow.headers"]),
        expose=_list(value["expose.headers"]),
        credentials=_flag("cors.allow.credentials", value["allow.credentials"], problems),
        max_age=int(max_age) if max_age.isdigit() else 0,
        private_network=_flag("cors.allow.private.network", value["allow.private.network"], problems),
    )


def _size(value: Any, problems: list[str]) -> int:
    if value is None:
        problems.append("options: middleware body_limit needs body_limit.max (bytes, or '64KB', '10MB')")
        return DEFAULT_BODY_LIMIT
    match = _SIZE.match(_text(value)) if not isinstance(value, (bool, float)) else None
    if match is None or int(match[1]) <= 0:
        problems.append(f"options.body_limit.max must be a positive size (bytes, or '64KB', '10MB'; KB = 1024 "
                        f"bytes), got {value!r}")
        return DEFAULT_BODY_LIMIT
    return int(match[1]) * _SIZE_UNITS[match[2].lower() if match[2] else None]


def _timeout(value: Any, problems: list[str]) -> float | None:
    if value is None:
        problems.append("options: middleware timeout needs timeout.duration ('30s', or milliseconds)")
        return None
    try:
        seconds = parse_duration(value, what="options.timeout.duration")
    except Error as exc:
        problems.append(exc.message)
        return None
    if seconds <= 0:
        problems.append(f"options.timeout.duration must be a positive duration, got {value!r}")
        return None
    return seconds


# -- request ids ----------------------------------------------------------------------------------------------------
def new_request_id() -> str:
    return secrets.token_hex(16)


def request_id_of(scope: Scope) -> str:
    """The request id the outer layer gave this request (one is made for a scope that has none)."""
    rid = scope.get(REQUEST_ID_SCOPE_KEY)
    if rid is None:
        rid = scope[REQUEST_ID_SCOPE_KEY] = new_request_id()
    return rid


class RequestIdMiddleware:
    """The outermost layer of every pidflow HTTP app: keeps the client's ``X-Request-ID`` when it looks like an id
    (else generates one), records it in the scope for the handler and the error answers, and sets it on the
    response (replacing one the handler set)."""

    def __init__(self, app: ASGIApp, counts: "Counter[tuple[str, int]] | None" = None) -> None:
        self.app = app
        #: Where each answer is counted by (method, status), for the observer's metrics.
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        rid = given if given is not None and _REQUEST_ID.match(given) else new_request_id()
        scope[REQUEST_ID_SCOPE_KEY] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
                if self.counts is not None:
                    self.counts[(scope["method"], message["status"])] += 1
            await send(message)

        await self.app(scope, receive, send_with_id)
