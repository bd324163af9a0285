"""Fixtures for the ComfyUI import tests: a catalogue with small ComfyUI-shaped test nodes.

The nodes mimic ComfyUI's contract (class names, input order, output slots) on plain strings, so
conversion and running are tested in milliseconds; the real ComfyUI nodes are the comfy pack's.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from nodegraph.api.plugins import load_registry

from comfyui_helpers import TEST_PLUGIN


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("comfy_plugins")
    (folder / "comfytest.py").write_text(TEST_PLUGIN)
    return folder


@pytest.fixture(scope="session")
def registry(plugin_dir):
    reg = load_registry([plugin_dir], use_env=False)
    assert "TCheckpointLoader" in reg.nodes, reg.failures
    return reg
