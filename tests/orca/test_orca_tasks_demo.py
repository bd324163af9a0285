"""LoadTasks formats, the demo model, and the shipped workflow end to end on the demo backend."""
from __future__ import annotations

import json
import sys

import pytest

from orca_helpers import REPO

FIELDS = ["id", "task_type", "prompt", "reference"]


def load(runner, path, **inputs):
    workflow = {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "tasks": {"type": "LoadTasks", "inputs": {"file": str(path), **inputs}},
        "show": {"type": "PreviewRecords", "inputs": {"records": {"from": "tasks", "output": "tasks"}, "count": 100}}}}
    return runner.run(workflow)


def test_jsonl_json_and_csv_give_the_same_tasks(runner, tmp_path):
    rows = [{"id": "a", "type": "math", "question": "1+1?", "answer": 2}, {"prompt": "Write a haiku."}]
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    (tmp_path / "t.json").write_text(json.dumps({"tasks": rows}))
    (tmp_path / "t.csv").write_text("id,type,question,answer,prompt\na,math,1+1?,2,\n,,,,Write a haiku.\n")
    expected = [{"id": "a", "task_type": "math", "prompt": "1+1?", "reference": "2"},
                {"id": "task-0002", "task_type": "general", "prompt": "Write a haiku.", "reference": None}]
    for name in ("t.jsonl", "t.json", "t.csv"):
        result, _ = load(runner, tmp_path / name)
        assert result.ok, (name, result.error)
        assert result.ui["show"]["records"] == expected, name


def test_bad_lines_are_named(runner, tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"prompt": "ok"}\n{"prompt": \n')
    result, _ = load(runner, tmp_path / "bad.jsonl")
    assert result.status == "failed" and "line 2 is not JSON" in result.error["message"]
    (tmp_path / "noprompt.jsonl").write_text('{"prompt": "ok"}\n{"task_type": "x"}\n')
    result, _ = load(runner, tmp_path / "noprompt.jsonl")
    assert result.status == "failed" and "line 2: no 'prompt'" in result.error["message"]


def test_importing_the_pack_imports_no_heavy_modules():
    import subprocess
    code = "import sys, nodegraph_nodes.llm.orca; print([m for m in ('torch', 'transformers', 'httpx') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_demo_workflow_runs_as_shipped_and_writes_the_dataset(runner, monkeypatch):
    from nodegraph.graph.workflow import load_workflow
    workflow = load_workflow(REPO / "workflows" / "orca2_explanation_tuning.json").to_json()
    result, sink = runner.run(workflow)
    assert result.ok, result.error

    lines = (runner.out / "orca2_demo.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    tasks = [json.loads(line) for line in (REPO / "nodes/llm/demo/orca_demo_tasks.jsonl").read_text().splitlines()]
    assert [r["messages"][1]["content"] for r in records] == [t["prompt"] for t in tasks]
    assert all([m["role"] for m in r["messages"]] == ["system", "user", "assistant"] for r in records)
    assert len({r["messages"][0]["content"] for r in records}) == 1  # one generic message
    assert all(r["messages"][2]["content"] for r in records)  # the demo model said *something*
    assert (runner.out / "orca2_demo.provenance.json").is_file()
    assert sum(e["node"] == "teacher" for e in sink.of("progress")) == len(tasks) + 1

    # A fresh session asks the model nothing (every answer is an LLM-cache hit: no cache file is
    # rewritten) and writes the same bytes.
    first = (runner.out / "orca2_demo.jsonl").read_bytes()
    llm_files = {p: p.stat().st_mtime_ns for p in (runner.cache_dir / "llm").rglob("*.json")}
    assert len(llm_files) > len(tasks)  # strategy probes + teacher answers
    result, _ = runner.run(workflow)
    assert result.ok and (runner.out / "orca2_demo.jsonl").read_bytes() == first
    assert {p: p.stat().st_mtime_ns for p in (runner.cache_dir / "llm").rglob("*.json")} == llm_files


@pytest.mark.slow
def test_local_backend_sampling_is_seeded_and_cached_by_parameters(tmp_path):
    from nodegraph_nodes.llm.backends import LLMService, LLMSpec, materialise_demo_llm, sampling_params
    from nodegraph_nodes.llm.cache import LLMCache
    folder = materialise_demo_llm(tmp_path / "demo")
    assert materialise_demo_llm(tmp_path / "demo") == folder  # built once
    service, cache = LLMService(), LLMCache(tmp_path / "llm")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]

    def ask(temperature, seed):
        spec = LLMSpec(kind="transformers", model=str(folder), identity=service.fingerprint(folder), device="cpu",
                       concurrency=1, params=sampling_params(temperature, 1.0, 16, seed))
        return service.complete(spec, messages, cache)

    a, b, c = ask(1.0, 1), ask(1.0, 2), ask(1.0, 1)
    assert not a["cached"] and not b["cached"] and c["cached"]
    assert a["content"] != b["content"] and a["content"] == c["content"]
    fresh = LLMService()  # a new session samples the same text for the same seed
    spec = LLMSpec(kind="transformers", model=str(folder), identity=fresh.fingerprint(folder), device="cpu",
                   concurrency=1, params=sampling_params(1.0, 1.0, 16, 1))
    assert fresh.complete(spec, messages, LLMCache(None))["content"] == a["content"]
    service.close(), fresh.close()
