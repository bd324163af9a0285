"""Cache-key sensitivity over the whole catalogue, generated from `nodegraph nodes --json`, so
new packs and plugins are covered without editing this file.

For every node type and every literal input: a different valid value gives the node a new key
and gives its descendants new keys (so exactly they re-run), while its ancestors and an
unrelated branch keep theirs; equal values (`1` and `1.0`, an omitted default and the same
value written out) give the same key; a changed `version` or implementation gives a new key.
A silently ignored input — the key forgetting a literal — fails here by name.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from core_helpers import cli, link, wf

from nodegraph import ANY, Node, Socket, Widget, node
from nodegraph.api.errors import WorkflowInvalid
from nodegraph.api.plugins import load_registry
from nodegraph.files.roots import FileRoots
from nodegraph.run.cache import Cache
from nodegraph.run.context import Environment
from nodegraph.run.executor import node_key
from nodegraph.run.session import Session


@node("TestKeySource", category="tests", outputs={"value": ANY})
class KeySource(Node):
    """Stands in for any upstream value (keys depend on upstream keys, never on values)."""
    tag: int = Widget(0)

    def run(self, ctx):  # pragma: no cover - keys only
        return {"value": self.tag}


@node("TestKeySink", category="tests", output_node=True)
class KeySink(Node):
    """A descendant of the node under test."""
    value: Any = Socket(ANY)

    def run(self, ctx):  # pragma: no cover - keys only
        return None


# Inputs whose second valid value cannot be produced generically, with the reason; each is
# covered by its pack's own tests. Anything else without an alternative fails the test.
NO_GENERIC_ALTERNATIVE = {
    ("OpenAIChatLLM", "api_key_env"): "another variable name must be set to validate; tests/orca vary it",
    ("LoadSDXL", "checkpoint"): "a second model folder; tests/sdxl vary checkpoints",
    ("LoadSDXL", "config"): "a config folder for single-file checkpoints; tests/sdxl/test_checkpoint",
    ("LocalLLM", "model"): "a second local model folder; tests/orca build the demo one",
    ("LoadSVD", "checkpoint"): "a second SVD diffusers folder; tests/video vary the model",
    ("CameraMotionLoRA", "lora"): "a LoRA whose keys are SVD temporal attention; tests/video vary camera LoRAs",
}


@pytest.fixture(scope="module")
def catalogue() -> dict:
    out = cli("nodes", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Session:
    root = tmp_path_factory.mktemp("keys")
    registry = load_registry(use_env=False)
    for cls in (KeySource, KeySink):
        registry.add_node(cls, "tests.keys")
    env = Environment(files=FileRoots(input_dir=root / "input", models_dir=root / "models",
                                      output_dir=root / "output"), device="cpu", demo_dir=root / "demo")
    session = Session(registry, env=env, cache=Cache(enabled=False))
    session.files_root = root
    return session


def keys_of(session: Session, data: dict) -> dict[str, str]:
    job = session.prepare(data)
    keys: dict[str, str] = {}
    for node_id in job.plan.order:
        keys[node_id] = node_key(job.graph.nodes[node_id], keys, job, "fixed-nonce")
    return keys


def make_file(root: Path, spec: dict, variant: int) -> str:
    """A real, valid-looking file (or folder) for a file input; variants differ in content."""
    meta = spec["file"]
    ext = (meta["extensions"] or [".txt"])[0]
    target = root / "files" / f"{spec['name']}_{variant}{ext if not meta['directory'] else ''}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if meta["directory"]:
        target.mkdir(exist_ok=True)
        (target / "content.txt").write_text(f"variant {variant}")
    elif meta["kind"] == "image" or ext in (".png", ".jpg", ".jpeg", ".webp"):
        from PIL import Image
        Image.new("RGB", (8, 8), (40 * variant, 0, 0)).save(target, format="PNG")
    elif ext == ".safetensors":
        import numpy as np
        from safetensors.numpy import save_file
        save_file({"lora_unet_block.lora_down.weight": np.full((2, 4), variant + 1, np.float32),
                   "lora_unet_block.lora_up.weight": np.ones((4, 2), np.float32)}, str(target))
    elif ext == ".jsonl":
        target.write_text(json.dumps({"prompt": f"question {variant}?"}) + "\n")
    else:
        target.write_text(f"variant {variant}\n")
    return str(target)


def literal_alternatives(spec: dict, base: Any, root: Path) -> list[Any]:
    """Candidate values different from ``base``, most natural first."""
    widget = spec["widget"]
    lo, hi, step = spec.get("minimum"), spec.get("maximum"), spec.get("step")
    inside = lambda v: (lo is None or v >= lo) and (hi is None or v <= hi)  # noqa: E731
    if widget == "bool":
        return [not base]
    if widget == "enum":
        return [o for o in spec["options"] if o != base]
    if widget == "int":
        start = base if isinstance(base, int) else (lo or 0)
        return [v for v in (start + int(step or 1), start - int(step or 1), lo, hi, start + 7) if
                v is not None and v != base and inside(v)]
    if widget == "float":
        start = base if isinstance(base, (int, float)) else (lo or 0.0)
        deltas = [step or 0.1, -(step or 0.1), 0.5, -0.5]
        return [v for v in [start + d for d in deltas] + [lo, hi] if v is not None and v != base and inside(v)]
    if widget == "file":
        values = [make_file(root, spec, 1), make_file(root, spec, 2)]
        return [v for v in values if v != base]
    if widget == "json":
        return [{"x": "x"}, {"x": 1}, ["x"], [1], 1, "x"]
    text = base if isinstance(base, str) else ""
    return [text + "x", text + " more", "x", text[:-1] if text else "y"]


REQUIRED_LITERALS = {
    "string": lambda spec: "a literal",
    "int": lambda spec: int(spec.get("minimum") or 0),
    "float": lambda spec: float(spec.get("minimum") or 0.0),
    "bool": lambda spec: False,
    "enum": lambda spec: spec["options"][0],
}


def base_inputs(spec_node: dict, root: Path) -> tuple[dict, dict]:
    """(inputs with every literal written out, inputs with defaults omitted)."""
    full, sparse = {}, {}
    for spec in spec_node["inputs"]:
        name = spec["name"]
        if spec["widget"] is None:  # link-only
            if spec["required"]:
                full[name] = sparse[name] = link("src")
            continue
        if "default" in spec:
            full[name] = spec["default"]
        elif spec["widget"] == "file":
            full[name] = sparse[name] = make_file(root, spec, 0)
        elif spec["required"] and spec["widget"] in REQUIRED_LITERALS:  # ComfyUI's required widgets (CLIPTextEncode.text)
            full[name] = sparse[name] = REQUIRED_LITERALS[spec["widget"]](spec)
        elif spec["required"]:
            pytest.fail(f"{spec_node['type']}.{name}: required literal without a default (add a generator here)")
    return full, sparse


def build(node_type: str, outputs: list[dict], inputs: dict) -> dict:
    nodes = {"src": ("TestKeySource", {"tag": 1}), "src_sink": ("TestKeySink", {"value": link("src")}),
             "x": (node_type, inputs),
             "other": ("TestKeySource", {"tag": 2}), "other_sink": ("TestKeySink", {"value": link("other")})}
    if outputs:
        nodes["sink"] = ("TestKeySink", {"value": link("x", outputs[0]["name"])})
    return wf(**nodes)


@pytest.fixture(autouse=True)
def _an_api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # OpenAIChatLLM refuses a missing key at validation


def catalogue_nodes(catalogue: dict) -> list[dict]:
    # The comfy pack's loaders read their files' contents at validation (a generated stand-in
    # file is refused); its keys and results are covered by tests/comfy_pack and tests/comfyui.
    return [n for n in catalogue["nodes"] if not n["type"].startswith("Test") and n.get("plugin") != "builtin.comfy"]


def test_every_literal_input_of_every_node_changes_exactly_its_keys(catalogue, session):
    root = session.files_root
    checked, missing = [], []
    for spec_node in catalogue_nodes(catalogue):
        node_type, outputs = spec_node["type"], spec_node["outputs"]
        full, sparse = base_inputs(spec_node, root)
        base = keys_of(session, build(node_type, outputs, full))
        # an omitted default and the same value written out are the same node
        assert keys_of(session, build(node_type, outputs, sparse)) == base, node_type
        for spec in spec_node["inputs"]:
            if spec["widget"] is None:
                continue
            name, current = spec["name"], full.get(spec["name"])
            changed = None
            for value in literal_alternatives(spec, current, root):
                try:
                    changed = keys_of(session, build(node_type, outputs, {**full, name: value}))
                except WorkflowInvalid:
                    continue  # not valid for this input (a node-specific check); try the next
                break
            if changed is None:
                if (node_type, name) not in NO_GENERIC_ALTERNATIVE:
                    missing.append(f"{node_type}.{name}")
                continue
            where = f"{node_type}.{name}"
            assert changed["x"] != base["x"], f"{where}: a different value kept the node's cache key"
            if "sink" in base:
                assert changed["sink"] != base["sink"], f"{where}: the descendant kept its key"
            assert changed["src"] == base["src"] and changed["other"] == base["other"], where
            assert changed["other_sink"] == base["other_sink"], where
            checked.append(where)
    assert not missing, f"no second valid value found for: {missing}"
    assert len(checked) >= 100, len(checked)  # the catalogue is really being covered
    print(f"\nkey sensitivity: {len(catalogue_nodes(catalogue))} node types, {len(checked)} inputs varied")


def test_integral_floats_and_ints_are_one_key(catalogue, session):
    """`1` and `1.0` for a float input are the same literal (the canvas writes 1.0 as 1)."""
    seen = 0
    for spec_node in catalogue_nodes(catalogue):
        full, _ = base_inputs(spec_node, session.files_root)
        for spec in spec_node["inputs"]:
            value = full.get(spec["name"])
            if spec["widget"] != "float" or not isinstance(value, float) or not value.is_integer():
                continue
            as_int = keys_of(session, build(spec_node["type"], spec_node["outputs"], {**full, spec["name"]: int(value)}))
            as_float = keys_of(session, build(spec_node["type"], spec_node["outputs"], full))
            assert as_int == as_float, f"{spec_node['type']}.{spec['name']}"
            seen += 1
    assert seen >= 5


def test_version_and_implementation_are_in_every_key(catalogue, session, monkeypatch):
    for spec_node in catalogue_nodes(catalogue):
        cls = session.registry.nodes[spec_node["type"]]
        full, _ = base_inputs(spec_node, session.files_root)
        data = build(spec_node["type"], spec_node["outputs"], full)
        base = keys_of(session, data)
        with monkeypatch.context() as m:
            m.setattr(cls, "version", cls.version + 1)
            assert keys_of(session, data)["x"] != base["x"], f"{cls.node_type}: version not in the key"
        facts = getattr(cls, "_ng_key_facts")
        with monkeypatch.context() as m:
            import dataclasses
            m.setattr(cls, "_ng_key_facts", dataclasses.replace(facts, code=facts.code + "-edited"))
            assert keys_of(session, data)["x"] != base["x"], f"{cls.node_type}: implementation not in the key"
        assert keys_of(session, data) == base


@settings(max_examples=60, deadline=None)
@given(a=st.integers(-10**6, 10**6), b=st.integers(-10**6, 10**6),
       x=st.floats(-1e6, 1e6, allow_nan=False), y=st.floats(-1e6, 1e6, allow_nan=False))
def test_keys_equal_exactly_when_values_are_equal(session, a, b, x, y):
    def key(**inputs):
        return keys_of(session, wf(n=("MathInt", {"a": inputs["a"], "b": 0}),
                                   f=("MathFloat", {"a": inputs["x"], "b": 0.0}),
                                   s=("Show", {"value": link("n")}), t=("Show", {"value": link("f")})))
    k1, k2 = key(a=a, x=x), key(a=b, x=y)
    assert (k1["n"] == k2["n"]) == (a == b)
    assert (k1["f"] == k2["f"]) == (x == y or (x == 0 and y == 0))
    if float(a).is_integer() and abs(a) < 2 ** 53:  # an integral float written as an int: same key
        assert key(a=a, x=float(a))["f"] == key(a=a, x=a)["f"]


@settings(max_examples=25, deadline=None)
@given(length=st.integers(2, 8), data=st.data())
def test_changing_one_literal_reruns_exactly_that_node_and_its_descendants(session, length, data):
    """Real runs on a chain with a side branch: the second run executes exactly the changed
    node and everything after it; the rest comes from the cache."""
    from nodegraph.run.events import CollectingSink
    runner = Session(session.registry, env=session.env, cache=Cache())
    nodes = {"n0": ("Int", {"value": 1}), "side": ("Int", {"value": 5}), "side_show": ("Show", {"value": link("side")})}
    for i in range(1, length):
        nodes[f"n{i}"] = ("MathInt", {"a": link(f"n{i-1}"), "b": i})
    nodes["show"] = ("Show", {"value": link(f"n{length - 1}")})
    first = runner.run(wf(**nodes), sink=CollectingSink())
    assert first.ok
    target = data.draw(st.integers(1, length - 1))
    nodes[f"n{target}"] = ("MathInt", {"a": link(f"n{target-1}"), "b": target + 100})
    second = runner.run(wf(**nodes), sink=CollectingSink())
    assert second.ok
    assert sorted(second.executed) == sorted([f"n{i}" for i in range(target, length)] + ["show"])
    assert "side" in second.cached and "n0" in second.cached
    assert second.ui["show"]["text"] == str(1 + sum(range(1, length)) + 100)
