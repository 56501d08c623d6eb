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


def run_dev_server(*, state_dir: Any, port: int, ui_port: int, db_filename: Any = None) -> int:
    """``pidflow dev``: the state folder's dev server with its web UI, in the foreground until Ctrl-C.

    It takes the folder's lock as a node does (``_state_folder``), so nodes on that folder use it. If a node (or
    another ``pidflow dev``) already runs the folder's server, it says where, with its web UI, and returns 0
    without starting a second server on the same database."""
    import asyncio
    import signal
    import time

    from ._service import DEFAULT_SEARCH_ATTRIBUTES, DEV_DYNAMIC_CONFIG
    from ._state_folder import FolderServer

    folder = FolderServer(state_dir, db_filename=db_filename, port=port, ui_port=ui_port,
                          search_attributes=DEFAULT_SEARCH_ATTRIBUTES, dynamic_config=DEV_DYNAMIC_CONFIG)
    record = asyncio.run(folder.astart())
    if folder.server is None:
        print(f"the Temporal server of {folder.state_dir} already runs (process {record.owner_pid}) at"
              f" {record.address}; web UI at {record.ui_url or '(none)'}")
        return 0
    print(f"temporal dev server at {record.address}; web UI at {record.ui_url}", flush=True)
    print(f"state folder {folder.state_dir}: nodes using it connect to this server; Ctrl-C stops it", flush=True)
    try:
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        while folder.server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        folder.stop()
    return 0
