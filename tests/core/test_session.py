"""The one session API (prepare -> Job -> execute) that the CLI, the server and embedders use."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from nodegraph.api.errors import WorkflowInvalid
from nodegraph.run.events import CollectingSink
from nodegraph.run.executor import InProcessExecutor
from nodegraph.run.session import Session

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _add_show(a: int, b: int) -> dict:
    return {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "a": {"type": "Int", "inputs": {"value": a}},
        "sum": {"type": "MathInt", "inputs": {"a": {"from": "a", "output": "value"}, "b": b}},
        "show": {"type": "Show", "inputs": {"value": {"from": "sum", "output": "value"}}}}}


def test_the_embedding_guide_example_runs(tmp_path, monkeypatch):
    (code,) = re.findall(r"```python\n(.*?)```", (DOCS / "embedding.md").read_text(), re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/embedding.md", "exec"), {})


def test_prepare_hands_sink_interrupt_and_id_to_the_job(tmp_path):
    with Session.open(output_dir=tmp_path, cache_dir=None, device="cpu") as session:
        events = CollectingSink()
        job = session.prepare(_add_show(4, 5), sink=events, job_id="mine")
        result = session.execute(job)
        assert job.result is result and result.ui["show"] == {"text": "9"}
        assert {e["job"] for e in events.events} == {"mine"}
        assert session.run(_add_show(4, 6)).ui["show"] == {"text": "10"}  # a changed input changes the result
        stopped = session.prepare(_add_show(1, 1), interrupt=(token := job.interrupt.__class__()))
        token.set()
        assert session.execute(stopped).status == "interrupted"
        with pytest.raises(WorkflowInvalid):
            session.prepare(_add_show(1, 1) | {"nodes": {"x": {"type": "NoSuchNode"}}})


def test_open_with_a_disk_cache_serves_a_second_session(tmp_path):
    settings = dict(output_dir=tmp_path / "out", cache_dir=tmp_path / "cache", device="cpu")
    with Session.open(**settings) as first:
        assert len(first.run(_add_show(2, 2)).executed) == 3
    with Session.open(**settings) as second:
        assert second.run(_add_show(2, 2)).cached == ["a", "sum", "show"]
    with Session.open(**settings, cache_enabled=False) as off:
        assert off.run(_add_show(2, 2)).cached == []


def test_the_executor_is_pluggable_and_closed_with_the_session(tmp_path):
    class Recording(InProcessExecutor):
        def __init__(self):
            self.jobs, self.closed = [], threading.Event()

        def execute(self, job):
            self.jobs.append(job.id)
            return super().execute(job)

        def close(self):
            self.closed.set()

    executor = Recording()
    with Session.open(output_dir=tmp_path, cache_dir=None, device="cpu", executor=executor) as session:
        result = session.run(_add_show(1, 2), job_id="j1")
    assert result.ok and executor.jobs == ["j1"] and executor.closed.is_set()
