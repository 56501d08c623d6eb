"""The public surface: every name in ``pidflow.__all__`` is exported once, importable, and nothing else is."""

from __future__ import annotations

import importlib
import types
from collections import Counter

import pidflow


def test_all_has_no_duplicates() -> None:
    assert [name for name, n in Counter(pidflow.__all__).items() if n > 1] == []


def test_every_name_in_all_is_importable() -> None:
    module = importlib.import_module("pidflow")
    for name in pidflow.__all__:
        assert getattr(module, name) is not None, name
    namespace: dict[str, object] = {}
    exec(f"from pidflow import {', '.join(pidflow.__all__)}", namespace)
    assert set(pidflow.__all__) <= set(namespace)


def test_every_public_attribute_is_in_all() -> None:
    public = {
        name for name, value in vars(pidflow).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(pidflow.__all__)


def test_each_object_is_exported_under_one_name() -> None:
    objects = Counter(id(getattr(pidflow, name)) for name in pidflow.__all__)
    assert [name for name in pidflow.__all__ if objects[id(getattr(pidflow, name))] > 1] == []


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from pidflow import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(pidflow.__all__)
