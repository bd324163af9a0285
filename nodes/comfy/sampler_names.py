"""ComfyUI's sampler and scheduler names, and what each maps to in diffusers.

The combo inputs offer ComfyUI's whole lists (so every ComfyUI file validates structurally);
a name with no faithful diffusers counterpart is a validation error naming the nearest
supported names, never a silent substitute. Pure data and checks: no torch import.

Samplers (``sampler_name``) are diffusers scheduler classes; schedules (``scheduler``) are
those classes' own spacing options:

- normal → ``timestep_spacing="linspace"`` (ComfyUI spaces timesteps evenly from the first to the
  last; diffusers rounds them to integers);
- simple → ``"trailing"`` (the same integer timesteps as ComfyUI's);
- sgm_uniform → ``"trailing"`` (ComfyUI interpolates between integer timesteps; diffusers rounds);
- ddim_uniform → ``"leading"`` with ``steps_offset=1`` (the same timesteps as ComfyUI's);
- karras / exponential / beta → ``use_karras_sigmas`` / ``use_exponential_sigmas`` /
  ``use_beta_sigmas`` (classes without that option refuse the pair).
"""
from __future__ import annotations

import difflib
import importlib.util

# ComfyUI's lists (comfy/samplers.py: KSampler.SAMPLERS and SCHEDULERS), in its order.
KSAMPLER_NAMES = ("euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "dpm_2",
                  "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
                  "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp",
                  "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde",
                  "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "deis", "res_multistep",
                  "res_multistep_cfg_pp", "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp",
                  "gradient_estimation", "gradient_estimation_cfg_pp", "er_sde", "seeds_2", "seeds_3", "sa_solver",
                  "sa_solver_pece")
SAMPLER_NAMES = KSAMPLER_NAMES + ("ddim", "uni_pc", "uni_pc_bh2")
SCHEDULER_NAMES = ("normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta",
                   "linear_quadratic", "kl_optimal")

# sampler name -> (diffusers class, config overrides). The *_gpu variants differ from their base
# only in where ComfyUI draws the noise.
SAMPLERS = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_ancestral": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "dpm_2": ("KDPM2DiscreteScheduler", {}),
    "dpm_2_ancestral": ("KDPM2AncestralDiscreteScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "dpmpp_2m_sde": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}),
    "dpmpp_2m_sde_gpu": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}),
    "dpmpp_sde": ("DPMSolverSDEScheduler", {}),
    "dpmpp_sde_gpu": ("DPMSolverSDEScheduler", {}),
    "ddpm": ("DDPMScheduler", {}),
    "lcm": ("LCMScheduler", {}),
    "deis": ("DEISMultistepScheduler", {}),
    "ddim": ("DDIMScheduler", {}),  # ComfyUI runs Euler here; DDIM with eta 0 is that same ODE step
    "uni_pc": ("UniPCMultistepScheduler", {"solver_type": "bh1"}),
    "uni_pc_bh2": ("UniPCMultistepScheduler", {"solver_type": "bh2"}),
}
# scheduler name -> config overrides
SCHEDULES = {
    "normal": {"timestep_spacing": "linspace"},
    "simple": {"timestep_spacing": "trailing"},
    "sgm_uniform": {"timestep_spacing": "trailing"},
    "ddim_uniform": {"timestep_spacing": "leading", "steps_offset": 1},
    "karras": {"use_karras_sigmas": True},
    "exponential": {"use_exponential_sigmas": True},
    "beta": {"use_beta_sigmas": True},
}
# What each diffusers class accepts (its __init__ options), kept here so validation imports nothing.
_SIGMA_OPTIONS = {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"}
_ACCEPTS_SIGMAS = {"EulerDiscreteScheduler", "HeunDiscreteScheduler", "KDPM2DiscreteScheduler",
                   "KDPM2AncestralDiscreteScheduler", "LMSDiscreteScheduler", "DPMSolverMultistepScheduler",
                   "DPMSolverSDEScheduler", "UniPCMultistepScheduler", "DEISMultistepScheduler"}
# LCM picks its timesteps itself; the spacing schedules reach it as explicit timesteps.
_EXPLICIT_TIMESTEPS = {"LCMScheduler"}
# Sampler classes that step with the continuous (EDM) timesteps of SVD.
VIDEO_SAMPLERS = ("euler",)
VIDEO_SCHEDULES = ("karras", "exponential")


def supports(sampler: str, schedule: str) -> bool:
    cls = SAMPLERS[sampler][0]
    if set(SCHEDULES[schedule]) & _SIGMA_OPTIONS:
        return cls in _ACCEPTS_SIGMAS
    return True


def _nearest(name: str, names) -> str:
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.4) or list(names)[:3]
    return ", ".join(close)


def sampler_problem(sampler: str | None, schedule: str | None) -> list[tuple[str, str]]:
    """(input, message) for a sampler/scheduler pair diffusers cannot run faithfully."""
    problems = []
    if sampler is not None and sampler not in SAMPLERS:
        problems.append(("sampler_name", f"{sampler!r} has no faithful diffusers counterpart; nearest supported: "
                                         f"{_nearest(sampler, SAMPLERS)} (all supported: {', '.join(SAMPLERS)})"))
    elif sampler is not None and SAMPLERS[sampler][0] == "DPMSolverSDEScheduler" \
            and importlib.util.find_spec("torchsde") is None:
        problems.append(("sampler_name", f"{sampler!r} runs diffusers' DPMSolverSDEScheduler, which needs the "
                                         "torchsde package (pip install torchsde); without it use dpmpp_2m_sde"))
    if schedule is not None and schedule not in SCHEDULES:
        problems.append(("scheduler", f"{schedule!r} has no faithful diffusers counterpart; nearest supported: "
                                      f"{_nearest(schedule, SCHEDULES)} (all supported: {', '.join(SCHEDULES)})"))
    if not problems and sampler is not None and schedule is not None and not supports(sampler, schedule):
        with_sampler = [s for s in SCHEDULES if supports(sampler, s)]
        with_schedule = [s for s in SAMPLERS if supports(s, schedule)]
        problems.append(("scheduler", f"{sampler} cannot use the {schedule} schedule in diffusers "
                                      f"({SAMPLERS[sampler][0]} has no such option); with {sampler} use "
                                      f"{', '.join(with_sampler)}; {schedule} works with {', '.join(with_schedule)}"))
    return problems


def explicit_timesteps(sampler: str) -> bool:
    return SAMPLERS[sampler][0] in _EXPLICIT_TIMESTEPS
