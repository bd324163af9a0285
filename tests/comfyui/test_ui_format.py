"""ComfyUI's UI format -> nodegraph's workflow: widgets by position, UI-only nodes resolved,
modes, groups, subgraphs; the same graph as its API-format twin."""
import pytest

from nodegraph.comfyui import api_to_workflow
from nodegraph.comfyui.classes import keep_needed
from nodegraph.comfyui.ui_format import ui_to_workflow
from nodegraph.api.errors import WorkflowInvalid
from nodegraph.graph.validate import validate
from nodegraph.graph.workflow import parse_workflow

from comfyui_helpers import UIBuilder, api_txt2img, ui_txt2img


def _graph(native):
    """What runs: types, inputs (links and literals), modes; layout left out."""
    return {nid: (e["type"], e["inputs"], e.get("mode")) for nid, e in native["nodes"].items()}


@pytest.mark.parametrize("objects", [False, True], ids=["v0.4-list-links", "v1-object-links"])
def test_ui_file_converts_to_the_same_graph_as_its_api_twin(registry, objects):
    native = ui_to_workflow(ui_txt2img().to_json(objects=objects), registry)
    assert _graph(native) == _graph(api_to_workflow(api_txt2img(), registry))
    assert validate(parse_workflow(native), registry) == []


def test_widgets_values_are_positional_and_the_seed_control_is_kept(registry):
    nodes = ui_to_workflow(ui_txt2img(seed=77, control="increment").to_json(), registry)["nodes"]
    sampler = nodes["3"]
    assert sampler["inputs"]["seed"] == 77 and sampler["inputs"]["steps"] == 20  # the control entry skipped
    assert sampler["inputs"]["sampler_name"] == "euler" and sampler["inputs"]["denoise"] == 1
    assert sampler["ui"]["control_after_generate"] == {"seed": "increment"}
    assert nodes["9"]["inputs"]["prefix"] == "ComfyUI" and nodes["9"]["inputs"]["style"] == "comfy"  # the alias


def test_ui_only_nodes_leave_and_the_layout_stays(registry):
    native = ui_to_workflow(ui_txt2img().to_json(), registry)
    nodes = native["nodes"]
    assert set(nodes) == {"3", "4", "5", "6", "7", "8", "9"}  # no Reroute, PrimitiveNode, Note, MarkdownNote
    assert nodes["8"]["inputs"]["vae"] == {"from": "4", "output": "vae"}  # through the reroute
    assert nodes["8"]["ui"]["reroutes"] == {"vae": [[700, 300]]}
    assert nodes["5"]["inputs"]["width"] == 64  # the primitive's value, over the widget's own 512
    assert nodes["4"]["ui"] == {"pos": [10, 20], "title": "Load"}
    assert native["ui"]["groups"] == [{"title": "Prompts", "bounds": [280, -40, 300, 400], "color": "#3f789e"}]


def test_a_primitive_with_randomize_gives_its_control_to_the_widget_it_feeds(registry):
    b = ui_txt2img()
    sampler = next(n for n in b.nodes if n["id"] == 3)
    sampler["inputs"].append({"name": "seed", "type": "INT", "widget": {"name": "seed"}, "link": None})
    b.node(30, "PrimitiveNode", [1234, "randomize"], outputs=["INT"])
    b.connect(30, 0, 3, "seed")
    nodes = ui_to_workflow(b.to_json(), registry)["nodes"]
    assert nodes["3"]["inputs"]["seed"] == 1234
    assert nodes["3"]["ui"]["control_after_generate"] == {"seed": "randomize"}


def test_mute_and_bypass_map_onto_nodegraphs_modes(registry):
    b = ui_txt2img()
    b.node(14, "TScale", [3], inputs=["image"], outputs=["IMAGE"], mode=4)
    b.node(15, "TSaveImage", ["muted"], inputs=["images"], mode=2)
    save = next(n for n in b.nodes if n["id"] == 9)
    save["inputs"][0]["link"] = None
    b.connect(8, 0, 14, "image")
    b.connect(14, 0, 9, "images")
    b.connect(8, 0, 15, "images")
    nodes = ui_to_workflow(b.to_json(), registry)["nodes"]
    assert nodes["14"]["mode"] == "bypass" and nodes["15"]["mode"] == "mute" and "mode" not in nodes["9"]
    assert nodes["9"]["inputs"]["images"] == {"from": "14", "output": "image"}


