"""ComfyUI's API format <-> nodegraph's workflow: slots become output names, ids stay ComfyUI's."""
import copy

import pytest

from nodegraph.comfyui import api_to_workflow, is_api_prompt, workflow_to_api
from nodegraph.api.errors import WorkflowInvalid
from nodegraph.api.registry import Registry
from nodegraph.graph.validate import validate
from nodegraph.graph.workflow import parse_workflow

from comfyui_helpers import api_txt2img


def test_links_name_the_output_of_their_slot_and_ids_stay_comfyuis(registry):
    native = api_to_workflow(api_txt2img(), registry)
    nodes = native["nodes"]
    assert list(nodes) == ["4", "6", "7", "5", "3", "8", "9"]
    assert nodes["6"]["inputs"]["clip"] == {"from": "4", "output": "clip"}  # slot 1
    assert nodes["8"]["inputs"]["vae"] == {"from": "4", "output": "vae"}  # slot 2
    assert nodes["3"]["inputs"]["model"] == {"from": "4", "output": "model"}  # slot 0
    assert nodes["3"]["inputs"]["seed"] == 5 and nodes["3"]["type"] == "TKSampler"
    assert nodes["4"]["ui"] == {"title": "Load"}
    assert validate(parse_workflow(native), registry) == []


def test_an_alias_renames_inputs_and_fixes_the_native_ones(registry):
    prompt = api_txt2img()
    prompt["9"]["inputs"]["upload"] = "image"  # a UI-only widget the alias drops
    save = api_to_workflow(prompt, registry)["nodes"]["9"]
    assert save["type"] == "TSave"
    assert save["inputs"] == {"prefix": "ComfyUI", "images": {"from": "8", "output": "image"}, "style": "comfy"}


def test_every_missing_class_type_is_listed_once_with_its_node_ids(registry):
    prompt = api_txt2img()
    prompt["3"]["class_type"] = "FancySampler"
    prompt["10"] = {"class_type": "UpscaleMagic", "inputs": {"image": ["8", 0]}}
    prompt["11"] = {"class_type": "FancySampler", "inputs": {}}
    with pytest.raises(WorkflowInvalid) as exc:
        api_to_workflow(prompt, registry)
    problems = exc.value.problems
    assert len(problems) == 1, problems  # the links into and out of unknown nodes add nothing
    assert problems[0].code == "unknown_type"
    assert "FancySampler (nodes 3, 11)" in problems[0].message
    assert "UpscaleMagic (node 10)" in problems[0].message


def test_bad_links_and_inputs_are_named_by_node_and_input(registry):
    prompt = api_txt2img()
    prompt["8"]["inputs"]["vae"] = ["4", 7]
    prompt["6"]["inputs"]["clip"] = ["99", 0]
    prompt["5"]["inputs"]["depth"] = 3
    prompt["7"] = "not a node"
    with pytest.raises(WorkflowInvalid) as exc:
        api_to_workflow(prompt, registry)
    found = {(p.node, p.input, p.code): p.message for p in exc.value.problems}
    assert "slots: 0: model, 1: clip, 2: vae" in found[("8", "vae", "bad_link")]
    assert "node '99', which does not exist" in found[("6", "clip", "bad_link")]
    assert "TEmptyLatent has no input 'depth'" in found[("5", "depth", "unknown_input")]
    assert ("7", None, "bad_structure") in found
    assert len(found) == 4


def test_workflow_to_api_round_trips_and_writes_comfyuis_names(registry):
    prompt = api_txt2img(seed=11)
    back = workflow_to_api(api_to_workflow(prompt, registry), registry)
    assert set(back) == set(prompt)
    for node_id, entry in prompt.items():
        assert back[node_id]["class_type"] == entry["class_type"]
        assert back[node_id]["inputs"] == entry["inputs"], node_id
    assert back["9"]["_meta"]["title"] == "Save Image"
    assert back["3"]["_meta"]["title"] == "TKSampler"
    # a changed value comes back changed
    native = api_to_workflow(prompt, registry)
    native["nodes"]["3"]["inputs"]["seed"] = 12
    assert workflow_to_api(native, registry)["3"]["inputs"]["seed"] == 12


def test_workflow_to_api_drops_muted_and_passes_bypassed_nodes_through(registry):
    prompt = api_txt2img()
    prompt["10"] = {"class_type": "TScale", "inputs": {"image": ["8", 0], "factor": 3}}
    prompt["9"]["inputs"]["images"] = ["10", 0]
    native = api_to_workflow(prompt, registry)
    native["nodes"]["10"]["mode"] = "bypass"
    api = workflow_to_api(native, registry)
    assert "10" not in api and api["9"]["inputs"]["images"] == ["8", 0]
    native["nodes"]["10"]["mode"] = "mute"
    with pytest.raises(WorkflowInvalid) as exc:  # the save's required image had only the muted source
        workflow_to_api(native, registry)
    assert [(p.node, p.input) for p in exc.value.problems] == [("9", "images")]


def test_native_nodes_of_an_aliased_type_are_written_as_the_comfyui_class(registry):
    native = api_to_workflow(api_txt2img(), registry)
    native["nodes"]["9"]["inputs"].pop("style")  # a native save, as a user of the native pack writes it
    api = workflow_to_api(native, registry)
    assert api["9"]["class_type"] == "TSaveImage" and api["9"]["inputs"]["filename_prefix"] == "ComfyUI"
    assert "style" not in api["9"]["inputs"]


def test_is_api_prompt():
    assert is_api_prompt(api_txt2img())
    assert not is_api_prompt({"format": "nodegraph/workflow", "nodes": {}})
    assert not is_api_prompt({"nodes": [], "links": []})
    assert not is_api_prompt({})


def test_malformed_aliases_are_plugin_failures_not_crashes():
    reg = Registry()
    reg.add_comfy_aliases({"A": {"type": "X", "inputs": {"a": 3}}, "B": "X", "C": {"type": "Y", "extra": 1},
                           "D": {"type": "Z"}}, "p")
    assert set(reg.comfy_aliases) == {"D"}
    assert len(reg.failures) == 3 and all("COMFY_ALIASES[" in f.message for f in reg.failures)
    reg.add_comfy_aliases({"D": {"type": "W"}}, "q")
    assert reg.comfy_aliases["D"]["type"] == "Z" and "already aliased" in reg.failures[-1].message


def test_an_unchanged_prompt_is_not_modified(registry):
    prompt = api_txt2img()
    before = copy.deepcopy(prompt)
    api_to_workflow(prompt, registry)
    assert prompt == before
