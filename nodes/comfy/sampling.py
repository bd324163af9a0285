"""The comfy pack's sampling loop: ComfyUI's KSampler semantics over diffusers schedulers.

Latents on the edges are ComfyUI's: raw VAE latents, noise added in sigma space
(x = latent + sigma·noise). The loop scales them by the VAE's scaling factor, runs the diffusers
scheduler named by ``sampler_name`` with the spacing named by ``scheduler`` (sampler_names.py)
and hands back a raw latent again, so what one sampler leaves (KSamplerAdvanced with leftover
noise) another can continue, whichever scheduler family each uses:

- schedulers whose state lives in sigma space (Euler, Heun, DPM-2, LMS: ``init_noise_sigma`` > 1)
  take x as it is; the others (DDIM, DPM-Solver, UniPC, LCM, DDPM, DEIS) hold the
  variance-preserving x / sqrt(1 + sigma²), converted on the way in and out;
- ``denoise`` < 1 runs the last ``steps`` of a ``steps / denoise`` schedule (ComfyUI's rule);
  start/end steps slice the schedule (second-order schedulers count two entries per step);
- stopping before the end returns either the state with its leftover noise or, when full
  denoising is asked for, the last step's prediction of the clean latent;
- the noise is ``torch.randn`` of the latent's shape from a CPU generator seeded with the seed,
  as ComfyUI draws it; ancestral and SDE steps continue that generator.

Conditioning entries are each run through the UNet and averaged (ConditioningCombine);
classifier-free guidance mixes positive and negative (skipped at cfg 1, as ComfyUI does), per
frame for VideoLinearCFGGuidance. Torch is imported inside the functions only.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

from nodegraph import NodeError, imported

from .handles import ComfyModel
from .sampler_names import (SAMPLERS, SCHEDULES, VIDEO_SAMPLERS, VIDEO_SCHEDULES, explicit_timesteps,
                            sampler_problem)

PREDICTION = {"eps": "epsilon", "v_prediction": "v_prediction", "lcm": "epsilon", "x0": "sample"}


@dataclass
class Job:
    """One sampling call, in ComfyUI's terms."""
    model: ComfyModel
    positive: list
    negative: list
    samples: Any  # raw latent [B, 4, h, w] (video: one per frame)
    sampler: str
    schedule: str | None  # None: ``sigmas`` given (SamplerCustom)
    steps: int
    cfg: float
    seed: int
    denoise: float = 1.0
    start: int = 0
    end: int | None = None
    add_noise: bool = True
    full_denoise: bool = True  # at an early end: the clean prediction, not the leftover noise
    sigmas: Any = None  # an explicit sigma schedule (SamplerCustom), sigma space, ending at 0 or not


def make_scheduler(config: dict, sampler: str, schedule: str | None, model: ComfyModel):
    """The diffusers scheduler for ``sampler`` / ``schedule`` on a model whose own scheduler
    config is ``config`` (its betas and prediction type), with ModelSamplingDiscrete's changes."""
    import diffusers
    problems = sampler_problem(sampler, schedule)
    if problems:
        raise NodeError(problems[0][1], input=problems[0][0])
    cls_name, extra = SAMPLERS[sampler]
    cls = getattr(diffusers, cls_name)
    accepted = set(inspect.signature(cls.__init__).parameters)
    options = {k: v for k, v in config.items() if k in accepted and not k.startswith("_")}
    for flag in ("use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"):
        options.pop(flag, None)  # the schedule decides
    options.update(extra)
    if schedule is not None and not explicit_timesteps(sampler):
        options.update(SCHEDULES[schedule])
    if model.sampling != "default":
        options["prediction_type"] = PREDICTION[model.sampling]
    if model.zsnr:
        if "rescale_betas_zero_snr" not in accepted:
            raise NodeError(f"ModelSamplingDiscrete's zsnr needs a scheduler with zero-terminal-SNR betas; "
                            f"{sampler} ({cls_name}) has none: use euler, euler_ancestral, dpmpp_2m, ddim, uni_pc "
                            "or lcm", input="sampler_name")
        options["rescale_betas_zero_snr"] = True
        options["timestep_spacing"] = "trailing" if options.get("timestep_spacing") == "leading" else \
            options.get("timestep_spacing", "trailing")
    if cls_name in ("DPMSolverMultistepScheduler", "DEISMultistepScheduler", "UniPCMultistepScheduler"):
        options.setdefault("lower_order_final", True)
    return cls(**options)


