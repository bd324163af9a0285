"""VAEDecode / VAEEncode honour the VAE config's ``force_upcast`` as diffusers does: a float16
VAE that sets it encodes and decodes in float32 (and is float16 again afterwards, shared and
warm); one that does not stays in float16. Checked on the CPU by the dtype reaching the decoder."""
from __future__ import annotations

import pytest
import torch

from nodegraph_nodes.comfy.access import VaeManager
from nodegraph_nodes.comfy.handles import ComfyVae
from nodegraph_nodes.comfy.latent import VAEDecode, VAEEncode
from nodegraph_nodes.sdxl.model_manager import ModelSource


class _Ctx:
    """What the VAE nodes use of a run context: one VAE manager."""
    def __init__(self):
        self.manager = VaeManager()

    def service(self, name, factory):
        return self.manager


def _vae_folder(tmp_path, force_upcast: bool):
    from diffusers import AutoencoderKL
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 16), down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=4,
                        sample_size=32, force_upcast=force_upcast)
    folder = tmp_path / f"vae_{force_upcast}"
    vae.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("force_upcast, expected", [(True, torch.float32), (False, torch.float16)])
def test_decode_and_encode_run_in_float32_when_the_config_forces_it(tmp_path, force_upcast, expected):
    folder = _vae_folder(tmp_path, force_upcast)
    source = ModelSource("vae_file", str(folder), folder.name, f"fp-{force_upcast}", "cpu", "float16", family="vae")
    handle, ctx = ComfyVae(source, "vae"), _Ctx()
    seen = []
    with ctx.manager.use(source) as module:
        assert next(module.parameters()).dtype == torch.float16
        module.decoder.register_forward_pre_hook(lambda _m, args: seen.append(("decode", args[0].dtype)))
        module.encoder.register_forward_pre_hook(lambda _m, args: seen.append(("encode", args[0].dtype)))

    image = VAEDecode(samples={"samples": torch.randn(1, 4, 4, 4)}, vae=handle).run(ctx)["image"]
    latent = VAEEncode(pixels=torch.rand(1, 16, 16, 3), vae=handle).run(ctx)["latent"]
    assert seen == [("decode", expected), ("encode", expected)]
    assert image.shape == (1, 8, 8, 3) and torch.isfinite(image).all()
    assert latent["samples"].shape == (1, 4, 8, 8)
    with ctx.manager.use(source) as module:  # the warm module is float16 again for its next user
        assert {p.dtype for p in module.parameters()} == {torch.float16}
