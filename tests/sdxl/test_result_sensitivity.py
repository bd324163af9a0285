"""Every input a user turns changes the picture: seed, each LoRA strength, guidance, steps,
size, scheduler and prompt, on the tiny demo SDXL. A silently ignored input is the bug a
fixed-value test never sees, so each case varies one input away from its default and checks
that the sampled latent changes (and that the unchanged workflow reproduces exactly)."""
from __future__ import annotations

import pytest
import torch

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


def test_main_job_reproduces_exactly(make_session):
    assert torch.equal(latent(make_session, workflow(**TWO)), latent(make_session, workflow(**TWO)))


@pytest.mark.parametrize("shared, change", MAIN_JOB_VARIATIONS,
                         ids=[",".join([*a, *b]) for a, b in MAIN_JOB_VARIATIONS])
def test_each_main_job_input_changes_the_latent(make_session, shared, change):
    reference = latent(make_session, workflow(**shared))
    assert differs(latent(make_session, workflow(**{**shared, **change})), reference), change


def test_apply_lora_strength_changes_the_latent(make_session):
    base = latent(make_session, workflow(BASELINE, sampler__steps=2))
    assert differs(latent(make_session, workflow(BASELINE, sampler__steps=2, style__strength=0.2)), base)
    assert differs(latent(make_session, workflow(BASELINE, sampler__steps=2, sampler__cfg=2.0)), base)


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
