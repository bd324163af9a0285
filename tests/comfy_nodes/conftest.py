"""Fixtures for the ComfyUI custom-node tests: a catalogue with the test packs of ``packs/`` (a
ComfyUI ``custom_nodes`` folder written for these tests) and sessions over temporary folders."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nodegraph.run.cache import Cache
from nodegraph.run.context import Environment
from nodegraph.files.roots import FileRoots
from nodegraph.api.plugins import load_registry
from nodegraph.run.session import Session

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # comfy_nodes_helpers
sys.path.insert(0, str(HERE.parent / "server"))  # serverkit: the websocket test client

from comfy_nodes_helpers import PACKS  # noqa: E402


@pytest.fixture(scope="module")
def registry():
    return load_registry(use_env=False, pack_folders={"comfy": [PACKS]})


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    found = {name: tmp_path / name for name in ("input", "models", "output")}
    for path in found.values():
        path.mkdir()
    return found


@pytest.fixture
def session(registry, dirs):
    env = Environment(files=FileRoots(input_dir=dirs["input"], models_dir=dirs["models"], output_dir=dirs["output"]),
                      device="cpu")
    with Session(registry, env, Cache()) as s:
        yield s
