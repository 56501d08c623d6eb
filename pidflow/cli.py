"""The pidflow command: run an app or one entry, check an app, start a dev server."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

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
                    with_services: bool = False, node_name: str | None = None,
                    node_down_after: float | None = None) -> Any:
    """Run one entry to the end on a fresh node and return its result (its error is raised). The app's services
    (root supervisors) start too only ``with_services``.

    A workflow whose code fails a workflow task (a Lua error) does not end: Temporal retries the task, and the run
    goes on once a fixed version is deployed. Instead of waiting for that, the error is raised as soon as this
    node's worker reports it (its file:line in the message, the Lua traceback in ``details``); the workflow stays
    open."""
    async with open_node(app, state_dir=state_dir, services=with_services, name=node_name,
                         node_down_after=node_down_after) as node:
        entry = node.registry.get(entry_id)
        if "function" in node.kinds.get(entry.kind).roles:
            return await node.call(entry_id, *([] if input is None else [input]))
        host_id = host or node.runs_on(entry_id)
        if not node.host(host_id).durable:
            return await node.process.exec(entry_id, host_id, input)
        return await _exec_watching_stalls(node, entry_id, host_id, input)


async def _exec_watching_stalls(node: Any, entry_id: str, host_id: str | None, input: Any) -> Any:
    """``exec`` that also gives up when the process fails without ending (``Host.watch_stalls``: a workflow task
    failed by a Lua error)."""
    stalls: list[Error] = []
    stalled = trio.Event()

    def note(error: Error) -> None:
        stalls.append(error)
        stalled.set()

    pid = await node.process.spawn_monitored(entry_id, host_id, input)
    stop_watching = node.host(host_id).watch_stalls(pid, note)
    ended: list[Any] = []
    try:
        async with trio.open_nursery() as nursery:

            async def until_exit() -> None:
                async for event in node.process.events():
                    if event.kind is EventKind.EXIT and event.from_ == pid:
                        ended.append(event.result)
                        break
                nursery.cancel_scope.cancel()

            nursery.start_soon(until_exit)
            await stalled.wait()
            nursery.cancel_scope.cancel()
    finally:
        stop_watching()
    if ended:
        if ended[0].error is not None:
            raise ended[0].error
        return ended[0].value
    raise stalls[0]


async def run_app(app: str, *, state_dir: Path | None = None, observe: str | None = None,
                  observe_token: str | None = None, node_name: str | None = None,
                  node_down_after: float | None = None) -> int:
    """Start the app's services (root supervisors) and run until SIGINT/SIGTERM, then stop the tree in order.
    ``observe``: also serve the node's observer there (``host:port``; it stops after the node's hosts).
    ``node_name``: the node's name in its cluster (docs/cluster.md); a named node runs even with no service of
    its own, for the processes other nodes spawn on it.

    Exits 1 when the app has nothing to run (and the node is not named), or when a service (a root supervisor, a ``process.service``) ends
    abnormally (it gave up: restart intensity or ``max_attempts`` reached); 0 when stopped by a signal or when
    every one of them ended normally."""
    from . import observer

    registry = entries_mod.load(app)
    if observe is not None:
        observer.check_address(observe, observe_token, f"--observe-token or {observer.TOKEN_ENV}")
    if observe is not None or registry.of_kind(observer.KIND):
        observer.enable_temporal_metrics()  # before the node's Temporal clients connect
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_node(registry, state_dir=state_dir or default_state_dir(app), name=node_name,
                             node_down_after=node_down_after) as node:
            if not node.services and node_name is None:
                print(f"pidflow: {app} has nothing to run: no root supervisor or service starts with it "
                      "(run one entry with --entry ID)", file=sys.stderr)
                return 1
            if observe is not None:
                running = await observer.start_observer(node, observe, token=observe_token)
                node.on_stop(running.stop)
                print(f"pidflow: observer at {running.url}", file=sys.stderr, flush=True)
            watched = set(node.root_supervisors)
            service_of = {service.pid: entry_id for entry_id, service in node.services.items()}
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
                            _log.log.error("service %s (%s) ended: %s; stopping the node",
                                           service_of.get(event.from_, "?"), event.from_, error)
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
    run.add_argument("--ui-port", type=int, metavar="PORT",
                     help="serve the embedded Temporal server's web UI on PORT (default: a free port); its address "
                          "is printed when the server starts")
    run.add_argument("--observe", nargs="?", const="127.0.0.1:0", metavar="ADDR",
                     help="serve the node's observer (JSON API, events, web page, /metrics) on ADDR: host:port, or "
                          "a port on 127.0.0.1 (alone: a free port); its URL is printed")
    run.add_argument("--node", metavar="NAME",
                     help="the node's name in the cluster of its Temporal namespace (unique there; docs/cluster.md)")
    run.add_argument("--node-down-after", type=float, metavar="SECONDS",
                     help="how soon another node's death reaches watchers here (default: $PIDFLOW_NODE_DOWN_AFTER, "
                          "else 15)")
    run.add_argument("--observe-token", metavar="TOKEN",
                     help="the token every observer request needs (default: $PIDFLOW_OBSERVER_TOKEN); required when "
                          "--observe is not a loopback address")
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
    dev.add_argument("--db", type=Path, help="SQLite file (default: STATE_DIR/temporal.sqlite; without --state-dir, "
                                             "the file's folder is the state folder)")
    state_help = "the app's state folder, for its embedded server (default: $PIDFLOW_STATE_DIR, else APP_DIR/.pidflow)"
    ps = sub.add_parser("ps", help="list a running node's processes (--url), or an app's durable processes",
                        description="With --url: the process table of a running node, read from its observer "
                                    "(pidflow run APP --observe). With APP: the app's workflows (those on its "
                                    "workers' task queues, of its workflow entries), one line each: PID, entry, "
                                    "status, start time (UTC). A client only: it starts no worker.")
    ps.add_argument("app", nargs="?", help="a YAML file or a folder of them (without --url)")
    ps.add_argument("--url", help="a running node's observer, such as http://127.0.0.1:9900")
    ps.add_argument("--token", help="with --url: the observer's token (default: $PIDFLOW_OBSERVER_TOKEN)")
    ps.add_argument("--host", help="with --url: only the processes of this host")
    ps.add_argument("--all", action="store_true", help="closed workflows too (default: running ones only)")
    ps.add_argument("--json", action="store_true", help="print a JSON array of objects instead")
    ps.add_argument("--state-dir", type=Path, help=state_help)
    tree = sub.add_parser("tree", help="print a running node's supervision trees",
                          description="Print the supervision trees of a running node (each root supervisor or "
                                      "service and its children in start order, durable ones with their workflow "
                                      "id), read from its observer (pidflow run APP --observe).")
    tree.add_argument("--url", required=True, help="the node's observer, such as http://127.0.0.1:9900")
    tree.add_argument("--token", help="the observer's token (default: $PIDFLOW_OBSERVER_TOKEN)")
    term = sub.add_parser("terminate", help="end a durable process at once",
                          description="Terminate the workflow PID (such as '{app:worker|order-1}') of the app.")
    cancel = sub.add_parser("cancel", help="ask a durable process to stop, terminate it at the deadline",
                            description="Deliver CANCEL to the workflow PID as a node does, wait until it ends, and "
                                        "terminate it if it still runs when the deadline passes.")
    send = sub.add_parser("send", help="send a message to a durable process",
                          description="Send the workflow PID a message on TOPIC whose data is the JSON value.")
    for command in (term, cancel, send):
        command.add_argument("app", help="a YAML file or a folder of them")
        command.add_argument("pid", metavar="PID", help="a workflow's PID, such as '{app:worker|order-1}' (quoted)")
        command.add_argument("--state-dir", type=Path, help=state_help)
    term.add_argument("--reason", default="terminated from the command line", help="why (recorded in history)")
    cancel.add_argument("--deadline", default="5s", help="how long it has to stop, such as 5s or 1m (default: 5s)")
    send.add_argument("topic", metavar="TOPIC", help="the message's topic")
    send.add_argument("json", metavar="JSON", help="the message's data, as JSON (such as '{\"n\": 1}' or null)")
    return parser


async def _durable(args: argparse.Namespace) -> int:
    """``pidflow ps``, ``terminate``, ``cancel`` and ``send``: every argument is checked before connecting."""
    from ._duration import parse_duration
    from .temporal_host._admin import Admin, table

    registry = entries_mod.load(args.app)
    admin = Admin(registry, args.state_dir or default_state_dir(registry))
    pid = admin.durable_pid(args.pid) if args.command != "ps" else None
    deadline = parse_duration(args.deadline, number_unit=1.0, what="--deadline") if args.command == "cancel" else 0
    data = None
    if args.command == "send":
        try:
            data = json.loads(args.json)
        except json.JSONDecodeError as exc:
            raise Error(ErrorKind.INVALID, f"JSON argument {args.json!r} is not valid JSON: {exc}") from None
    async with admin:
        if args.command == "ps":
            rows = await admin.list(include_closed=args.all)
            if args.json:
                print(to_json([row.to_dict() for row in rows]))
            elif rows:
                print("\n".join(table(rows)))
            else:
                print(f"pidflow: no {'' if args.all else 'running '}workflows of {args.app}", file=sys.stderr)
        elif pid is None:  # (durable_pid gave one for every other command)
            raise Error(ErrorKind.INVALID, f"pidflow {args.command} takes a PID")
        elif args.command == "terminate":
            await admin.terminate(pid, args.reason)
            print(f"terminated {pid}")
        elif args.command == "cancel":
            if await admin.cancel(pid, deadline):
                print(f"{pid} stopped within its cancel deadline")
            else:
                print(f"{pid} did not stop within {args.deadline}: terminated")
        else:
            await admin.send(pid, args.topic, data)
            print(f"sent {args.topic!r} to {pid}")
    return 0


def _observed(args: argparse.Namespace) -> int:
    """``pidflow ps --url`` and ``pidflow tree --url``: a running node's observer, printed."""
    from .observer import _terminal

    if args.command == "tree":
        _terminal.print_tree(_terminal.fetch(args.url, "/api/tree", args.token)["tree"])
        return 0
    if args.app is not None:
        raise Error(ErrorKind.INVALID, "give an app or --url, not both")
    page = _terminal.fetch(args.url, "/api/processes", args.token, {"host": args.host})
    if args.json:
        print(to_json(page["processes"]))
    else:
        _terminal.print_processes(page["processes"], page["total"])
    return 0


def _exit_skipping_teardown(code: int) -> NoReturn:
    """End a short admin command without interpreter teardown: temporalio's native client can crash while the
    interpreter finalizes (temporalio sdk-python issue 300; seen as SIGSEGV after ``pidflow ps`` had printed its
    answer), so once the answer is flushed there is nothing left worth tearing down."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _observer_token_env() -> str | None:
    from .observer import TOKEN_ENV

    return os.environ.get(TOKEN_ENV) or None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    try:
        if args.command == "run":
            if args.ui_port is not None:  # read by the node's Temporal service when it starts the embedded server
                os.environ["PIDFLOW_TEMPORAL_UI_PORT"] = str(args.ui_port)
            if args.entry:
                if args.observe is not None:
                    raise Error(ErrorKind.INVALID, "--observe serves a running app: drop --entry")
                value = trio.run(functools.partial(run_entry, args.app, args.entry, args.host,
                                                   _parse_input(args.input), state_dir=args.state_dir,
                                                   with_services=args.with_services, node_name=args.node,
                                                   node_down_after=args.node_down_after))
                print(to_json(value))
                return 0
            return trio.run(functools.partial(run_app, args.app, state_dir=args.state_dir, observe=args.observe,
                                              observe_token=args.observe_token or _observer_token_env(),
                                              node_name=args.node, node_down_after=args.node_down_after))
        if args.command == "tree" or (args.command == "ps" and args.url is not None):
            return _observed(args)
        if args.command == "ps" and args.app is None:
            raise Error(ErrorKind.INVALID, "ps needs an app (its workflows) or --url (a running node's processes)")
        if args.command in ("ps", "terminate", "cancel", "send"):
            import asyncio

            try:
                code = asyncio.run(_durable(args))
            except Error as exc:
                print(f"pidflow: {exc}", file=sys.stderr)
                code = 1
            _exit_skipping_teardown(code)
        if args.command == "check":
            problems = check(args.app)
            for problem in problems:
                print(problem, file=sys.stderr)
            if not problems:
                print(f"{args.app}: ok")
            return 1 if problems else 0
        if args.command == "dev":
            from .temporal_host import run_dev_server

            state = args.state_dir or (args.db.parent if args.db else default_state_dir(args.app))
            return run_dev_server(state_dir=state, port=args.port, ui_port=args.ui_port, db_filename=args.db)
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
