"""ComfyUI's published workflow templates (the ``comfyui-workflow-templates-json`` package, UI
format, ~650 workflows) as an import corpus: EVERY template either imports and validates on the
demo models (--demo-models, the SD 1.x / SDXL / SVD ones) or is refused with the one
"ComfyUI node types that no installed pack provides" problem, listing exactly the class types
no pack has, with node ids of the file. Never a traceback, never another problem.

The counts and the most common missing types are printed (-s shows them); docs/comfyui.md
quotes them. The templates that import run end to end in tests/comfy_pack/test_templates_run.py.
"""
from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest

from nodegraph.api.errors import WorkflowInvalid
from nodegraph.api.plugins import load_registry
from nodegraph.comfyui.classes import resolve_class
from nodegraph.comfyui.load import load_any, source_format
from nodegraph.files.roots import FileRoots
from nodegraph.graph.bypass import apply_modes, merge_problems
from nodegraph.graph.demo_models import use_demo_models
from nodegraph.graph.validate import validate
from nodegraph.run.context import Environment

templates = pytest.importorskip("comfyui_workflow_templates_json", reason="the test extra installs the templates")
FOLDER = Path(templates.__file__).parent / "templates"
# The templates of the families the comfy pack covers: they must import and validate.
RUNNABLE = {"image_sdxl_simple", "sdxl_simple_example", "sdxl_refiner_prompt_example", "sdxlturbo_example",
            "txt_to_image_to_video", "utility_interpolation_image_upscale"}
MISSING = re.compile(r"^(\d+) ComfyUI node types? that no installed pack provides: (.*)\. Install the packs")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The installed catalogue (every pack) and an environment with empty folders."""
    root = tmp_path_factory.mktemp("corpus")
    registry = load_registry(())
    env = Environment(files=FileRoots(input_dir=root / "input", models_dir=root / "models",
                                      output_dir=root / "output"), device="cpu")
    env.use_catalogue(registry)
    return registry, env


def _workflow_files() -> list[Path]:
    """The templates; the package's index files (template lists, search options) are not workflows."""
    files = sorted(FOLDER.glob("*.json"))
    kinds = {p: source_format(json.loads(p.read_text(encoding="utf-8"))) for p in files}
    others = [p.name for p, kind in kinds.items() if kind == "unknown"]
    assert all(name.startswith(("index", "fuse_options")) for name in others), others
    return [p for p, kind in kinds.items() if kind != "unknown"]


def _problems(path: Path, registry, env) -> list:
    """What `nodegraph validate FILE --demo-models` reports."""
    try:
        workflow = use_demo_models(load_any(path, registry), registry, env)
        workflow, mode_problems = apply_modes(workflow, registry)
        return merge_problems(mode_problems, validate(workflow, registry, env))
    except WorkflowInvalid as exc:
        return exc.problems


def _missing_types(text: str) -> dict[str, list[str]]:
    """{class type: node ids} from the missing-types problem's text."""
    match = MISSING.match(text)
    assert match, text
    listed = {}
    for part in match.group(2).split("; "):
        name, _, ids = part.rpartition(" (node")
        listed[name] = ids.lstrip("s ").rstrip(")").split(", ")
    assert len(listed) == int(match.group(1)), text
    return listed


def _node_ids(data: dict) -> set[str]:
    """Every node id of a UI workflow as the import names them (subgraph nodes as <instance>:<inner>)."""
    subgraphs = {sg["id"]: sg for sg in (data.get("definitions") or {}).get("subgraphs", [])}
    ids, stack = set(), [("", n) for n in data["nodes"]]
    while stack:
        scope, node = stack.pop()
        node_id = f"{scope}{node['id']}"
        ids.add(node_id)
        if node.get("type") in subgraphs and len(node_id) < 200:
            stack.extend((node_id + ":", n) for n in subgraphs[node["type"]].get("nodes", []))
    return ids


def test_every_template_imports_and_validates_or_names_its_missing_types(installed):
    registry, env = installed
    files = _workflow_files()
    assert len(files) > 600, "the corpus shrank: is the package the pinned version?"
    outcome: dict[str, str] = {}
    missing_count: collections.Counter = collections.Counter()
    wrong: dict[str, list[str]] = {}
    for path in files:
        problems = _problems(path, registry, env)
        if not problems:
            outcome[path.stem] = "ok"
            continue
        if len(problems) != 1 or problems[0].code != "unknown_type":
            wrong[path.stem] = [str(p) for p in problems][:5]
            continue
        listed = _missing_types(problems[0].message)
        # what is listed is really missing, and the ids are the file's nodes
        assert all(resolve_class(name, registry) is None for name in listed), (path.stem, listed)
        ids = _node_ids(json.loads(path.read_text(encoding="utf-8")))
        assert all(i in ids for node_ids in listed.values() for i in node_ids), (path.stem, listed)
        missing_count.update(listed.keys())
        outcome[path.stem] = "missing"
    assert not wrong, json.dumps(wrong, indent=1)[:6000]
    ok = sorted(name for name, result in outcome.items() if result == "ok")
    refused = len(outcome) - len(ok)
    print(f"\n{len(outcome)} templates: {len(ok)} import and validate ({', '.join(ok)}); {refused} refused for "
          f"missing node types. Most common missing: "
          + ", ".join(f"{name} ({n})" for name, n in missing_count.most_common(15)))
    assert RUNNABLE <= set(ok), sorted(RUNNABLE - set(ok))


def test_a_refused_template_names_every_missing_type_and_nothing_else(installed, tmp_path):
    """The same template with one more unknown node: the one problem gains exactly that type."""
    registry, env = installed
    data = json.loads((FOLDER / "sdxl_simple_example.json").read_text(encoding="utf-8"))
    assert not _problems(FOLDER / "sdxl_simple_example.json", registry, env)
    data["nodes"].append({"id": 900, "type": "UpscaleModelLoader", "mode": 0, "inputs": [], "outputs": [],
                          "widgets_values": ["4x.pth"]})
    path = tmp_path / "with_unknown.json"
    path.write_text(json.dumps(data))
    problems = _problems(path, registry, env)
    assert len(problems) == 1 and _missing_types(problems[0].message) == {"UpscaleModelLoader": ["900"]}


def test_newer_savers_pass_their_input_through(installed, tmp_path):
    """ComfyUI's current SaveImage has an IMAGE output (its input, unchanged): a node fed from it
    is fed from what feeds the saver, in the UI and the API format alike."""
    registry, env = installed
    from nodegraph.comfyui.api_format import api_to_workflow
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
              "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
              "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
              "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}}}
    nodes = api_to_workflow(prompt, registry)["nodes"]
    assert nodes["3"]["inputs"]["images"] == nodes["4"]["inputs"]["images"] == {"from": "1", "output": "image"}
    prompt["3"]["inputs"]["images"] = ["2", 1]  # a slot no version has: still a clear problem
    with pytest.raises(WorkflowInvalid, match="output slot 1 of node '2'"):
        api_to_workflow(prompt, registry)