def _with_subgraph(instance_mode: int = 0, instance_widgets=None) -> UIBuilder:
    """ui_txt2img with the positive prompt inside a subgraph: its CLIP and text come in from outside."""
    b = ui_txt2img()
    b.nodes = [n for n in b.nodes if n["id"] != 6]
    uuid = "5f0b8a63-0000-4000-8000-00000000abcd"
    inner_nodes, inner_links = [], []
    inner = UIBuilder()
    inner.node(1, "TTextEncode", ["inner text"], inputs=["clip", "w:text"], outputs=["CONDITIONING"], pos=(100, 100))
    inner.node(2, "TScale", [1.5], inputs=["image"], outputs=["IMAGE"], pos=(100, 300))  # unused: stays
    inner_nodes = inner.nodes
    inner_links.append([1, -10, 0, 1, 0, "CLIP"])
    inner_links.append([2, -10, 1, 1, 1, "STRING"])
    inner_links.append([3, 1, 0, -20, 0, "CONDITIONING"])
    inner_nodes[0]["inputs"][0]["link"] = 1
    inner_nodes[0]["inputs"][1]["link"] = 2
    b.subgraphs.append({"id": uuid, "version": 1, "name": "Prompt", "nodes": inner_nodes, "links": inner_links,
                        "inputs": [{"name": "clip", "type": "CLIP", "linkIds": [1]},
                                   {"name": "text", "type": "STRING", "linkIds": [2]}],
                        "outputs": [{"name": "CONDITIONING", "type": "CONDITIONING", "linkIds": [3]}],
                        "inputNode": {"id": -10, "bounding": [0, 0, 100, 100]},
                        "outputNode": {"id": -20, "bounding": [500, 0, 100, 100]}, "widgets": []})
    instance = b.node(6, uuid, instance_widgets, inputs=["clip", "w:text"], outputs=["CONDITIONING"], pos=(300, 0),
                      mode=instance_mode)
    instance["inputs"][1]["type"] = "STRING"
    sampler = next(n for n in b.nodes if n["id"] == 3)
    b.links = [lk for lk in b.links if lk[3] != 6 and lk[1] != 6]
    sampler["inputs"][1]["link"] = None
    b.connect(4, 1, 6, "clip")
    b.connect(6, 0, 3, "positive")
    return b


def test_subgraphs_are_expanded_with_stable_ids(registry):
    native = ui_to_workflow(_with_subgraph().to_json(), registry)
    nodes = native["nodes"]
    assert "6" not in nodes and {"6:1", "6:2"} <= set(nodes)
    assert nodes["3"]["inputs"]["positive"] == {"from": "6:1", "output": "conditioning"}
    assert nodes["6:1"]["inputs"]["clip"] == {"from": "4", "output": "clip"}
    assert nodes["6:1"]["inputs"]["text"] == "inner text"  # the instance holds no value: the inner one's
    assert nodes["6:1"]["ui"]["pos"] == [300, 0]  # the subgraph's layout placed at its instance
    assert validate(parse_workflow(keep_needed(native, registry)), registry) == []  # the stray 6:2 left out
    # the same file converts to the same ids every time
    assert ui_to_workflow(_with_subgraph().to_json(), registry) == native


def test_a_subgraph_instance_value_and_mode_reach_its_nodes(registry):
    nodes = ui_to_workflow(_with_subgraph(instance_widgets=["outer text"]).to_json(), registry)["nodes"]
    assert nodes["6:1"]["inputs"]["text"] == "outer text"
    muted = ui_to_workflow(_with_subgraph(instance_mode=2).to_json(), registry)["nodes"]
    assert muted["6:1"]["mode"] == "mute" and muted["6:2"]["mode"] == "mute" and "mode" not in muted["3"]


def test_missing_class_types_are_one_problem_with_every_id_subgraphs_included(registry):
    b = _with_subgraph()
    b.node(40, "ImageSharpenPro", [1], inputs=["image"])
    b.node(41, "ImageSharpenPro", [2], inputs=["image"])
    b.connect(8, 0, 40, "image")
    b.subgraphs[0]["nodes"][1]["type"] = "LatentMagic"
    with pytest.raises(WorkflowInvalid) as exc:
        ui_to_workflow(b.to_json(), registry)
    problems = exc.value.problems
    assert len(problems) == 1 and problems[0].code == "unknown_type"
    assert "ImageSharpenPro (nodes 40, 41)" in problems[0].message
    assert "LatentMagic (node 6:2)" in problems[0].message


def test_bad_links_and_slots_are_named(registry):
    b = ui_txt2img()
    b.links = [lk if lk[3] != 8 or lk[4] != 1 else [lk[0], 10, 0, 8, 1, "VAE"] for lk in b.links]
    sampler = next(n for n in b.nodes if n["id"] == 3)
    model_link = sampler["inputs"][0]["link"]
    b.links = [lk if lk[0] != model_link else [lk[0], 4, 5, 3, 0, "MODEL"] for lk in b.links]
    next(n for n in b.nodes if n["id"] == 7)["inputs"][0]["link"] = 999
    with pytest.raises(WorkflowInvalid) as exc:
        ui_to_workflow(b.to_json(), registry)
    found = {(p.node, p.input): p.message for p in exc.value.problems}
    assert "slot 5 of node '4'" in found[("3", "model")]
    assert "link 999" in found[("7", "clip")]
    assert len(found) == 2


def test_widgets_saved_by_name_are_read_by_name(registry):
    b = ui_txt2img()
    next(n for n in b.nodes if n["id"] == 3)["widgets_values"] = {"seed": 9, "steps": 3, "cfg": 2.5,
                                                                  "sampler_name": "lcm", "denoise": 0.5}
    sampler = ui_to_workflow(b.to_json(), registry)["nodes"]["3"]["inputs"]
    assert (sampler["seed"], sampler["steps"], sampler["sampler_name"], sampler["denoise"]) == (9, 3, "lcm", 0.5)


def test_an_alias_lists_comfyuis_widget_order_and_skips_ui_only_widgets(registry):
    b = UIBuilder()
    b.node(1, "TCheckpointLoader", ["m.safetensors"], outputs=["MODEL", "CLIP", "VAE"])
    b.node(2, "TSaveImage", ["fox", "image"], inputs=["images"])
    b.node(3, "TDecode", [], inputs=["samples", "vae"], outputs=["IMAGE"])
    b.connect(3, 0, 2, "images")
    save = ui_to_workflow(b.to_json(), registry)["nodes"]["2"]
    assert save["inputs"]["prefix"] == "fox" and save["inputs"]["style"] == "comfy"
