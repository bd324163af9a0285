"""Packs built on ComfyUI's own image nodes (``nodes.SaveImage``, ``nodes.PreviewImage``,
``nodes.LoadImage``), which nodegraph provides to ComfyUI's contract: subclasses that call
``save_images``/``load_image`` save and load as they would in ComfyUI (names, folders, metadata,
mask), and ``nodes.SaveImage`` itself runs under a pack's name."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from comfy_nodes_helpers import PACKS, link, run, shown, workflow
from nodegraph.api.plugins import load_registry
from nodegraph.files.roots import FileRoots
from nodegraph.run.cache import Cache
from nodegraph.run.context import Environment
from nodegraph.run.session import Session


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("core-nodes")
    found = {name: root / name for name in ("input", "models", "output")}
    for path in found.values():
        path.mkdir()
    # an input with an alpha channel: transparent on the left half (the mask is 1 there)
    picture = Image.new("RGBA", (4, 2), (10, 200, 30, 255))
    for y in range(2):
        for x in range(2):
            picture.putpixel((x, y), (10, 200, 30, 0))
    picture.save(found["input"] / "half.png")
    return found


@pytest.fixture(scope="module")
def core_session(folders):
    files = FileRoots(input_dir=folders["input"], models_dir=folders["models"], output_dir=folders["output"])
    registry = load_registry(use_env=False, pack_folders={"comfy": [PACKS]}, files=files)
    with Session(registry, Environment(files=files, device="cpu"), Cache()) as session:
        yield session


def test_the_pack_loads_on_comfyuis_image_nodes(core_session):
    origin = core_session.registry.origin
    assert {origin[t] for t in ("CoreSaveGrey", "CorePreviewFlipped", "CoreLoadNamed", "CoreSaveImage")} == \
        {"comfy:core_subclasses"}
    assert not [f for f in core_session.registry.failures if f.plugin == "comfy:core_subclasses"]


@pytest.mark.parametrize("colour", [(0.2, 0.4, 0.6), (0.9, 0.9, 0.0)])
def test_a_subclass_of_save_image_saves_as_comfyui_does(core_session, folders, colour):
    red, green, blue = colour
    job = workflow(s=("SolidImage", {"width": 6, "height": 4, "red": red, "green": green, "blue": blue}),
                   save=("CoreSaveGrey", {"images": link("s", "image"), "filename_prefix": f"grey/{red}"}))
    result, _ = run(core_session, job)
    assert result.ok, result.error
    (path,) = [p for p in result.outputs if f"/grey/{red}_grey_" in p]
    assert path.endswith("_00001_.png")  # <prefix><prefix_append>_<counter>_.png, in the prefix's subfolder
    with Image.open(path) as saved:
        expected = round(255 * (red + green + blue) / 3)
        assert abs(saved.convert("RGB").getpixel((0, 0))[0] - expected) <= 1
        assert saved.size == (6, 4)
        prompt = json.loads(saved.info["prompt"])  # ComfyUI's metadata: the job as a prompt
        assert prompt["save"]["class_type"] == "CoreSaveGrey"
        assert "workflow" in saved.info


def test_save_image_itself_and_a_preview_subclass(core_session, folders):
    job = workflow(s=("SolidImage", {"width": 4, "height": 2, "red": 1.0, "green": 0.0, "blue": 0.0}),
                   g=("SolidImage", {"width": 4, "height": 2, "red": 0.0, "green": 1.0, "blue": 0.0}),
                   save=("CoreSaveImage", {"images": link("s", "image"), "filename_prefix": "plain"}),
                   preview=("CorePreviewFlipped", {"images": link("g", "image")}))
    result, sink = run(core_session, job)
    assert result.ok, result.error
    (plain,) = [p for p in result.outputs if "plain_" in p]
    assert Image.open(plain).convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    assert not [p for p in result.outputs if "flipped" in p]  # a preview is not an output file
    previewed = next(e for e in sink.events if e.get("node") == "preview" and e["event"] == "executed")
    (entry,) = previewed["ui"]["comfyui"]["images"]
    assert entry["type"] == "temp" and entry["filename"].startswith("flipped_temp_")
    assert not (folders["output"] / entry["filename"]).exists()


def test_a_subclass_of_load_image_loads_the_picture_and_its_mask(core_session):
    job = workflow(load=("CoreLoadNamed", {"image": "half.png"}),
                   pixels=("Show", {"value": link("load", "image")}),
                   name=("Show", {"value": link("load", "name")}),
                   rows=("CoreMaskRows", {"mask": link("load", "mask")}),
                   mask=("Show", {"value": link("rows", "string")}),
                   save=("CoreSaveImage", {"images": link("load", "image"), "filename_prefix": "loaded"}))
    result, sink = run(core_session, job)
    assert result.ok, result.error
    assert shown(sink, "name") == "half.png"
    assert "(1, 2, 4, 3)" in shown(sink, "pixels")  # a batch of one, height 2, width 4, RGB
    (path,) = [p for p in result.outputs if "loaded_" in p]
    assert Image.open(path).convert("RGB").getpixel((3, 1)) == (10, 200, 30)
    assert shown(sink, "mask") == "(1, 2, 4) [1.0, 1.0, 0.0, 0.0]"  # 1 where transparent
