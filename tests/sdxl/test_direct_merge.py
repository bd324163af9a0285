"""The fused path merges LoRA files straight into the weights: same numbers as diffusers' own
fuse, no adapter layers, and the exact base back when the patch set changes."""
from __future__ import annotations

import weakref

import pytest
import torch
from safetensors.torch import save_file
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from nodegraph import NodeError
from nodegraph_nodes.sdxl import demo
from nodegraph_nodes.sdxl.model_manager import LoraPatch, ModelHandle, ModelManager, ModelSource

from .conftest import direct_pipeline

COMPONENTS = ("unet", "text_encoder", "text_encoder_2")


def source(demo_paths) -> ModelSource:
    return ModelSource("diffusers", str(demo_paths["tiny-sdxl"]), "demo:tiny-sdxl",
                       demo.demo_fingerprint("demo:tiny-sdxl"))


def patch(path, strength: float, label: str = "lora") -> LoraPatch:
    return LoraPatch(str(path), f"test:{path}", strength, label, node="merge")


@pytest.fixture(scope="module")
def wide_lora(demo_paths, tmp_path_factory):
    """A kohya LoRA on UNet linears, 3x3 and 1x1 convs and both text encoders, with alphas != rank."""
    pipe = direct_pipeline(demo_paths)
    gen = torch.Generator().manual_seed(7)
    out = {}

    def add(stem: str, weight: torch.Tensor, rank: int, alpha: float):
        if weight.dim() == 4:
            down = torch.randn(rank, weight.shape[1], *weight.shape[2:], generator=gen) * 0.2
            up = torch.randn(weight.shape[0], rank, 1, 1, generator=gen) * 0.2
        else:
            down = torch.randn(rank, weight.shape[1], generator=gen) * 0.2
            up = torch.randn(weight.shape[0], rank, generator=gen) * 0.2
        out[f"{stem}.lora_down.weight"], out[f"{stem}.lora_up.weight"] = down, up
        out[f"{stem}.alpha"] = torch.tensor(alpha)

    unet = pipe.unet
    add("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q",
        unet.down_blocks[1].attentions[0].transformer_blocks[0].attn1.to_q.weight, 4, 2.0)
    add("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_ff_net_2",
        unet.down_blocks[1].attentions[0].transformer_blocks[0].ff.net[2].weight, 2, 2.0)
    add("lora_unet_down_blocks_0_resnets_0_conv1", unet.down_blocks[0].resnets[0].conv1.weight, 4, 1.0)
    add("lora_unet_down_blocks_1_resnets_0_conv_shortcut", unet.down_blocks[1].resnets[0].conv_shortcut.weight, 4, 8.0)
    te1 = getattr(pipe.text_encoder, "text_model", pipe.text_encoder)  # flattened in transformers 5
    # (diffusers tells old-style text-encoder keys apart by out_proj's: real LoRAs have both)
    add("lora_te1_text_model_encoder_layers_0_self_attn_q_proj", te1.encoder.layers[0].self_attn.q_proj.weight, 4, 4.0)
    add("lora_te1_text_model_encoder_layers_0_self_attn_out_proj", te1.encoder.layers[0].self_attn.out_proj.weight, 4, 2.0)
    te2 = getattr(pipe.text_encoder_2, "text_model", pipe.text_encoder_2)  # flattened in transformers 5
    add("lora_te2_text_model_encoder_layers_1_mlp_fc1", te2.encoder.layers[1].mlp.fc1.weight, 2, 1.0)
    path = tmp_path_factory.mktemp("loras") / "wide.safetensors"
    save_file(out, str(path))
    return path


def weights(pipe) -> dict[str, torch.Tensor]:
    """Every component's weights under base-layer names (peft wrappers looked through)."""
    state = {}
    for component in COMPONENTS:
        for key, value in getattr(pipe, component).state_dict().items():
            if "lora_" in key:
                continue
            state[f"{component}.{key.replace('.base_layer.', '.')}"] = value.detach().clone()
    return state


def diffusers_fused(demo_paths, loras: list[tuple[str, float]]) -> dict[str, torch.Tensor]:
    pipe = direct_pipeline(demo_paths)
    names = []
    for i, (path, strength) in enumerate(loras):
        pipe.load_lora_weights(str(path), adapter_name=f"a{i}")
        names.append(f"a{i}")
    pipe.set_adapters(names, [s for _, s in loras])
    pipe.fuse_lora(components=list(COMPONENTS), adapter_names=names, lora_scale=1.0)
    return weights(pipe)


