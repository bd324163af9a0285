"""ComfyUI's own published templates (``comfyui-workflow-templates-json``) of the families the
comfy pack covers, run end to end on the demo models as ``nodegraph run FILE --demo-models`` runs
them: imported from the UI format as published, demo models chosen from the loaders, then shrunk
to test size by node type (64 px, a few steps, 4 frames) and run on the CPU. SDXL base →
refiner (KSamplerAdvanced, step ranges from PrimitiveNodes), SDXL Turbo (SamplerCustom +
SDTurboScheduler), SDXL txt2img (dpmpp_2m karras), SDXL → SVD text → image → video (CreateVideo →
SaveVideo, and a PreviewImage), and SD 1.x: the SDXL txt2img template with an SD 1.5 file name
(the corpus has no SD 1.x template). Wall time per template is printed (-s)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image

from nodegraph.comfyui.load import load_any
from nodegraph.graph.demo_models import use_demo_models
from nodegraph.graph.workflow import parse_workflow

from .conftest import run

templates = pytest.importorskip("comfyui_workflow_templates_json", reason="the test extra installs the templates")
FOLDER = Path(templates.__file__).parent / "templates"

# template -> (demo checkpoints it must run on, extensions of the files it writes)
CASES = {
    "sdxl_simple_example": ({"demo:tiny-sdxl", "demo:tiny-sdxl-refiner"}, [".png"]),
    "sdxlturbo_example": ({"demo:tiny-sdxl"}, [".png"]),
    "image_sdxl_simple": ({"demo:tiny-sdxl"}, [".png"]),
    "txt_to_image_to_video": ({"demo:tiny-sdxl", "demo:tiny-svd"}, [".png", ".mp4"]),
    "sd15_from_image_sdxl_simple": ({"demo:tiny-sd15"}, [".png"]),
}


def shrink(data: dict) -> dict:
    """Test size, by node type: 64 px latents and videos, 4 frames, 2-4 steps (step ranges kept)."""
    for entry in data["nodes"].values():
        inputs, kind = entry["inputs"], entry["type"]
        if kind == "EmptyLatentImage":
            inputs.update(width=64, height=64, batch_size=1)
        elif kind == "KSampler":
            inputs["steps"] = 2
        elif kind == "KSamplerAdvanced":  # base 0 -> 3, refiner 3 -> end, of 4
            inputs["steps"] = 4
            if inputs.get("start_at_step", 0) > 0:
                inputs["start_at_step"] = 3
            if inputs.get("end_at_step", 10000) < 10000:
                inputs["end_at_step"] = 3
        elif kind == "SVD_img2vid_Conditioning":
            inputs.update(width=64, height=64, video_frames=4)
    return data


def _load(name: str, registry):
    source = FOLDER / f"{name.removeprefix('sd15_from_')}.json"
    data = load_any(source, registry).to_json()
    if name.startswith("sd15_from_"):
        loader = next(e for e in data["nodes"].values() if e["type"] == "CheckpointLoaderSimple")
        loader["inputs"]["ckpt_name"] = "v1-5-pruned-emaonly.safetensors"
    return parse_workflow(shrink(data))


@pytest.mark.parametrize("name", sorted(CASES))
def test_template_runs_on_the_demo_models(name, registry, make_session):
    session = make_session()
    workflow = use_demo_models(_load(name, registry), registry, session.env)
    demos = {e.inputs["ckpt_name"] for e in workflow.nodes.values() if "ckpt_name" in e.inputs}
    expected_demos, extensions = CASES[name]
    assert demos == expected_demos
    started = time.perf_counter()
    result, _ = run(session, workflow)
    print(f"\n{name}: {time.perf_counter() - started:.1f} s")
    assert result.status == "success", result.error.get("message") if result.error else result.error
    if result.finish is not None:
        result.finish()
    written = sorted(Path(p).suffix for p in result.outputs if Path(p).suffix in (".png", ".mp4"))
    assert sorted(set(written)) == sorted(extensions), result.outputs
    for path in (Path(p) for p in result.outputs if p.endswith(".png")):
        with Image.open(path) as img:
            assert img.size == (64, 64)
            assert img.convert("L").getextrema()[0] < img.convert("L").getextrema()[1]  # not one flat colour


def test_image_upscale_template_runs_and_follows_its_factor(registry, make_session, tmp_path):
    """utility_interpolation_image_upscale (LoadImage → ImageScaleBy lanczos ×2 → SaveImage, and an
    ImageCompare of before and after): model-free, so it runs as published on its input image."""
    (tmp_path / "input").mkdir(exist_ok=True)
    Image.radial_gradient("L").resize((20, 12)).convert("RGB").save(tmp_path / "input" / "pray.png")
    session = make_session()
    data = load_any(FOLDER / "utility_interpolation_image_upscale.json", registry).to_json()
    for scale, size in ((2, (40, 24)), (0.5, (10, 6))):
        data["nodes"]["3"]["inputs"]["scale_by"] = scale
        result, _ = run(session, parse_workflow(data))
        assert result.status == "success", result.error
        saved = [Path(p) for p in result.outputs if p.endswith(".png") and "temp" not in Path(p).parts]
        assert len(saved) == 1
        with Image.open(saved[0]) as img:
            assert img.size == size
        assert len(result.ui["7"]["a_images"]) == len(result.ui["7"]["b_images"]) == 1
