"""Loading a ComfyUI custom_nodes folder: what loads, what is reported and why, and that one pack
cannot break another or nodegraph."""
from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

from comfy_nodes_helpers import PACKS, link, run, shown, workflow
from nodegraph.api.plugins import load_registry


def failures_of(registry, pack: str) -> list[str]:
    return [f.message for f in registry.failures if f.plugin == f"comfy:{pack}"]


def test_every_good_pack_loads_and_each_bad_one_is_reported_with_its_folder(registry):
    origin = {t: p for t, p in registry.origin.items() if p.startswith("comfy:")}
    assert origin["ToolsInvert"] == "comfy:image_tools" and origin["HalfFine"] == "comfy:half_broken"
    assert origin["MutatorHarmless"] == "comfy:mutator" and origin["PipPackAttempts"] == "comfy:pip_at_import"
    [missing] = failures_of(registry, "missing_module")
    if importlib.util.find_spec("skimage") is None:
        assert str(PACKS / "missing_module") in missing
        assert "'skimage'" in missing and "pip install scikit-image" in missing
    [samplers] = failures_of(registry, "needs_samplers")
    assert "needs_samplers.py" in samplers and "comfy.samplers" in samplers and "only inside ComfyUI" in samplers
    assert "NeedsSampler" not in registry.nodes
    [core] = failures_of(registry, "needs_core_node")
    assert "nodes.KSampler" in core and "SamplerWithSuffix" not in registry.nodes


def test_a_class_breaking_the_contract_is_reported_and_its_pack_mates_load(registry):
    [broken] = failures_of(registry, "half_broken")
    assert "'HalfBroken'" in broken and "RETURN_TYPES is the string 'IMAGE'" in broken
    assert "HalfBroken" not in registry.nodes and "HalfFine" in registry.nodes


def test_colliding_class_names_keep_their_first_owner_and_name_both(registry, session):
    messages = failures_of(registry, "z_collides")
    solid = next(m for m in messages if "'SolidImage'" in m)
    invert = next(m for m in messages if "'ToolsInvert'" in m)
    assert "builtin.basic" in solid and "comfy:z_collides" in solid
    assert "comfy:image_tools" in invert and "comfy:z_collides" in invert
    assert registry.origin["SolidImage"] == "builtin.basic" and registry.origin["ToolsInvert"] == "comfy:image_tools"
    assert registry.origin["CollidesUnique"] == "comfy:z_collides"  # the pack's other node loads
    # The built-in still runs (the colliding class raises if it ever runs).
    result, sink = run(session, workflow(s=("SolidImage", {"width": 4, "height": 2}),
                                         i=("ToolsInvert", {"image": link("s", "image")}),
                                         show=("Show", {"value": link("i", "image")})))
    assert result.ok, result.error
    assert "(1, 2, 4, 3)" in shown(sink, "show")


def test_pip_and_the_network_are_refused_at_import_and_reported(registry, session):
    messages = failures_of(registry, "pip_at_import")
    assert any("tried to run: python -m pip install --no-index nodegraph-test-absent-package" in m for m in messages)
    assert any("tried to run: pip install" in m for m in messages)  # os.system
    assert any("tried to reach the network" in m and "192.0.2.1" in m for m in messages)
    result, sink = run(session, workflow(a=("PipPackAttempts", {}), show=("Show", {"value": link("a", "string")})))
    assert result.ok, result.error
    # What the pack itself saw: pip refused (never ran), os.system failed, no connection, other programs ran.
    assert shown(sink, "show") == ("pip refused: InstallRefused; os.system -> 256; network refused: NetworkRefused; "
                                   "git ran: True")


def test_a_pack_patching_nodegraph_or_another_pack_is_undone_and_reported(registry, session):
    messages = failures_of(registry, "mutator")
    assert any("nodegraph_nodes.basic.image.SolidImage.run" in m and "undone" in m for m in messages)
    assert any("nodegraph.run.executor.run_node" in m for m in messages)
    assert any("InvertImage.invert" in m for m in messages)
    # SolidImage, the executor and ToolsInvert still work as written: 1 - 0.25 = 0.75.
    result, sink = run(session, workflow(s=("SolidImage", {"width": 2, "height": 2, "red": 0.25, "green": 0.25,
                                                           "blue": 0.25}),
                                         i=("ToolsInvert", {"image": link("s", "image")}),
                                         save=("SaveImage", {"images": link("i", "image")}),
                                         h=("MutatorHarmless", {"value": 5}),
                                         show=("Show", {"value": link("h", "int")})))
    assert result.ok, result.error
    assert shown(sink, "show") == "10"
    from PIL import Image
    with Image.open(result.outputs[0]) as picture:
        assert picture.getpixel((0, 0)) == (191, 191, 191)


def test_web_directory_display_names_and_routes_are_recorded(registry):
    pack = registry.comfy_packs["comfy:image_tools"]
    assert pack.web_directory == (PACKS / "image_tools" / "web").resolve()
    assert (pack.web_directory / "image_tools.js").is_file()
    assert [(r.method, r.path) for r in pack.routes] == [("GET", "/image_tools/hello")]
    catalogue = registry.catalogue()
    assert catalogue["comfy_packs"]["comfy:image_tools"]["web_directory"] == str(pack.web_directory)
    entry = next(n for n in catalogue["nodes"] if n["type"] == "ToolsInvert")
    assert entry["display_name"] == "Invert Image (tools)" and entry["category"] == "image_tools"
    assert entry["plugin"] == "comfy:image_tools" and entry["description"] == "Inverts the colours of an image."


