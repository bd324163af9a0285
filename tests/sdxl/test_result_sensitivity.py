"""Every input a user turns changes the picture: seed, each LoRA strength, guidance, steps,
size, scheduler and prompt, on the tiny demo SDXL. A silently ignored input is the bug a
fixed-value test never sees, so each case varies one input away from its default and checks
that the sampled latent changes (and that the unchanged workflow reproduces exactly). Every
widget of the pack's catalogue entry is named by a case here or in NO_CONTENT_TEST (with the
reason and the test that covers it), so a new widget without a case fails the coverage test."""
from __future__ import annotations

import pytest
import torch

from sensitivity import uncovered

from .conftest import BASELINE, capture, run, workflow

from nodegraph_nodes.sdxl.pipeline import SAMPLERS


def latent(make_session, wf) -> torch.Tensor:
    result, _ = run(make_session(), capture(wf, out="sampler.latent"))
    assert result.ok, result.error
    return result.values["out"]["value"]


def differs(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape != b.shape or not torch.allclose(a, b, atol=1e-6)


# (workflow both runs share, the one input changed in the second); two steps keep it quick
TWO = {"sampler__steps": 2}
MAIN_JOB_VARIATIONS = [
    (TWO, {"sampler__seed": 43}),
    (TWO, {"sampler__guidance": 1.5}),  # > 1 turns on classifier-free guidance with the negative prompt
    (TWO, {"sampler__steps": 3}),
    (TWO, {"sampler__width": 72}),
    (TWO, {"sampler__height": 72}),
    (TWO, {"merge__style_strength": 0.3}),
    (TWO, {"merge__acceleration_strength": 0.5}),
    ({**TWO, "merge__fuse": False}, {"merge__style_strength": 1.2}),  # the unfused path honours strengths too
    ({**TWO, "merge__fuse": False}, {"merge__acceleration_strength": 0.5}),
    (TWO, {"prompt__prompt": "a red bicycle in the snow"}),
    ({**TWO, "sampler__guidance": 1.5}, {"prompt__negative_prompt": "daylight"}),
]


# On the baseline workflow (LoadSDXL -> ApplyLoRA -> Sampler), two steps
BASELINE_VARIATIONS = [
    ("Sampler", "seed", {"sampler__seed": 43}),
    ("Sampler", "steps", {"sampler__steps": 3}),
    ("Sampler", "cfg", {"sampler__cfg": 2.0}),
    ("Sampler", "width", {"sampler__width": 72}),
    ("Sampler", "height", {"sampler__height": 72}),
    ("Sampler", "batch_size", {"sampler__batch_size": 2}),
    ("ApplyLoRA", "strength", {"style__strength": 0.2}),
    ("ApplyLoRA", "lora", {"style__lora": "demo:tiny-sdxl-lcm-lora"}),
    ("LoadSDXL", "dtype", {"model__dtype": "bfloat16"}),  # auto is float32 on the CPU
    ("EncodePrompt", "prompt", {"prompt__prompt": "a red bicycle in the snow"}),
    ("EncodePrompt", "negative_prompt", {"prompt__negative_prompt": "daylight"}),  # cfg 5 uses it
]
# On the main job (LoadSDXL -> MergeAcceleration -> LCMSampler), beyond MAIN_JOB_VARIATIONS
MAIN_JOB_MORE = [
    ("LCMSampler", "batch_size", {"sampler__batch_size": 2}),
    ("MergeAcceleration", "style_lora", {"merge__style_lora": ""}),
    ("MergeAcceleration", "acceleration_lora", {"merge__acceleration_lora": "demo:tiny-sdxl-style-lora"}),
]
MAIN_JOB_NAMES = {"sampler": "LCMSampler", "merge": "MergeAcceleration", "prompt": "EncodePrompt"}
# Widgets that cannot change the sampled latent, or that no content test here can vary, with the
# test that covers what they do instead.
NO_CONTENT_TEST = {
    ("LoadSDXL", "checkpoint"): "one SDXL model is available offline (the tiny demo); other layouts are "
                                "test_checkpoint's and test_comfyui_models'",
    ("LoadSDXL", "config"): "read only with a single-file checkpoint (test_checkpoint)",
    ("LoadSDXL", "vae"): "a separate VAE file: test_comfyui_models' test_a_separate_vae_file_decodes_the_image",
    ("Sampler", "sampler"): "test_every_scheduler_runs_and_each_gives_its_own_result below",
    ("MergeAcceleration", "fuse"): "the same latent fused or not, by design (test_lora_merge)",
    ("MergeAcceleration", "export"): "writes the merged LoRA besides; the latent stays "
                                     "(test_lora_merge's test_exported_merged_lora_reproduces_the_merge)",
    ("MergeAcceleration", "export_name"): "the exported file's name only (same test)",
    ("SaveCheckpoint", "filename"): "the file's name only (test_checkpoint)",
    ("SaveCheckpoint", "overwrite"): "whether an existing file is replaced, not what is written (test_checkpoint)",
}
LOAD_LORA = [("LoadLoRA", "lora", {"lora": "demo:tiny-sdxl-lcm-lora"}), ("LoadLoRA", "strength", {"strength": 0.3})]


def test_every_widget_of_the_sdxl_pack_is_covered(registry):
    covered = {(MAIN_JOB_NAMES[key.split("__")[0]], key.split("__")[1])
               for _, change in MAIN_JOB_VARIATIONS for key in change}
    covered |= {(t, i) for t, i, _ in BASELINE_VARIATIONS + MAIN_JOB_MORE + LOAD_LORA}
    assert uncovered(registry, "builtin.sdxl", covered, NO_CONTENT_TEST) == set()


def test_main_job_reproduces_exactly(make_session):
    assert torch.equal(latent(make_session, workflow(**TWO)), latent(make_session, workflow(**TWO)))


@pytest.mark.parametrize("shared, change", MAIN_JOB_VARIATIONS,
                         ids=[",".join([*a, *b]) for a, b in MAIN_JOB_VARIATIONS])
def test_each_main_job_input_changes_the_latent(make_session, shared, change):
    reference = latent(make_session, workflow(**shared))
    assert differs(latent(make_session, workflow(**{**shared, **change})), reference), change


@pytest.mark.parametrize("node_type, name, change", MAIN_JOB_MORE, ids=[f"{t}.{i}" for t, i, _ in MAIN_JOB_MORE])
def test_more_main_job_inputs_change_the_latent(make_session, node_type, name, change):
    assert differs(latent(make_session, workflow(**TWO, **change)), latent(make_session, workflow(**TWO)))


@pytest.fixture(scope="module")
def baseline_reference() -> dict:
    return {}


@pytest.mark.parametrize("node_type, name, change", BASELINE_VARIATIONS,
                         ids=[f"{t}.{i}" for t, i, _ in BASELINE_VARIATIONS])
def test_each_baseline_input_changes_the_latent(make_session, baseline_reference, node_type, name, change):
    if "latent" not in baseline_reference:
        baseline_reference["latent"] = latent(make_session, workflow(BASELINE, sampler__steps=2))
    assert differs(latent(make_session, workflow(BASELINE, **{"sampler__steps": 2, **change})), baseline_reference["latent"])


def with_load_lora(**inputs):
    """The main job with a LoadLoRA stacked into MergeAcceleration's styles."""
    data = workflow(**TWO).to_json()
    data["nodes"]["extra"] = {"type": "LoadLoRA", "inputs": {"lora": "demo:tiny-sdxl-style-lora", "strength": 1.0,
                                                             **inputs}}
    data["nodes"]["merge"]["inputs"]["styles"] = {"from": "extra", "output": "lora"}
    from nodegraph.graph.workflow import parse_workflow
    return parse_workflow(data)


@pytest.mark.parametrize("node_type, name, change", LOAD_LORA, ids=[f"{t}.{i}" for t, i, _ in LOAD_LORA])
def test_each_load_lora_input_changes_the_latent(make_session, node_type, name, change):
    assert differs(latent(make_session, with_load_lora(**change)), latent(make_session, with_load_lora()))


def test_every_scheduler_runs_and_each_gives_its_own_result(make_session):
    outputs = {}
    for name in SAMPLERS:
        # three steps: at two, dpmpp_2m and unipc take the same first-order steps
        result = latent(make_session, workflow(BASELINE, sampler__sampler=name, sampler__steps=3))
        assert torch.isfinite(result).all(), name
        outputs[name] = result
    names = list(outputs)
    same = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if not differs(outputs[a], outputs[b])]
    assert not same, f"schedulers that gave identical latents: {same}"


def test_the_style_baseline_workflow_runs_as_shipped(make_session):
    """workflows/sdxl_style_baseline.json as shipped (25 Euler steps at 256x256), through to the PNG."""
    import json
    from nodegraph.graph.workflow import parse_workflow
    result, sink = run(make_session(), parse_workflow(json.loads(BASELINE.read_text())))
    assert result.ok, result.error
    (png,) = result.outputs
    from PIL import Image
    with Image.open(png) as img:
        assert img.size == (256, 256)
    steps = [e for e in sink.events if e["event"] == "progress" and e["node"] == "sampler"]
    assert steps and steps[-1]["max"] == 25
