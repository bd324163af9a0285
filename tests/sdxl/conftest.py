"""Shared fixtures for the SDXL pack: one demo materialisation and one warm model manager."""
from __future__ import annotations

from pathlib import Path

import pytest

from nodegraph.graph.workflow import Workflow
from pack_fixtures import PackUnderTest, run, shipped_workflow, with_captures

REPO = Path(__file__).resolve().parents[2]
MAIN_JOB = REPO / "workflows" / "lcm_lora_sdxl.json"
BASELINE = REPO / "workflows" / "sdxl_style_baseline.json"
SIZE = 64  # tests sample at 64x64: same code paths, a fraction of the time

__all__ = ["REPO", "MAIN_JOB", "BASELINE", "SIZE", "workflow", "capture", "run", "direct_pipeline"]


@pytest.fixture(scope="session")
def pack() -> PackUnderTest:
    from nodegraph_nodes.sdxl import demo
    from nodegraph_nodes.sdxl.model_manager import ModelManager
    return PackUnderTest("sdxl", demo, ("demo:tiny-sdxl", "demo:tiny-sdxl-lcm-lora", "demo:tiny-sdxl-style-lora"),
                         "sdxl_models", ModelManager)


def workflow(path: Path = MAIN_JOB, size: int = SIZE, **inputs) -> Workflow:
    """A shipped workflow at test size, with ``node__input=value`` overrides."""
    sizes = {"width": size, "height": size}
    return shipped_workflow(path, {"LCMSampler": sizes, "Sampler": sizes}, **inputs)


def capture(wf: Workflow, **taps: str) -> Workflow:
    """Add TestCapture nodes: ``name="node.output"``."""
    return with_captures(wf, **taps)


def direct_pipeline(demo_paths):
    """A fresh diffusers pipeline from the demo folder: the reference for node outputs."""
    import torch
    from diffusers import StableDiffusionXLPipeline
    from nodegraph_nodes.sdxl.model_manager import quiet_loaders
    with quiet_loaders():
        pipe = StableDiffusionXLPipeline.from_pretrained(str(demo_paths["tiny-sdxl"]), torch_dtype=torch.float32,
                                                         use_safetensors=True, local_files_only=True,
                                                         add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe
