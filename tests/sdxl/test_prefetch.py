"""Weights read onto the device beside the imports (nodes/sdxl/prefetch.py): the same model and
image as the library's loading, and the library's loading whenever a file is unusual."""
from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from nodegraph_nodes.sdxl import prefetch
from nodegraph_nodes.sdxl.model_manager import ModelManager

from .conftest import capture, run, workflow

PARTS = ("unet", "vae", "text_encoder", "text_encoder_2")


def prefetching_manager() -> ModelManager:
    manager = ModelManager()
    manager.prefetch_on_cpu = True  # on by default only on a GPU
    return manager


def image_and_weights(make_session, manager, **inputs):
    result, _ = run(make_session(own_manager=manager), capture(workflow(**inputs), image="decode.image",
                                                               handle="model.model"))
    assert result.ok, result.error
    with manager.use(result.values["handle"]["value"], parts="vae") as pipe:
        weights = {f"{c}.{k}": v.clone() for c in PARTS for k, v in getattr(pipe, c).state_dict().items()}
    return result.values["image"]["value"], weights


def test_prefetched_model_equals_the_library_loaded_one(make_session):
    plain = ModelManager()
    plain.prefetch_weights = False
    reference, reference_weights = image_and_weights(make_session, plain)
    manager = prefetching_manager()
    image, weights = image_and_weights(make_session, manager)
    assert manager.stats["prefetches"] == 1 and manager.stats["prefetched_components"] == 4
    assert weights.keys() == reference_weights.keys()
    assert all(torch.equal(weights[k], reference_weights[k]) for k in weights)
    assert torch.equal(image, reference)
    again, _ = image_and_weights(make_session, manager, sampler__seed=7)
    assert manager.stats["prefetches"] == 1  # a manager holding a model reads nothing ahead
    assert not torch.equal(again, image)


def test_a_component_that_does_not_fit_exactly_loads_through_its_library(make_session, demo_paths, tmp_path):
    """A VAE file with a tensor the model does not have: diffusers loads it (ignoring the extra
    tensor), the other three are built around what was read, and the image is the same."""
    folder = tmp_path / "odd-vae"
    shutil.copytree(demo_paths["tiny-sdxl"], folder)
    vae_file = folder / "vae" / "diffusion_pytorch_model.safetensors"
    tensors = load_file(vae_file)
    save_file({**tensors, "extra.weight": torch.ones(3)}, vae_file)
    plain = ModelManager()
    plain.prefetch_weights = False
    reference, _ = image_and_weights(make_session, plain, model__checkpoint=str(folder))
    manager = prefetching_manager()
    image, _ = image_and_weights(make_session, manager, model__checkpoint=str(folder))
    assert manager.stats["prefetches"] == 1 and manager.stats["prefetched_components"] == 3
    assert torch.equal(image, reference)


def test_sharded_or_variant_folders_are_left_to_the_library(demo_paths, tmp_path):
    folder = tmp_path / "variant"
    shutil.copytree(demo_paths["tiny-sdxl"], folder)
    assert prefetch.weight_file(folder, "unet") is not None
    shutil.copy(folder / "unet" / "diffusion_pytorch_model.safetensors",
                folder / "unet" / "diffusion_pytorch_model.fp16.safetensors")
    assert prefetch.weight_file(folder, "unet") is None
    assert prefetch.weight_file(folder, "vae") is not None


def test_reader_matches_safetensors_for_every_dtype_shape_and_offset(tmp_path):
    tensors = {
        "a_odd_bytes": torch.arange(7, dtype=torch.uint8),  # leaves later offsets unaligned unless sorted
        "b_bool": torch.tensor([True, False, True]),
        "c_scalar": torch.tensor(3.5, dtype=torch.float32),
        "d_empty": torch.zeros(0, 4, dtype=torch.float16),
        "e_bf16": torch.randn(5, 3).to(torch.bfloat16),
        "f_int64": torch.arange(-4, 5, dtype=torch.int64).reshape(3, 3),
        "g_fp32": torch.randn(2, 3, 4),
    }
    path = tmp_path / "mixed.safetensors"
    save_file(tensors, path, metadata={"format": "pt"})
    expected = load_file(path)
    for dtype in (torch.float32, torch.float16):
        read = prefetch.read_safetensors(path, "cpu", dtype)
        assert read.keys() == expected.keys()
        for name, tensor in expected.items():
            want = tensor.to(dtype) if tensor.is_floating_point() else tensor
            assert read[name].dtype == want.dtype and read[name].shape == want.shape, name
            assert torch.equal(read[name], want), name


def test_a_truncated_file_is_refused_and_the_library_reports_it(tmp_path):
    path = tmp_path / "cut.safetensors"
    save_file({"w": torch.randn(64, 64)}, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="truncated"):
        prefetch.read_safetensors(path, "cpu", torch.float32)


def test_weights_read_for_a_model_no_node_used_are_dropped(demo_paths):
    from nodegraph_nodes.sdxl.model_manager import ModelSource
    manager = prefetching_manager()
    source = ModelSource("diffusers", str(demo_paths["tiny-sdxl"]), "demo", "x", "cpu", "float32")
    assert manager.prefetch(source) and not manager.prefetch(source)  # one read ahead at a time
    (pending,) = manager._prefetches.values()
    manager.close()
    assert not manager._prefetches and all(pending.take(c) is None for c in PARTS)
    off = ModelManager()
    assert not off.prefetch(source)  # the CPU: off unless asked (the reads would take the imports' core)


def test_weights_nobody_takes_in_time_are_dropped(demo_paths):
    """A run that never used the model (or a Ray worker that only ran LoadSDXL) does not keep
    the read weights: they go after ``unclaimed_after`` seconds."""
    import time
    pending = prefetch.Prefetch(demo_paths["tiny-sdxl"], "cpu", "float32", unclaimed_after=0.2)
    pending._thread.join(timeout=60)
    assert not pending._thread.is_alive() and not pending._tensors
    assert pending.take("unet") is None
    kept = prefetch.Prefetch(demo_paths["tiny-sdxl"], "cpu", "float32", unclaimed_after=60)
    time.sleep(0.3)
    assert kept.take("unet") is not None  # claimed in time: handed over
