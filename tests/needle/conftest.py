"""Needle pack fixtures: the loopback pattern server, a runner, one demo-model folder per session."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from needle_helpers import PatternServer, Runner  # noqa: E402


@pytest.fixture
def pattern_server():
    server = PatternServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("needle-demo")


@pytest.fixture
def runner(tmp_path, demo_dir) -> Runner:
    return Runner(tmp_path, demo_dir)
