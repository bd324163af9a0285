"""torch.compile's disk cache lives in nodegraph's cache folder for run and serve, so a fast-mode
process after a restart (or in a fresh container with the cache folder mounted) mostly loads
what an earlier one compiled; a location the user set wins."""
from __future__ import annotations

import json

from nodegraph.cli import main as cli

WORKFLOW = {"format": "nodegraph/workflow", "version": 1, "nodes": {
    "solid": {"type": "SolidImage", "inputs": {"width": 8, "height": 8}},
    "save": {"type": "SaveImage", "inputs": {"images": {"from": "solid", "output": "image"}}}}}


def test_run_and_serve_put_torch_compile_cache_in_their_cache_folder(tmp_path, monkeypatch):
    import os
    workflow = tmp_path / "w.json"
    workflow.write_text(json.dumps(WORKFLOW))
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    args = ["run", str(workflow), "--out", str(tmp_path / "out"), "--quiet"]
    assert cli.main(args + ["--cache-dir", str(tmp_path / "cache")]) == cli.EXIT_OK
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "cache" / "torch-compile")

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    from nodegraph.server import app
    monkeypatch.setattr(app, "serve_forever", lambda args: cli.EXIT_OK)
    assert cli.main(["serve", "--cache-dir", str(tmp_path / "served"), "--device", "cpu"]) == cli.EXIT_OK
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "served" / "torch-compile")

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert cli.main(args + ["--cache-dir", str(tmp_path / "other")]) == cli.EXIT_OK
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "mine")