def set_schedule(scheduler, job: Job, total: int, config: dict, device) -> None:
    if job.sigmas is not None:
        _set_sigmas(scheduler, job.sigmas, config, device)
    elif explicit_timesteps(job.sampler):  # LCM: the schedule's own timesteps, given explicitly
        import diffusers
        spacing = diffusers.EulerDiscreteScheduler.from_config(
            {k: v for k, v in config.items() if not k.startswith("_")}, **SCHEDULES[job.schedule])
        spacing.set_timesteps(total)
        steps = [int(round(float(t))) for t in spacing.timesteps]
        scheduler.set_timesteps(timesteps=steps, device=device)
    else:
        scheduler.set_timesteps(total, device=device)


def _set_sigmas(scheduler, sigmas, config: dict, device) -> None:
    """An explicit sigma schedule (SamplerCustom): Euler takes it as it is; schedulers that take
    explicit timesteps get the timesteps of those sigmas on the model's training schedule."""
    params = inspect.signature(scheduler.set_timesteps).parameters
    values = [float(s) for s in sigmas]
    if "sigmas" in params and type(scheduler).__name__ == "EulerDiscreteScheduler":
        scheduler.set_timesteps(sigmas=values, device=device)  # the whole list: its last value is the end
        return
    if type(scheduler).__name__ == "EulerAncestralDiscreteScheduler":
        _set_ancestral_sigmas(scheduler, values, config, device)
        return
    if "timesteps" not in params:
        raise NodeError(f"{type(scheduler).__name__} cannot follow an explicit SIGMAS schedule; with SamplerCustom "
                        "use euler, euler_ancestral, heun, dpmpp_2m, dpmpp_2m_sde, lcm or ddpm", input="sampler")
    sigma_table = _training_sigmas(config)
    timesteps = [_timestep_of(s, sigma_table) for s in values if s > 0]
    scheduler.set_timesteps(timesteps=timesteps, device=device)


def _set_ancestral_sigmas(scheduler, values: list[float], config: dict, device) -> None:
    """Euler ancestral on an explicit sigma schedule (ComfyUI's SDXL Turbo template: SamplerCustom
    with euler_ancestral and SDTurboScheduler). diffusers' set_timesteps takes a step count only,
    and its step reads ``sigmas[i]`` -> ``sigmas[i + 1]``: the schedule is set as that method
    leaves its own (sigmas on the CPU, float32; timesteps those sigmas' training timesteps)."""
    import torch
    table = _training_sigmas(config)
    scheduler.set_timesteps(len(values) - 1, device=device)
    scheduler.sigmas = torch.tensor(values, dtype=torch.float32)
    scheduler.timesteps = torch.tensor([float(_timestep_of(s, table)) for s in values[:-1]], dtype=torch.float32,
                                       device=device)


def _training_sigmas(config: dict):
    import diffusers
    return diffusers.EulerDiscreteScheduler.from_config({k: v for k, v in config.items() if not k.startswith("_")}
                                                        ).sigmas.flip(0)[1:]  # sigma of t = 0 .. 999


def _timestep_of(sigma: float, table) -> int:
    """The integer training timestep whose sigma is nearest (in log) to ``sigma``."""
    import torch
    return int(torch.argmin((torch.log(table) - math.log(sigma)).abs()))


def model_sigmas(config: dict, schedule: str, steps: int, denoise: float = 1.0):
    """ComfyUI's BasicScheduler: the sigma schedule of ``schedule`` over ``steps`` (the last
    ``steps`` of ``steps / denoise``), ending at 0: Euler's sigmas with the schedule's spacing."""
    import diffusers
    import torch
    if denoise <= 0:
        return torch.zeros(0)
    total = int(steps / denoise) if denoise < 1 else steps
    options = {k: v for k, v in config.items() if not k.startswith("_")}
    for flag in ("use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"):
        options.pop(flag, None)
    scheduler = diffusers.EulerDiscreteScheduler.from_config(options, **SCHEDULES[schedule])
    scheduler.set_timesteps(total)
    return scheduler.sigmas[-(steps + 1):].float().cpu()


def turbo_sigmas(config: dict, steps: int, denoise: float):
    """ComfyUI's SDTurboScheduler: timesteps 999, 899, ... (one per step, from the top shifted
    by 1 - denoise), their training sigmas, then 0."""
    import torch
    start = 10 - int(10 * denoise)
    table = _training_sigmas(config)
    timesteps = torch.flip(torch.arange(1, 11) * 100 - 1, (0,))[start:start + steps]
    return torch.cat([table[timesteps], torch.zeros(1)]).float()


