"""The pidflow command: run an app or one entry, check an app, start a dev server."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import trio

from . import _kind, _log
from . import entries as entries_mod
from ._events import EventKind
from ._pid import Pid
from .node import default_state_dir, open_node
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


async def run_entry(app: str, entry_id: str, host: str | None, input: Any, *, state_dir: Path | None = None,
                    with_services: bool = False) -> Any:
    """Run one entry to the end on a fresh node and return its result (its error is raised). The app's services
    (root supervisors) start too only ``with_services``."""
    async with open_node(app, state_dir=state_dir, services=with_services) as node:
        entry = node.registry.get(entry_id)
        if "function" in node.kinds.get(entry.kind).roles:
            return await node.call(entry_id, *([] if input is None else [input]))
        return await node.process.exec(entry_id, host or node.runs_on(entry_id), input)


async def run_app(app: str, *, state_dir: Path | None = None) -> int:
    """Start the app's services (root supervisors) and run until SIGINT/SIGTERM, then stop the tree in order.

    Exits 1 when the app has nothing to run, or when a root supervisor ends abnormally (it gave up: its restart
    intensity was reached); 0 when stopped by a signal or when every root supervisor ended normally."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_node(app, state_dir=state_dir) as node:
            if not node.services:
                print(f"pidflow: {app} has nothing to run: no root supervisor or service starts with it "
                      "(run one entry with --entry ID)", file=sys.stderr)
                return 1
            watched = set(node.root_supervisors)
            for pid in watched:
                await node.process.monitor(pid)
            print(f"pidflow: node {node.name} running {app}; Ctrl-C stops it", file=sys.stderr, flush=True)
            outcome: list[int] = []
            async with trio.open_nursery() as nursery:

                async def on_signal() -> None:
                    async for _ in signals:
                        outcome.append(0)
                        nursery.cancel_scope.cancel()

                async def on_exit() -> None:
                    async for event in node.process.events():
                        if event.kind is not EventKind.EXIT or event.from_ not in watched:
                            continue
                        watched.discard(event.from_)
                        error = event.result.error if event.result is not None else None
                        if error is not None:
                            _log.log.error("root supervisor %s ended: %s; stopping the node", event.from_, error)
                            outcome.append(1)
                            nursery.cancel_scope.cancel()
                        elif not watched and len(node.services) == len(node.root_supervisors):
                            outcome.append(0)
                            nursery.cancel_scope.cancel()

                nursery.start_soon(on_signal)
                nursery.start_soon(on_exit)
    print("pidflow: stopped", file=sys.stderr)
    return outcome[0] if outcome else 0


def check(app: str) -> list[str]:
    """Validate entries (each kind checks its own: Lua sources are compiled) and load the code of entries whose
    kind can (Python modules are imported); return the problems (empty when the app is fine)."""
    try:
        registry = entries_mod.load(app)
    except Error as exc:
        return list(exc.details["problems"]) if exc.details and "problems" in exc.details else [exc.message]
    return _kind.DEFAULT.verify(registry)


def _parse_input(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Error(ErrorKind.INVALID, f"--input is not valid JSON: {exc}") from None


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's pidflow fields."""

    FIELDS = ("pid", "entry", "host", "error_kind", "child")

    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
        data.update({f: getattr(record, f) for f in self.FIELDS if hasattr(record, f)})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """A readable stderr handler for the ``pidflow`` loggers; Lua's ``print`` (logger ``pidflow.lua``) goes to
    stdout as plain lines, since users print."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger("pidflow")
    root.handlers[:] = [h for h in root.handlers if isinstance(h, logging.NullHandler)] + [handler]
    root.setLevel(level.upper())
    root.propagate = False
    lua = logging.getLogger("pidflow.lua")
    out = logging.StreamHandler(sys.stdout)
    out.setFormatter(_JsonFormatter() if fmt == "json" else logging.Formatter("%(message)s"))
    lua.handlers[:] = [out]
    lua.setLevel(logging.INFO)
    lua.propagate = False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pidflow",
        description="Run, check and develop pidflow apps (YAML entries with Python and Lua processes and durable "
                    "Lua workflows).")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        help="least severe log records to print on stderr (default: info)")
    parser.add_argument("--log-format", default="text", choices=["text", "json"],
                        help="text for people, json (one object per line) for machines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run an app until Ctrl-C, or one entry of it to the end (--entry)",
                         description="Without --entry: start the app's root supervisors and services and run "
                                     "until Ctrl-C (exit 1 if one of them gives up). With --entry: run that entry "
                                     "alone to the end and print its result as JSON.")
    run.add_argument("app", help="a YAML file or a folder of them")
    run.add_argument("--entry", help="entry id to run to the end; its result is printed as JSON")
    run.add_argument("--host", help="host to run the entry on (default: the default host, or the workflow's worker)")
    run.add_argument("--input", help="the entry's input, as JSON")
    run.add_argument("--with-services", action="store_true",
                     help="with --entry: start the app's root supervisors and services too")
    run.add_argument("--state-dir", type=Path,
                     help="where the node keeps its state (default: $PIDFLOW_STATE_DIR, else APP_DIR/.pidflow)")
    chk = sub.add_parser("check", help="validate entries, compile Lua sources and import Python ones",
                         description="Validate every entry, compile every Lua source and import every Python "
                                     "source, without running anything; exit 1 listing every problem.")
    chk.add_argument("app", help="a YAML file or a folder of them")
    dev = sub.add_parser("dev", help="run the embedded Temporal dev server with its web UI",
                         description="Run the Temporal dev server with its web UI in the foreground. Given an "
                                     "app, it uses that app's database, so the UI shows what runs made.")
    dev.add_argument("app", nargs="?", help="an app whose state folder to use (default: the current folder)")
    dev.add_argument("--port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument("--state-dir", type=Path,
                     help="state folder (default: $PIDFLOW_STATE_DIR, else APP_DIR/.pidflow)")
    dev.add_argument("--db", type=Path, help="SQLite file (default: STATE_DIR/temporal.sqlite)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    try:
        if args.command == "run":
            if args.entry:
                value = trio.run(functools.partial(run_entry, args.app, args.entry, args.host,
                                                   _parse_input(args.input), state_dir=args.state_dir,
                                                   with_services=args.with_services))
                print(to_json(value))
                return 0
            return trio.run(functools.partial(run_app, args.app, state_dir=args.state_dir))
        if args.command == "check":
            problems = check(args.app)
            for problem in problems:
                print(problem, file=sys.stderr)
            if not problems:
                print(f"{args.app}: ok")
            return 1 if problems else 0
        if args.command == "dev":
            from .temporal_host import run_dev_server

            state = args.state_dir or default_state_dir(args.app)
            db = args.db or state / "temporal.sqlite"
            db.parent.mkdir(parents=True, exist_ok=True)
            return run_dev_server(port=args.port, ui_port=args.ui_port, db_filename=str(db))
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
