"""`nodegraph run` on hostile media and on a node that crashes: one error line, exit 1, no
traceback on the terminal; the traceback in --traceback and in the error log."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from media_cases import PLUGINS

REPO = Path(__file__).resolve().parents[2]


def _workflow(tmp_path: Path, nodes: dict) -> Path:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"format": "nodegraph/workflow", "version": 1, "nodes": nodes}))
    return path


def _run(tmp_path: Path, workflow: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "HF_HUB_OFFLINE": "1", "NODEGRAPH_DEMO_DIR": str(tmp_path / "demo"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])), **(env or {})}
    for name in ("NODEGRAPH_MAX_IMAGE_PIXELS", "NODEGRAPH_MAX_VIDEO_PIXELS"):
        if env is None or name not in env:
            environ.pop(name, None)
    cmd = [sys.executable, "-m", "nodegraph.cli", "run", str(workflow), "--device", "cpu", "--no-cache",
           "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"), "--input-dir", str(tmp_path / "input"),
           "--plugins", str(PLUGINS), *args]
    return subprocess.run(cmd, env=environ, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def _error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def _video(name: str, **inputs) -> dict:
    return {"clip": {"type": "LoadVideo", "inputs": {"video": name, **inputs}},
            "frame": {"type": "ExtractFrame", "inputs": {"video": {"from": "clip", "output": "video"}}},
            "show": {"type": "Show", "inputs": {"value": {"from": "frame", "output": "image"}}}}


def test_a_hostile_image_is_one_line_and_exit_1(tmp_path, input_dir):
    wf = _workflow(tmp_path, {"image": {"type": "LoadImage", "inputs": {"image": "bomb_11000.png"}},
                              "show": {"type": "Show", "inputs": {"value": {"from": "image", "output": "image"}}}})
    proc = _run(tmp_path, wf)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    (line,) = _error_lines(proc)
    assert line.startswith("error: node 'image' (LoadImage), input 'image': image 'bomb_11000.png' is 11000×11000")
    assert "over the image budget" in line


def test_budgets_are_set_per_run_by_flag_or_environment(tmp_path, input_dir):
    wf = _workflow(tmp_path, _video("good.mp4"))  # 12 frames of 64×48 = 36,864 pixels
    assert _run(tmp_path, wf).returncode == 0
    refused = _run(tmp_path, wf, "--max-video-pixels", "30000")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    (line,) = _error_lines(refused)
    assert "would keep 12 frames of 64×48" in line and "--max-video-pixels" in line
    by_env = _run(tmp_path, wf, env={"NODEGRAPH_MAX_VIDEO_PIXELS": "30K"})
    assert by_env.returncode == 1 and "over the video budget of 30,000 pixels" in by_env.stderr
    flag_wins = _run(tmp_path, wf, "--max-video-pixels", "640x480", env={"NODEGRAPH_MAX_VIDEO_PIXELS": "30K"})
    assert flag_wins.returncode == 0, flag_wins.stderr
    bad = _run(tmp_path, wf, env={"NODEGRAPH_MAX_IMAGE_PIXELS": "lots"})
    assert bad.returncode == 2 and "NODEGRAPH_MAX_IMAGE_PIXELS" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("name", ["frames_10000.gif", "declares_100000.mp4", "fps_million.mp4", "truncated.mp4"])
def test_a_hostile_clip_is_one_line_and_exit_1(tmp_path, input_dir, name):
    proc = _run(tmp_path, _workflow(tmp_path, _video(name)))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (line,) = _error_lines(proc)
    assert line.startswith(f"error: node 'clip' (LoadVideo), input 'video': video {name!r} ")


def test_an_unexpected_exception_is_one_line_its_traceback_in_the_log_and_on_request(tmp_path, input_dir):
    wf = _workflow(tmp_path, {"boom": {"type": "TestBoom", "inputs": {}},
                              "show": {"type": "Show", "inputs": {"value": {"from": "boom", "output": "value"}}}})
    proc = _run(tmp_path, wf)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "_deep" not in proc.stderr
    (line,) = _error_lines(proc)
    log = tmp_path / "cache" / "logs" / "errors.log"
    assert line == ("error: node 'boom' (TestBoom): RuntimeError: kaboom in a helper | second line of the message "
                    f"(traceback: --traceback, or {log})")
    assert len(proc.stderr.splitlines()) == 2  # the error, then the "failed: ..." summary
    logged = log.read_text()
    assert "job " in logged and "node 'boom' (TestBoom): RuntimeError" in logged
    assert "Traceback (most recent call last)" in logged and "in _deep" in logged
    shown = _run(tmp_path, wf, "--traceback")
    assert shown.returncode == 1
    assert "Traceback (most recent call last)" in shown.stderr and "in _deep" in shown.stderr
    assert _error_lines(shown)[0].startswith("error: node 'boom' (TestBoom): RuntimeError: kaboom in a helper")
    fine = _run(tmp_path, _workflow(tmp_path, {"boom": {"type": "TestBoom", "inputs": {"fail": False, "value": 7}},
                                               "show": {"type": "Show",
                                                        "inputs": {"value": {"from": "boom", "output": "value"}}}}))
    assert fine.returncode == 0 and "show: 7" in fine.stderr
