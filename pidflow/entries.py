"""Apps as data: loading entry YAML into a :class:`Registry`.

An app is one YAML file or a folder of them; each file has ``version``, ``namespace`` and ``entries``. Entry ids
are ``namespace:name``. This module checks what every entry has (a name, a known kind, a ``meta`` mapping) and
asks a :class:`~pidflow._kind.KindRegistry` for the rest, so it imports no runtime package. Validation is eager
and complete: every problem of every entry is collected and reported at once, each naming the file, the entry id
and the key, so a user fixes an app in one pass (OTP ``check_childspec`` style). References between entries (a
workflow's worker, a worker's client, a supervisor's children) are checked after all files are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

import attrs
import yaml

from . import _kind
from .errors import Error, ErrorKind

if TYPE_CHECKING:
    from ._kind import KindRegistry

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
        """``meta``, or empty when absent or malformed (a malformed one is reported at load)."""
        return _mapping(self.spec.get("meta"))

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
        """``meta.temporal.workflow``, or empty when absent or malformed."""
        return _mapping(_mapping(self.meta.get("temporal")).get("workflow"))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


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
            shown = entry_id[:197] + "..." if isinstance(entry_id, str) and len(entry_id) > 200 else entry_id
            raise Error(ErrorKind.NOT_FOUND, f"entry {shown} not found{self._suggestion(entry_id)}",
                        details={"entry": entry_id})
        if kinds is not None:
            kinds = tuple(kinds)
            if entry.kind not in kinds:
                raise Error(ErrorKind.INVALID, f"entry {entry_id} is a {entry.kind}, expected {' or '.join(kinds)}")
        return entry

    def _suggestion(self, entry_id: Any) -> str:
        """``; did you mean app:x?`` for a bare name that some namespace declares."""
        if not isinstance(entry_id, str) or ":" in entry_id:
            return ""
        matches = sorted(e.id for e in self._entries.values() if e.id.split(":", 1)[1] == entry_id)
        return f"; did you mean {' or '.join(matches)}?" if matches else ""

    def find(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)

    def of_kind(self, *kinds: str) -> list[Entry]:
        return [e for e in self._entries.values() if e.kind in kinds]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries


def load(path: str | Path, kinds: "KindRegistry | None" = None) -> Registry:
    """Load a YAML file, or the ``*.yaml``/``*.yml`` files of a folder (not of its subfolders), plus whatever
    their ``include:`` lists (files or folders, relative to the including file); raise INVALID listing every
    problem.

    ``kinds`` (default: the built-in kinds plus any registered) says which kinds exist and how to check them."""
    root = Path(path)
    if root.is_dir():
        files = _yaml_files(root)
        if not files:
            raise Error(ErrorKind.NOT_FOUND, f"no .yaml files in {root} (subfolders are loaded only by include:)")
    elif root.exists():
        files = [root]
    else:
        raise Error(ErrorKind.NOT_FOUND, f"app {root} does not exist")
    kinds = kinds or _kind.DEFAULT
    problems: list[str] = []
    entries: list[Entry] = []
    seen: set[Path] = set()
    pending = [file.resolve() for file in files]
    while pending:
        file = pending.pop(0)
        if file in seen:
            continue
        seen.add(file)
        readable, doc = _read_yaml(file, problems)
        if not readable:
            continue
        pending.extend(_included(doc, file, problems))
        entries.extend(_entries_of(doc, file, kinds, problems))
    return _registry_of(entries, kinds, problems)


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _included(doc: Any, file: Path, problems: list[str]) -> list[Path]:
    """The files that ``include:`` names: each a YAML file or a folder (its own YAML files)."""
    if not isinstance(doc, dict) or "include" not in doc:
        return []
    include = doc["include"]
    if not isinstance(include, list) or not all(isinstance(item, str) and item for item in include):
        problems.append(f"{file}: include must be a list of paths (YAML files or folders), got {include!r}")
        return []
    files = []
    for item in include:
        target = (file.parent / item).resolve()
        if target.is_dir():
            found = _yaml_files(target)
            if not found:
                problems.append(f"{file}: include {item!r}: no .yaml files in {target}")
            files.extend(found)
        elif target.is_file():
            files.append(target)
        else:
            problems.append(f"{file}: include {item!r}: {target} does not exist")
    return files


def from_dicts(namespace: str, specs: Iterable[Mapping[str, Any]], base: Path | None = None,
               kinds: "KindRegistry | None" = None) -> Registry:
    """Build a registry from Python data (tests, embedding), with the same validation as YAML."""
    kinds = kinds or _kind.DEFAULT
    doc = {"version": "1.0", "namespace": namespace, "entries": list(specs)}
    problems: list[str] = []
    entries = _entries_of(doc, (base or Path.cwd()) / "<inline>.yaml", kinds, problems)
    return _registry_of(entries, kinds, problems)


def _registry_of(entries: list[Entry], kinds: "KindRegistry", problems: list[str]) -> Registry:
    """The registry of ``entries`` once references check out; INVALID listing every problem otherwise."""
    registry = Registry()
    for entry in entries:
        if entry.id in registry:
            problems.append(f"{entry.file}: entry {entry.id} is declared twice")
        else:
            registry.add(entry)
    for entry in registry:
        problems.extend(f"{entry.file}: entry {entry.id}: {p}" for p in kinds.check_references(entry, registry))
    if problems:
        raise Error(ErrorKind.INVALID, _summary(problems), details={"problems": problems})
    return registry


def _summary(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"app is invalid for {len(problems)} reasons:\n" + "\n".join(f"  - {p}" for p in problems)


def _read_yaml(file: Path, problems: list[str]) -> tuple[bool, Any]:
    try:
        return True, yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        problems.append(f"{file}: not valid YAML: {exc}")
    except OSError as exc:
        problems.append(f"{file}: cannot read: {exc.strerror}")
    return False, None


def _entries_of(doc: Any, file: Path, kinds: "KindRegistry", problems: list[str]) -> list[Entry]:
    if not isinstance(doc, dict):
        problems.append(f"{file}: expected a mapping with version, namespace and entries")
        return []
    for key in doc:
        if key not in ("version", "namespace", "entries", "include"):
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
        entry = _entry_of(spec, namespace, file, index, kinds, problems)
        if entry is not None:
            out.append(entry)
    return out


def _entry_of(spec: Any, namespace: str, file: Path, index: int, kinds: "KindRegistry",
              problems: list[str]) -> Entry | None:
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
    if not isinstance(kind, str) or kind not in kinds:
        problems.append(f"{where}: unknown kind {kind!r} (known: {', '.join(kinds.names())})")
        return None
    entry = Entry(entry_id, kind, dict(spec), file)
    problems.extend(f"{where}: {p}" for p in [*_check_common(spec), *kinds.check(entry)])
    return entry


def _check_common(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    if spec.get("meta") is not None and not isinstance(spec["meta"], Mapping):
        problems.append(f"meta must be a mapping, got {type(spec['meta']).__name__}")
    if "description" in spec and not isinstance(spec["description"], str):
        problems.append(f"description must be a string, got {type(spec['description']).__name__}")
    return problems
