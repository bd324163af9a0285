"""Literals that JSON cannot hold as they are (enums, sets, models in JSON inputs) and external
state a node reports through its hooks, demo assets and input files: each still re-keys the node
when it changes, and equal values share one key."""
from __future__ import annotations

import enum

from pydantic import BaseModel

from core_helpers import wf

from nodegraph import DemoAsset, FileInput, Node, Widget, node
from nodegraph.api.registry import Registry
from nodegraph.files.roots import FileRoots
from nodegraph.run.cache import Cache
from nodegraph.run.context import Environment
from nodegraph.run.session import Session


class Blend(enum.Enum):
    ADD = "add"
    MULTIPLY = "multiply"


class Threshold(BaseModel):
    value: float
    mode: str = "above"


@node("KeyedValues", category="test", output_node=True)
class KeyedValues(Node):
    blend: Blend = Widget(Blend.ADD)
    tags: frozenset[str] = Widget(frozenset())
    threshold: Threshold = Widget(Threshold(value=0.5))

    def run(self, ctx):
        ctx.ui["text"] = f"{self.blend.value} {sorted(self.tags)} {self.threshold.value} {self.threshold.mode}"


def values_session(env, *classes) -> Session:
    reg = Registry()
    for cls in classes:
        reg.add_node(cls, "test")
    return Session(reg, env, Cache(memory_bytes=1 << 20))


def runs(session: Session, node_type: str, inputs: dict) -> tuple[bool, str]:
    """(whether the node executed rather than came from the cache, what it showed)."""
    result = session.run(wf(n=(node_type, inputs)))
    assert result.ok, result.error
    return result.executed == ["n"], result.ui["n"].get("text", "")


def test_enum_set_and_model_inputs_key_by_value(env):
    session = values_session(env, KeyedValues)
    assert runs(session, "KeyedValues", {}) == (True, "add [] 0.5 above")
    assert runs(session, "KeyedValues", {"blend": "add"}) == (False, "add [] 0.5 above")
    assert runs(session, "KeyedValues", {"blend": "multiply"}) == (True, "multiply [] 0.5 above")
    assert runs(session, "KeyedValues", {"tags": ["b", "a"]}) == (True, "add ['a', 'b'] 0.5 above")
    assert runs(session, "KeyedValues", {"tags": ["a", "b", "a"]})[0] is False  # the same set
    assert runs(session, "KeyedValues", {"tags": ["a", "c"]})[0] is True
    assert runs(session, "KeyedValues", {"threshold": {"value": 0.5}})[0] is False  # the default
    assert runs(session, "KeyedValues", {"threshold": {"value": 0.7}}) == (True, "add [] 0.7 above")
    # A model field next to one named 'value' is no less part of the key.
    assert runs(session, "KeyedValues", {"threshold": {"value": 0.7, "mode": "below"}}) == \
        (True, "add [] 0.7 below")


def test_a_fingerprint_reports_external_state_into_the_key(env):
    revision = env.files.input_dir / "revision.txt"  # what the node reads but its inputs do not show
    revision.write_text("r1")

    @node("RemoteModel", category="test", output_node=True)
    class RemoteModel(Node):
        name: str = Widget("base")

        @classmethod
        def fingerprint(cls, literals, env):
            return (env.files.input_dir / "revision.txt").read_text()

        def run(self, ctx):
            ctx.ui["text"] = f"{self.name}@{revision.read_text()}"

    session = values_session(env, RemoteModel)
    assert runs(session, "RemoteModel", {}) == (True, "base@r1")
    assert runs(session, "RemoteModel", {}) == (False, "base@r1")
    revision.write_text("r2")
    assert runs(session, "RemoteModel", {}) == (True, "base@r2")


def test_an_output_node_reruns_for_another_output_folder(env, tmp_path):
    session = values_session(env, KeyedValues)
    assert runs(session, "KeyedValues", {})[0] is True
    elsewhere = Environment(files=FileRoots(input_dir=env.files.input_dir, models_dir=env.files.models_dir,
                                            output_dir=tmp_path / "elsewhere"), device="cpu")
    moved = Session(session.registry, elsewhere, session.cache)  # same cache, files go elsewhere
    assert runs(moved, "KeyedValues", {})[0] is True
    assert runs(moved, "KeyedValues", {})[0] is False


def test_is_deterministic_decides_per_run_from_the_literals(env):
    @node("MaybeRandom", category="test", output_node=True)
    class MaybeRandom(Node):
        seed: int = Widget(0)  # -1 asks for a fresh random seed every run

        @classmethod
        def is_deterministic(cls, literals):
            return literals["seed"] != -1

        def run(self, ctx):
            ctx.ui["text"] = str(self.seed)

    session = values_session(env, MaybeRandom)
    assert runs(session, "MaybeRandom", {"seed": 5})[0] is True
    assert runs(session, "MaybeRandom", {"seed": 5})[0] is False
    assert runs(session, "MaybeRandom", {"seed": -1})[0] is True
    assert runs(session, "MaybeRandom", {"seed": -1})[0] is True  # never served from the cache


@node("Overlay", category="test", output_node=True)
class Overlay(Node):
    paper: str = FileInput("input", default="demo:paper")  # a demo a pack builds on first use
    mask: str = FileInput("input", default="")

    def run(self, ctx):
        ctx.ui["text"] = f"{self.paper} + {self.mask or 'no mask'}"


def overlay_session(env, cache: Cache, demo_version: str) -> Session:
    """Overlay with its pack's demo at one recipe version; every session shares ``cache``."""
    reg = Registry()
    reg.add_demos([DemoAsset("paper", "input", build=lambda d: d / "paper.png", locate=lambda d: None,
                             version=demo_version)], "test")
    reg.add_node(Overlay, "test")
    return Session(reg, env, cache)


def test_a_demo_input_keys_by_its_recipe_version_and_the_next_file_by_its_content(env):
    cache = Cache(memory_bytes=1 << 20)
    mask = env.files.input_dir / "mask.png"
    mask.write_bytes(b"")
    v1, v2 = overlay_session(env, cache, "1"), overlay_session(env, cache, "2")
    assert runs(v1, "Overlay", {"mask": "mask.png"}) == (True, "demo:paper + mask.png")
    assert runs(v1, "Overlay", {"mask": "mask.png"})[0] is False
    assert runs(v2, "Overlay", {"mask": "mask.png"})[0] is True  # the demo's recipe changed
    assert runs(v1, "Overlay", {"mask": "mask.png"})[0] is False  # back to version 1: its key again
    assert runs(v2, "Overlay", {})[0] is True  # no mask is not the empty mask file
    mask.write_bytes(b"\x89PNG")  # the empty file now has content
    assert runs(v2, "Overlay", {"mask": "mask.png"})[0] is True
    assert runs(v2, "Overlay", {"mask": "mask.png"})[0] is False
    assert runs(v2, "Overlay", {}) == (False, "demo:paper + no mask")
