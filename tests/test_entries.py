"""Entries: loading YAML files and folders, eager validation reporting every problem, running entries by id."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
import trio
import trio.testing

import pidflow
from pidflow import ErrorKind
from pidflow.entries import from_dicts


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load_problems(path: Path) -> list[str]:
    with pytest.raises(pidflow.Error) as info:
        pidflow.load_entries(path)
    assert info.value.kind is ErrorKind.INVALID
    return info.value.details["problems"]


@pytest.fixture
def py_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module with process bodies; a unique name per test so that imports never leak."""
    name = f"pidflow_test_bodies_{uuid.uuid4().hex[:8]}"
    write(tmp_path / "mods" / f"{name}.py", """
        import pidflow

        async def double(x):
            return x * 2

        async def whoami(_):
            return str(pidflow.process.pid())

        def not_async(x):
            return x
    """)
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    return name


# -- loading ---------------------------------------------------------------------------------------------------

def test_load_file_qualifies_entry_ids_with_namespace(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: shop
        entries:
          - {name: processes, kind: process.host}
          - {name: main, kind: process.py, source: "shop.main:run"}
    """)
    registry = pidflow.load_entries(app)
    assert [e.id for e in registry] == ["shop:processes", "shop:main"]
    main = registry.get("shop:main")
    assert (main.kind, main.namespace, main.file) == ("process.py", "shop", app.resolve())
    assert [e.id for e in registry.of_kind("process.host")] == ["shop:processes"]


def test_load_folder_reads_its_own_yaml_files_not_its_subfolders(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", """
        version: "1.0"
        namespace: a
        entries: [{name: h, kind: process.host}]
    """)
    write(tmp_path / "c.yml", """
        version: "1.0"
        namespace: c
        entries: [{name: h, kind: process.host}]
    """)
    write(tmp_path / "nested" / "b.yml", """
        version: "1.0"
        namespace: b
        entries: [{name: h, kind: process.host}]
    """)
    write(tmp_path / "notes.txt", "not yaml: [")
    assert sorted(e.id for e in pidflow.load_entries(tmp_path)) == ["a:h", "c:h"]


def test_include_loads_files_and_folders_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: a
        include: [nested, ../shared.yaml]
        entries: [{name: h, kind: process.host}]
    """)
    write(tmp_path / "nested" / "b.yml", """
        version: "1.0"
        namespace: b
        include: [../app.yaml]
        entries: [{name: h, kind: process.host}]
    """)
    write(tmp_path / "nested" / "deeper" / "d.yaml", """
        version: "1.0"
        namespace: d
        entries: [{name: h, kind: process.host}]
    """)
    write(tmp_path.parent / "shared.yaml", """
        version: "1.0"
        namespace: s
        entries: [{name: h, kind: process.host}]
    """)
    assert sorted(e.id for e in pidflow.load_entries(tmp_path)) == ["a:h", "b:h", "s:h"]
    assert sorted(e.id for e in pidflow.load_entries(tmp_path / "app.yaml")) == ["a:h", "b:h", "s:h"]


def test_a_bad_include_is_a_problem_naming_the_file(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: a
        include: [missing.yaml, empty]
        entries: []
    """)
    (tmp_path / "empty").mkdir()
    problems = load_problems(app)
    assert any("include 'missing.yaml'" in p and "does not exist" in p for p in problems)
    assert any("include 'empty': no .yaml files" in p for p in problems)
    write(app, 'version: "1.0"\nnamespace: a\ninclude: nested\nentries: []\n')
    [problem] = load_problems(app)
    assert "include must be a list of paths" in problem


def test_an_empty_yaml_file_is_a_problem(tmp_path: Path) -> None:
    [problem] = load_problems(write(tmp_path / "app.yaml", ""))
    assert "expected a mapping with version, namespace and entries" in problem


def test_load_missing_path_raises_not_found(tmp_path: Path) -> None:
    with pytest.raises(pidflow.Error, match="does not exist") as info:
        pidflow.load_entries(tmp_path / "nope.yaml")
    assert info.value.kind is ErrorKind.NOT_FOUND


def test_load_folder_without_yaml_raises_not_found(tmp_path: Path) -> None:
    with pytest.raises(pidflow.Error, match="no .yaml files") as info:
        pidflow.load_entries(tmp_path)
    assert info.value.kind is ErrorKind.NOT_FOUND


def test_registry_get_unknown_id_raises_not_found_naming_it() -> None:
    with pytest.raises(pidflow.Error, match="entry app:ghost not found") as info:
        pidflow.Registry().get("app:ghost")
    assert info.value.kind is ErrorKind.NOT_FOUND
    assert info.value.details == {"entry": "app:ghost"}


# -- validation ------------------------------------------------------------------------------------------------

def test_every_problem_is_reported_at_once_with_file_entry_and_key(tmp_path: Path) -> None:
    write(tmp_path / "ok.lua", "function main() end")
    app = write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: app
        entries:
          - {name: weird, kind: process.cobol}
          - {name: nosrc, kind: process.py}
          - {name: extra, kind: process.host, colour: blue}
          - {name: worker, kind: temporal.worker, task_queue: q, client: app:nowhere}
          - {name: lua, kind: process.lua, source: "file://ok.lua", modules: [process, sockets]}
    """)
    problems = load_problems(app)
    assert len(problems) == 5
    where = f"{app.resolve()}: entry"
    assert f"{where} app:weird: unknown kind 'process.cobol'" in problems[0]
    assert problems[1] == f"{where} app:nosrc: missing key 'source'"
    assert problems[2] == f"{where} app:extra: unknown key 'colour' for kind process.host"
    assert problems[3].startswith(f"{where} app:lua: unknown module 'sockets' in modules")
    assert problems[4] == f"{where} app:worker: client refers to unknown entry app:nowhere"


