"""ComfyUI's custom-sampling family: KSamplerSelect, BasicScheduler, SDTurboScheduler,
RandomNoise, CFGGuider, SamplerCustom, SamplerCustomAdvanced.

SAMPLER values are sampler names (diffusers scheduler classes, sampler_names.py), SIGMAS are
1-D tensors of noise levels (ComfyUI's), NOISE is ``{"seed": n}``, GUIDER is the model, the
conditionings and cfg. A SIGMAS schedule is followed exactly by euler (diffusers takes the
sigmas themselves) and, through the nearest training timesteps, by the samplers whose diffusers
class accepts explicit timesteps (heun, dpmpp_2m, dpmpp_2m_sde, lcm, ddpm); the others refuse it.
"""
from __future__ import annotations

from typing import Any, Literal

from nodegraph import Node, NodeError, Socket, Widget, imported, node

from .access import pipeline
from .handles import ComfyModel
from .ksampler import MAX_SEED
from .sampler_names import SAMPLER_NAMES, SCHEDULER_NAMES, sampler_problem
from .sampling import Job, model_sigmas, sample, turbo_sigmas
from .values import entries, handle_of, latent, samples_of

CATEGORY = "sampling/custom_sampling"


@node("KSamplerSelect", category=f"{CATEGORY}/samplers", outputs={"sampler": "SAMPLER"})
class KSamplerSelect(Node):
    """A sampler by ComfyUI's name."""
    sampler_name: Literal[SAMPLER_NAMES] = Widget("euler")  # type: ignore[valid-type]

    @classmethod
    def check_inputs(cls, literals, env):
        return sampler_problem(literals.get("sampler_name"), None)

    def run(self, ctx):
        return {"sampler": self.sampler_name}


def _config(ctx, model: ComfyModel) -> dict:
    torch = imported("torch")
    with torch.inference_mode(), pipeline(ctx, model, parts="all") as pipe:
        return dict(pipe.scheduler.config)


@node("BasicScheduler", category=f"{CATEGORY}/schedulers", outputs={"sigmas": "SIGMAS"})
class BasicScheduler(Node):
    """The noise levels of a schedule on the model's training schedule, ending at 0."""
    model: Any = Socket("MODEL")
    scheduler: Literal[SCHEDULER_NAMES] = Widget("normal")  # type: ignore[valid-type]
    steps: int = Widget(20, ge=1, le=10000)
    denoise: float = Widget(1.0, ge=0.0, le=1.0, step=0.01)

    @classmethod
    def check_inputs(cls, literals, env):
        return sampler_problem("euler", literals.get("scheduler"))

    def run(self, ctx):
        model = handle_of(self.model, ComfyModel, "model", "MODEL")
        return {"sigmas": model_sigmas(_config(ctx, model), self.scheduler, self.steps, self.denoise)}


@node("SDTurboScheduler", category=f"{CATEGORY}/schedulers", outputs={"sigmas": "SIGMAS"})
class SDTurboScheduler(Node):
    """SD-Turbo's schedule: timesteps 999, 899, ... (one per step), then 0."""
    model: Any = Socket("MODEL")
    steps: int = Widget(1, ge=1, le=10)
    denoise: float = Widget(1.0, ge=0.0, le=1.0, step=0.01)

    def run(self, ctx):
        model = handle_of(self.model, ComfyModel, "model", "MODEL")
        return {"sigmas": turbo_sigmas(_config(ctx, model), self.steps, self.denoise)}


@node("RandomNoise", category=f"{CATEGORY}/noise", outputs={"noise": "NOISE"})
class RandomNoise(Node):
    """Gaussian noise from a seed (drawn as ComfyUI draws it)."""
    noise_seed: int = Widget(0, ge=0, le=MAX_SEED, control_after_generate=True)

    def run(self, ctx):
        return {"noise": {"seed": self.noise_seed}}


@node("CFGGuider", category=f"{CATEGORY}/guiders", outputs={"guider": "GUIDER"})
class CFGGuider(Node):
    """Classifier-free guidance of a model between a positive and a negative conditioning."""
    model: Any = Socket("MODEL")
    positive: Any = Socket("CONDITIONING")
    negative: Any = Socket("CONDITIONING")
    cfg: float = Widget(8.0, ge=0.0, le=100.0, step=0.1)

    def run(self, ctx):
        return {"guider": {"model": handle_of(self.model, ComfyModel, "model", "MODEL"),
                           "positive": entries(self.positive, "positive"),
                           "negative": entries(self.negative, "negative"), "cfg": self.cfg}}


def _run_custom(ctx, model, positive, negative, cfg, sampler, sigmas, latent_image, seed, add_noise):
    torch = imported("torch")
    samples = samples_of(latent_image, "latent_image")
    if not isinstance(sampler, str):
        raise NodeError("expects a SAMPLER from KSamplerSelect", input="sampler")
    problems = sampler_problem(sampler, None)
    if problems:
        raise NodeError(problems[0][1], input="sampler")
    if len(sigmas) < 2:
        return {"output": dict(latent_image), "denoised_output": dict(latent_image)}
    job = Job(model=model, positive=positive, negative=negative, samples=samples, sampler=sampler, schedule=None,
              steps=len(sigmas) - 1, cfg=cfg, seed=seed, add_noise=add_noise, sigmas=sigmas.float(),
              end=len(sigmas) - 1, full_denoise=False)
    with torch.inference_mode(), pipeline(ctx, model, parts="all") as pipe:
        out, denoised = sample(ctx, job, pipe)
    return {"output": {**latent_image, "samples": out}, "denoised_output": {**latent_image, "samples": denoised}}


@node("SamplerCustom", category=CATEGORY, outputs={"output": "LATENT", "denoised_output": "LATENT"})
class SamplerCustom(Node):
    """Sample with a chosen sampler over an explicit sigma schedule."""
    model: Any = Socket("MODEL")
    add_noise: bool = Widget(True)
    noise_seed: int = Widget(0, ge=0, le=MAX_SEED, control_after_generate=True)
    cfg: float = Widget(8.0, ge=0.0, le=100.0, step=0.1)
    positive: Any = Socket("CONDITIONING")
    negative: Any = Socket("CONDITIONING")
    sampler: Any = Socket("SAMPLER")
    sigmas: Any = Socket("SIGMAS")
    latent_image: Any = Socket("LATENT")

    def run(self, ctx):
        model = handle_of(self.model, ComfyModel, "model", "MODEL")
        return _run_custom(ctx, model, entries(self.positive, "positive"), entries(self.negative, "negative"),
                           self.cfg, self.sampler, self.sigmas, self.latent_image, self.noise_seed, self.add_noise)


@node("SamplerCustomAdvanced", category=CATEGORY, outputs={"output": "LATENT", "denoised_output": "LATENT"})
class SamplerCustomAdvanced(Node):
    """Sample with a noise source, a guider, a sampler and a sigma schedule."""
    noise: Any = Socket("NOISE")
    guider: Any = Socket("GUIDER")
    sampler: Any = Socket("SAMPLER")
    sigmas: Any = Socket("SIGMAS")
    latent_image: Any = Socket("LATENT")

    def run(self, ctx):
        guider = self.guider
        if not isinstance(guider, dict) or "model" not in guider:
            raise NodeError("expects a GUIDER from CFGGuider", input="guider")
        seed = self.noise.get("seed")
        return _run_custom(ctx, guider["model"], guider["positive"], guider["negative"], guider["cfg"], self.sampler,
                           self.sigmas, self.latent_image, 0 if seed is None else seed, seed is not None)
