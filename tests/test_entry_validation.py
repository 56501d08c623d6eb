"""Validation never crashes: every malformed value is a problem naming the entry id and the key, at load and in
``pidflow check`` (never a Python traceback), whatever the YAML holds."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pidflow
from pidflow import ErrorKind
from pidflow.entries import from_dicts

ROOT = Path(__file__).resolve().parent.parent


def problems_of(specs: list[dict[str, Any]], base: Path | None = None) -> list[str]:
    with pytest.raises(pidflow.Error) as info:
        from_dicts("app", specs, base=base)
    assert info.value.kind is ErrorKind.INVALID
    return info.value.details["problems"]


@pytest.fixture
def lua_file(tmp_path: Path) -> Path:
    (tmp_path / "ok.lua").write_text("function main() return 1 end")
    return tmp_path


WORKER = {"name": "worker", "kind": "temporal.worker", "task_queue": "q"}


@pytest.mark.parametrize(("spec", "expected"), [
    ({"name": "p", "kind": "process.host", "meta": "oops"}, "entry app:p: meta must be a mapping, got str"),
    ({"name": "p", "kind": "process.host", "description": 7}, "entry app:p: description must be a string, got int"),
    ({"name": "wf", "kind": "workflow.lua", "source": "file://ok.lua", "meta": {"temporal": "oops"}},
     "entry app:wf: meta.temporal must be a mapping, got str"),
    ({"name": "wf", "kind": "workflow.lua", "source": "file://ok.lua", "meta": {"temporal": {"workflow": [1]}}},
     "entry app:wf: meta.temporal.workflow must be a mapping, got list"),
    ({"name": "wf", "kind": "workflow.lua", "source": "file://ok.lua",
      "meta": {"temporal": {"workflow": {"worker": ["app:worker"]}}}},
     "entry app:wf: meta.temporal.workflow.worker must be an entry id, got ['app:worker']"),
    ({"name": "lua", "kind": "process.lua", "source": "file://ok.lua", "max_memory": "lots"},
     "entry app:lua: max_memory must be a positive number of bytes, got 'lots'"),
    ({"name": "lua", "kind": "process.lua", "source": ["file://ok.lua"]},
     "entry app:lua: source must be file://path.lua, got ['file://ok.lua']"),
    ({"name": "py", "kind": "process.py", "source": 12}, "entry app:py: source must be 'package.module:function', got 12"),
    ({"name": "sup", "kind": "supervisor", "children": [{"id": [1], "entry": "sup"}]},
     "entry app:sup: children[0]: id must be a string, got [1]"),
    ({"name": "sup", "kind": "supervisor", "children": [{"id": "a", "entry": {"x": 1}}]},
     "entry app:sup: children[0]: entry must be a string, got {'x': 1}"),
    ({"name": "w", "kind": "temporal.worker", "task_queue": ["q"]},
     "entry app:w: task_queue must be a non-empty string, got ['q']"),
    ({"name": "w", "kind": "temporal.worker", "task_queue": "q", "client": 5}, "entry app:w: client must be an entry id, got 5"),
    ({"name": "c", "kind": "temporal.client", "tls": {"ca_file": 1}}, "entry app:c: tls.ca_file must be a string"),
    ({"name": "c", "kind": "temporal.client", "search_attributes": ["status"]},
     "entry app:c: search_attributes must be a mapping of attribute name to type"),
    ({"name": "p", "kind": ["process.host"]}, "entry app:p: unknown kind ['process.host']"),
])
def test_a_malformed_value_is_one_problem_naming_entry_and_key(lua_file: Path, spec: dict[str, Any],
                                                                expected: str) -> None:
    problems = problems_of([WORKER, spec], base=lua_file)
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_meta_may_be_empty() -> None:
    assert len(from_dicts("app", [{"name": "p", "kind": "process.host", "meta": None}])) == 1


def test_pidflow_check_reports_malformed_values_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "ok.lua").write_text("function main() return 1 end")
    (tmp_path / "app.yaml").write_text(textwrap.dedent("""
        version: "1.0"
        namespace: app
        entries:
          - {name: worker, kind: temporal.worker, task_queue: q}
          - {name: a, kind: process.host, meta: oops}
          - {name: wf, kind: workflow.lua, source: "file://ok.lua", meta: {temporal: oops}}
          - {name: sup, kind: supervisor, children: [{id: [1], entry: a}]}
          - {name: lua, kind: process.lua, source: "file://ok.lua", max_memory: lots}
    """))
    done = subprocess.run([sys.executable, "-m", "pidflow.cli", "check", str(tmp_path)], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    for expected in ("entry app:a: meta must be a mapping", "entry app:wf: meta.temporal must be a mapping",
                     "entry app:sup: children[0]: id must be a string", "entry app:lua: max_memory must be"):
        assert expected in done.stderr


# -- fuzz ------------------------------------------------------------------------------------------------------

KINDS = [kind.name for kind in pidflow.builtin_kinds()]
KEYS = ["name", "kind", "meta", "description", "source", "method", "modules", "max_memory", "children", "strategy",
        "intensity", "period", "auto_start", "task_queue", "client", "address", "namespace", "tls", "api_key",
        "search_attributes", "max_concurrent_activities", "id", "entry", "host", "restart", "shutdown", "options",
        "temporal", "workflow", "worker", "input"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**12), st.floats(allow_nan=False),
                    st.sampled_from(KINDS + ["file://ok.lua", "file://missing.lua", "mod:fn", "app:worker",
                                             "one_for_one", "5s", "", "x:y:z", "oops"]),
                    st.text(max_size=6))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=12)
entry_specs = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["a", "b", "worker", "c"]), values),
     "kind": st.one_of(st.sampled_from(KINDS), values)},
    optional={key: values for key in KEYS[2:]})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(entry_specs, max_size=4))
def test_any_yaml_loads_or_fails_with_invalid_naming_problems(lua_file: Path, specs: list[dict[str, Any]]) -> None:
    app = lua_file / "fuzz.yaml"
    app.write_text(yaml.safe_dump({"version": "1.0", "namespace": "app", "entries": specs}))
    try:
        pidflow.load_entries(app)
    except pidflow.Error as exc:
        assert exc.kind in (ErrorKind.INVALID, ErrorKind.NOT_FOUND, ErrorKind.ALREADY_EXISTS)
        assert all("could not check" not in p for p in exc.details.get("problems", [])), exc.details