def noise_like(samples, seed: int):
    """ComfyUI's noise: randn of the latent's shape from a CPU generator seeded with ``seed``."""
    torch = imported("torch")
    generator = torch.Generator("cpu").manual_seed(int(seed) % (1 << 64))
    return torch.randn(samples.shape, dtype=torch.float32, generator=generator), generator


def sample(ctx, job: Job, pipe) -> tuple[Any, Any]:
    """(the sampled raw latent, the last denoised prediction) for ``job`` on ``pipe``."""
    torch = imported("torch")
    unet = pipe.unet
    param = next(unet.parameters())
    device, dtype = param.device, param.dtype
    video = job.model.family == "svd"
    config = dict(pipe.scheduler.config)
    if video and (job.sampler not in VIDEO_SAMPLERS or (job.schedule is not None and job.schedule not in VIDEO_SCHEDULES)):
        raise NodeError(f"Stable Video Diffusion samples with continuous (EDM) timesteps, which diffusers steps with "
                        f"{', '.join(VIDEO_SAMPLERS)} and the {'/'.join(VIDEO_SCHEDULES)} schedules; got "
                        f"{job.sampler}/{job.schedule}", input="sampler_name")
    scheduler = make_scheduler(config, job.sampler, job.schedule, job.model)
    if job.sigmas is not None:  # the scheduler runs every positive sigma; ``end`` stops before a last one > 0
        total = sum(1 for s in job.sigmas if float(s) > 0)
    elif job.denoise < 1:
        total = max(job.steps, int(job.steps / job.denoise)) if job.denoise > 0 else 0
    else:
        total = job.steps
    samples = job.samples.float()
    noise, generator = noise_like(samples, job.seed)
    if total <= 0 or (job.sigmas is not None and total < 1):
        return samples.clone(), samples.clone()
    set_schedule(scheduler, job, total, config, device)
    order = getattr(scheduler, "order", 1)
    first = (total - job.steps) if (job.denoise < 1 and job.sigmas is None) else job.start
    last = total if job.end is None else min(job.end, total)
    if first >= last:
        return samples.clone(), samples.clone()
    begin, stop = first * order, min(len(scheduler.timesteps), last * order if last < total else len(scheduler.timesteps))
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(begin)
    timesteps = scheduler.timesteps
    sigma_space = float(scheduler.init_noise_sigma) > 1.0001
    scale = float(pipe.vae.config.scaling_factor)
    alphas = scheduler.alphas_cumprod.float().cpu() if hasattr(scheduler, "alphas_cumprod") else None

    def sigma_at(index: int) -> float:
        if index >= len(timesteps):
            return 0.0
        if sigma_space:
            return float(scheduler.sigmas[index])
        a = float(alphas[int(round(float(timesteps[index])))])
        return math.sqrt((1 - a) / a)

    x = samples * scale
    if job.add_noise:
        start_sigma = float(scheduler.init_noise_sigma) if (begin == 0 and sigma_space and job.sigmas is None) \
            else sigma_at(begin)
        x = x + noise * start_sigma
    if not sigma_space:
        x = x / math.sqrt(1 + sigma_at(begin) ** 2)
    x = x.to(device, dtype)
    conditioning = _Conditioning(job, pipe, device, dtype, samples.shape)
    denoised = None
    count = stop - begin
    ctx.progress(0, count)
    for n, index in enumerate(range(begin, stop)):
        t = timesteps[index]
        model_in = scheduler.scale_model_input(x, t)
        output = conditioning.guided(unet, model_in, t)
        denoised = _denoised(scheduler, output, x, index, t, sigma_at(index), sigma_space, alphas)
        step_kwargs = {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}
        x = scheduler.step(output, t, x, return_dict=True, **step_kwargs).prev_sample
        ctx.progress(n + 1, count)
    if stop < len(timesteps):
        if job.full_denoise:
            result = denoised
        else:
            result = x.float() if sigma_space else x.float() * math.sqrt(1 + sigma_at(stop) ** 2)
    else:
        result = x.float()
    return (result.float().cpu() / scale).contiguous(), (denoised.float().cpu() / scale).contiguous()


