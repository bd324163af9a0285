"""The demo backend: exact token counts from the local model's tokenizer, its window enforced,
and the shipped workflow end to end."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from needle_helpers import REPO, link

WORKFLOW = REPO / "workflows" / "needle_haystack.json"


def demo_grid(lengths, depths, **grid) -> dict:
    return {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "llm": {"type": "LocalLLM", "inputs": {"model": "demo:orca-tiny-llama"}},
        "haystack": {"type": "Haystack", "inputs": {"llm": link("llm", "llm"), "tokens": 300}},
        "grid": {"type": "NeedleGrid", "inputs": {"llm": link("llm", "llm"), "haystack": link("haystack", "haystack"),
                                                  "lengths": lengths, "depths": depths, "max_tokens": 4, **grid}},
        "heatmap": {"type": "RecallHeatmap", "inputs": {"results": link("grid", "results")}},
    }}


def test_local_model_counts_with_its_own_tokenizer(runner):
    result, _ = runner.run(demo_grid([300, 600], [0, 100]))
    assert result.ok, result.error
    table = json.loads((runner.out / "needle_table.json").read_text())
    assert table["token_counter"] == "tokenizer of orca-tiny-llama-v1"
    # The demo tokenizer is byte-level: one token per byte, so the counts can be checked exactly.
    for cell in table["cells"]:
        assert 0.9 * cell["length"] <= cell["tokens"] <= cell["length"]
        assert cell["needle_tokens_from_end"] <= cell["tokens"]
    at_end = [c for c in table["cells"] if c["depth"] == 100]
    needle = "The secret ingredient in Grandmother Ilse's plum cake is a spoonful of ground cardamom."
    assert all(c["needle_tokens_from_end"] == len(needle.encode()) for c in at_end)


def test_local_model_window_is_enforced_naming_the_cell(runner):
    result, events = runner.run(demo_grid([1000, 5000], [50]))
    assert result.status == "failed" and result.error["node"] == "grid"
    message = result.error["message"]
    assert "cell (length 5000, depth 50%)" in message and "4096-token context window" in message
    assert "tokenizer of orca-tiny-llama-v1" in message
    assert not [e for e in events.of("progress") if e["node"] == "grid"]  # nothing was asked


@pytest.mark.slow
def test_shipped_workflow_runs_as_is_on_the_demo_backend(tmp_path, demo_dir):
    shutil.copy(WORKFLOW, tmp_path / "needle_haystack.json")
    env = {**os.environ, "NODEGRAPH_DEMO_DIR": str(demo_dir), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "nodegraph.cli", "run", "needle_haystack.json", "--out", "out",
                          "--cache-dir", "cache", "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    workflow = json.loads(WORKFLOW.read_text())
    lengths, depths = (workflow["nodes"]["grid"]["inputs"][k] for k in ("lengths", "depths"))
    table = json.loads((tmp_path / "out" / "needle_demo_table.json").read_text())
    assert (table["lengths"], table["depths"]) == (lengths, depths)
    assert len(table["scores"]) == len(depths) and all(len(row) == len(lengths) for row in table["scores"])
    assert all(s is not None for row in table["scores"] for s in row)
    from PIL import Image
    with Image.open(tmp_path / "out" / "needle_demo_heatmap.png") as image:
        meta = json.loads(image.info["nodegraph:grid"])
    assert (meta["rows"], meta["cols"]) == (len(depths), len(lengths))
    report = (tmp_path / "out" / "needle_demo_report.md").read_text()
    assert "token counts: tokenizer of orca-tiny-llama-v1" in report


def test_the_openai_workflow_without_its_key_or_endpoint_is_refused_before_running(tmp_path):
    """As a new user runs it: no OPENAI_API_KEY in the environment is a validation problem naming
    the node and input (exit 2, nothing executed), not a node failing mid-run."""
    shipped = REPO / "workflows" / "needle_haystack_openai.json"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))

    def cli(*args, **extra):
        return subprocess.run([sys.executable, "-m", "nodegraph.cli", *args], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path, env={**env, **extra})
    for command in (["validate", str(shipped)], ["run", str(shipped), "--no-cache", "--events", "jsonl"]):
        out = cli(*command)
        assert out.returncode == 2, out.stdout + out.stderr
        assert "node 'model', input 'api_key_env': environment variable OPENAI_API_KEY is not set" in \
            out.stdout + out.stderr
    assert '"event": "executing"' not in out.stdout
    assert cli("validate", str(shipped), OPENAI_API_KEY="sk-test").returncode == 0  # with the key: valid
    no_endpoint = json.loads(shipped.read_text())
    no_endpoint["nodes"]["model"]["inputs"]["base_url"] = ""
    (tmp_path / "no_endpoint.json").write_text(json.dumps(no_endpoint))
    out = cli("validate", "no_endpoint.json", OPENAI_API_KEY="sk-test")
    assert out.returncode == 2 and "node 'model', input 'base_url': no endpoint" in out.stdout
