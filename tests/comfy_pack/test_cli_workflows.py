"""The test workflows (native format, comfy nodes) through `nodegraph run` in fresh processes,
as a user runs them: SD 1.x txt2img, SDXL + LoRA, LCM-LoRA (ModelSamplingDiscrete lcm, 4 steps,
cfg 1), SDXL base → refiner (KSamplerAdvanced), img2img at denoise 0.6, SVD → animated WebP,
and text → image → video in one graph (SD 1.x txt2img as SVD's start frame → animated WebP).
Each writes its file; the wall time of each run is printed (-s shows it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from .conftest import WORKFLOWS

CASES = {"sd15_txt2img": ".png", "sdxl_lora": ".png", "lcm_lora": ".png", "sdxl_base_refiner": ".png",
         "sd15_img2img": ".png", "svd_webp": ".webp",
         "txt2img2vid": ".webp"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_workflow_runs_from_the_cli(name, demo_dir, tmp_path):
    env = {**os.environ, "NODEGRAPH_DEMO_DIR": str(demo_dir), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "nodegraph.cli", "run", str(WORKFLOWS / f"{name}.json"),
                           "--out", str(tmp_path / "out"), "--no-cache", "--device", "cpu", "--events", "jsonl"],
                          capture_output=True, text=True, env=env, timeout=600)
    wall = time.perf_counter() - started
    print(f"\n{name}: {wall:.1f} s wall")
    assert proc.returncode == 0, proc.stderr[-2000:]
    done = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")][-1]
    assert done["event"] == "done" and done["status"] == "success"
    written = [p for p in done["outputs"] if p.endswith(CASES[name])]
    assert written and all(os.path.getsize(p) > 0 for p in written)
    if CASES[name] == ".webp":
        from PIL import Image
        with Image.open(written[0]) as img:
            assert img.n_frames == 4
            exif = img.getexif()
        # ComfyUI's API prompt of what ran (ComfyUI opens it); no UI workflow tag: the job came
        # from nodegraph's own file, and ComfyUI would try to open a tag it cannot read first
        assert exif[0x0110].startswith("prompt:") and 0x010F not in exif
        saved = json.loads(exif[0x0110][len("prompt:"):])
        ran = json.loads((WORKFLOWS / f"{name}.json").read_text())["nodes"]
        assert {k: e["class_type"] for k, e in saved.items()} == {k: e["type"] for k, e in ran.items()}
        assert saved["3"]["inputs"]["seed"] == ran["3"]["inputs"]["seed"]
