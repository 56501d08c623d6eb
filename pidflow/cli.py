"""The ``pidflow`` command: ``run`` an app or one entry, ``check`` an app, start a ``dev`` server."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

import trio

from . import entries as entries_mod
from ._pid import Pid
from .node import open_node
from .errors import Error, ErrorKind


def _json_default(value: Any) -> Any:
    if isinstance(value, Pid):
        return str(value)
    if isinstance(value, Error):
        return value.to_dict()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    return json.dumps(value, default=_json_default, sort_keys=True, ensure_ascii=False)


async def run_entry(app: str, entry_id: str, host: str | None, input: Any) -> Any:
    """Run one entry to the end on a fresh node and return its result (its error is raised)."""
    async with open_node(app) as node:
        entry = node.registry.get(entry_id)
        if "function" in node.kinds.get(entry.kind).roles:
            return await node.call(entry_id, *([] if input is None else [input]))
        return await node.process.exec(entry_id, host or node.runs_on(entry_id), input)


async def run_app(app: str) -> None:
    """Start the app's supervisors and run until SIGINT/SIGTERM, then stop the tree in order."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_node(app) as node:
            print(f"pidflow: node {node.name} running {app}; Ctrl-C stops it", file=sys.stderr, flush=True)
            async for _ in signals:
                break
    print("pidflow: stopped", file=sys.stderr)


def check(app: str) -> list[str]:
    """Validate entries (each kind checks its own: Lua sources are compiled); return the problems (empty when
    the app is fine)."""
    try:
        entries_mod.load(app)
    except Error as exc:
        return list(exc.details["problems"]) if exc.details and "problems" in exc.details else [exc.message]
    return []


def _parse_input(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Error(ErrorKind.INVALID, f"--input is not valid JSON: {exc}") from None


def _configure_logging() -> None:
    """Warnings and errors to stderr; Lua's ``print`` (the ``pidflow.lua`` logger) too, since users print."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    lua = logging.getLogger("pidflow.lua")
    if not lua.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        lua.addHandler(handler)
        lua.propagate = False
    lua.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pidflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an app, or one entry of it to the end (--entry)")
    run.add_argument("app", help="a YAML file or a folder of them")
    run.add_argument("--entry", help="entry id to run to the end; its result is printed as JSON")
    run.add_argument("--host", help="host to run the entry on (default: the default host, or the workflow's worker)")
    run.add_argument("--input", help="the entry's input, as JSON")
    chk = sub.add_parser("check", help="validate entries and compile Lua sources without running anything")
    chk.add_argument("app")
    dev = sub.add_parser("dev", help="run the embedded Temporal dev server with its web UI")
    dev.add_argument("--port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument("--db", default=".pidflow/temporal.db", help="SQLite file (kept between runs)")
    args = parser.parse_args(argv)
    _configure_logging()

    try:
        if args.command == "run":
            if args.entry:
                value = trio.run(run_entry, args.app, args.entry, args.host, _parse_input(args.input))
                print(to_json(value))
            else:
                trio.run(run_app, args.app)
            return 0
        if args.command == "check":
            problems = check(args.app)
            for problem in problems:
                print(problem, file=sys.stderr)
            if not problems:
                print(f"{args.app}: ok")
            return 1 if problems else 0
        if args.command == "dev":
            from .temporal_host import run_dev_server

            Path(args.db).parent.mkdir(parents=True, exist_ok=True)
            return run_dev_server(port=args.port, ui_port=args.ui_port, db_filename=args.db)
    except Error as exc:
        print(f"pidflow: {exc}", file=sys.stderr)
        if exc.details and isinstance(exc.details, dict) and "traceback" in exc.details:
            print(exc.details["traceback"], file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
