"""Identical runs write identical files: the camera workflow run in two fresh processes, each
building the demo models in its own fresh home, gives the same MP4 and sidecar bytes under the
same name (same output folder); WebM bytes repeat; the encoders' bytes follow neither the CPU
count nor the contents of uninitialised memory (MALLOC_PERTURB_)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from nodegraph_nodes.video.video_io import write_av

from .conftest import CAMERA

SIZE_ARGS = ["--set=svd.frames=4", "--set=svd.width=64", "--set=svd.height=64", "--set=svd.steps=2"]


def _run_fresh(home, out, *extra) -> dict[str, bytes]:
    """One `nodegraph run` in a new process with its own home (own cache and demo builds)."""
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEGRAPH_")}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", PYTHONPATH=str(CAMERA.parents[1]))
    cmd = [sys.executable, "-m", "nodegraph.cli", "run", str(CAMERA), "--device", "cpu", "--quiet",
           "--out", str(out), *SIZE_ARGS, *extra]
    done = subprocess.run(cmd, env=env, cwd=home, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    for p in out.iterdir():
        p.unlink()
    return files


def test_two_fresh_runs_write_identical_mp4_bytes_under_the_same_name(tmp_path):
    out = tmp_path / "out"
    first = _run_fresh(tmp_path / "home1", out)
    second = _run_fresh(tmp_path / "home2", out, "--no-cache")
    assert [n for n in first if n.endswith(".mp4")] and first.keys() == second.keys()
    for name in first:  # the clip and its sidecar
        assert first[name] == second[name], f"{name} differs between two identical runs"
    # The demo LoRA was built afresh in each home: equal tensors must give an equal file.
    lora = [sorted((tmp_path / h).rglob("camera-pan-left-v*.safetensors")) for h in ("home1", "home2")]
    assert lora[0] and hashlib.sha256(lora[0][0].read_bytes()).digest() == \
        hashlib.sha256(lora[1][0].read_bytes()).digest()


def _clip(height=96, width=128, count=12):
    base = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return np.stack([np.roll(base, 3 * i, axis=1) for i in range(count)])


def test_webm_bytes_repeat(tmp_path):
    first, second = tmp_path / "a.webm", tmp_path / "b.webm"
    for path in (first, second):  # the Matroska muxer wrote a random segment UID unless bitexact
        write_av(path, _clip(), 8.0, "libvpx-vp9", 30, {"nodegraph.workflow": "{}"})
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two CPUs to vary the count FFmpeg sees")
def test_x264_bytes_do_not_depend_on_the_cpu_count(tmp_path):
    frames = _clip(height=192, width=256, count=29)
    cpus = os.sched_getaffinity(0)
    outputs = []
    try:
        for allowed in ({min(cpus)}, cpus):  # FFmpeg and x264 count the CPUs this thread may use
            os.sched_setaffinity(0, allowed)
            path = tmp_path / f"clip{len(allowed)}.mp4"
            write_av(path, frames, 8.0, "libx264", 18, {"nodegraph.workflow": "{}"})
            outputs.append(path.read_bytes())
    finally:
        os.sched_setaffinity(0, cpus)
    assert outputs[0] == outputs[1]


ENCODE = """
import sys
import cv2
import numpy as np
from nodegraph_nodes.video.video_io import write_av
rng = np.random.default_rng(0)
texture = cv2.GaussianBlur(rng.integers(0, 255, (192, 256, 3), dtype=np.uint8), (0, 0), 3).astype(float)
fade = np.stack([texture * (1 - i / 13) for i in range(13)]).astype(np.uint8)  # a texture fading out
noisy = np.stack([np.clip(texture + rng.integers(-8, 8, texture.shape), 0, 255) for _ in range(13)]).astype(np.uint8)
for name, codec, frames in (("fade64.mp4", "libx264", fade[:, :64, :64]), ("noisy64.mp4", "libx264", noisy[:, :64, :64]),
                            ("fade.mp4", "libx264", fade), ("fade64.webm", "libvpx-vp9", fade[:, :64, :64])):
    write_av(sys.argv[1] + "/" + name, np.ascontiguousarray(frames), 8.0, codec, 18, {"nodegraph.workflow": "{}"})
"""


def test_encoder_bytes_do_not_depend_on_uninitialised_memory(tmp_path):
    """glibc fills fresh allocations with MALLOC_PERTURB_'s byte: an encoder that reads memory it
    never wrote gives other bytes per value (x264's macroblock-tree did on 64x64 frames)."""
    outputs = []
    for perturb in ("85", "170"):
        folder = tmp_path / perturb
        folder.mkdir()
        env = {**os.environ, "MALLOC_PERTURB_": perturb, "PYTHONPATH": str(CAMERA.parents[1])}
        done = subprocess.run([sys.executable, "-c", ENCODE, str(folder)], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        outputs.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert len(outputs[0]) == 4
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], name
