"""ComfyUI files through the real command line: run, validate, convert, --set by ComfyUI id,
--demo-models, embedded PNG/WebP, and the one error for missing class types."""
import json

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from comfyui_helpers import api_txt2img, cli, ui_txt2img, write


def _run(tmp_path, plugin_dir, source, *extra):
    out = tmp_path / "out"
    result = cli("run", str(source), "--plugins", str(plugin_dir), "--no-cache", "-q", "--out", str(out),
                 "--models-dir", str(tmp_path / "models"), *extra)
    saved = {p.name: p.read_text() for p in out.glob("*.txt")} if out.is_dir() else {}
    return result, saved


@pytest.fixture
def models(tmp_path):
    (tmp_path / "models" / "tckpt").mkdir(parents=True)
    (tmp_path / "models" / "tckpt" / "m.safetensors").write_bytes(b"weights")
    return tmp_path / "models"


def test_api_and_ui_files_run_alike_and_set_addresses_comfyui_ids(tmp_path, plugin_dir, models):
    api = write(tmp_path / "api.json", api_txt2img(seed=5))
    ui = write(tmp_path / "ui.json", ui_txt2img(seed=5).to_json())
    r1, saved_api = _run(tmp_path / "a", plugin_dir, api, "--models-dir", str(models))
    assert r1.returncode == 0, r1.stderr
    r2, saved_ui = _run(tmp_path / "u", plugin_dir, ui, "--models-dir", str(models))
    assert r2.returncode == 0, r2.stderr
    assert saved_api == saved_ui and list(saved_api) == ["ComfyUI-comfy.txt"]
    assert "model(m.safetensors),5,20,7.0,euler" in saved_api["ComfyUI-comfy.txt"]
    r3, saved = _run(tmp_path / "s", plugin_dir, ui, "--models-dir", str(models), "--set", "3.seed=9",
                     "--set", "9.filename_prefix=renamed")
    assert r3.returncode == 0, r3.stderr
    assert list(saved) == ["renamed-comfy.txt"] and ",9,20," in saved["renamed-comfy.txt"]


def test_missing_class_types_exit_2_listing_every_one_and_run_nothing(tmp_path, plugin_dir, models):
    prompt = api_txt2img()
    prompt["3"]["class_type"] = "FancySampler"
    prompt["12"] = {"class_type": "UpscaleMagic", "inputs": {"image": ["8", 0]}}
    prompt["13"] = {"class_type": "UpscaleMagic", "inputs": {"image": ["12", 0]}}
    source = write(tmp_path / "missing.json", prompt)
    result, saved = _run(tmp_path, plugin_dir, source, "--models-dir", str(models))
    assert result.returncode == 2 and saved == {}
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("invalid:")]
    assert len(lines) == 1, result.stderr
    assert "FancySampler (node 3)" in lines[0] and "UpscaleMagic (nodes 12, 13)" in lines[0]
    check = cli("validate", str(source), "--plugins", str(plugin_dir))
    assert check.returncode == 2 and "FancySampler (node 3)" in check.stdout


def test_missing_model_file_names_node_input_and_folders(tmp_path, plugin_dir):
    source = write(tmp_path / "api.json", api_txt2img())
    check = cli("validate", str(source), "--plugins", str(plugin_dir), "--models-dir", str(tmp_path / "comfy" / "models"))
    assert check.returncode == 2
    line = next(line for line in check.stdout.splitlines() if "m.safetensors" in line)
    assert line.startswith("node '4', input 'ckpt_name'")
    assert str(tmp_path / "comfy" / "models" / "tckpt") in line and "--demo-models" in line


