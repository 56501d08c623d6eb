"""The reference docs cannot drift from the code: docs/entries.md and docs/options.md are what
``python -m pidflow._reference_docs`` generates from the kinds' key schemas and the hosts' option tables; every key
and option has a type and a doc line; the nested keys documented are the ones the validators accept; the Python
reference names every public method; and the README and docs link only to files of the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import pidflow
from pidflow import ErrorKind, Key, Kind
from pidflow import _reference_docs as ref
from pidflow.actors import _local_host
from pidflow.entries import from_dicts
from pidflow.http import _kinds as http_kinds
from pidflow.http import _middleware, _server
from pidflow.kinds import BUILTIN_KINDS
from pidflow.supervision import _service_spec, _spec
from pidflow.temporal_host import _kinds as temporal_kinds
from pidflow.temporal_host import _options

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


# -- generated files are current --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ref.render()))
def test_generated_doc_is_current(name: str) -> None:
    path = DOCS / name
    assert path.is_file() and path.read_text() == ref.render()[name], (
        f"docs/{name} is not what the code says: run `{ref.COMMAND}` and commit the result")


def test_check_mode_reports_stale_files_and_write_mode_fixes_them(tmp_path: Path) -> None:
    (tmp_path / "entries.md").write_text("old\n")
    run = [sys.executable, "-m", "pidflow._reference_docs", "--docs", str(tmp_path)]
    stale = subprocess.run([*run, "--check"], capture_output=True, text=True, cwd=ROOT)
    assert stale.returncode == 1
    assert "entries.md is not current: run python -m pidflow._reference_docs" in stale.stderr
    assert "options.md is not current" in stale.stderr  # missing counts as stale
    assert subprocess.run(run, capture_output=True, cwd=ROOT).returncode == 0
    assert subprocess.run([*run, "--check"], capture_output=True, cwd=ROOT).returncode == 0
    assert (tmp_path / "entries.md").read_text() == ref.entries_markdown()


# -- every kind, every key documented ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", BUILTIN_KINDS, ids=lambda k: k.name)
def test_every_key_of_every_builtin_kind_has_a_type_and_a_doc(kind: Kind) -> None:
    assert kind.description.strip(), f"{kind.name} has no description"
    assert ref.undocumented(kind.keys) == [], f"{kind.name}: keys without a doc line"
    assert ref.undocumented(kind.meta_keys, "meta.") == [], f"{kind.name}: meta keys without a doc line"
    for _, key in ref._flatten(kind.keys):
        assert not (key.required and key.default is not None), f"{kind.name}.{key.name}: required with a default"


@pytest.mark.parametrize("kind", BUILTIN_KINDS, ids=lambda k: k.name)
def test_every_key_a_kind_accepts_is_in_its_section_of_entries_md(kind: Kind) -> None:
    text = (DOCS / "entries.md").read_text()
    section = text.split(f"\n## {kind.name}\n", 1)[1].split("\n## ", 1)[0]
    for name in kind.required | kind.optional:
        assert f"| `{name}` |" in section, f"{kind.name}: key {name} is not in docs/entries.md"
    for name in kind.required:
        assert re.search(rf"\| `{re.escape(name)}` \| [^\n]* \| required \|", section), (kind.name, name)


def test_the_undocumented_check_can_fail() -> None:
    names_only = Kind(name="test.names_only", required={"a"}, optional={"b"})
    assert ref.undocumented(names_only.keys) == ["a", "b"]
    nested = (Key("outer", "mapping", "a block", keys=(Key("inner", "string", ""),)),)
    assert ref.undocumented(nested) == ["outer.inner"]


def test_required_and_optional_are_derived_from_keys() -> None:
    kind = Kind(name="test.keyed", keys=(Key("a", "string", "A", required=True), Key("b", "integer", "B",
                                                                                       default="1")))
    assert (kind.required, kind.optional) == (frozenset({"a"}), frozenset({"b"}))
    registry = pidflow.builtin_kinds()
    registry.register(kind)
    with pytest.raises(pidflow.Error) as info:
        from_dicts("app", [{"name": "x", "kind": "test.keyed", "c": 1}], kinds=registry)
    problems = info.value.details["problems"]
    assert [p.split("entry app:x: ", 1)[1] for p in problems] == ["missing key 'a'",
                                                                  "unknown key 'c' for kind test.keyed"]


def test_names_only_kinds_still_work_and_get_undocumented_keys() -> None:
    kind = Kind(name="test.legacy", required={"a"}, optional={"b"})
    assert [(k.name, k.required) for k in kind.keys] == [("a", True), ("b", False)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"keys": (Key("a", "string", "A"),), "required": {"b"}}, "give keys or required/optional, not both"),
    ({"keys": (Key("a", "string", "A"), Key("a", "string", "again"))}, "key 'a' is declared twice"),
    ({"keys": (Key("a", "mapping", "A", keys=(Key("x", "t", "X"), Key("x", "t", "X"))),)}, "key 'x' is declared twice"),
    ({"keys": ("a",)}, "keys takes pidflow.Key values, got str"),
    ({"required": {"a"}, "optional": {"a"}}, "key 'a' is both required and optional"),
    ({"meta_keys": (Key("m", "string", "M"), Key("m", "string", "M"))}, "meta_keys: key 'm' is declared twice"),
])
def test_a_malformed_key_schema_is_invalid_naming_the_kind(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(pidflow.Error) as info:
        Kind(name="test.bad", **kwargs)  # type: ignore[arg-type]
    assert info.value.kind is ErrorKind.INVALID
    assert "entry kind test.bad" in info.value.message and message in info.value.message


def test_keys_agreeing_with_names_are_accepted() -> None:
    """``attrs.evolve`` of a kind passes both; they agree, so it works."""
    import attrs

    kind = Kind(name="test.keyed", keys=(Key("a", "string", "A", required=True),))
    assert attrs.evolve(kind, description="d").required == {"a"}


def _nested(kind_name: str, *path: str) -> set[str]:
    kind = next(k for k in BUILTIN_KINDS if k.name == kind_name)
    keys = kind.keys
    for name in path:
        keys = next(k for k in keys if k.name == name).keys
    return {k.name for k in keys}


@pytest.mark.parametrize(("kind", "path", "accepted"), [
    ("supervisor", ("children",), _spec._CHILD_KEYS),
    ("process.service", ("lifecycle",), _service_spec.LIFECYCLE_KEYS),
    ("process.service", ("lifecycle", "restart"), _service_spec.RESTART_KEYS),
    ("http.service", ("timeouts",), set(_server.TIMEOUT_KEYS)),
    ("http.service", ("lifecycle",), set(_server.LIFECYCLE_KEYS)),
    ("http.static", ("static_options",), set(http_kinds.STATIC_OPTIONS)),
    ("http.router", ("options",), {f"{m}.{o}" for m, opts in _middleware.OPTIONS.items() for o in opts}),
    ("http.static", ("options",), {f"{m}.{o}" for m, opts in _middleware.OPTIONS.items() for o in opts
                                   if m not in _middleware.ENDPOINT_ONLY}),
    ("temporal.client", ("tls",), set(temporal_kinds.TLS_KEYS)),
])
def test_nested_keys_documented_are_the_ones_the_validators_accept(kind: str, path: tuple[str, ...],
                                                                   accepted: set[str]) -> None:
    assert _nested(kind, *path) == set(accepted)


def test_the_keys_of_every_entry_are_documented() -> None:
    assert {k.name for k in ref.COMMON_KEY_DOCS} == pidflow._kind.COMMON_KEYS
    assert ref.undocumented(ref.COMMON_KEY_DOCS) == []


# -- options ----------------------------------------------------------------------------------------------------------
def test_every_option_of_every_host_has_a_doc_and_is_in_options_md() -> None:
    text = (DOCS / "options.md").read_text()
    tables = [
        ("", list(_local_host._LOCAL_OPTIONS), _local_host.OPTION_DOCS),
        (_options.PREFIX, list(_options.WORKFLOW_OPTIONS), _options.WORKFLOW_OPTION_DOCS),
        (_options.ACTIVITY_PREFIX, list(_options._ACTIVITY_OPTIONS), _options.ACTIVITY_OPTION_DOCS),
    ]
    for prefix, accepted, docs in tables:
        assert [k.name for k in docs] == accepted, f"{prefix or 'local'} option docs out of step with the host"
        assert ref.undocumented(docs) == []
        for name in accepted:
            assert f"| `{prefix}{name}` |" in text, f"option {prefix}{name} is not in docs/options.md"
    retry = next(k for k in _options.WORKFLOW_OPTION_DOCS if k.name == "retry_policy")
    assert {k.name for k in retry.keys} == _options._RETRY_KEYS
    for name in _options._RETRY_KEYS:
        assert f"| `{_options.PREFIX}retry_policy.{name}` |" in text


# -- the Python reference ---------------------------------------------------------------------------------------------
def _public_methods(cls: type) -> list[str]:
    return sorted(n for n, v in vars(cls).items() if not n.startswith("_") and (callable(v) or isinstance(v, property)))


#: What users call on a Node (the rest of its public surface is the interface hosts use, ``NodePort``).
NODE_MEMBERS = ("process", "call", "name", "registry", "state_dir", "services", "root_supervisors", "stopping",
                "on_stop", "processes", "process_info", "tree", "observe", "unobserve", "observer_counters",
                "bookkeeping")


@pytest.mark.parametrize("cls", [pidflow.ProcessAPI, pidflow.Spawner, pidflow.Supervisor], ids=lambda c: c.__name__)
def test_python_md_names_every_public_method(cls: type) -> None:
    text = (DOCS / "python.md").read_text()
    missing = [name for name in _public_methods(cls) if not re.search(rf"[.`]{re.escape(name)}\b", text)]
    assert missing == [], f"docs/python.md does not mention {cls.__name__}.{missing}"


def test_python_md_names_what_users_call_on_a_node() -> None:
    text = (DOCS / "python.md").read_text()
    assert all(hasattr(pidflow.Node, name) or name in vars(pidflow.Node(pidflow.Registry()))
               for name in NODE_MEMBERS)
    assert [name for name in NODE_MEMBERS if f"node.{name}" not in text] == []
    assert "open_node(app=None, *, name=None, state_dir=None, kinds=None, services=True" in text


def test_python_md_gives_the_kind_of_every_mapped_exception() -> None:
    text = (DOCS / "python.md").read_text()
    for types, kind in pidflow.errors.EXCEPTION_KINDS:
        for exc in types if isinstance(types, tuple) else (types,):
            assert re.search(rf"\| [^\n]*`{exc.__name__}`[^\n]* \| `{kind.value}` \|", text), (exc.__name__, kind)


def test_python_md_has_the_sections_other_work_fills() -> None:
    headings = re.findall(r"^## (.+)$", (DOCS / "python.md").read_text(), re.MULTILINE)
    for heading in ("call and reply", "process groups", "asyncio (pidflow.aio)"):
        assert heading in headings


# -- links ------------------------------------------------------------------------------------------------------------
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pointer_outside_the_repository(path: Path) -> None:
    assert "../shared" not in path.read_text(), f"{path.relative_to(ROOT)} points at ../shared"


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a markdown file (lower case, punctuation dropped, spaces as -)."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_to_a_file_of_the_repository(path: Path) -> None:
    broken = []
    for match in _LINK.finditer(path.read_text()):
        link = match.group(1) or match.group(2)
        target, _, anchor = link.partition("#")
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        resolved = (path.parent / target).resolve() if target else path.resolve()
        if not resolved.exists() or ROOT.resolve() not in resolved.parents:
            broken.append(link)
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(link)
    assert broken == [], f"{path.relative_to(ROOT)}: links to nothing in the repository: {broken}"


def test_the_link_check_can_fail(tmp_path: Path) -> None:
    links = [m.group(1) for m in _LINK.finditer("see [a](apps.md#x), [b](https://x.org) and [c](../shared/y.md)")]
    assert links == ["apps.md#x", "https://x.org", "../shared/y.md"]
    (tmp_path / "a.md").write_text("# Title\n\n## workflow (workflow.lua only)\n\n```sh\n# not a heading\n```\n"
                                   "### `http.service`\n")
    assert _anchors(tmp_path / "a.md") == {"title", "workflow-workflowlua-only", "httpservice"}
