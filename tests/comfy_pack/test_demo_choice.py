"""--demo-models on comfy loaders: the loader class and the graph around it choose the demo, the
file name only among what they allow (an SVD checkpoint named without "svd" still gets the SVD
demo; an image loader never gets it, whatever its file is called)."""
from __future__ import annotations

import pytest

from nodegraph.graph.demo_models import use_demo_models
from nodegraph.graph.workflow import parse_workflow


def _svd_graph(loader: str, ckpt: str) -> dict:
    return {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "1": {"type": loader, "inputs": {"ckpt_name": ckpt}},
        "2": {"type": "LoadImage", "inputs": {"image": "start.png"}},
        "3": {"type": "SVD_img2vid_Conditioning", "inputs": {
            "clip_vision": {"from": "1", "output": "clip_vision"}, "init_image": {"from": "2", "output": "image"},
            "vae": {"from": "1", "output": "vae"}, "width": 64, "height": 64, "video_frames": 4}}}}


def _demo_of(registry, data: dict, node_id: str = "1") -> str:
    return use_demo_models(parse_workflow(data), registry).to_json()["nodes"][node_id]["inputs"]["ckpt_name"]


@pytest.mark.parametrize("ckpt", ["stable_video_diffusion_img2vid.safetensors", "my_model.safetensors",
                                  "stable_video_diffusion_img2vid_xt_1.5.safetensors",  # "1.5": an SD 1.5 hint
                                  "sd_xl_base_1.0.safetensors", "svd_xt.safetensors"])
def test_image_to_video_loader_gets_the_svd_demo_whatever_the_name(registry, ckpt):
    assert _demo_of(registry, _svd_graph("ImageOnlyCheckpointLoader", ckpt)) == "demo:tiny-svd"


def test_svd_conditioning_downstream_claims_the_svd_demo_alone(registry):
    """Without the loader's say (default_demo, demo_choices off), the consumer still decides."""
    from nodegraph_nodes.comfy.loaders import ImageOnlyCheckpointLoader
    data = _svd_graph("ImageOnlyCheckpointLoader", "v1-5-pruned.safetensors")
    assert _demo_of(registry, data) == "demo:tiny-svd"
    # the graph alone: the same loader with no choices of its own, fed into SVD conditioning
    from nodegraph.graph.demo_models import downstream_claims, pick_demo
    demos = [d for d in registry.demos.values() if d.kind == "checkpoint"]
    claims = downstream_claims(data["nodes"], "1", registry)
    assert claims == [{"demo:tiny-svd"}, {"demo:tiny-svd"}]  # clip_vision and vae
    assert pick_demo("v1-5-pruned.safetensors", demos, None, "ckpt_name", claims).value == "demo:tiny-svd"
    assert pick_demo("v1-5-pruned.safetensors", demos, None, "ckpt_name", []).value == "demo:tiny-sd15"
    assert ImageOnlyCheckpointLoader.demo_choices("ckpt_name") == ("demo:tiny-svd",)


@pytest.mark.parametrize("ckpt, demo", [("svd_xt.safetensors", "demo:tiny-sd15"),  # cannot load SVD: never its demo
                                        ("sd_xl_refiner_1.0.safetensors", "demo:tiny-sdxl-refiner"),
                                        ("sd_xl_base_1.0.safetensors", "demo:tiny-sdxl"),
                                        ("v1-5-pruned-emaonly.safetensors", "demo:tiny-sd15")])
def test_image_loader_keeps_the_name_hints_but_never_takes_the_svd_demo(registry, ckpt, demo):
    data = {"format": "nodegraph/workflow", "version": 1,
            "nodes": {"1": {"type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}}}}
    assert _demo_of(registry, data) == demo


def test_video_cfg_guidance_downstream_claims_svd(registry):
    from nodegraph.graph.demo_models import downstream_claims
    nodes = {"1": {"type": "ImageOnlyCheckpointLoader", "inputs": {"ckpt_name": "x.safetensors"}},
             "2": {"type": "VideoLinearCFGGuidance", "inputs": {"model": {"from": "1", "output": "model"}}}}
    assert downstream_claims(nodes, "1", registry) == [{"demo:tiny-svd"}]
    assert downstream_claims(nodes, "2", registry) == []
