"""The Temporal host: Lua workflows as durable processes, the embedded dev server, the trio/asyncio bridge.

``KINDS`` is light to import; temporalio itself loads on first use of ``TemporalHost`` (an app with a
``temporal.worker``), so that apps of local processes do not pay for it.
"""

from typing import Any

from ._kinds import KINDS as KINDS
from ._protocol import workflow_type_name as workflow_type_name


def __getattr__(name: str) -> Any:
    if name == "TemporalHost":
        from ._host import TemporalHost

        return TemporalHost
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run_dev_server(*, port: int, ui_port: int, db_filename: str) -> int:
    """``pidflow dev``: the dev server with its web UI, in the foreground until Ctrl-C."""
    import signal
    import time

    from ._devserver import DevServer
    from ._service import DEFAULT_SEARCH_ATTRIBUTES, DEV_DYNAMIC_CONFIG

    server = DevServer(db_filename=db_filename, port=port, with_ui=True, ui_port=ui_port,
                       search_attributes=DEFAULT_SEARCH_ATTRIBUTES,
                       dynamic_config=DEV_DYNAMIC_CONFIG)
    server.start()
    print(f"temporal dev server at {server.address}; web UI at {server.ui_url}")
    print(f"point pidflow at it with PIDFLOW_TEMPORAL_ADDRESS={server.address}; Ctrl-C stops it")
    try:
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