def test_error_message_summarises_the_number_of_problems(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: app
        entries:
          - {name: a, kind: nope}
          - {name: b, kind: nope}
    """)
    with pytest.raises(pidflow.Error, match="app is invalid for 2 reasons") as info:
        pidflow.load_entries(app)
    assert "app:a" in str(info.value) and "app:b" in str(info.value)


def test_problems_from_several_files_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", """
        version: "1.0"
        namespace: a
        entries: [{name: x, kind: nope}]
    """)
    write(tmp_path / "b.yaml", """
        version: "1.0"
        namespace: b
        entries: [{name: y, kind: process.py}]
    """)
    problems = load_problems(tmp_path)
    assert any("a.yaml: entry a:x: unknown kind" in p for p in problems)
    assert any("b.yaml: entry b:y: missing key 'source'" in p for p in problems)


def test_dangling_supervisor_child_reference_names_the_key(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: app
        entries:
          - name: root
            kind: supervisor
            children: [{id: c, entry: ghost}]
    """)
    assert load_problems(app) == [f"{app.resolve()}: entry app:root: children[0].entry refers to unknown entry app:ghost"]


def test_reference_to_entry_of_wrong_kind_is_reported(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: app
        entries:
          - {name: h, kind: process.host}
          - {name: worker, kind: temporal.worker, task_queue: q, client: h}
    """)
    [problem] = load_problems(app)
    assert problem.endswith("entry app:worker: client refers to app:h, a process.host, expected temporal.client")


def test_python_source_must_name_module_and_function(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: app
        entries: [{name: p, kind: process.py, source: "just_a_module"}]
    """)
    [problem] = load_problems(app)
    assert problem.endswith("entry app:p: source must be 'package.module:function', got 'just_a_module'")


