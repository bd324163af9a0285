"""Orca pack fixtures: the loopback OpenAI-compatible server, a task file, a runner."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from orca_helpers import FakeOpenAI, Runner  # noqa: E402


@pytest.fixture
def fake_llm():
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def tasks_file(tmp_path) -> Path:
    """Six tasks of two types, all with reference answers."""
    rows = [{"id": f"t{i}", "task_type": "math" if i % 2 == 0 else "trivia", "prompt": f"question number {i}?",
             "reference": f"ref{i}"} for i in range(6)]
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def runner(tmp_path) -> Runner:
    return Runner(tmp_path)

