"""Fast mode (--compile): compiled UNet and VAE decoder give the eager results, compiled once per
pipeline, and follow LoRA patch-set changes merged in place."""
from __future__ import annotations

import torch

from nodegraph_nodes.sdxl.model_manager import ModelHandle, ModelManager

from .conftest import capture, run, workflow


def test_compiled_main_job_matches_eager_and_compiles_once(make_session, monkeypatch):
    # aot_eager captures the same graphs as inductor without minutes of C++ codegen on a CPU;
    # benchmarks/fast_mode.py compares inductor's numbers.
    monkeypatch.setenv("NODEGRAPH_COMPILE_BACKEND", "aot_eager")
    eager_session = make_session(own_manager=ModelManager())
    fast_manager = ModelManager()
    fast_session = make_session(own_manager=fast_manager)
    fast_session.env.compile = True
    for style_strength in (0.8, -0.5):
        wf = capture(workflow(merge__style_strength=style_strength), latent="sampler.latent", image="decode.image")
        eager, _ = run(eager_session, wf)
        fast, sink = run(fast_session, wf)
        assert eager.ok and fast.ok, (eager.error, fast.error)
        for name in ("latent", "image"):
            assert torch.allclose(fast.values[name]["value"], eager.values[name]["value"], atol=1e-4), name
        compiling = {e["node"] for e in sink.of("executed") if "compile" in e.get("phases", {})}
        if style_strength == 0.8:
            first = fast.values["image"]["value"]
            assert compiling == {"sampler", "decode"}  # the first calls say why they took long
        else:
            assert compiling == set()  # same shapes: compiled already
    assert not torch.allclose(first, fast.values["image"]["value"], atol=1e-2)  # the patch change took effect
    assert fast_manager.stats["compiles"] == 1 and fast_manager.stats["direct_merge"] == 2
    (source,) = fast_manager.loaded()
    with fast_manager.use(ModelHandle(source)) as pipe:  # outside fast mode the modules are eager
        assert not hasattr(pipe.unet, "_orig_mod") and "decode" not in vars(pipe.vae)
    other_size, sink = run(fast_session, workflow(size=72))  # torch specialises per shape: compiles again
    assert other_size.ok, other_size.error
    assert {e["node"] for e in sink.of("executed") if "compile" in e.get("phases", {})} == {"sampler", "decode"}
