"""LoRA merging against hand computations and direct diffusers calls."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from nodegraph_nodes.sdxl import demo
from nodegraph_nodes.sdxl.demo.recipes import lora_targets
from nodegraph_nodes.sdxl.model_manager import LoraPatch, ModelHandle, ModelSource

from .conftest import SIZE, capture, direct_pipeline, run, workflow

LCM, STYLE = 1.0, 0.8


def source(demo_paths) -> ModelSource:
    return ModelSource("diffusers", str(demo_paths["tiny-sdxl"]), "demo:tiny-sdxl",
                       demo.demo_fingerprint("demo:tiny-sdxl"))


def patch(demo_paths, name: str, strength: float) -> LoraPatch:
    return LoraPatch(str(demo_paths[name]), demo.demo_fingerprint("demo:" + name), strength, "demo:" + name)


def lora_delta(state: dict, module: str) -> torch.Tensor | None:
    """B·A·scale of one module, read by hand from either file format."""
    stem = "lora_unet_" + module.replace(".", "_")
    if stem + ".lora_down.weight" in state:  # kohya: scale = alpha / rank
        down, up = state[stem + ".lora_down.weight"], state[stem + ".lora_up.weight"]
        return up @ down * (state[stem + ".alpha"].item() / down.shape[0])
    if f"unet.{module}.lora_A.weight" in state:  # diffusers/peft without alpha: scale 1
        return state[f"unet.{module}.lora_B.weight"] @ state[f"unet.{module}.lora_A.weight"]
    return None


@pytest.fixture(scope="module")
def direct(demo_paths):
    pipe = direct_pipeline(demo_paths)
    pipe.load_lora_weights(str(demo_paths["tiny-sdxl-lcm-lora"]), adapter_name="lcm")
    pipe.load_lora_weights(str(demo_paths["tiny-sdxl-style-lora"]), adapter_name="style")
    return pipe


def reference_latent(pipe, adapters: dict[str, float], cond: dict, seed: int = 42, steps: int = 4,
                     guidance: float = 1.0, sampler: str = "lcm") -> torch.Tensor:
    """The same sampling written directly against diffusers."""
    from diffusers import EulerDiscreteScheduler, LCMScheduler
    if adapters:
        pipe.enable_lora()
        pipe.set_adapters(list(adapters), list(adapters.values()))
    else:
        pipe.disable_lora()
    config = EulerDiscreteScheduler.load_config(pipe.name_or_path, subfolder="scheduler")
    pipe.scheduler = (LCMScheduler if sampler == "lcm" else EulerDiscreteScheduler).from_config(config)
    kwargs = {k: cond[k] for k in ("prompt_embeds", "pooled_prompt_embeds")}
    if guidance > 1:
        kwargs.update({k: cond[k] for k in ("negative_prompt_embeds", "negative_pooled_prompt_embeds")})
    with torch.inference_mode():
        return pipe(**kwargs, num_inference_steps=steps, guidance_scale=guidance, width=SIZE, height=SIZE,
                    generator=torch.Generator().manual_seed(seed), output_type="latent").images


def test_fused_weights_equal_theta_plus_sum_of_lambda_tau(manager, demo_paths):
    handle = ModelHandle(source(demo_paths)).with_patches(
        (patch(demo_paths, "tiny-sdxl-lcm-lora", LCM), patch(demo_paths, "tiny-sdxl-style-lora", STYLE)), fuse=True)
    with manager.use(handle) as pipe:
        fused = {k: v.detach().clone() for k, v in pipe.unet.state_dict().items()}
    base = load_file(str(demo_paths["tiny-sdxl"] / "unet" / "diffusion_pytorch_model.safetensors"))
    lcm = load_file(str(demo_paths["tiny-sdxl-lcm-lora"]))
    style = load_file(str(demo_paths["tiny-sdxl-style-lora"]))
    modules = lora_targets(base, ["to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2", "proj_in", "proj_out"])
    checked = 0
    for module in modules:
        tau_lcm, tau_style = lora_delta(lcm, module), lora_delta(style, module)
        if tau_lcm is None and tau_style is None:
            continue
        expected = base[module + ".weight"].clone()
        if tau_lcm is not None:
            expected += LCM * tau_lcm
        if tau_style is not None:
            expected += STYLE * tau_style
        actual = fused.get(module + ".base_layer.weight", fused.get(module + ".weight"))
        assert (actual - expected).abs().max().item() < 1e-5, module
        # The demo LoRAs are not trivial: the merge moves the weights a lot.
        assert (expected - base[module + ".weight"]).norm() > 0.3 * base[module + ".weight"].norm()
        checked += 1
    assert checked == len([k for k in lcm if k.endswith(".alpha")])  # every LCM-LoRA module, both formats


def test_unfuse_restores_base_and_unfused_output_matches_fused(manager, demo_paths):
    src = source(demo_paths)
    patches = (patch(demo_paths, "tiny-sdxl-lcm-lora", LCM), patch(demo_paths, "tiny-sdxl-style-lora", STYLE))
    sample = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    text = torch.randn(1, 77, 96, generator=torch.Generator().manual_seed(1))
    added = {"text_embeds": torch.randn(1, 32, generator=torch.Generator().manual_seed(2)),
             "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]])}

    def unet_out(handle):
        with torch.inference_mode(), manager.use(handle) as pipe:
            return pipe.unet(sample, 500, text, added_cond_kwargs=added).sample.clone()

    base_out = unet_out(ModelHandle(src))
    fused = unet_out(ModelHandle(src).with_patches(patches, fuse=True))
    unfused = unet_out(ModelHandle(src).with_patches(patches, fuse=False))
    assert torch.allclose(fused, unfused, atol=1e-4, rtol=1e-4)
    assert (fused - base_out).abs().mean() > 10 * (fused - unfused).abs().max()
    # Unfusing subtracts the deltas again: the base comes back up to float rounding.
    assert torch.allclose(unet_out(ModelHandle(src)), base_out, atol=1e-5)


def test_two_branches_with_different_loras_match_diffusers_in_any_order(make_session, direct):
    session = make_session()
    data = workflow().to_json()
    nodes = data["nodes"]
    branches = {"kohya": ("demo:tiny-sdxl-lcm-lora", LCM), "peft": ("demo:tiny-sdxl-style-lora", STYLE)}
    for name, (lora, strength) in branches.items():
        nodes[f"lora_{name}"] = {"type": "ApplyLoRA", "inputs": {"model": {"from": "model", "output": "model"},
                                                                 "lora": lora, "strength": strength}}
        nodes[f"sample_{name}"] = {"type": "LCMSampler", "inputs": {
            **nodes["sampler"]["inputs"], "model": {"from": f"lora_{name}", "output": "model"}}}
    for node_id in ("merge", "sampler", "decode", "save"):
        del nodes[node_id]
    from nodegraph.graph.workflow import parse_workflow
    both = capture(parse_workflow(data), kohya="sample_kohya.latent", peft="sample_peft.latent",
                   cond="prompt.conditioning")
    result, _ = run(session, both)
    assert result.ok, result.error
    cond = result.values["cond"]["value"]
    expected = {"kohya": reference_latent(direct, {"lcm": LCM}, cond),
                "peft": reference_latent(direct, {"style": STYLE}, cond)}
    for name in branches:
        assert torch.allclose(result.values[name]["value"], expected[name], atol=1e-4), name
    assert not torch.allclose(expected["kohya"], expected["peft"], atol=1e-2)
    # Again one branch at a time, in the other order, on the same warm pipeline.
    for order in (("peft", "kohya"),):
        for name in order:
            single = parse_workflow({**data, "nodes": {k: v for k, v in nodes.items()
                                                       if k in ("model", "prompt", f"lora_{name}", f"sample_{name}")}})
            result, _ = run(session, capture(single, out=f"sample_{name}.latent"))
            assert torch.allclose(result.values["out"]["value"], expected[name], atol=1e-4), (order, name)


def test_main_job_fused_and_unfused_agree_and_differ_from_no_lora(make_session, direct):
    session = make_session()
    outputs = {}
    for fuse in (True, False):
        wf = capture(workflow(merge__fuse=fuse), latent="sampler.latent", image="decode.image",
                     cond="prompt.conditioning")
        result, _ = run(session, wf)
        assert result.ok, result.error
        outputs[fuse] = result.values
    assert torch.allclose(outputs[True]["latent"]["value"], outputs[False]["latent"]["value"], atol=1e-4)
    assert torch.allclose(outputs[True]["image"]["value"], outputs[False]["image"]["value"], atol=1e-4)
    cond = outputs[True]["cond"]["value"]
    merged = reference_latent(direct, {"lcm": LCM, "style": STYLE}, cond)
    assert torch.allclose(outputs[True]["latent"]["value"], merged, atol=1e-4)
    no_lora = reference_latent(direct, {}, cond)
    assert (merged - no_lora).abs().mean() > 0.05 * merged.abs().mean()
    image = outputs[True]["image"]["value"]
    assert image.shape == (1, SIZE, SIZE, 3) and 0 <= image.min() and image.max() <= 1


def test_exported_merged_lora_reproduces_the_merge(make_session, tmp_path):
    session = make_session()
    wf = capture(workflow(merge__export=True, merge__export_name="lcm_style"), latent="sampler.latent")
    merged, _ = run(session, wf)
    assert merged.ok, merged.error
    exported = tmp_path / "output" / "lcm_style.safetensors"
    assert exported.is_file()
    data = wf.to_json()
    data["nodes"]["merge"] = {"type": "ApplyLoRA", "inputs": {"model": {"from": "model", "output": "model"},
                                                              "lora": str(exported), "strength": 1.0}}
    from nodegraph.graph.workflow import parse_workflow
    again, _ = run(session, parse_workflow(data))
    assert again.ok, again.error
    assert torch.allclose(again.values["latent"]["value"], merged.values["latent"]["value"], atol=1e-4)
