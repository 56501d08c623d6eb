"""The public API is typed: ``mypy --strict`` passes on ``pidflow/``, on every example and on every Python snippet
of the README and ``docs/``, and it catches a misspelt ``pidflow.process`` method.

Snippets are the ```python blocks of ``README.md`` and ``docs/*.md``, each checked as a file of its own. A block
that is a fragment (it leans on names defined in the prose around it) opts out visibly, with the fence
```` ```python fragment ````; use it sparingly, a checked snippet is one that cannot rot.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pidflow import ProcessAPI
from pidflow._api import _CurrentProcess

ROOT = Path(__file__).resolve().parent.parent
#: The fence that opts a block out of the check.
FRAGMENT = "fragment"
_FENCE = re.compile(r"^```python(?P<info>[^\n`]*)\n(?P<code>.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def python_snippets(root: Path = ROOT) -> list[tuple[str, int, str]]:
    """``(document, line of the fence, code)`` of every checked ```python block of the README and docs/*.md."""
    found = []
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            if FRAGMENT in match.group("info").split():
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append((doc.relative_to(root).as_posix(), line, match.group("code")))
    return found


def snippet_module(code: str) -> tuple[str, int]:
    """The module mypy checks for a snippet, and how many lines it adds before the snippet's first: a snippet with
    top-level ``await`` / ``async with`` (as a reader types it in ``python -m asyncio``) runs in an async
    function."""
    try:
        compile(code, "<snippet>", "exec", dont_inherit=True)  # (compiled, never run)
        return code, 0
    except SyntaxError:
        compile(code, "<snippet>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    return "async def _snippet() -> None:\n" + textwrap.indent(code, "    "), 1


def write_snippets(folder: Path, snippets: list[tuple[str, int, str]]) -> dict[str, tuple[str, int]]:
    """One module per snippet in ``folder``; returns its file name -> (document, line number of its line 0)."""
    names = {}
    for doc, line, code in snippets:
        name = re.sub(r"\W", "_", f"snippet_{doc[:-3]}_{line}") + ".py"
        module, added = snippet_module(code)
        (folder / name).write_text(module, encoding="utf-8")
        names[name] = (doc, line - added)
    return names


def run_mypy(*paths: str | Path, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` with the project's settings (pyproject.toml), from the repository root."""
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-color-output", "--no-error-summary",
                           *options, *map(str, paths)], cwd=ROOT, capture_output=True, text=True, timeout=600)


def _explain(output: str, names: dict[str, tuple[str, int]]) -> str:
    """mypy's report with each snippet module's name and line replaced by the document's own."""
    for name, (doc, line0) in names.items():
        output = re.sub(rf"\S*{re.escape(name)}:(\d+)", lambda m: f"{doc}:{line0 + int(m.group(1))}", output)
    return output


def test_the_fence_parser_finds_checked_blocks_and_skips_fragments(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("intro\n\n```python\nx: int = 1\n```\n\n```sh\nls\n```\n")
    (tmp_path / "docs" / "a.md").write_text("```python fragment\nundefined_name\n```\n```python\ny = 2\n```\n")
    assert python_snippets(tmp_path) == [("README.md", 3, "x: int = 1\n"), ("docs/a.md", 4, "y = 2\n")]


def test_a_snippet_with_top_level_await_is_checked_inside_an_async_function() -> None:
    assert snippet_module("x = 1\n") == ("x = 1\n", 0)
    module, added = snippet_module("import trio\nawait trio.sleep(0)\n")
    assert (module, added) == ("async def _snippet() -> None:\n    import trio\n    await trio.sleep(0)\n", 1)
    with pytest.raises(SyntaxError):
        snippet_module("def broken(:\n")


def test_the_docs_have_python_snippets_to_check() -> None:
    # (a regex that matched nothing would make the strict check below pass vacuously)
    assert len(python_snippets()) >= 5


def test_current_process_mirrors_every_public_member_of_the_process_api() -> None:
    """``pidflow.process`` spells out every member (no ``__getattr__``): a method added to ProcessAPI must be
    added to it too, with the same signature."""
    assert not hasattr(_CurrentProcess, "__getattr__")
    public = {name for name in dir(ProcessAPI) if not name.startswith("_")}
    mirrored = {name for name in dir(_CurrentProcess) if not name.startswith("_")}
    assert public - mirrored == set(), "add these to pidflow._api._CurrentProcess"
    assert mirrored - public == set()
    for name in public:
        theirs, ours = getattr(ProcessAPI, name), getattr(_CurrentProcess, name)
        if callable(theirs) and not isinstance(theirs, property):
            assert inspect.signature(ours).parameters.keys() == inspect.signature(theirs).parameters.keys(), name


@pytest.mark.timeout(600)
def test_mypy_strict_passes_on_the_package_the_examples_and_the_doc_snippets(tmp_path: Path) -> None:
    names = write_snippets(tmp_path, python_snippets())
    examples = sorted(ROOT.glob("examples/*/*.py"))
    assert examples
    result = run_mypy("pidflow", *[p.relative_to(ROOT) for p in examples], *sorted(tmp_path.glob("*.py")))
    assert result.returncode == 0, "mypy --strict found problems:\n" + _explain(result.stdout + result.stderr, names)


@pytest.mark.timeout(600)
def test_mypy_catches_a_misspelt_process_method(tmp_path: Path) -> None:
    (tmp_path / "typo.py").write_text(
        "import pidflow\n"
        "from pidflow import process\n\n\n"
        "async def body(_input: object) -> None:\n"
        "    await process.send(process.pid(), 'topic', 1)\n"
        "    await process.sned(process.pid(), 'topic', 1)\n"
        "    await pidflow.process.spwan(body)\n")
    result = run_mypy(tmp_path / "typo.py", options=("--follow-imports=silent",))  # (this file's errors only)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, result.stdout
    assert 'typo.py:7: error: "_CurrentProcess" has no attribute "sned"' in errors[0]
    assert 'typo.py:8: error: "_CurrentProcess" has no attribute "spwan"' in errors[1]
