"""Shared test settings (offline hub) and the fixtures the model packs' test folders share.

The pack fixtures (tests/sdxl, tests/video, and any pack folder after them): the pack's demos
built once per session, one warm model manager, sessions on both, the installed catalogue plus
a node that hands any value back. A folder opts in by defining a ``pack`` fixture (a
``pack_fixtures.PackUnderTest``); its helpers (shipped workflows at test size, capture taps,
``run``) are in ``pack_fixtures.py``. A folder's own fixture of the same name wins.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def registry(pack):
    """The installed catalogue plus TestCapture."""
    from nodegraph.api.plugins import load_registry
    from pack_fixtures import Capture
    reg = load_registry(())
    reg.add_node(Capture, f"tests.{pack.name}")
    return reg


@pytest.fixture(scope="session")
def demo_dir(pack, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp(f"{pack.name}-demo")
    for value in pack.demos:
        pack.demo.materialise(value, folder)
    return folder


@pytest.fixture(scope="session")
def demo_paths(pack, demo_dir) -> dict[str, Path]:
    """The built demos by name (without ``demo:``)."""
    return {value[len("demo:"):]: pack.demo.materialise(value, demo_dir) for value in pack.demos}


@pytest.fixture(scope="session")
def manager(pack):
    """The warm model manager the folder's sessions share."""
    return pack.new_manager()


@pytest.fixture
def make_session(pack, demo_dir, manager, registry, tmp_path) -> Callable:
    """``make(cache=None, models_dir=None, own_manager=None)``: a CPU Session on the shared demo
    folder and warm manager (or ``own_manager``), files under tmp_path, cache off unless given."""
    from nodegraph import Session
    from nodegraph.files.roots import FileRoots
    from nodegraph.run.cache import Cache
    from nodegraph.run.context import Environment

    def make(cache=None, models_dir: Path | None = None, own_manager=None) -> Session:
        env = Environment(files=FileRoots(input_dir=tmp_path / "input", models_dir=models_dir or tmp_path / "models",
                                          output_dir=tmp_path / "output"),
                          device="cpu", demo_dir=demo_dir)
        env.services[pack.service] = own_manager or manager
        return Session(registry, env=env, cache=cache if cache is not None else Cache(enabled=False))
    return make
