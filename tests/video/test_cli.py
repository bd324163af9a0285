"""The camera workflow through the real CLI: Ctrl-C mid-sampling exits 130, the rerun finishes
from what the first run cached, and `nodegraph run clip.mp4` re-runs the clip's workflow."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from .conftest import CAMERA, TEST_SIZE

SIZE_ARGS = [f"--set=svd.{k}={v}" for k, v in {**TEST_SIZE, "steps": 6}.items()]


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_interrupt_exits_130_then_the_rerun_finishes_from_cache_and_the_mp4_reruns(tmp_path, demo_dir):
    env = {**os.environ, "NODEGRAPH_DEMO_DIR": str(demo_dir), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(CAMERA.parents[1])}
    cmd = [sys.executable, "-m", "nodegraph.cli", "run", str(CAMERA), "--events", "jsonl", "--device", "cpu",
           "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"), *SIZE_ARGS]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stdout:  # Ctrl-C once the sampler has finished its first step
        if line.startswith("{"):
            seen.append(json.loads(line))
            if seen[-1].get("event") == "progress" and seen[-1].get("node") == "svd" and seen[-1]["value"] >= 1:
                proc.send_signal(signal.SIGINT)
                break
    rest, stderr = proc.communicate(timeout=300)
    seen += events(rest)
    assert proc.returncode == 130, stderr
    assert seen[-1]["event"] == "done" and seen[-1]["status"] == "interrupted"
    steps = [e["value"] for e in seen if e.get("event") == "progress" and e.get("node") == "svd"]
    assert steps[-1] < 6  # stopped inside the sampler, within a step of the signal
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.mp4"))

    again = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    done = events(again.stdout)[-1]
    cached = {e["node"] for e in events(again.stdout) if e["event"] == "cached"}
    assert "image" in cached and done["status"] == "success"  # the start frame came from the disk cache
    (mp4,) = done["outputs"]

    rerun = subprocess.run([*cmd[:4], mp4, *cmd[5:]], env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    redone = events(rerun.stdout)[-1]
    assert redone["outputs"] == [mp4] and redone["cached"] >= 4  # same workflow, so the same keys