def assert_close(actual: dict, expected: dict, atol: float = 1e-5) -> None:
    assert actual.keys() == expected.keys()
    worst = max((actual[k] - expected[k]).abs().max().item() for k in expected)
    assert worst < atol, worst


def test_direct_fuse_equals_diffusers_fuse_in_both_formats_without_adapter_layers(demo_paths, wide_lora):
    from peft.tuners.tuners_utils import BaseTunerLayer
    manager = ModelManager()
    loras = [(demo_paths["tiny-sdxl-lcm-lora"], 1.0), (demo_paths["tiny-sdxl-style-lora"], 0.8), (wide_lora, 0.7)]
    handle = ModelHandle(source(demo_paths)).with_patches(tuple(patch(p, s) for p, s in loras), fuse=True)
    with manager.use(handle) as pipe:
        base_files = {k: v for k, v in weights(direct_pipeline(demo_paths)).items()}
        ours = weights(pipe)
        assert not any(isinstance(m, BaseTunerLayer) for c in COMPONENTS for m in getattr(pipe, c).modules())
    assert manager.stats["direct_merge"] == 1 and manager.stats["adapter_loads"] == 0
    expected = diffusers_fused(demo_paths, loras)
    assert_close(ours, expected)
    moved = {k for k in expected if not torch.equal(expected[k], base_files[k])}
    # Every kind of layer moved: UNet linears and convs (3x3 and 1x1), both text encoders.
    assert any(k.endswith("conv1.weight") for k in moved) and any("conv_shortcut" in k for k in moved)
    assert any(k.startswith("text_encoder.") for k in moved) and any(k.startswith("text_encoder_2.") for k in moved)


def test_changing_the_patch_set_starts_from_the_exact_base(demo_paths, wide_lora):
    manager = ModelManager()
    src = source(demo_paths)
    lcm, style = patch(demo_paths["tiny-sdxl-lcm-lora"], 1.0), patch(demo_paths["tiny-sdxl-style-lora"], 0.8)
    with manager.use(ModelHandle(src)) as pipe:
        base = weights(pipe)
    sequence = [((lcm, style), True), ((lcm,), True), ((style, patch(wide_lora, -0.5)), False), ((lcm,), True)]
    for patches, fuse in sequence:
        with manager.use(ModelHandle(src).with_patches(patches, fuse=fuse)) as pipe:
            now = weights(pipe)
            assert any(not torch.equal(now[k], base[k]) for k in base) or not fuse
    with manager.use(ModelHandle(src)) as pipe:
        back = weights(pipe)
    assert all(torch.equal(back[k], base[k]) for k in base)  # bit-exact, not up to rounding
    assert manager.stats["restore"] >= 2 and manager.stats["direct_merge"] == 3
    # The same file twice adds up (1.0 + 0.5), as diffusers' fuse of the two strengths does.
    with manager.use(ModelHandle(src).with_patches((patch(wide_lora, 1.0), patch(wide_lora, 0.5)), fuse=True)) as pipe:
        twice = weights(pipe)
    assert_close(twice, diffusers_fused(demo_paths, [(wide_lora, 1.5)]))


