"""The CLI does what it says, driven from outside as a user does: ``run --entry`` runs that entry alone, a root
supervisor that gives up ends ``run`` with exit 1 and says why, an app with nothing to run says so, ``check``
imports Python sources, bare entry names get a suggestion, logs can be JSON, help is plain text."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pidflow.node import default_state_dir

ROOT = Path(__file__).resolve().parent.parent


def pidflow(*args: str, cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pidflow.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def write_app(folder: Path, yaml_text: str, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.yaml").write_text(textwrap.dedent(yaml_text))
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(textwrap.dedent(text))
    return folder


MARKER_APP = """
    version: "1.0"
    namespace: app
    entries:
      - {{name: marker, kind: process.py, source: "markers_{tag}:mark"}}
      - {{name: answer, kind: function.py, source: "markers_{tag}:answer"}}
      - name: root
        kind: supervisor
        children: [{{id: marker, entry: marker}}]
"""
MARKER_PY = """
    import pathlib, trio

    async def mark(_input):
        pathlib.Path(__file__).with_name("started").write_text("yes")
        await trio.sleep_forever()

    def answer(x=None):
        return 42
"""


@pytest.mark.parametrize("with_services", [False, True])
def test_run_entry_starts_the_app_services_only_when_asked(tmp_path: Path, with_services: bool) -> None:
    tag = "a" if with_services else "b"
    app = write_app(tmp_path, MARKER_APP.format(tag=tag), **{f"markers_{tag}__py": MARKER_PY})
    done = pidflow("run", str(app), "--entry", "app:answer", *(["--with-services"] if with_services else []))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
    assert (tmp_path / "started").exists() is with_services


def test_run_exits_1_and_says_why_when_a_root_supervisor_gives_up(tmp_path: Path) -> None:
    app = write_app(tmp_path, """
        version: "1.0"
        namespace: app
        entries:
          - {name: crasher, kind: process.py, source: "crashers:crash"}
          - name: root
            kind: supervisor
            intensity: 2
            period: 60s
            children: [{id: crasher, entry: crasher}]
    """, crashers__py="""
        async def crash(_input):
            raise RuntimeError("disk on fire")
    """)
    done = pidflow("run", str(app))
    assert done.returncode == 1
    err = done.stderr
    assert err.count("crashed: INTERNAL: RuntimeError: disk on fire") == 3  # the first start and two restarts
    assert 'raise RuntimeError("disk on fire")' in err  # the crash report carries the traceback
    assert err.count("supervisor app:root restarts child crasher (one_for_one)") == 2
    assert "supervisor app:root gives up: 2 restarts in 60s reached" in err
    assert "service app:root ({pidflow:local@" in err and "stopping the node" in err


def test_run_of_an_app_with_nothing_to_run_says_so(tmp_path: Path) -> None:
    app = write_app(tmp_path, """
        version: "1.0"
        namespace: app
        entries:
          - {name: processes, kind: process.host}
          - {name: idle, kind: supervisor, auto_start: false, children: []}
    """)
    done = pidflow("run", str(app), timeout=30)
    assert done.returncode == 1
    assert "has nothing to run: no root supervisor or service starts with it (run one entry with --entry ID)" \
        in done.stderr


def test_a_bare_entry_name_gets_the_qualified_id_suggested() -> None:
    done = pidflow("run", "examples/lua_processes", "--entry", "main")
    assert done.returncode == 1
    assert "entry main not found; did you mean app:main?" in done.stderr


def test_check_imports_python_sources(tmp_path: Path) -> None:
    app = write_app(tmp_path, """
        version: "1.0"
        namespace: app
        entries:
          - {name: missing, kind: process.py, source: "no_such_module_here:main"}
          - {name: sync, kind: process.py, source: "bodies_x:not_async"}
          - {name: absent, kind: function.py, source: "bodies_x:nothing"}
          - {name: broken, kind: function.py, source: "bodies_broken:f"}
          - {name: fine, kind: process.py, source: "bodies_x:fine"}
    """, bodies_x__py="""
        def not_async(x):
            return x

        async def fine(x):
            return x
    """, bodies_broken__py="""
        raise ImportError("needs a licence key")
    """)
    done = pidflow("check", str(app))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 4, lines
    assert "entry app:missing: cannot load no_such_module_here:main: No module named 'no_such_module_here'" in lines[0]
    assert "entry app:sync: bodies_x:not_async must be an async function main(input)" in lines[1]
    assert "entry app:absent: cannot load bodies_x:nothing" in lines[2]
    assert "entry app:broken: cannot load bodies_broken:f: needs a licence key" in lines[3]
    assert "Traceback" not in done.stderr


def test_log_format_json_prints_one_object_per_line_with_the_crash_facts(tmp_path: Path) -> None:
    app = write_app(tmp_path, """
        version: "1.0"
        namespace: app
        entries:
          - {name: boom, kind: process.py, source: "boom_json:boom"}
    """, boom_json__py="""
        async def boom(_input):
            raise RuntimeError("bad input")
    """)
    done = pidflow("--log-format", "json", "run", str(app), "--entry", "app:boom")
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    [crash] = [r for r in records if r["level"] == "ERROR"]
    assert crash["logger"] == "pidflow" and crash["entry"] == "app:boom" and crash["error_kind"] == "INTERNAL"
    assert crash["pid"].startswith("{pidflow:local@") and "RuntimeError: bad input" in crash["message"]


def test_help_is_plain_text() -> None:
    for args in (["--help"], ["run", "--help"], ["check", "--help"], ["dev", "--help"]):
        done = pidflow(*args)
        assert done.returncode == 0
        assert "``" not in done.stdout and ":class:" not in done.stdout


def test_state_dir_defaults_to_the_app_folder_whatever_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIDFLOW_STATE_DIR", raising=False)
    app = write_app(tmp_path / "myapp", 'version: "1.0"\nnamespace: app\nentries: []\n')
    monkeypatch.chdir(tmp_path)
    assert default_state_dir(app) == app.resolve() / ".pidflow"
    assert default_state_dir(app / "app.yaml") == app.resolve() / ".pidflow"
    assert default_state_dir(None) == tmp_path / ".pidflow"
    monkeypatch.setenv("PIDFLOW_STATE_DIR", str(tmp_path / "elsewhere"))
    assert default_state_dir(app) == tmp_path / "elsewhere"
