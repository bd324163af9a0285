"""Sampler and scheduler names: every supported pair builds its diffusers scheduler with the
mapped options; names without a faithful mapping are validation errors naming the node, the
input and the nearest supported names."""
from __future__ import annotations

import pytest

from nodegraph.graph.validate import validate
from nodegraph_nodes.comfy.handles import ComfyModel
from nodegraph_nodes.comfy.sampler_names import SAMPLERS, SCHEDULES, sampler_problem, supports
from nodegraph_nodes.comfy.sampling import make_scheduler
from nodegraph_nodes.sdxl.model_manager import ModelSource

from .conftest import edited

CONFIG = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
          "prediction_type": "epsilon", "timestep_spacing": "leading", "steps_offset": 1}
MODEL = ComfyModel(ModelSource("diffusers", "x", "x", "x"), "sd1")


def _pairs():
    return [(s, c) for s in SAMPLERS for c in SCHEDULES if supports(s, c) and not sampler_problem(s, c)]


@pytest.mark.parametrize("sampler,schedule", _pairs())
def test_supported_pairs_build_their_diffusers_scheduler(sampler, schedule):
    scheduler = make_scheduler(CONFIG, sampler, schedule, MODEL)
    assert type(scheduler).__name__ == SAMPLERS[sampler][0]
    for key, value in SCHEDULES[schedule].items():
        if sampler != "lcm":  # LCM gets the schedule's timesteps explicitly
            assert scheduler.config[key] == value, (sampler, schedule, key)
    for key, value in SAMPLERS[sampler][1].items():
        assert scheduler.config[key] == value


def test_schedules_give_comfyui_timesteps():
    """simple and ddim_uniform pick the same integer timesteps as ComfyUI (4 steps of 1000)."""
    simple = make_scheduler(CONFIG, "euler", "simple", MODEL)
    simple.set_timesteps(4)
    assert [int(t) for t in simple.timesteps] == [999, 749, 499, 249]
    uniform = make_scheduler(CONFIG, "euler", "ddim_uniform", MODEL)
    uniform.set_timesteps(4)
    assert [int(t) for t in uniform.timesteps] == [751, 501, 251, 1]
    karras = make_scheduler(CONFIG, "euler", "karras", MODEL)
    karras.set_timesteps(4)
    normal = make_scheduler(CONFIG, "euler", "normal", MODEL)
    normal.set_timesteps(4)
    assert karras.sigmas[1] != normal.sigmas[1]


def test_unmapped_names_are_validation_errors_with_nearest_names(registry):
    problems = validate(edited("sd15_txt2img", **{"3__sampler_name": "dpmpp_3m_sde", "3__scheduler": "kl_optimal"}),
                        registry)
    by_input = {p.input: p for p in problems}
    assert set(by_input) == {"sampler_name", "scheduler"} and all(p.node == "3" for p in problems)
    assert "dpmpp_3m_sde" in by_input["sampler_name"].message and "dpmpp_2m_sde" in by_input["sampler_name"].message
    assert "kl_optimal" in by_input["scheduler"].message and "nearest supported" in by_input["scheduler"].message


def test_pairs_diffusers_cannot_run_name_both_ways(registry):
    problems = validate(edited("sd15_txt2img", **{"3__sampler_name": "euler_ancestral", "3__scheduler": "karras"}),
                        registry)
    assert [(p.node, p.input) for p in problems] == [("3", "scheduler")]
    message = problems[0].message
    assert "with euler_ancestral use normal" in message and "karras works with euler" in message
    assert validate(edited("sd15_txt2img", **{"3__sampler_name": "euler", "3__scheduler": "karras"}), registry) == []