def test_demo_models_pick_by_file_name_hint_or_the_loaders_default(tmp_path, plugin_dir):
    prompt = api_txt2img()
    prompt["4"]["inputs"]["ckpt_name"] = "SDXL/sd_xl_refiner_1.0.safetensors"
    result, saved = _run(tmp_path / "r", plugin_dir, write(tmp_path / "r.json", prompt), "--demo-models")
    assert result.returncode == 0, result.stderr
    assert "model(demo:tiny-refiner)" in saved["ComfyUI-comfy.txt"]
    prompt["4"]["inputs"]["ckpt_name"] = "v1-5-pruned-emaonly.safetensors"
    result, saved = _run(tmp_path / "v", plugin_dir, write(tmp_path / "v.json", prompt), "--demo-models")
    assert "model(demo:tiny-v15)" in saved["ComfyUI-comfy.txt"]
    prompt["4"]["inputs"]["ckpt_name"] = "dreamshaper_8.safetensors"  # no hint: the first plain demo
    result, saved = _run(tmp_path / "d", plugin_dir, write(tmp_path / "d.json", prompt), "--demo-models")
    assert "model(demo:tiny-base)" in saved["ComfyUI-comfy.txt"]


def test_demo_models_fall_back_to_the_loaders_choice_and_keep_existing_pictures(registry, tmp_path):
    from nodegraph.run.context import Environment
    from nodegraph.graph.demo_models import use_demo_models
    from nodegraph.files.roots import FileRoots
    from nodegraph.graph.workflow import parse_workflow
    data = {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "1": {"type": "TVideoLoader", "inputs": {"ckpt_name": "my_video_model.safetensors"}},
        "2": {"type": "TVideoLoader", "inputs": {"ckpt_name": "svd_xt.safetensors"}},
        "3": {"type": "TCheckpointLoader", "inputs": {"ckpt_name": "demo:tiny-v15"}},
        "4": {"type": "LoadImage", "inputs": {"image": "mine.png"}},
        "5": {"type": "LoadImage", "inputs": {"image": "not-there.png"}}}}
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "mine.png").write_bytes(b"")
    env = Environment(files=FileRoots(input_dir=tmp_path / "input", models_dir=tmp_path / "models"))
    env.use_catalogue(registry)
    nodes = use_demo_models(parse_workflow(data), registry, env).to_json()["nodes"]
    assert nodes["1"]["inputs"]["ckpt_name"] == "demo:tiny-video"  # no hint: the loader's default
    assert nodes["2"]["inputs"]["ckpt_name"] == "demo:tiny-video"  # the "svd" hint
    assert nodes["3"]["inputs"]["ckpt_name"] == "demo:tiny-v15"  # a demo stays
    assert nodes["4"]["inputs"]["image"] == "mine.png"  # the user's own picture stays
    assert nodes["5"]["inputs"]["image"] == "demo:svd-start-frame"  # a missing one gets the demo picture


def test_convert_writes_native_with_layout_and_back_to_api(tmp_path, plugin_dir, models):
    ui = write(tmp_path / "ui.json", ui_txt2img(seed=31).to_json())
    native_path = tmp_path / "native.json"
    result = cli("convert", str(ui), "-o", str(native_path), "--plugins", str(plugin_dir))
    assert result.returncode == 0, result.stderr
    native = json.loads(native_path.read_text())
    assert native["format"] == "nodegraph/workflow" and native["nodes"]["4"]["ui"]["pos"] == [10, 20]
    assert native["ui"]["groups"][0]["title"] == "Prompts" and "comfyui" not in native["ui"]
    assert native["nodes"]["3"]["ui"]["control_after_generate"] == {"seed": "randomize"}
    api_path = tmp_path / "api.json"
    result = cli("convert", str(native_path), "--to", "comfyui-api", "-o", str(api_path), "--plugins", str(plugin_dir))
    assert result.returncode == 0, result.stderr
    api = json.loads(api_path.read_text())
    expected = api_txt2img(seed=31)
    assert {k: (v["class_type"], v["inputs"]) for k, v in api.items()} == \
        {k: (v["class_type"], v["inputs"]) for k, v in expected.items()}
    # the converted file runs as the ComfyUI file does
    r1, a = _run(tmp_path / "1", plugin_dir, native_path, "--models-dir", str(models))
    r2, b = _run(tmp_path / "2", plugin_dir, api_path, "--models-dir", str(models))
    assert r1.returncode == r2.returncode == 0 and a == b and ",31," in a["ComfyUI-comfy.txt"]
    bad = cli("convert", str(write(tmp_path / "bad.json", {"1": {"class_type": "Nope", "inputs": {}}})),
              "--plugins", str(plugin_dir))
    assert bad.returncode == 2 and "Nope (node 1)" in bad.stderr


