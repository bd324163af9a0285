"""ComfyUI workflow files (workflows/: UI and API format, real-world model names) run end to end
through the CLI on the demo models: each runs, its API twin is the same graph (served whole from
the cache the UI file's run filled), a changed seed changes the picture, and it round-trips
through `convert`. Embedded in a PNG and in an animated WebP too. Needs the comfy pack."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("nodegraph_nodes.comfy")

from PIL import Image  # noqa: E402

from comfyui_helpers import cli  # noqa: E402

WORKFLOWS = Path(__file__).parent / "workflows"
# workflow -> (the node and input whose change must change the output, the new value)
CASES = {
    "sd15_txt2img": "3.seed=1",
    "sdxl_lora": "3.seed=7",
    "lcm_lora": "3.seed=8",
    "sdxl_base_refiner": "10.noise_seed=99",
    "sd15_img2img": "3.seed=5",
    "svd_webp": "13.seed=11",
    "text_image_video": "3.seed=12",
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("comfy-cache")


def run(source, out: Path, cache_dir: Path, *extra: str) -> tuple[dict, list[Path]]:
    result = cli("run", str(source), "--demo-models", "--events", "jsonl", "--device", "cpu", "--out", str(out),
                 "--cache-dir", str(cache_dir), "--input-dir", str(out / "no-input"), *extra, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    done = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")][-1]
    assert done["event"] == "done" and done["status"] == "success", done
    return done, [Path(p) for p in done["outputs"]]


def pixels(path: Path) -> list[bytes]:
    with Image.open(path) as img:
        frames = []
        for index in range(getattr(img, "n_frames", 1)):
            img.seek(index)
            frames.append(img.convert("RGB").tobytes())
        return frames


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_comfyui_workflow_runs_on_the_demo_models(name, tmp_path, cache_dir):
    out = tmp_path / "out"  # one output folder: an output node's cache key holds its folder
    done, outputs = run(WORKFLOWS / f"{name}.json", out, cache_dir)
    assert outputs and all(p.is_file() for p in outputs)
    for path in outputs:
        frames = pixels(path)
        assert frames and len(set(frames[0])) > 1  # a picture, not one flat colour
        if path.suffix == ".webp":
            assert len(frames) == 4  # video_frames
            with Image.open(path) as img:
                exif = img.getexif()
            prompt, workflow = exif.get(0x0110, ""), exif.get(0x010F, "")
            assert prompt.startswith("prompt:") and workflow.startswith("workflow:")
            prompt, workflow = json.loads(prompt[len("prompt:"):]), json.loads(workflow[len("workflow:"):])
        else:
            assert path.name.endswith("_00001_.png")  # ComfyUI's numbering
            with Image.open(path) as img:
                info = dict(img.info)
            assert {"nodegraph.workflow", "nodegraph.provenance"} <= set(info)
            prompt, workflow = json.loads(info["prompt"]), json.loads(info["workflow"])
        # ComfyUI's own metadata, so the file opens in ComfyUI: its API prompt and the UI workflow
        assert all("class_type" in entry for entry in prompt.values()) and set(prompt) <= {str(n["id"]) for n in
                                                                                           workflow["nodes"]}
        original = json.loads((WORKFLOWS / f"{name}.json").read_text())
        assert [(n["id"], n["type"]) for n in workflow["nodes"]] == [(n["id"], n["type"]) for n in original["nodes"]]
        loaders = [n for n in workflow["nodes"] if n["type"] == "CheckpointLoaderSimple"]
        assert all(n["widgets_values"][0].startswith("demo:") for n in loaders)  # what ran, demo models included
    # the API-format twin is the same graph: everything comes from the cache the UI file filled
    twin, twin_outputs = run(WORKFLOWS / f"{name}.api.json", out, cache_dir)
    assert twin["executed"] == 0 and sorted(twin_outputs) == sorted(outputs)
    # a changed seed (ComfyUI's node id) changes what comes out
    changed, changed_outputs = run(WORKFLOWS / f"{name}.json", out, cache_dir, "--set", CASES[name])
    assert changed["executed"] > 0 and not set(changed_outputs) & set(outputs)  # new files, numbered on
    before = {p.suffix: pixels(p) for p in outputs}
    after = {p.suffix: pixels(p) for p in changed_outputs}
    assert before.keys() == after.keys() and all(before[k] != after[k] for k in before)


@pytest.mark.parametrize("name", list(CASES))
def test_comfyui_workflow_round_trips_through_convert(name, tmp_path):
    native = tmp_path / "native.json"
    back = tmp_path / "api.json"
    assert cli("convert", str(WORKFLOWS / f"{name}.json"), "-o", str(native)).returncode == 0
    result = cli("convert", str(native), "--to", "comfyui-api", "-o", str(back))
    assert result.returncode == 0, result.stderr
    expected = json.loads((WORKFLOWS / f"{name}.api.json").read_text())
    got = json.loads(back.read_text())
    for entry in expected.values():
        entry["inputs"].pop("upload", None)  # LoadImage's upload button: UI-only, not kept
    assert {k: (v["class_type"], v["inputs"]) for k, v in got.items()} == \
        {k: (v["class_type"], v["inputs"]) for k, v in expected.items()}
    check = cli("validate", str(native), "--demo-models")
    assert check.returncode == 0, check.stdout


def _embed_png(path: Path, name: str) -> Path:
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("workflow", (WORKFLOWS / f"{name}.json").read_text())
    info.add_text("prompt", (WORKFLOWS / f"{name}.api.json").read_text())
    Image.new("RGB", (16, 16), (10, 200, 10)).save(path, pnginfo=info)
    return path


def _embed_webp(path: Path, name: str) -> Path:
    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps(json.loads((WORKFLOWS / f"{name}.api.json").read_text()))
    exif[0x010F] = "workflow:" + json.dumps(json.loads((WORKFLOWS / f"{name}.json").read_text()))
    frames = [Image.new("RGB", (16, 16), (i * 70, 0, 0)) for i in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, exif=exif)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name, embed", [("sd15_txt2img", _embed_png), ("svd_webp", _embed_webp)],
                         ids=["png", "webp"])
def test_embedded_comfyui_workflows_run_as_their_files(name, embed, tmp_path, cache_dir):
    _, outputs = run(WORKFLOWS / f"{name}.json", tmp_path / "out", cache_dir)
    carrier = embed(tmp_path / f"carrier{'.png' if embed is _embed_png else '.webp'}", name)
    done, embedded_outputs = run(carrier, tmp_path / "out", cache_dir)
    assert done["executed"] == 0 and sorted(embedded_outputs) == sorted(outputs)


def test_missing_comfyui_nodes_stop_a_real_workflow_before_anything_runs(tmp_path):
    data = json.loads((WORKFLOWS / "sdxl_base_refiner.json").read_text())
    for node in data["nodes"]:
        if node["type"] == "KSamplerAdvanced":
            node["type"] = "KSamplerAdvancedEfficient"
        if node["type"] == "CheckpointLoaderSimple" and node["id"] == 12:
            node["type"] = "CheckpointLoader|pysssss"
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(data))
    result = cli("run", str(path), "--demo-models", "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and not (tmp_path / "out").exists()
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("invalid:")]
    assert "CheckpointLoader|pysssss (node 12)" in line and "KSamplerAdvancedEfficient (nodes 10, 11)" in line
