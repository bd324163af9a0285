"""Fast mode (--compile): compiled UNet and VAE decoder give the eager results, compiled once per
pipeline, and follow LoRA patch-set changes merged in place."""
from __future__ import annotations

import pytest
import torch

from nodegraph_nodes.sdxl.model_manager import ModelHandle, ModelManager

from .conftest import capture, direct_pipeline, run, workflow


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


def test_compiled_unfused_loras_match_eager(make_session, monkeypatch):
    # Unfused LoRAs run as peft adapter layers inside the transformer blocks that fast mode makes
    # nested regions (on a CPU): the compiled image is still the eager one, and a changed
    # strength still changes it.
    monkeypatch.setenv("NODEGRAPH_COMPILE_BACKEND", "aot_eager")
    eager_session = make_session(own_manager=ModelManager())
    fast_session = make_session(own_manager=ModelManager())
    fast_session.env.compile = True
    images = []
    for style_strength in (0.8, -0.5):
        wf = capture(workflow(merge__fuse=False, merge__style_strength=style_strength), image="decode.image")
        eager, _ = run(eager_session, wf)
        fast, _ = run(fast_session, wf)
        assert eager.ok and fast.ok, (eager.error, fast.error)
        assert torch.allclose(fast.values["image"]["value"], eager.values["image"]["value"], atol=1e-4)
        images.append(fast.values["image"]["value"])
    assert not torch.allclose(images[0], images[1], atol=1e-2)


@pytest.mark.parametrize("regions", ["auto", "1", "0"])
def test_repeated_blocks_are_compiled_once_per_shape(demo_paths, monkeypatch, regions):
    # What torch.compile is handed: with regions on (by default on a CPU), each transformer block
    # of the UNet is a call of a nested region compiled once per distinct shape (the compile-time
    # saving), and the results are still the eager UNet's; with NODEGRAPH_COMPILE_REGIONS=0
    # every block is inline.
    from nodegraph_nodes.sdxl import fast
    graphs = []

    def recording_backend(gm, example_inputs):
        calls = [n for n in gm.graph.nodes
                 if n.op == "call_function" and n.target is torch.ops.higher_order.invoke_subgraph]
        graphs.append((len(calls), {n.args[0].target for n in calls}))
        return gm.forward  # runs the captured graph as it is

    monkeypatch.setenv("NODEGRAPH_COMPILE_REGIONS", regions)
    monkeypatch.setattr(fast, "backend", lambda: recording_backend)
    pipe = direct_pipeline(demo_paths)
    blocks = sum(type(m).__name__ == "BasicTransformerBlock" for m in pipe.unet.modules())
    config = pipe.unet.config
    torch.manual_seed(0)
    inputs = (torch.randn(1, 4, 8, 8), torch.tensor([500]), torch.randn(1, 77, config.cross_attention_dim))
    added = {"text_embeds": torch.randn(1, config.projection_class_embeddings_input_dim
                                        - 6 * config.addition_time_embed_dim),
             "time_ids": torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]])}
    with torch.inference_mode():
        eager = pipe.unet(*inputs, added_cond_kwargs=added).sample
        compiled = fast.compile_pipeline(pipe)
        out = compiled.unet(*inputs, added_cond_kwargs=added).sample
        again = pipe.unet(*inputs, added_cond_kwargs=added).sample  # eager, through the marked blocks
    assert blocks >= 4
    (calls, subgraphs), = graphs
    if regions != "0":
        assert calls == blocks and 1 <= len(subgraphs) < blocks
    else:
        assert calls == 0
    # (channels_last, set by compile_pipeline, changes the rounding of the eager UNet too)
    assert torch.allclose(out, eager, atol=1e-5) and torch.allclose(again, eager, atol=1e-5)


@pytest.mark.parametrize("setting, device, backend, expected", [
    ("auto", "cpu", "inductor", True), ("auto", "cuda", "aot_eager", True),
    ("auto", "cuda", "inductor", False),  # CUDA graphs: inline until measured on a GPU
    ("1", "cuda", "inductor", True), ("0", "cpu", "inductor", False), ("0", "cuda", "aot_eager", False),
])
def test_where_blocks_become_regions(monkeypatch, setting, device, backend, expected):
    from nodegraph_nodes.sdxl import fast
    monkeypatch.setenv("NODEGRAPH_COMPILE_REGIONS", setting)
    monkeypatch.setenv("NODEGRAPH_COMPILE_BACKEND", backend)
    assert fast.regions(device) is expected
    assert fast.cuda_graphs(device) is (device == "cuda" and backend == "inductor")
    monkeypatch.setenv("NODEGRAPH_COMPILE_REGIONS", "yes")  # not silently taken as a choice
    with pytest.raises(ValueError, match="NODEGRAPH_COMPILE_REGIONS is 'yes'"):
        fast.regions(device)
