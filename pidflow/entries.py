"""Apps as data: loading and validating entry YAML into a :class:`Registry`.

An app is one YAML file or a folder of them; each file has ``version``, ``namespace`` and ``entries``. Entry ids
are ``namespace:name``. Validation is eager and complete: every problem of every entry is collected and reported
at once, each naming the file, the entry id and the key, so a user fixes an app in one pass (OTP
``check_childspec`` style). References between entries (a workflow's worker, a worker's client, a supervisor's
children) are checked after all files are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs
import yaml

from .errors import Error, ErrorKind

_COMMON = {"name", "kind", "description", "meta"}
_CODE = {"source", "method", "modules"}

# kind -> (required keys, optional keys). Keys not listed are rejected by name.
KIND_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "process.host": (set(), set()),
    "process.lua": ({"source"}, {"method", "modules", "max_memory"}),
    "process.py": ({"source"}, set()),
    "function.lua": ({"source"}, {"method", "modules", "max_memory"}),
    "function.py": ({"source"}, set()),
    "workflow.lua": ({"source"}, {"method", "modules"}),
    "temporal.client": (set(), {"address", "namespace", "tls", "api_key", "state_dir", "search_attributes"}),
    "temporal.worker": ({"task_queue"}, {"client", "max_concurrent_activities", "max_concurrent_workflow_tasks",
                                        "max_cached_workflows"}),
    "supervisor": ({"children"}, {"strategy", "intensity", "period", "auto_start"}),
}

_TLS_KEYS = {"ca_file", "cert_file", "key_file", "server_name"}
LUA_MODULES = frozenset({"process", "channel", "time", "funcs", "workflow", "ctx", "uuid", "crypto", "json", "errors"})


@attrs.frozen
class Entry:
    """One declared thing. ``spec`` is the YAML mapping as written; ``file`` is where it was declared."""

    id: str
    kind: str
    spec: Mapping[str, Any] = attrs.field(repr=False)
    file: Path | None = None

    @property
    def namespace(self) -> str:
        return self.id.split(":", 1)[0]

    @property
    def method(self) -> str | None:
        return self.spec.get("method")

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(self.spec.get("modules") or ())

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.spec.get("meta") or {}

    @property
    def source_path(self) -> Path:
        """``file://x.lua`` resolved against the declaring YAML file's folder."""
        source = str(self.spec["source"])
        rel = source[len("file://"):] if source.startswith("file://") else source
        base = self.file.parent if self.file is not None else Path.cwd()
        return (base / rel).resolve()

    @property
    def source_name(self) -> str:
        """The source path as errors show it: relative to the declaring YAML file's folder when inside it."""
        path = self.source_path
        if self.file is not None:
            try:
                return str(path.relative_to(self.file.parent.resolve()))
            except ValueError:
                pass
        return str(path)

    def read_source(self) -> str:
        try:
            return self.source_path.read_text()
        except OSError as exc:
            raise Error(ErrorKind.NOT_FOUND, f"entry {self.id}: cannot read source {self.source_path}: {exc.strerror}") from None

    def ref(self, key: str) -> str | None:
        """A reference to another entry, qualified with this entry's namespace when written bare."""
        value = self.spec.get(key)
        return None if value is None else qualify(str(value), self.namespace)

    @property
    def workflow_meta(self) -> Mapping[str, Any]:
        return ((self.meta.get("temporal") or {}).get("workflow") or {})


def qualify(ref: str, namespace: str) -> str:
    return ref if ":" in ref else f"{namespace}:{ref}"


class Registry:
    """Entries by id. ``get`` raises NOT_FOUND naming the id; ``of_kind`` lists entries in declaration order."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: Entry) -> None:
        if entry.id in self._entries:
            raise Error(ErrorKind.ALREADY_EXISTS, f"entry {entry.id} is declared twice")
        self._entries[entry.id] = entry

    def get(self, entry_id: str, *, kinds: Iterable[str] | None = None) -> Entry:
        entry = self._entries.get(entry_id)
        if entry is None:
            raise Error(ErrorKind.NOT_FOUND, f"entry {entry_id} not found", details={"entry": entry_id})
        if kinds is not None:
            kinds = tuple(kinds)
            if entry.kind not in kinds:
                raise Error(ErrorKind.INVALID, f"entry {entry_id} is a {entry.kind}, expected {' or '.join(kinds)}")
        return entry

    def find(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)

    def of_kind(self, *kinds: str) -> list[Entry]:
        return [e for e in self._entries.values() if e.kind in kinds]

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries


def load(path: str | Path) -> Registry:
    """Load a YAML file or every ``*.yaml``/``*.yml`` under a folder; raise INVALID listing every problem."""
    root = Path(path)
    if root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))
        if not files:
            raise Error(ErrorKind.NOT_FOUND, f"no .yaml files under {root}")
    elif root.exists():
        files = [root]
    else:
        raise Error(ErrorKind.NOT_FOUND, f"app {root} does not exist")
    problems: list[str] = []
    entries: list[Entry] = []
    for file in files:
        entries.extend(_load_file(file.resolve(), problems))
    return _registry_of(entries, problems)


def from_dicts(namespace: str, specs: Iterable[Mapping[str, Any]], base: Path | None = None) -> Registry:
    """Build a registry from Python data (tests, embedding), with the same validation as YAML."""
    doc = {"version": "1.0", "namespace": namespace, "entries": list(specs)}
    problems: list[str] = []
    entries = _entries_of(doc, (base or Path.cwd()) / "<inline>.yaml", problems)
    return _registry_of(entries, problems)


def _registry_of(entries: list[Entry], problems: list[str]) -> Registry:
    """The registry of ``entries`` once references check out; INVALID listing every problem otherwise."""
    registry = Registry()
    for entry in entries:
        if entry.id in registry:
            problems.append(f"{entry.file}: entry {entry.id} is declared twice")
        else:
            registry.add(entry)
    problems.extend(_check_references(registry))
    if problems:
        raise Error(ErrorKind.INVALID, _summary(problems), details={"problems": problems})
    return registry


def _summary(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"app is invalid for {len(problems)} reasons:\n" + "\n".join(f"  - {p}" for p in problems)


def _load_file(file: Path, problems: list[str]) -> list[Entry]:
    try:
        doc = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        problems.append(f"{file}: not valid YAML: {exc}")
        return []
    return _entries_of(doc, file, problems)


def _entries_of(doc: Any, file: Path, problems: list[str]) -> list[Entry]:
    if not isinstance(doc, dict):
        problems.append(f"{file}: expected a mapping with version, namespace and entries")
        return []
    for key in doc:
        if key not in ("version", "namespace", "entries"):
            problems.append(f"{file}: unknown top-level key {key!r}")
    if str(doc.get("version", "")) != "1.0":
        problems.append(f"{file}: version must be \"1.0\", got {doc.get('version')!r}")
    namespace = doc.get("namespace")
    if not isinstance(namespace, str) or not namespace or ":" in namespace:
        problems.append(f"{file}: namespace must be a non-empty name without ':', got {namespace!r}")
        return []
    raw = doc.get("entries")
    if not isinstance(raw, list):
        problems.append(f"{file}: entries must be a list")
        return []
    out = []
    for index, spec in enumerate(raw):
        entry = _entry_of(spec, namespace, file, index, problems)
        if entry is not None:
            out.append(entry)
    return out


def _entry_of(spec: Any, namespace: str, file: Path, index: int, problems: list[str]) -> Entry | None:
    where = f"{file}: entries[{index}]"
    if not isinstance(spec, dict):
        problems.append(f"{where}: expected a mapping")
        return None
    name = spec.get("name")
    if not isinstance(name, str) or not name or ":" in name:
        problems.append(f"{where}: name must be a non-empty string without ':'")
        return None
    entry_id = f"{namespace}:{name}"
    where = f"{file}: entry {entry_id}"
    kind = spec.get("kind")
    if kind not in KIND_KEYS:
        problems.append(f"{where}: unknown kind {kind!r} (known: {', '.join(sorted(KIND_KEYS))})")
        return None
    required, optional = KIND_KEYS[kind]
    for key in sorted(required - spec.keys()):
        problems.append(f"{where}: missing key {key!r}")
    for key in sorted(spec.keys() - required - optional - _COMMON):
        problems.append(f"{where}: unknown key {key!r} for kind {kind}")
    entry = Entry(entry_id, kind, dict(spec), file)
    problems.extend(f"{where}: {p}" for p in _check_values(entry))
    return entry


def _check_values(entry: Entry) -> list[str]:
    spec, problems = entry.spec, []
    kind = entry.kind
    if kind in ("process.lua", "function.lua", "workflow.lua"):
        source = spec.get("source")
        if isinstance(source, str):
            if not source.startswith("file://"):
                problems.append(f"source must be file://path.lua, got {source!r}")
            elif not entry.source_path.is_file():
                problems.append(f"source file {entry.source_path} does not exist")
            else:
                from .lua_bindings import compile_check

                try:
                    compile_check(entry.source_path.read_text(), entry.source_name)
                except Error as exc:
                    problems.append(f"source: {exc.message}")
        modules = spec.get("modules", [])
        if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
            problems.append("modules must be a list of module names")
        else:
            for module in modules:
                if module not in LUA_MODULES:
                    problems.append(f"unknown module {module!r} in modules (known: {', '.join(sorted(LUA_MODULES))})")
        if "method" in spec and not isinstance(spec["method"], str):
            problems.append("method must be a string")
    if kind in ("process.py", "function.py"):
        source = spec.get("source")
        if isinstance(source, str) and (":" not in source or source.startswith("file://")):
            problems.append(f"source must be 'package.module:function', got {source!r}")
    if kind == "temporal.client":
        tls = spec.get("tls")
        if tls is not None and not isinstance(tls, bool):
            if not isinstance(tls, dict):
                problems.append("tls must be true or a mapping of ca_file, cert_file, key_file, server_name")
            else:
                problems.extend(f"unknown key {key!r} in tls (known: ca_file, cert_file, key_file, server_name)"
                                for key in sorted(set(tls) - _TLS_KEYS))
        for key in ("address", "namespace", "api_key", "state_dir"):
            if key in spec and not isinstance(spec[key], str):
                problems.append(f"{key} must be a string")
    if kind == "temporal.worker":
        for key in ("max_concurrent_activities", "max_concurrent_workflow_tasks", "max_cached_workflows"):
            value = spec.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                problems.append(f"{key} must be a positive integer, got {value!r}")
    if kind == "workflow.lua" and not entry.workflow_meta.get("worker"):
        problems.append("meta.temporal.workflow.worker is required (the temporal.worker entry that runs it)")
    if kind == "supervisor":
        from .supervision import validate_supervisor_spec

        problems.extend(validate_supervisor_spec(spec))
    return problems


def _check_references(registry: Registry) -> list[str]:
    problems = []

    def expect(entry: Entry, key: str, ref: str | None, kinds: tuple[str, ...]) -> None:
        if ref is None:
            return
        target = registry.find(ref)
        if target is None:
            problems.append(f"{entry.file}: entry {entry.id}: {key} refers to unknown entry {ref}")
        elif target.kind not in kinds:
            problems.append(f"{entry.file}: entry {entry.id}: {key} refers to {ref}, a {target.kind}, expected {' or '.join(kinds)}")

    hosts = ("process.host", "temporal.worker")
    for entry in registry:
        if entry.kind == "workflow.lua":
            worker = entry.workflow_meta.get("worker")
            expect(entry, "meta.temporal.workflow.worker", qualify(str(worker), entry.namespace) if worker else None,
                   ("temporal.worker",))
        elif entry.kind == "temporal.worker":
            expect(entry, "client", entry.ref("client"), ("temporal.client",))
        elif entry.kind == "supervisor":
            for i, child in enumerate(entry.spec.get("children") or []):
                if not isinstance(child, dict):
                    continue
                if child.get("entry"):
                    expect(entry, f"children[{i}].entry", qualify(str(child["entry"]), entry.namespace),
                           ("process.lua", "process.py", "workflow.lua", "supervisor"))
                if child.get("host"):
                    expect(entry, f"children[{i}].host", qualify(str(child["host"]), entry.namespace), hosts)
    return problems
