"""Error events and value descriptions as the CLI and canvas show them; which executor runs; what a
node is told about itself; values let go of once no remaining node needs them."""
from __future__ import annotations

import sys
import traceback
import weakref
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch

from core_helpers import link, wf

from nodegraph import ANY, Node, Socket, Widget, node
from nodegraph.api.errors import NodeError, UsageError
from nodegraph.run.cache import Cache, CacheEntry
from nodegraph.run.executor import (InProcessExecutor, OutputMismatch, _describe, check_outputs, error_event,
                                    finished_event, node_key)
from nodegraph.api.registry import Registry
from nodegraph.api.types import TypeRegistry
from nodegraph.run.executors import executor_named
from nodegraph.run.session import Session


def test_describe_names_type_and_shape():
    assert _describe(torch.zeros(2, 3)) == "Tensor of shape (2, 3)"
    assert _describe(np.zeros(4)) == "ndarray of shape (4,)"
    assert _describe(torch.tensor(1.0)) == "Tensor of shape ()"
    assert _describe(5) == "int"
    assert _describe("text") == "str"
    assert _describe(None) == "NoneType"


def raised(exc):
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - a real traceback to describe
        return caught


def test_node_error_event_names_node_type_and_input():
    exc = raised(NodeError("file 'x.png' is not an image", input="image"))
    event = error_event("n7", "LoadImage", exc, {"job": "j1"})
    assert event["event"] == "error" and event["node"] == "n7" and event["node_type"] == "LoadImage"
    assert event["message"] == "file 'x.png' is not an image"
    assert event["exception"] == "NodeError" and event["input"] == "image" and event["job"] == "j1"
    assert event["traceback"] == "".join(traceback.format_exception(exc))
    assert event["traceback"].startswith("Traceback (most recent call last):\n")


def test_plain_exception_event():
    event = error_event("n1", "Math", raised(ZeroDivisionError()), {})
    assert event["message"] == "ZeroDivisionError" and event["exception"] == "ZeroDivisionError"
    assert "input" not in event and "job" not in event
    assert "input" not in error_event("n1", "Math", raised(NodeError("bad")), {})


def test_output_mismatch_message_names_the_node():
    exc = raised(OutputMismatch("output 'image' should be IMAGE but is int"))
    event = error_event("n3", "MyNode", exc, {})
    assert event["message"] == "node 'n3' (MyNode): output 'image' should be IMAGE but is int"
    assert event["exception"] == "OutputMismatch"


def test_executor_named_picks_the_local_executor_unless_ray_is_asked_for():
    assert type(executor_named()) is InProcessExecutor and type(executor_named("local")) is InProcessExecutor
    with pytest.raises(UsageError) as info:
        executor_named("local", "10.0.0.5:6379")
    assert str(info.value) == "--address needs --executor ray"
    ray_executor = executor_named("ray", "10.0.0.5:6379")  # connects on first use, not here
    assert type(ray_executor).__name__ == "RayExecutor" and ray_executor.address == "10.0.0.5:6379"


def break_import(monkeypatch, missing: str) -> None:
    """Make importing the Ray executor fail as if module ``missing`` were not installed."""
    monkeypatch.delitem(sys.modules, "nodegraph.ray.executor", raising=False)
    if missing.startswith("ray."):  # a Ray install that lacks one of its parts
        fake_ray = ModuleType("ray")
        fake_ray.__path__ = []
        monkeypatch.setitem(sys.modules, "ray", fake_ray)
    monkeypatch.setitem(sys.modules, missing, None)


@pytest.mark.parametrize("missing", ["ray", "ray.exceptions"])
def test_executor_ray_without_ray_says_how_to_install_it(monkeypatch, missing):
    break_import(monkeypatch, missing)
    with pytest.raises(UsageError) as info:
        executor_named("ray")
    assert str(info.value) == "--executor ray needs ray: pip install 'nodegraph[ray]'"


def test_another_missing_module_is_not_blamed_on_ray(monkeypatch):
    break_import(monkeypatch, "nodegraph.ray.placement")
    with pytest.raises(ModuleNotFoundError) as info:
        executor_named("ray")
    assert info.value.name == "nodegraph.ray.placement"


@node("Pair", category="test", outputs={"count": "INT", "label": "STRING"})
class Pair(Node):
    def run(self, ctx):  # pragma: no cover - outputs checked directly
        return None


