"""KSampler and KSamplerAdvanced: ComfyUI's samplers over diffusers schedulers (sampling.py).

`sampler_name` and `scheduler` offer ComfyUI's full lists; a pair diffusers cannot run
faithfully is a validation error naming the nearest supported names (sampler_names.py).
Seeds are ComfyUI's: the same seed draws the same initial noise as ComfyUI does. A seed is a
literal input, so the one that ran is in every output's embedded workflow; ComfyUI's
"control_after_generate" (randomize, increment, ...) is applied by whoever writes the value
before a run (the canvas, an imported ComfyUI file), never silently inside the node.
"""
from __future__ import annotations

from typing import Any, Literal

from nodegraph import Node, Socket, Widget, imported, node

from .access import pipeline
from .handles import ComfyModel
from .sampler_names import SAMPLER_NAMES, SCHEDULER_NAMES, sampler_problem
from .sampling import Job, sample
from .values import entries, handle_of, samples_of

MAX_SEED = 0xFFFFFFFFFFFFFFFF


def check_names(literals) -> list[tuple[str | None, str]]:
    return sampler_problem(literals.get("sampler_name"), literals.get("scheduler"))


def run_job(ctx, job: Job):
    torch = imported("torch")
    with torch.inference_mode(), pipeline(ctx, job.model, parts="all") as pipe:
        return sample(ctx, job, pipe)


def base_job(node, **kw) -> Job:
    return Job(model=handle_of(node.model, ComfyModel, "model", "MODEL"),
               positive=entries(node.positive, "positive"), negative=entries(node.negative, "negative"),
               samples=samples_of(node.latent_image, "latent_image"), sampler=node.sampler_name,
               schedule=node.scheduler, steps=node.steps, cfg=node.cfg, **kw)


@node("KSampler", category="sampling", outputs={"latent": "LATENT"})
class KSampler(Node):
    """Denoise a latent with a model, positive and negative conditioning. `denoise` below 1
    keeps part of the input latent (image-to-image)."""
    model: Any = Socket("MODEL")
    seed: int = Widget(0, ge=0, le=MAX_SEED, control_after_generate=True, description="the noise seed")
    steps: int = Widget(20, ge=1, le=10000)
    cfg: float = Widget(8.0, ge=0.0, le=100.0, step=0.1)
    sampler_name: Literal[SAMPLER_NAMES] = Widget("euler")  # type: ignore[valid-type]
    scheduler: Literal[SCHEDULER_NAMES] = Widget("normal")  # type: ignore[valid-type]
    positive: Any = Socket("CONDITIONING")
    negative: Any = Socket("CONDITIONING")
    latent_image: Any = Socket("LATENT")
    denoise: float = Widget(1.0, ge=0.0, le=1.0, step=0.01)

    @classmethod
    def check_inputs(cls, literals, env):
        return check_names(literals)

    def run(self, ctx):
        out, _ = run_job(ctx, base_job(self, seed=self.seed, denoise=self.denoise))
        return {"latent": {**self.latent_image, "samples": out}}


@node("KSamplerAdvanced", category="sampling", outputs={"latent": "LATENT"})
class KSamplerAdvanced(Node):
    """KSampler over a slice of the schedule: steps `start_at_step` to `end_at_step` of `steps`,
    with or without adding noise first, and with or without the noise left at the end (hand a
    base model's partly denoised latent to a refiner)."""
    model: Any = Socket("MODEL")
    add_noise: Literal["enable", "disable"] = Widget("enable")
    noise_seed: int = Widget(0, ge=0, le=MAX_SEED, control_after_generate=True)
    steps: int = Widget(20, ge=1, le=10000)
    cfg: float = Widget(8.0, ge=0.0, le=100.0, step=0.1)
    sampler_name: Literal[SAMPLER_NAMES] = Widget("euler")  # type: ignore[valid-type]
    scheduler: Literal[SCHEDULER_NAMES] = Widget("normal")  # type: ignore[valid-type]
    positive: Any = Socket("CONDITIONING")
    negative: Any = Socket("CONDITIONING")
    latent_image: Any = Socket("LATENT")
    start_at_step: int = Widget(0, ge=0, le=10000)
    end_at_step: int = Widget(10000, ge=0, le=10000)
    return_with_leftover_noise: Literal["disable", "enable"] = Widget("disable")

    @classmethod
    def check_inputs(cls, literals, env):
        return check_names(literals)

    def run(self, ctx):
        job = base_job(self, seed=self.noise_seed, start=self.start_at_step, end=self.end_at_step,
                       add_noise=self.add_noise == "enable",
                       full_denoise=self.return_with_leftover_noise == "disable")
        out, _ = run_job(ctx, job)
        return {"latent": {**self.latent_image, "samples": out}}
