"""The native LoadImage / SaveImage / PreviewImage serving ComfyUI callers: LoadImage's slots
(image, mask from alpha), ComfyUI's SaveImage numbering and metadata, PreviewImage's temp files."""
import json

import pytest
from PIL import Image

from nodegraph.comfyui import api_to_workflow
from nodegraph.comfyui.load import load_any

from comfyui_helpers import UIBuilder, cli, write


@pytest.fixture(scope="module")
def builtins():
    from nodegraph.api.plugins import load_registry
    return load_registry(use_env=False)


@pytest.fixture
def session(builtins, comfy_session):
    return comfy_session


def _solid_save(prefix="sub/fox", red=0.5):
    return {"1": {"class_type": "SolidImage", "inputs": {"width": 12, "height": 8, "red": red}},
            "2": {"class_type": "SaveImage", "inputs": {"filename_prefix": prefix, "images": ["1", 0]}}}


def test_load_image_gives_comfyuis_image_and_mask_slots(tmp_path, builtins):
    from nodegraph_nodes.basic.image import load_frames
    rgba = Image.new("RGBA", (4, 2), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (255, 0, 0, 0))  # transparent: the mask is 1 there
    out = load_frames(rgba)
    assert tuple(out["image"].shape) == (1, 2, 4, 3) and tuple(out["mask"].shape) == (1, 2, 4)
    assert out["mask"][0, 0, 0] == 1.0 and out["mask"][0, 1, 3] == 0.0
    assert float(load_frames(Image.new("RGB", (4, 2)))["mask"].abs().sum()) == 0.0  # no alpha: all 0
    frames = [Image.new("RGB", (6, 4), (i * 80, 0, 0)) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "anim.gif") as gif:
        assert load_frames(gif)["image"].shape[0] == 3
    # slot order as ComfyUI's: 0 image, 1 mask
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "x.png", "upload": "image"}},
              "2": {"class_type": "SaveImage", "inputs": {"filename_prefix": "p", "images": ["1", 0]}}}
    native = api_to_workflow(prompt, builtins)
    assert native["nodes"]["2"]["inputs"]["images"] == {"from": "1", "output": "image"}
    assert list(builtins.get("LoadImage").outputs) == ["image", "mask"]


def test_comfyui_saveimage_numbers_files_in_subfolders_with_both_metadata(session, tmp_path):
    first = session.run(_solid_save(red=0.5))
    second = session.run(_solid_save(red=0.75))  # a change: a new file, the next number
    assert first.status == second.status == "success"
    out = tmp_path / "out" / "sub"
    assert sorted(p.name for p in out.iterdir()) == ["fox_00001_.png", "fox_00002_.png"]
    assert first.ui["2"]["images"] == [{"filename": "fox_00001_.png", "subfolder": "sub", "type": "output"}]
    with Image.open(out / "fox_00002_.png") as img:
        info = dict(img.info)
        assert img.getpixel((0, 0))[0] == round(0.75 * 255)
    prompt = json.loads(info["prompt"])
    assert prompt["2"]["class_type"] == "SaveImage" and prompt["2"]["inputs"]["filename_prefix"] == "sub/fox"
    assert prompt["1"]["inputs"]["red"] == 0.75 and prompt["2"]["inputs"]["images"] == ["1", 0]
    assert "nodegraph.workflow" in info and "nodegraph.provenance" in info
    assert "workflow" not in info  # the job came from an API prompt: no UI workflow to give back


def test_the_prefix_never_leaves_the_output_folder(session):
    result = session.run(_solid_save(prefix="../escape/fox"))
    assert result.status == "failed" and "outside the output folder" in result.error["message"]


def test_a_saved_png_carries_the_ui_workflow_with_the_values_that_ran(tmp_path, builtins):
    b = UIBuilder()
    b.node(1, "SolidImage", [12, 8, 0.5, 0.5, 0.5], outputs=["IMAGE"])
    b.node(2, "SaveImage", ["fox"], inputs=["images"])
    b.node(3, "Note", ["kept in the file"])
    b.connect(1, 0, 2, "images")
    source = write(tmp_path / "ui.json", b.to_json())
    out = tmp_path / "out"
    result = cli("run", str(source), "--set", "1.red=0.25", "--no-cache", "-q", "--out", str(out))
    assert result.returncode == 0, result.stderr
    (png,) = out.glob("fox_00001_.png")
    with Image.open(png) as img:
        info = dict(img.info)
    ui = json.loads(info["workflow"])
    assert [n["type"] for n in ui["nodes"]] == ["SolidImage", "SaveImage", "Note"]  # ComfyUI's own file
    assert ui["nodes"][0]["widgets_values"] == [12, 8, 0.25, 0.5, 0.5]  # the --set value, as it ran
    assert json.loads(info["prompt"])["1"]["inputs"]["red"] == 0.25
    # nodegraph reads its own chunk back first; the ComfyUI chunks alone convert to the same graph
    assert load_any(png, builtins).to_json()["nodes"]["1"]["inputs"]["red"] == 0.25
    again = cli("run", str(png), "--no-cache", "-q", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.glob("fox_*.png")) == ["fox_00001_.png", "fox_00002_.png"]


def test_preview_image_writes_temp_files_shown_as_outputs(session, tmp_path):
    prompt = {"1": {"class_type": "SolidImage", "inputs": {"width": 4, "height": 4}},
              "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}
    result = session.run(prompt)
    assert result.status == "success"
    (entry,) = result.ui["2"]["images"]
    assert entry["type"] == "temp" and entry["filename"].startswith("ComfyUI_temp_")
    assert entry["filename"].endswith("_00001_.png")
    assert (tmp_path / "out" / "temp" / entry["filename"]).is_file()
    assert result.outputs == [str(tmp_path / "out" / "temp" / entry["filename"])]


def test_native_saveimage_keeps_its_own_names(session, tmp_path):
    workflow = {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "i": {"type": "SolidImage", "inputs": {}},
        "s": {"type": "SaveImage", "inputs": {"images": {"from": "i", "output": "image"}, "prefix": "a/b"}}}}
    result = session.run(workflow)
    (name,) = result.ui["s"]["images"]
    assert name.startswith("b_") and name.endswith("_00.png")
    with Image.open(tmp_path / "out" / name) as img:
        assert "prompt" not in img.info and "workflow" not in img.info