def test_the_v1_contract_becomes_typed_inputs_and_slot_ordered_outputs(registry):
    brightness = registry.nodes["ToolsBrightness"]
    assert list(brightness.inputs) == ["image", "strength", "mode", "mask"]  # ComfyUI's order
    image, strength, mode, mask = brightness.inputs.values()
    assert (image.socket, image.widget, image.required) == ("IMAGE", None, True)
    assert (strength.widget, strength.default, strength.minimum, strength.maximum, strength.step) == \
        ("float", 1.0, 0.0, 4.0, 0.05)
    assert (mode.widget, mode.options, mode.default) == ("enum", ("multiply", "add"), "multiply")
    assert (mask.socket, mask.required) == ("MASK", False)
    assert list(brightness.outputs) == ["IMAGE", "used_strength"]  # RETURN_NAMES
    assert [o.type for o in brightness.outputs.values()] == ["IMAGE", "FLOAT"]
    assert list(registry.nodes["ToolsAnySize"].outputs) == ["width", "height"]
    assert list(registry.nodes["ToolsInvert"].outputs) == ["image"]  # the type, lower-cased
    text = registry.nodes["ToolsShowText"].inputs["text"]
    assert (text.socket, text.widget) == ("STRING", None)  # forceInput: a link only
    assert registry.nodes["ToolsShowText"].output_node and not registry.nodes["ToolsInvert"].output_node
    assert registry.nodes["ToolsEvenNumber"].inputs["number"].maximum == 100  # shown, checked by the node
    assert "TOOLS_TOKEN" in registry.types  # a type only the pack knows is declared for it
    info = registry.nodes["ToolsBrightness"].comfy_object_info()
    assert info["input_order"] == {"required": ["image", "strength", "mode"], "optional": ["mask"]}
    assert info["output"] == ["IMAGE", "FLOAT"] and info["output_name"] == ["IMAGE", "used_strength"]


def test_two_identical_outputs_get_distinct_names_in_slot_order(tmp_path):
    (tmp_path / "twins.py").write_text(textwrap.dedent('''
        class Twins:
            @classmethod
            def INPUT_TYPES(s):
                return {"required": {}}
            RETURN_TYPES = ("INT", "INT", "STRING")
            FUNCTION = "run"
            def run(self):
                return (1, 2, "x")
        NODE_CLASS_MAPPINGS = {"Twins": Twins}
    '''))
    registry = load_registry(use_env=False, use_entry_points=False, pack_folders={"comfy": [tmp_path]})
    assert list(registry.nodes["Twins"].outputs) == ["int", "int_2", "string"]


def test_the_surface_is_installed_only_while_packs_load_or_run(registry, session):
    for name in ("folder_paths", "comfy", "comfy.utils", "server", "nodes"):
        assert name not in sys.modules or not sys.modules[name].__name__.startswith("nodegraph.comfyui.shim")
    result, _ = run(session, workflow(s=("SolidImage", {"width": 2, "height": 2}),
                                      i=("ToolsInvert", {"image": link("s", "image")}),
                                      show=("Show", {"value": link("i", "image")})))
    assert result.ok
    assert "folder_paths" not in sys.modules and "comfy" not in sys.modules


def test_a_real_comfyui_on_the_path_is_used_not_shadowed(tmp_path, monkeypatch):
    """With ComfyUI's own folder on the Python path, packs import its modules; nothing is injected."""
    fake = tmp_path / "ComfyUI"
    (fake / "comfy").mkdir(parents=True)
    (fake / "comfy" / "__init__.py").write_text("REAL = True\n")
    (fake / "folder_paths.py").write_text("REAL = True\ndef get_output_directory():\n    return 'real-output'\n")
    packs = tmp_path / "custom_nodes"
    packs.mkdir()
    (packs / "probe.py").write_text(textwrap.dedent('''
        import comfy, folder_paths
        SEEN = (getattr(comfy, "REAL", False), folder_paths.get_output_directory())
        class Probe:
            @classmethod
            def INPUT_TYPES(s):
                return {"required": {}}
            RETURN_TYPES = ("STRING",)
            FUNCTION = "run"
            def run(self):
                return (repr(SEEN),)
        NODE_CLASS_MAPPINGS = {"Probe": Probe}
    '''))
    monkeypatch.syspath_prepend(str(fake))
    try:
        registry = load_registry(use_env=False, use_entry_points=False, pack_folders={"comfy": [packs]})
        module = next(m for n, m in sys.modules.items() if n.endswith("_probe"))
        assert module.SEEN == (True, "real-output")
        assert "Probe" in registry.nodes
    finally:
        for name in ("comfy", "folder_paths"):
            sys.modules.pop(name, None)


def test_a_missing_folder_and_a_non_pack_folder_are_reported(tmp_path):
    (tmp_path / "not_a_pack").mkdir()
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "off.py.disabled").write_text("raise SystemExit")
    registry = load_registry(use_env=False, use_entry_points=False,
                             pack_folders={"comfy": [tmp_path, tmp_path / "nowhere"]})
    messages = {f.plugin: f.message for f in registry.failures}
    assert "not a pack" in messages["comfy:not_a_pack"]
    assert any("does not exist" in m and "nowhere" in m for m in messages.values())
    assert len(registry.failures) == 2


@pytest.mark.parametrize("module, package", [("cv2", "opencv-python-headless"), ("PIL", "pillow"),
                                             ("sklearn.svm", "scikit-learn"), ("yaml", "pyyaml")])
def test_a_missing_module_names_its_pip_package_where_it_is_known(module, package):
    from nodegraph.comfyui.custom_nodes import explain_import_failure
    message = explain_import_failure(ModuleNotFoundError(f"No module named '{module}'", name=module))
    assert f"'{module}'" in message and f"pip install {package}" in message
    other = explain_import_failure(ModuleNotFoundError("No module named 'zzlib'", name="zzlib"))
    assert "'zzlib'" in other and "pip install" not in other
