"""SamplerCustom with euler_ancestral over an explicit SIGMAS schedule (ComfyUI's SDXL Turbo
template: KSamplerSelect euler_ancestral + SDTurboScheduler): the scheduler steps along exactly
those sigmas, at their training timesteps, drawing ancestral noise from the generator."""
from __future__ import annotations

import torch
from diffusers import EulerAncestralDiscreteScheduler

from nodegraph_nodes.comfy.sampler_names import SAMPLERS
from nodegraph_nodes.comfy.sampling import _set_sigmas, turbo_sigmas

CONFIG = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}


def _run(sigmas, seed: int):
    scheduler = EulerAncestralDiscreteScheduler(**CONFIG)
    _set_sigmas(scheduler, sigmas, CONFIG, "cpu")
    x = torch.ones(1, 4, 4, 4) * float(sigmas[0])
    generator = torch.Generator().manual_seed(seed)
    for t in scheduler.timesteps:
        x = scheduler.step(torch.zeros_like(x), t, x, generator=generator).prev_sample
    return scheduler, x


def test_euler_ancestral_follows_an_explicit_schedule():
    assert SAMPLERS["euler_ancestral"][0] == "EulerAncestralDiscreteScheduler"
    sigmas = turbo_sigmas(CONFIG, 2, 1.0)  # timesteps 999, 899, then 0
    scheduler, x = _run(sigmas, seed=1)
    torch.testing.assert_close(scheduler.sigmas, sigmas.float())
    assert scheduler.timesteps.tolist() == [999.0, 899.0]
    assert torch.isfinite(x).all()
    # ancestral: the noise drawn at each step follows the generator's seed
    assert not torch.equal(x, _run(sigmas, seed=2)[1]) and torch.equal(x, _run(sigmas, seed=1)[1])
    # a schedule ending above 0 (a split schedule) ends there: the last step goes down to it
    scheduler, _ = _run(torch.tensor([14.6, 3.0, 1.0]), seed=1)
    assert scheduler.sigmas.tolist()[-1] == 1.0 and len(scheduler.timesteps) == 2