def _denoised(scheduler, output, x, index: int, t, sigma: float, sigma_space: bool, alphas):
    """The clean-latent prediction (sigma-space scaling) of a model output at this step."""
    prediction = scheduler.config.prediction_type
    x = x.float()
    output = output.float()
    if sigma_space:
        if prediction == "epsilon":
            return x - sigma * output
        if prediction == "v_prediction":
            return x / (sigma ** 2 + 1) - output * sigma / math.sqrt(sigma ** 2 + 1)
        return output
    a = 1 / (1 + sigma ** 2)  # alpha_bar at this timestep
    if prediction == "epsilon":
        return (x - math.sqrt(1 - a) * output) / math.sqrt(a)
    if prediction == "v_prediction":
        return math.sqrt(a) * x - math.sqrt(1 - a) * output
    return output


class _Conditioning:
    """The UNet inputs of every conditioning entry, and the guided model output."""

    def __init__(self, job: Job, pipe, device, dtype, shape):
        import torch
        self.job, self.device, self.dtype = job, device, dtype
        self.family = job.model.family
        self.batch = shape[0]
        height, width = shape[-2] * 8, shape[-1] * 8
        self.positive = [self._inputs(e, height, width, "positive") for e in job.positive]
        self.negative = [self._inputs(e, height, width, "negative") for e in job.negative]
        if not self.positive:
            raise NodeError("the positive conditioning is empty", input="positive")
        self.video = self.family == "svd"
        if self.video and job.model.min_cfg is not None:  # VideoLinearCFGGuidance: first frame min_cfg, last cfg
            frames = shape[0]
            self.cfg = torch.linspace(job.model.min_cfg, job.cfg, frames, device=device, dtype=dtype).view(frames, 1, 1, 1)
        else:
            self.cfg = job.cfg

    def _inputs(self, entry, height: int, width: int, kind: str) -> dict:
        import torch
        embeds, extras = entry
        inputs = {"encoder_hidden_states": embeds.to(self.device, self.dtype)}
        if self.family in ("sdxl", "sdxl_refiner"):
            pooled = extras.get("pooled_output")
            if pooled is None:
                raise NodeError(f"the {kind} conditioning has no pooled output (SDXL needs CLIPTextEncode's)",
                                input=kind)
            if self.family == "sdxl":
                ids = [height, width, 0, 0, height, width]
            else:
                ids = [height, width, 0, 0, extras.get("aesthetic_score", 2.5 if kind == "negative" else 6.0)]
            inputs["added_cond_kwargs"] = {"text_embeds": pooled.to(self.device, self.dtype),
                                           "time_ids": torch.tensor([ids], device=self.device, dtype=self.dtype)}
        elif self.family == "svd":
            concat = extras.get("concat_latent_image")
            if concat is None:
                raise NodeError(f"the {kind} conditioning has no image latent: make it with SVD_img2vid_Conditioning",
                                input=kind)
            inputs["concat"] = concat.to(self.device, self.dtype)
            inputs["added_time_ids"] = torch.tensor(
                [[extras.get("fps", 6) - 1, extras.get("motion_bucket_id", 127), extras.get("augmentation_level", 0.0)]],
                device=self.device, dtype=self.dtype)
        return inputs

    def _run(self, unet, x, t, inputs):
        if self.video:  # frames are the batch on the edge; SVD's UNet wants [1, frames, channels, h, w]
            frames = x.shape[0]
            concat = inputs["concat"][:1].expand(frames, -1, -1, -1)
            sample = torch_cat([x, concat], dim=1)[None]
            return unet(sample, t, encoder_hidden_states=inputs["encoder_hidden_states"],
                        added_time_ids=inputs["added_time_ids"], return_dict=False)[0][0]
        hidden = inputs["encoder_hidden_states"]
        batch = x.shape[0]
        kwargs = {}
        if "added_cond_kwargs" in inputs:
            kwargs["added_cond_kwargs"] = {k: v.expand(batch, *v.shape[1:]) for k, v in inputs["added_cond_kwargs"].items()}
        return unet(x, t, encoder_hidden_states=hidden.expand(batch, *hidden.shape[1:]), return_dict=False, **kwargs)[0]

    def _mean(self, unet, x, t, entries):
        total = None
        for inputs in entries:
            out = self._run(unet, x, t, inputs)
            total = out if total is None else total + out
        return total / len(entries)

    def guided(self, unet, x, t):
        cond = self._mean(unet, x, t, self.positive)
        if (not self.negative) or (not self.video and self.cfg == 1.0):
            return cond
        uncond = self._mean(unet, x, t, self.negative)
        return uncond + self.cfg * (cond - uncond)


def torch_cat(tensors, dim: int):
    import torch
    return torch.cat(tensors, dim=dim)
