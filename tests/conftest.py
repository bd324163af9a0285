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
def pack_state() -> dict[str, dict]:
    """What each pack's folder builds once per test session, by pack name.

    The fixtures below read it rather than being session-scoped themselves: pytest caches a
    session fixture once for the whole run, whichever folder asked first, so a ``demo_dir`` or
    ``manager`` built for one folder's ``pack`` would be handed to the next folder's tests too.
    """
    return {}


def _once(pack_state: dict, pack, what: str, build: Callable):
    state = pack_state.setdefault(pack.name, {})
    if what not in state:
        state[what] = build()
    return state[what]


@pytest.fixture(scope="module")
def registry(pack, pack_state):
    """The installed catalogue plus TestCapture."""
    def build():
        from nodegraph.api.plugins import load_registry
        from pack_fixtures import Capture
        reg = load_registry(())
        reg.add_node(Capture, f"tests.{pack.name}")
        return reg
    return _once(pack_state, pack, "registry", build)


@pytest.fixture(scope="module")
def demo_dir(pack, pack_state, tmp_path_factory) -> Path:
    def build():
        folder = tmp_path_factory.mktemp(f"{pack.name}-demo")
        for value in pack.demos:
            pack.demo.materialise(value, folder)
        return folder
    return _once(pack_state, pack, "demo_dir", build)


@pytest.fixture(scope="module")
def demo_paths(pack, demo_dir) -> dict[str, Path]:
    """The built demos by name (without ``demo:``)."""
    return {value[len("demo:"):]: pack.demo.materialise(value, demo_dir) for value in pack.demos}


@pytest.fixture(scope="module")
def manager(pack, pack_state):
    """The warm model manager the folder's sessions share."""
    return _once(pack_state, pack, "manager", pack.new_manager)


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


@pytest.fixture
def comfy_session(tmp_path):
    """A CPU Session that takes ComfyUI prompts and files (``nodegraph.comfyui.install``), folders
    under tmp_path (input/, models/, out/), cache off."""
    from nodegraph.comfyui import install
    from nodegraph.run.cache import Cache
    from nodegraph.run.session import Session
    s = install(Session.open(input_dir=tmp_path / "input", models_dir=tmp_path / "models",
                             output_dir=tmp_path / "out", cache_enabled=False, device="cpu"))
    s.cache = Cache(enabled=False)
    return s