@pytest.mark.parametrize("outputs, message", [
    ([1, "a"], "Pair.run returned list, expected a dict of outputs"),
    ({"count": 1}, "output 'label' (STRING) was not produced"),
    ({"count": "1", "label": "a"}, "output 'count' should be INT but is str"),
    ({"count": 1, "label": "a", "extra": 2, "more": 3}, "produced undeclared outputs ['extra', 'more']"),
])
def test_outputs_that_break_the_declaration_say_how(outputs, message):
    with pytest.raises(OutputMismatch) as info:
        check_outputs(Pair, outputs, TypeRegistry())
    assert str(info.value) == message


def test_finished_events_carry_files_and_canvas_data_only_when_there_are_some():
    entry = CacheEntry({}, files=("/out/a.png",), ui={"images": ["a.png"]})
    assert finished_event("executed", "n1", "j1", entry) == {
        "event": "executed", "node": "n1", "job": "j1", "outputs": ["/out/a.png"], "ui": {"images": ["a.png"]}}
    assert finished_event("cached", "n2", "j1", CacheEntry({})) == {"event": "cached", "node": "n2", "job": "j1"}


class Frame:
    """A big intermediate value (a decoded frame, a latent): the executor should not hoard it."""

    def __init__(self, label: str):
        self.label = label


frames: dict[str, weakref.ref] = {}  # node id -> the Frame it made, while anything holds it


@node("MakeFrame", category="test", outputs={"frame": ANY})
class MakeFrame(Node):
    label: str = Widget("a")

    def run(self, ctx):
        frame = Frame(self.label)
        frames[ctx.node_id] = weakref.ref(frame)
        return {"frame": frame}


@node("Blur", category="test", outputs={"frame": ANY})
class Blur(Node):
    frame: Any = Socket(ANY)

    def run(self, ctx):
        frame = Frame(f"blur({self.frame.label})")
        frames[ctx.node_id] = weakref.ref(frame)
        return {"frame": frame}


@node("ShowFrames", category="test", output_node=True)
class ShowFrames(Node):
    first: Any = Socket(ANY)
    second: Any = Socket(ANY, optional=True)

    def run(self, ctx):
        ctx.ui["text"] = " ".join(f.label for f in (self.first, self.second) if f is not None)


def alive_when_each_node_starts(env, workflow: dict) -> tuple[dict[str, set[str]], str]:
    """({node id: the frames still held when it started}, what the output node showed), run
    without a cache (``--no-cache``), so the executor is the only one that could hold a frame."""
    registry = Registry()
    for cls in (MakeFrame, Blur, ShowFrames):
        registry.add_node(cls, "test")
    frames.clear()
    alive: dict[str, set[str]] = {}

    def sink(event):
        if event["event"] == "executing":
            alive[event["node"]] = {nid for nid, ref in frames.items() if ref() is not None}

    result = Session(registry, env, Cache(enabled=False)).run(wf(**workflow), sink)
    assert result.ok, result.error
    return alive, result.ui["show"]["text"]


def test_a_value_is_released_once_its_last_consumer_has_run(env):
    alive, shown = alive_when_each_node_starts(env, {
        "make": ("MakeFrame", {"label": "a"}), "blur1": ("Blur", {"frame": link("make", "frame")}),
        "blur2": ("Blur", {"frame": link("blur1", "frame")}),
        "show": ("ShowFrames", {"first": link("blur2", "frame")})})
    assert shown == "blur(blur(a))"
    assert alive == {"make": set(), "blur1": {"make"}, "blur2": {"blur1"}, "show": {"blur2"}}


def test_a_value_still_needed_later_is_kept_until_then(env):
    alive, shown = alive_when_each_node_starts(env, {
        "make": ("MakeFrame", {"label": "a"}), "blur": ("Blur", {"frame": link("make", "frame")}),
        "show": ("ShowFrames", {"first": link("blur", "frame"), "second": link("make", "frame")})})
    assert shown == "blur(a) a"
    assert alive == {"make": set(), "blur": {"make"}, "show": {"make", "blur"}}


@node("WhoAmI", category="test", output_node=True)
class WhoAmI(Node):
    def run(self, ctx):  # what a node may tag its files or log lines with
        ctx.ui["text"] = f"{ctx.node_type} {ctx.node_id} {ctx.job_id} {ctx.cache_key}"


def test_a_node_is_told_its_type_id_job_and_cache_key(env):
    registry = Registry()
    registry.add_node(WhoAmI, "test")
    session = Session(registry, env, Cache(enabled=False))
    job = session.prepare(wf(n7=("WhoAmI", {})), job_id="job1")
    result = session.execute(job)
    key = node_key(job.graph.nodes["n7"], {}, job, "")  # a deterministic node: no nonce in its key
    assert result.ui["n7"]["text"] == f"WhoAmI n7 job1 {key}"
