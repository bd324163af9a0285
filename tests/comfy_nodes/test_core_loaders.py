"""Packs that subclass ComfyUI's loaders (``nodes.CheckpointLoaderSimple``, ``nodes.LoraLoader``):
the classes carry ComfyUI's inputs and function names, and a subclass's call of
``load_checkpoint`` loads what the comfy pack's own CheckpointLoaderSimple loads (the same picture
comes out of the same graph)."""
from __future__ import annotations

import pytest
from PIL import Image

from comfy_nodes_helpers import PACKS, link, run, shown, workflow
from nodegraph.run.session import Session


@pytest.fixture(scope="module")
def loader_session(tmp_path_factory):
    root = tmp_path_factory.mktemp("core-loaders")
    with Session.open(output_dir=root / "output", input_dir=root / "input", models_dir=root / "models",
                      cache_dir=None, device="cpu", pack_folders={"comfy": [PACKS]}) as session:
        yield session


def test_the_loader_subclasses_load_with_comfyuis_inputs(loader_session):
    registry = loader_session.registry
    assert registry.origin["CoreCheckpointLabelled"] == "comfy:core_loaders"
    assert registry.origin["CoreLoraAsIs"] == "comfy:core_loaders"
    lora = {i.name for i in registry.nodes["CoreLoraAsIs"].inputs.values()}
    assert lora == {"model", "clip", "lora_name", "strength_model", "strength_clip"}
    assert list(registry.nodes["CoreCheckpointLabelled"].outputs) == ["model", "clip", "vae", "string"]


def _txt2img(loader: str, extra: dict) -> dict:
    return workflow(
        ckpt=(loader, {"ckpt_name": "demo:tiny-sd15", **extra}),
        pos=("CLIPTextEncode", {"text": "a lighthouse", "clip": link("ckpt", "clip")}),
        neg=("CLIPTextEncode", {"text": "blurry", "clip": link("ckpt", "clip")}),
        empty=("EmptyLatentImage", {"width": 64, "height": 64, "batch_size": 1}),
        ks=("KSampler", {"model": link("ckpt", "model"), "seed": 3, "steps": 2, "cfg": 7.0, "sampler_name": "euler",
                         "scheduler": "normal", "positive": link("pos", "conditioning"),
                         "negative": link("neg", "conditioning"), "latent_image": link("empty", "latent"),
                         "denoise": 1.0}),
        dec=("VAEDecode", {"samples": link("ks", "latent"), "vae": link("ckpt", "vae")}),
        save=("SaveImage", {"images": link("dec", "image"), "prefix": loader}))


def test_a_subclass_calling_load_checkpoint_gives_the_native_loaders_picture(loader_session):
    job = _txt2img("CoreCheckpointLabelled", {"label": "mine"})
    job["nodes"]["show"] = {"type": "Show", "inputs": {"value": link("ckpt", "string")}}
    ours, sink = run(loader_session, job)
    assert ours.ok, ours.error
    assert shown(sink, "show") == "mine: demo:tiny-sd15"
    native, _ = run(loader_session, _txt2img("CheckpointLoaderSimple", {}))
    assert native.ok, native.error
    (a,), (b,) = ([p for p in r.outputs if p.endswith(".png")] for r in (ours, native))
    assert Image.open(a).convert("RGB").tobytes() == Image.open(b).convert("RGB").tobytes()
