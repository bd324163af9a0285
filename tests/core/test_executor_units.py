"""Error events and value descriptions as the CLI and canvas show them; which executor runs."""
from __future__ import annotations

import sys
import traceback
from types import ModuleType

import numpy as np
import pytest
import torch

from nodegraph import Node, node
from nodegraph.cache import CacheEntry
from nodegraph.errors import NodeError, UsageError
from nodegraph.executor import (InProcessExecutor, OutputMismatch, _check_outputs, _describe, _error_event,
                                _finished, executor_named)
from nodegraph.types import TypeRegistry


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
    event = _error_event("n7", "LoadImage", exc, {"job": "j1"})
    assert event["event"] == "error" and event["node"] == "n7" and event["node_type"] == "LoadImage"
    assert event["message"] == "file 'x.png' is not an image"
    assert event["exception"] == "NodeError" and event["input"] == "image" and event["job"] == "j1"
    assert event["traceback"] == "".join(traceback.format_exception(exc))
    assert event["traceback"].startswith("Traceback (most recent call last):\n")


def test_plain_exception_event():
    event = _error_event("n1", "Math", raised(ZeroDivisionError()), {})
    assert event["message"] == "ZeroDivisionError" and event["exception"] == "ZeroDivisionError"
    assert "input" not in event and "job" not in event
    assert "input" not in _error_event("n1", "Math", raised(NodeError("bad")), {})


def test_output_mismatch_message_names_the_node():
    exc = raised(OutputMismatch("output 'image' should be IMAGE but is int"))
    event = _error_event("n3", "MyNode", exc, {})
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
    monkeypatch.delitem(sys.modules, "nodegraph.ray_executor", raising=False)
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
    assert str(info.value) == "--executor ray needs Ray: pip install 'nodegraph[ray]'"


def test_another_missing_module_is_not_blamed_on_ray(monkeypatch):
    break_import(monkeypatch, "nodegraph.ray_placement")
    with pytest.raises(ModuleNotFoundError) as info:
        executor_named("ray")
    assert info.value.name == "nodegraph.ray_placement"


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
        _check_outputs(Pair, outputs, TypeRegistry())
    assert str(info.value) == message


def test_finished_events_carry_files_and_canvas_data_only_when_there_are_some():
    entry = CacheEntry({}, files=("/out/a.png",), ui={"images": ["a.png"]})
    assert _finished("executed", "n1", "j1", entry) == {
        "event": "executed", "node": "n1", "job": "j1", "outputs": ["/out/a.png"], "ui": {"images": ["a.png"]}}
    assert _finished("cached", "n2", "j1", CacheEntry({})) == {"event": "cached", "node": "n2", "job": "j1"}