def test_missing_lua_source_file_is_reported(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: app
        entries: [{name: l, kind: process.lua, source: "file://missing.lua"}]
    """)
    [problem] = load_problems(app)
    assert "entry app:l: source file" in problem and "missing.lua does not exist" in problem


def test_duplicate_entry_id_is_reported(tmp_path: Path) -> None:
    app = write(tmp_path / "app.yaml", """
        version: "1.0"
        namespace: app
        entries:
          - {name: h, kind: process.host}
          - {name: h, kind: process.host}
    """)
    assert load_problems(app) == [f"{app.resolve()}: entry app:h is declared twice"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- just a list", "expected a mapping with version, namespace and entries"),
        ('version: "2.0"\nnamespace: app\nentries: []', "version must be \"1.0\""),
        ('version: "1.0"\nnamespace: "a:b"\nentries: []', "namespace must be a non-empty name without ':'"),
        ('version: "1.0"\nnamespace: app\nentries: {}', "entries must be a list"),
        ('version: "1.0"\nnamespace: app\nentries: []\nextra: 1', "unknown top-level key 'extra'"),
        ('version: "1.0"\nnamespace: app\nentries: [{kind: process.host}]', "entries[0]: name must be a non-empty"),
        ("version: [", "not valid YAML"),
    ],
)
def test_malformed_file_is_reported_with_its_path(tmp_path: Path, text: str, expected: str) -> None:
    app = write(tmp_path / "app.yaml", text)
    problems = load_problems(app)
    assert any(p.startswith(str(app.resolve())) and expected in p for p in problems), problems


def test_from_dicts_validates_like_yaml() -> None:
    with pytest.raises(pidflow.Error, match="entry app:x: unknown kind 'nope'") as info:
        from_dicts("app", [{"name": "x", "kind": "nope"}])
    assert info.value.kind is ErrorKind.INVALID


# -- running entries -------------------------------------------------------------------------------------------

async def test_process_py_entry_runs_by_id(py_module: str, autojump_clock: trio.testing.MockClock) -> None:
    registry = from_dicts("app", [{"name": "double", "kind": "process.py", "source": f"{py_module}:double"}])
    async with pidflow.open_node(registry) as node:
        assert await node.process.exec("app:double", None, 21) == 42


async def test_process_py_entry_from_yaml_file_runs_by_id(tmp_path: Path, py_module: str,
                                                          autojump_clock: trio.testing.MockClock) -> None:
    app = write(tmp_path / "app.yaml", f"""
        version: "1.0"
        namespace: app
        entries:
          - {{name: processes, kind: process.host}}
          - {{name: who, kind: process.py, source: "{py_module}:whoami"}}
    """)
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:who")
        event = await node.process.events().receive()
        assert event.result.value == str(pid)
        assert pid.host == "app:processes"  # the app's first process.host is the default host


async def test_process_py_entry_with_unimportable_module_raises_not_found(
        autojump_clock: trio.testing.MockClock) -> None:
    registry = from_dicts("app", [{"name": "p", "kind": "process.py", "source": "no_such_module_xyz:main"}])
    async with pidflow.open_node(registry) as node:
        with pytest.raises(pidflow.Error, match="entry app:p: cannot load no_such_module_xyz:main") as info:
            await node.process.spawn("app:p")
        assert info.value.kind is ErrorKind.NOT_FOUND


async def test_process_py_entry_with_missing_function_raises_not_found(
        py_module: str, autojump_clock: trio.testing.MockClock) -> None:
    registry = from_dicts("app", [{"name": "p", "kind": "process.py", "source": f"{py_module}:nope"}])
    async with pidflow.open_node(registry) as node:
        with pytest.raises(pidflow.Error, match=f"entry app:p: cannot load {py_module}:nope") as info:
            await node.process.spawn("app:p")
        assert info.value.kind is ErrorKind.NOT_FOUND


async def test_process_py_entry_that_is_not_async_raises_invalid(
        py_module: str, autojump_clock: trio.testing.MockClock) -> None:
    registry = from_dicts("app", [{"name": "p", "kind": "process.py", "source": f"{py_module}:not_async"}])
    async with pidflow.open_node(registry) as node:
        with pytest.raises(pidflow.Error, match="must be an async function main") as info:
            await node.process.spawn("app:p")
        assert info.value.kind is ErrorKind.INVALID


async def test_spawning_a_non_process_entry_raises_invalid(autojump_clock: trio.testing.MockClock) -> None:
    registry = from_dicts("app", [{"name": "h", "kind": "process.host"}])
    async with pidflow.open_node(registry) as node:
        with pytest.raises(pidflow.Error, match="entry app:h is a process.host, which host") as info:
            await node.process.spawn("app:h")
        assert info.value.kind is ErrorKind.INVALID


async def test_spawning_on_an_entry_that_is_not_a_host_raises_invalid(
        py_module: str, autojump_clock: trio.testing.MockClock) -> None:
    registry = from_dicts("app", [{"name": "p", "kind": "process.py", "source": f"{py_module}:double"}])
    async with pidflow.open_node(registry) as node:
        with pytest.raises(pidflow.Error, match="app:p is a process.py, not a host") as info:
            await node.process.spawn("app:p", "app:p", 1)
        assert info.value.kind is ErrorKind.INVALID


def test_temporal_client_and_worker_options_are_checked_at_load(tmp_path):
    from pidflow.entries import from_dicts

    with pytest.raises(pidflow.Error) as info:
        from_dicts("app", [
            {"name": "temporal", "kind": "temporal.client", "tls": {"ca_fil": "x.pem"}, "api_key": 12},
            {"name": "worker", "kind": "temporal.worker", "client": "app:temporal", "task_queue": "q",
             "max_cached_workflows": 0},
        ], base=tmp_path)
    message = info.value.message
    assert "entry app:temporal: unknown key 'ca_fil' in tls" in message
    assert "entry app:temporal: api_key must be a string" in message
    assert "entry app:worker: max_cached_workflows must be a positive integer, got 0" in message