def test_fused_after_unfused_merges_into_the_peft_base_layers(demo_paths):
    manager = ModelManager()
    src = source(demo_paths)
    patches = (patch(demo_paths["tiny-sdxl-lcm-lora"], 1.0),)
    sample = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    text = torch.randn(1, 77, 96, generator=torch.Generator().manual_seed(1))
    added = {"text_embeds": torch.randn(1, 32, generator=torch.Generator().manual_seed(2)),
             "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]])}

    def out(handle):
        with torch.inference_mode(), manager.use(handle) as pipe:
            return pipe.unet(sample, 500, text, added_cond_kwargs=added).sample.clone()

    base = out(ModelHandle(src))
    unfused = out(ModelHandle(src).with_patches(patches, fuse=False))
    fused = out(ModelHandle(src).with_patches(patches, fuse=True))
    assert manager.stats["adapter_loads"] == 1 and manager.stats["direct_merge"] == 1
    assert torch.allclose(fused, unfused, atol=1e-4)
    assert (fused - base).abs().mean() > 10 * (fused - unfused).abs().max()
    assert torch.equal(out(ModelHandle(src)), base)


def test_a_misfit_in_the_second_file_names_it_and_leaves_the_base(demo_paths, tmp_path):
    manager = ModelManager()
    src = source(demo_paths)
    module = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"
    bad = tmp_path / "bad.safetensors"
    save_file({f"{module}.lora_down.weight": torch.randn(4, 7), f"{module}.lora_up.weight": torch.randn(64, 4),
               f"{module}.alpha": torch.tensor(4.0)}, str(bad))
    with manager.use(ModelHandle(src)) as pipe:
        base = weights(pipe)
    good = patch(demo_paths["tiny-sdxl-lcm-lora"], 1.0, "demo:tiny-sdxl-lcm-lora")
    with pytest.raises(NodeError) as info:
        with manager.use(ModelHandle(src).with_patches((good, patch(bad, 1.0, "bad.safetensors")), fuse=True)):
            pass
    assert "'bad.safetensors'" in str(info.value) and "does not fit" in str(info.value)
    with manager.use(ModelHandle(src)) as pipe:
        assert all(torch.equal(v, base[k]) for k, v in weights(pipe).items())


def test_the_base_after_an_unfused_lora_runs_without_adapter_layers(demo_paths):
    """Disabled peft wrappers still cost a Python forward per layer: a handle with no patches
    runs on the bare base layers, with the base weights, and a LoRA afterwards still applies."""
    from peft.tuners.tuners_utils import BaseTunerLayer
    manager = ModelManager()
    src = source(demo_paths)
    style = patch(demo_paths["tiny-sdxl-style-lora"], 0.8)

    def wrapped(pipe) -> int:
        return sum(isinstance(m, BaseTunerLayer) for c in COMPONENTS for m in getattr(pipe, c).modules())
    with manager.use(ModelHandle(src)) as pipe:
        base = weights(pipe)
    with manager.use(ModelHandle(src).with_patches((style,), fuse=False)) as pipe:
        assert wrapped(pipe) > 0
        unfused_out = pipe.unet.conv_in.weight.sum().item()
    with manager.use(ModelHandle(src)) as pipe:
        assert wrapped(pipe) == 0
        assert_close(weights(pipe), base, atol=0.0 + 1e-12)
    with manager.use(ModelHandle(src).with_patches((style,), fuse=False)) as pipe:
        assert wrapped(pipe) > 0 and pipe.unet.conv_in.weight.sum().item() == unfused_out


class Float32Live(TorchDispatchMode):
    """Bytes of float32 storage that ops made and that are still alive: now and at the peak."""

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0
        self.seen: set[int] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor) or t.dtype != torch.float32:
                continue
            ptr, size = t.untyped_storage().data_ptr(), t.untyped_storage().nbytes()
            if ptr in self.seen:  # a view, or an in-place op's result
                continue
            self.seen.add(ptr)
            self.live += size
            self.peak = max(self.peak, self.live)
            weakref.finalize(t, self._freed, ptr, size)
        return out

    def _freed(self, ptr: int, size: int) -> None:
        self.seen.discard(ptr)
        self.live -= size


def test_the_merge_holds_one_module_in_float32_at_a_time(demo_paths):
    """At SDXL size every module's float32 delta at once is ~10 GB on top of the model."""
    from nodegraph_nodes.sdxl.merge import merge, read_factors
    pipe = direct_pipeline(demo_paths).to(torch.float16)
    before = weights(pipe)
    patches = [(read_factors(pipe, str(demo_paths["tiny-sdxl-lcm-lora"])), 1.0),
               (read_factors(pipe, str(demo_paths["tiny-sdxl-style-lora"])), 0.8)]
    targets = {(c, name) for factors, _ in patches for c, modules in factors.modules.items() for name in modules}
    sizes = [getattr(pipe, c).get_submodule(name).weight.numel() * 4 for c, name in targets]  # float32 bytes
    with Float32Live() as live:
        saved = merge(pipe, patches)
    assert sum(sizes) > 20 * max(sizes)  # every delta at once would be far above the bound below
    assert live.peak <= 4 * max(sizes), (live.peak, max(sizes), sum(sizes))
    assert len(saved) == len(targets)
    assert any(not torch.equal(v, before[k]) for k, v in weights(pipe).items())
