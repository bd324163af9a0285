"""A WebM, animated WebP or GIF clip that SaveVideo wrote carries its workflow in the file
itself (Matroska tags, EXIF text, the GIF comment), not only in the sidecar: written through
the real CLI, the sidecar removed, `nodegraph run clip.<fmt>` runs the same workflow again. A
clip another tool rewrote without the metadata falls back to its sidecar, and without one is
a clear refusal."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nodegraph.graph.workflow import load_workflow
from nodegraph.api.errors import WorkflowInvalid
from nodegraph_nodes.video import WORKFLOW_READERS

FORMATS = ("webm", "webp", "gif")


def nodegraph(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "nodegraph.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def done(out: subprocess.CompletedProcess) -> dict:
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")][-1]


@pytest.fixture
def folder(tmp_path) -> Path:
    from nodegraph_nodes.video.video_io import write_av
    (tmp_path / "input").mkdir()
    y, x = np.mgrid[0:32, 0:48]
    frames = np.stack([np.stack([(x * 5 + 40 * k) % 256, y * 8, np.full_like(x, 50 * k)], -1)
                       for k in range(4)]).astype(np.uint8)
    write_av(tmp_path / "input" / "walk.mp4", frames, 8.0, "libx264", 20, {})
    return tmp_path


def workflow(fmt: str) -> dict:
    return {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "load": {"type": "LoadVideo", "inputs": {"video": "walk.mp4", "max_frames": 3}},
        "save": {"type": "SaveVideo", "inputs": {"video": {"from": "load", "output": "video"}, "format": fmt,
                                                 "prefix": "loop", "quality": 60}}}}


def run_args(target: Path, folder: Path) -> list[str]:
    return ["run", str(target), "--events", "jsonl", "--no-cache", "--out", str(folder / "out"),
            "--input-dir", str(folder / "input"), "--device", "cpu"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_clip_alone_runs_its_workflow_again(folder, fmt):
    source = folder / f"{fmt}.json"
    source.write_text(json.dumps(workflow(fmt)))
    (clip,) = done(nodegraph(*run_args(source, folder), cwd=folder))["outputs"]
    assert clip.endswith(f".{fmt}")
    Path(clip + ".json").unlink()  # the file alone: no sidecar to fall back on

    assert load_workflow(clip, WORKFLOW_READERS).to_json()["nodes"] == workflow(fmt)["nodes"]
    again = done(nodegraph(*run_args(Path(clip), folder), cwd=folder))
    assert again["status"] == "success" and again["outputs"] == [clip]  # the same workflow: the same name


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_clip_without_metadata_falls_back_to_its_sidecar_or_is_refused(folder, fmt):
    """As another tool would rewrite it: the frames without the metadata."""
    from nodegraph_nodes.video.video_io import write_av, write_pillow
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    bare = folder / f"bare.{fmt}"
    if fmt == "webm":
        write_av(bare, frames, 8.0, "libvpx-vp9", 30, {})
    else:
        write_pillow(bare, frames, 8.0, fmt, 80)
    with pytest.raises(WorkflowInvalid, match="without an embedded nodegraph workflow \\(and no .json sidecar\\)"):
        load_workflow(bare, WORKFLOW_READERS)
    Path(f"{bare}.json").write_text(json.dumps({"workflow": workflow(fmt), "provenance": {}}))
    assert load_workflow(bare, WORKFLOW_READERS).to_json()["nodes"] == workflow(fmt)["nodes"]


def test_the_text_survives_every_character(tmp_path):
    """EXIF text is ASCII and a GIF comment bytes: a prompt in any script comes back as written."""
    from nodegraph_nodes.video.video_io import write_av, write_pillow
    wf = {"format": "nodegraph/workflow", "version": 1,
          "nodes": {"s": {"type": "String", "inputs": {"value": "Grüße, 東京 🌊"}}}}
    tags = {"nodegraph.workflow": json.dumps(wf, ensure_ascii=False), "nodegraph.provenance": "{}"}
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    for fmt in FORMATS:
        path = tmp_path / f"text.{fmt}"
        write_av(path, frames, 8.0, "libvpx-vp9", 30, tags) if fmt == "webm" else write_pillow(path, frames, 8.0, fmt,
                                                                                               80, tags)
        assert load_workflow(path, WORKFLOW_READERS).to_json()["nodes"] == wf["nodes"], fmt