def _png(path, **chunks):
    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, json.dumps(value))
    Image.new("RGB", (8, 8), (200, 10, 10)).save(path, pnginfo=info)
    return path


def test_png_prefers_the_ui_workflow_and_falls_back_to_the_prompt(tmp_path, plugin_dir, models):
    both = _png(tmp_path / "both.png", workflow=ui_txt2img(seed=41).to_json(), prompt=api_txt2img(seed=42))
    result, saved = _run(tmp_path / "b", plugin_dir, both, "--models-dir", str(models))
    assert result.returncode == 0, result.stderr
    assert ",41," in saved["ComfyUI-comfy.txt"]  # the UI workflow's seed
    broken = ui_txt2img(seed=41).to_json()
    broken["nodes"][0]["type"] = "SomeFrontendOnlyNode"
    fallback = _png(tmp_path / "fallback.png", workflow=broken, prompt=api_txt2img(seed=42))
    result, saved = _run(tmp_path / "f", plugin_dir, fallback, "--models-dir", str(models))
    assert result.returncode == 0, result.stderr
    assert ",42," in saved["ComfyUI-comfy.txt"]
    only_prompt = _png(tmp_path / "p.png", prompt=api_txt2img(seed=43))
    result, saved = _run(tmp_path / "p", plugin_dir, only_prompt, "--models-dir", str(models))
    assert ",43," in saved["ComfyUI-comfy.txt"]
    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    result, _ = _run(tmp_path / "n", plugin_dir, plain)
    assert result.returncode == 2 and "without an embedded nodegraph workflow" in result.stderr


def test_animated_webp_exif_as_saveanimatedwebp_writes_it(tmp_path, plugin_dir, models):
    frames = [Image.new("RGB", (8, 8), (i * 60, 0, 0)) for i in range(3)]
    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps(api_txt2img(seed=51))
    exif[0x010F] = "workflow:" + json.dumps(ui_txt2img(seed=52).to_json())
    path = tmp_path / "clip.webp"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, lossless=True, exif=exif)
    result, saved = _run(tmp_path / "w", plugin_dir, path, "--models-dir", str(models))
    assert result.returncode == 0, result.stderr
    assert ",52," in saved["ComfyUI-comfy.txt"]
    api_only = Image.Exif()
    api_only[0x0110] = "prompt:" + json.dumps(api_txt2img(seed=53))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, exif=api_only)
    result, saved = _run(tmp_path / "w2", plugin_dir, path, "--models-dir", str(models))
    assert result.returncode == 0, result.stderr
    assert ",53," in saved["ComfyUI-comfy.txt"]


def test_run_on_a_server_takes_a_comfyui_file(tmp_path, plugin_dir, models):
    import os
    import signal
    import subprocess
    import sys
    out = tmp_path / "server-out"
    cmd = [sys.executable, "-m", "nodegraph.cli", "serve", "--port", "0", "--data-dir", str(tmp_path / "data"),
           "--out", str(out), "--models-dir", str(models), "--input-dir", str(tmp_path / "in"),
           "--plugins", str(plugin_dir), "--device", "cpu", "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = proc.stdout.readline().split()[-1]
        ui = write(tmp_path / "ui.json", ui_txt2img(seed=5).to_json())
        result = cli("run", str(ui), "--server", url, "--plugins", str(plugin_dir), "--set", "3.seed=8",
                     "--out", str(tmp_path / "client-out"), "-q")
        assert result.returncode == 0, result.stderr
        assert ",8,20," in (out / "ComfyUI-comfy.txt").read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
