"""The main job (LCM-LoRA SDXL, demo models) on Ray: the same bytes as in-process, the same cache."""
from __future__ import annotations

import json
from pathlib import Path

from nodegraph.run.cache import Cache

from ray_helpers import placed, run

MAIN_JOB = Path(__file__).resolve().parents[2] / "workflows" / "lcm_lora_sdxl.json"
MODEL_NODES = {"model", "merge", "prompt", "sampler", "decode"}


def main_job(seed: int = 42, size: int = 64) -> dict:
    data = json.loads(MAIN_JOB.read_text())
    data["nodes"]["sampler"]["inputs"].update(width=size, height=size, seed=seed)
    return data


def test_main_job_same_bytes_as_in_process_and_same_cache_semantics(make_session, tmp_path):
    local, _ = run(make_session(ray=False), main_job())
    assert local.status == "success", local.error
    (png,) = local.outputs
    expected = Path(png).read_bytes()
    Path(png).unlink()

    session = make_session(cache=Cache(disk_dir=tmp_path / "cache"))
    first, sink = run(session, main_job())
    assert first.status == "success", first.error
    assert first.outputs == local.outputs and Path(png).read_bytes() == expected
    where = placed(sink)
    assert set(where) == MODEL_NODES  # SaveImage ran on the driver
    assert len(set(where.values())) == 1  # one model worker served the whole model chain

    again, _ = run(session, main_job())
    # As in-process within one session: everything is served by the driver's cache.
    assert again.status == "success" and again.executed == [] and len(again.cached) == 6
    assert again.outputs == first.outputs

    other, sink = run(session, main_job(seed=7))
    assert other.status == "success" and {"sampler", "decode"} <= set(other.executed)
    assert placed(sink)["sampler"] == where["sampler"]  # sticky: the worker that holds the model
    assert Path(other.outputs[0]).read_bytes() != expected
