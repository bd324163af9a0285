"""The ComfyUI modules packs import (folder_paths, comfy.utils, comfy.model_management, server,
nodes), as nodegraph provides them: per call, never shared between jobs."""
from __future__ import annotations

import importlib
import threading
from pathlib import Path

import pytest

from nodegraph.comfyui.surface import SurfaceCall, surface
from nodegraph.run.context import Environment, InterruptToken, RunContext
from nodegraph.api.errors import Interrupted
from nodegraph.run.events import CollectingSink
from nodegraph.files.roots import FileRoots


def roots(base: Path) -> FileRoots:
    found = FileRoots(input_dir=base / "input", models_dir=base / "models", output_dir=base / "output")
    for folder in (found.input_dir, found.models_dir, found.output_dir):
        folder.mkdir(parents=True, exist_ok=True)
    return found


def test_folder_paths_lists_model_folders_under_comfyui_and_nodegraph_names(tmp_path):
    files = roots(tmp_path)
    for name in ("checkpoints/a.safetensors", "checkpoint/sub/b.safetensors", "checkpoints/readme.txt",
                 "unet/u.safetensors", "loras/l.pt"):
        path = files.models_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    extra = tmp_path / "elsewhere"
    extra.mkdir()
    (extra / "e.safetensors").write_bytes(b"x")
    with surface(SurfaceCall(files)):
        folder_paths = importlib.import_module("folder_paths")
        assert folder_paths.get_filename_list("checkpoints") == ["a.safetensors", "sub/b.safetensors"]
        assert folder_paths.get_filename_list("unet") == ["u.safetensors"]  # ComfyUI's legacy name
        assert folder_paths.get_filename_list("loras") == ["l.pt"]
        assert folder_paths.get_full_path("checkpoints", "sub/b.safetensors") == \
            str((files.models_dir / "checkpoint" / "sub" / "b.safetensors").resolve())
        assert folder_paths.get_full_path("checkpoints", "../loras/l.pt") is None  # no way out
        folder_paths.add_model_folder_path("checkpoints", str(extra))
        assert "e.safetensors" in folder_paths.get_filename_list("checkpoints")
        folder_paths.folder_names_and_paths["mine"] = ([str(extra)], {".safetensors"})
        assert folder_paths.get_filename_list("mine") == ["e.safetensors"]
        assert folder_paths.models_dir == str(files.models_dir.resolve())
        with pytest.raises(KeyError):
            folder_paths.get_filename_list("nobody_registered_this")


def test_save_paths_count_up_and_stay_inside_the_output_folder(tmp_path):
    files = roots(tmp_path)
    with surface(SurfaceCall(files)):
        folder_paths = importlib.import_module("folder_paths")
        out = folder_paths.get_output_directory()
        folder, name, counter, subfolder, _ = folder_paths.get_save_image_path("run/pic_%width%", out, 64, 32)
        assert (name, counter, subfolder) == ("pic_64", 1, "run") and Path(folder).is_dir()
        (Path(folder) / "pic_64_00007_.png").write_bytes(b"x")
        assert folder_paths.get_save_image_path("run/pic_%width%", out, 64, 32)[2] == 8
        with pytest.raises(ValueError, match="outside the output folder"):
            folder_paths.get_save_image_path("../escape", out)
        (files.input_dir / "a.png").write_bytes(b"x")
        assert folder_paths.get_annotated_filepath("a.png") == str(files.input_dir.resolve() / "a.png")
        assert folder_paths.get_annotated_filepath("b.png [output]") == str(files.output_dir.resolve() / "b.png")
        assert folder_paths.exists_annotated_filepath("a.png")


def test_two_jobs_at_once_each_see_their_own_folders_progress_and_interrupt(tmp_path):
    seen: dict[str, tuple] = {}
    barrier = threading.Barrier(2, timeout=10)

    def job(name: str, interrupt: bool) -> None:
        files = roots(tmp_path / name)
        sink, token = CollectingSink(), InterruptToken()
        if interrupt:
            token.set()
        ctx = RunContext("n", "T", Environment(files=files, device="cpu"), token, sink)
        with surface(SurfaceCall(files, "cpu", ctx, "n")):
            barrier.wait()  # both calls are current at once, in two threads
            folder_paths = importlib.import_module("folder_paths")
            utils = importlib.import_module("comfy.utils")
            management = importlib.import_module("comfy.model_management")
            bar = utils.ProgressBar(4)
            stopped = False
            try:
                bar.update(2)
                management.throw_exception_if_processing_interrupted()
            except Interrupted:
                stopped = True
            barrier.wait()
            seen[name] = (folder_paths.get_output_directory(), [e.get("value") for e in sink.of("progress")], stopped)

    threads = [threading.Thread(target=job, args=(name, name == "b")) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert seen["a"] == (str((tmp_path / "a" / "output").resolve()), [2], False)
    assert seen["b"][0] == str((tmp_path / "b" / "output").resolve()) and seen["b"][2] is True


def test_what_is_not_provided_says_so(tmp_path):
    with surface(SurfaceCall(roots(tmp_path))):
        utils = importlib.import_module("comfy.utils")
        with pytest.raises(AttributeError, match="comfy.utils.tiled_scale is part of ComfyUI's internals"):
            utils.tiled_scale
        with pytest.raises(ModuleNotFoundError, match="comfy.sd"):
            importlib.import_module("comfy.sd")
        nodes = importlib.import_module("nodes")
        assert nodes.MAX_RESOLUTION == 16384
        with pytest.raises(AttributeError, match="nodes.KSampler is one of ComfyUI's own nodes"):
            nodes.KSampler


def test_comfy_utils_tensor_helpers(tmp_path):
    import torch
    from safetensors.torch import save_file
    with surface(SurfaceCall(roots(tmp_path))):
        utils = importlib.import_module("comfy.utils")
        samples = torch.rand(2, 3, 8, 16)
        assert tuple(utils.common_upscale(samples, 8, 4, "bilinear", "disabled").shape) == (2, 3, 4, 8)
        assert tuple(utils.common_upscale(samples, 8, 8, "nearest-exact", "center").shape) == (2, 3, 8, 8)
        assert tuple(utils.common_upscale(samples, 6, 3, "lanczos", "disabled").shape) == (2, 3, 3, 6)
        assert utils.repeat_to_batch_size(torch.zeros(2, 1), 5).shape[0] == 5
        path = tmp_path / "w.safetensors"
        save_file({"w": torch.ones(2)}, str(path), metadata={"k": "v"})
        state, metadata = utils.load_torch_file(str(path), return_metadata=True)
        assert state["w"].tolist() == [1.0, 1.0] and metadata == {"k": "v"}
