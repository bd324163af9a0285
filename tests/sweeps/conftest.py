"""Fixtures for sweep tests: sessions over tmp folders sharing one disk cache."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from nodegraph.api.plugins import load_registry  # noqa: E402
from nodegraph.files.roots import FileRoots  # noqa: E402
from nodegraph.run.cache import Cache  # noqa: E402
from nodegraph.run.context import Environment  # noqa: E402
from nodegraph.run.session import Session  # noqa: E402


@pytest.fixture(scope="session")
def registry():
    return load_registry([], use_env=False)


@pytest.fixture
def make_session(registry, tmp_path):
    """Sessions sharing one disk cache and output folder (a new one is a new process's view)."""
    opened = []

    def make() -> Session:
        roots = FileRoots(input_dir=tmp_path / "input", models_dir=tmp_path / "models",
                          output_dir=tmp_path / "output")
        env = Environment(files=roots, device="cpu", cache_dir=tmp_path / "cache")
        session = Session(registry, env, Cache(memory_bytes=1 << 26, disk_dir=tmp_path / "cache"))
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()
