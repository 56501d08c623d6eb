"""``pidflow ps --url`` and ``pidflow tree --url``: a running node's observer, read over HTTP and printed with rich.

A client of the JSON API only (the standard library's ``urllib``: the command starts no node and needs no HTTP
library). When stdout is not a terminal the output is as wide as its content, so that no cell is cut or wrapped
for a program reading it.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..errors import Error, ErrorKind
from ._service import TOKEN_ENV

#: Seconds to wait for the observer's answer.
TIMEOUT = 30.0


def fetch(url: str, path: str, token: str | None = None, query: dict[str, Any] | None = None) -> Any:
    """GET ``path`` of the observer at ``url`` as JSON; UNAVAILABLE when it cannot be reached, the observer's
    error otherwise (401 says which options give the token)."""
    token = token or os.environ.get(TOKEN_ENV) or None
    address = url.rstrip("/") + path
    if query:
        address += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
    request = urllib.request.Request(address, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error") or exc.reason
        except ValueError:
            message = exc.reason
        if exc.code == 401:
            raise Error(ErrorKind.PERMISSION_DENIED, f"the observer at {url} needs its token: give --token or set "
                                                     f"{TOKEN_ENV}") from None
        raise Error(ErrorKind.INVALID if exc.code < 500 else ErrorKind.UNAVAILABLE,
                    f"the observer at {url} answered {exc.code}: {message}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Error(ErrorKind.UNAVAILABLE, f"cannot reach the observer at {url}: {reason}") from None


def _console() -> Any:
    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    return Console(width=10_000, no_color=True, highlight=False)


def _count(value: Any) -> str:
    return "" if value is None else str(value)


def print_processes(processes: list[dict[str, Any]], total: int) -> None:
    """The process table: one row per process."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, caption=f"{len(processes)} of {total} processes")
    for column in ("PID", "ENTRY", "HOST", "STATUS", "MAILBOX", "IN", "OUT", "RESTARTS", "NAMES", "WORKFLOW"):
        table.add_column(column, no_wrap=True,
                         justify="right" if column in ("MAILBOX", "IN", "OUT", "RESTARTS") else "left")
    for p in processes:
        durable = p.get("durable") or {}
        table.add_row(p["pid"], p.get("entry") or "", p.get("host") or "", p.get("status") or "",
                      _count(p.get("mailbox")), _count(p.get("messages_in")), _count(p.get("messages_out")),
                      _count(p.get("restarts")), ",".join(p.get("names") or ()), durable.get("workflow_id") or "")
    _console().print(table)


def _label(node: dict[str, Any]) -> str:
    from rich.markup import escape

    parts = [escape(node.get("entry") or "?")]
    if node.get("child_id"):
        parts.append(escape(f"[{node['child_id']}]"))
    parts += [escape(node["pid"]), escape(node.get("status") or "")]
    if node.get("restarts"):
        parts.append(f"restarts={node['restarts']}")
    pid = node["pid"]
    if "@" not in pid.partition("|")[0]:  # a PID without a node is durable: its id is the workflow id
        parts.append(f"durable workflow={escape(pid.partition('|')[2].rstrip('}'))}")
    return " ".join(parts)


def print_tree(roots: list[dict[str, Any]]) -> None:
    """The supervision trees: a root per line, its children under it in start order."""
    from rich.tree import Tree

    console = _console()
    if not roots:
        console.print("(no supervisor or service)")
    for root in roots:
        tree = Tree(_label(root))
        todo = [(tree, child) for child in root.get("children") or ()]
        while todo:
            parent, node = todo.pop(0)
            branch = parent.add(_label(node))
            todo.extend((branch, child) for child in node.get("children") or ())
        console.print(tree)
